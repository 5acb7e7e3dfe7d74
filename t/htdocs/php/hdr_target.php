<?php
// Where hdr_redirect.php sends the request: it says how it was reached.
header('Content-Type: text/plain');
echo "target reached by ", $_SERVER['REQUEST_METHOD'], "\n";
