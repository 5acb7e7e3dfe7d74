<?php
// A few KB of ordinary text, for compression.
header('Content-Type: text/plain');
for ($i = 1; $i <= 100; $i++) {
    printf("%03d: the quick brown fox jumps over the lazy dog\n", $i);
}
