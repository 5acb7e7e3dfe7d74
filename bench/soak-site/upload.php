<?php
// An upload: answers with the length and SHA-256 of the body it read.
require __DIR__ . '/soak.inc.php';
$id = soak_id();
header('Content-Type: text/plain');
$ctx = hash_init('sha256');
$in = fopen('php://input', 'rb');
$len = 0;
while (!feof($in)) {
    $s = fread($in, 65536);
    if ($s === false) {
        break;
    }
    $len += strlen($s);
    hash_update($ctx, $s);
}
echo "id=$id length=$len sha256=" . hash_final($ctx) . "\n";
