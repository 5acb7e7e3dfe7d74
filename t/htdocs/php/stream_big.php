<?php
// 64 MiB, made as it goes: 1024 blocks of 64 KiB, block N being
// "block NNNN " filled up with one letter (a..z by N) and a newline.
header('Content-Type: application/octet-stream');
for ($n = 0; $n < 1024; $n++) {
    $prefix = sprintf('block %04d ', $n);
    echo $prefix, str_repeat(chr(97 + $n % 26), 65536 - strlen($prefix) - 1), "\n";
}
