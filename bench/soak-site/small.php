<?php
// A small GET: SIZE (default 200) bytes made from the id.
require __DIR__ . '/soak.inc.php';
$id = soak_id();
header('Content-Type: text/plain');
soak_body($id, soak_int('size', 200, 65536), function ($s) { echo $s; });
