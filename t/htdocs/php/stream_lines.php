<?php
// Five lines, 300 ms apart, each flushed at once.
header('Content-Type: text/plain');
for ($i = 1; $i <= 5; $i++) {
    echo "line $i\n";
    flush();
    usleep(300000);
}
