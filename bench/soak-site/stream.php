<?php
// A streamed response: N lines naming the request, one every MS ms.
require __DIR__ . '/soak.inc.php';
$id = soak_id();
header('Content-Type: text/plain');
$n = soak_int('n', 10, 1000);
$ms = soak_int('ms', 50, 5000);
for ($i = 1; $i <= $n; $i++) {
    echo "$id line $i/$n\n";
    flush();
    if ($i < $n) {
        usleep($ms * 1000);
    }
}
