<?php
// t/bodies.t: the raw request body (php://input), read in 64 KiB pieces
// and hashed as it comes (never held whole), and the variables that
// describe it.
header('Content-Type: application/json');
$in = fopen('php://input', 'rb');
$ctx = hash_init('sha256');
$length = 0;
while (!feof($in)) {
    $piece = fread($in, 65536);
    if ($piece === false) {
        break;
    }
    $length += strlen($piece);
    hash_update($ctx, $piece);
}
fclose($in);
echo json_encode([
    'length'            => $length,
    'sha256'            => hash_final($ctx),
    'content_length'    => $_SERVER['CONTENT_LENGTH'] ?? null,
    'transfer_encoding' => $_SERVER['HTTP_TRANSFER_ENCODING'] ?? null,
]);
