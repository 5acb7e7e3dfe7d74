<?php
// A script that knows its length: Content-Length 1234 and 1234 bytes.
header('Content-Type: application/octet-stream');
header('Content-Length: 1234');
echo str_repeat('0123456789', 123), '0123';
