<?php
// A download: SIZE bytes made from the id, written 64 KiB at a time.
require __DIR__ . '/soak.inc.php';
$id = soak_id();
header('Content-Type: application/octet-stream');
soak_body($id, soak_int('size', 8388608, 67108864), function ($s) { echo $s; });
