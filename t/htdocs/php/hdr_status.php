<?php
// A "not found" page made by the script itself: ?how=code uses
// http_response_code(), ?how=header sends a CGI "Status:" header.
if (($_GET['how'] ?? 'code') === 'header') {
    header('Status: 404 Not Found');
} else {
    http_response_code(404);
}
header('Content-Type: text/plain');
echo "the script says: no such thing here\n";
