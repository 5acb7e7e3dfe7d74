<?php
// Twenty lines, 100 ms apart, each flushed.
header('Content-Type: text/plain');
for ($i = 1; $i <= 20; $i++) {
    echo "line $i\n";
    flush();
    usleep(100000);
}
