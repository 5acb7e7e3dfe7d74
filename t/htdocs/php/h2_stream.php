<?php
// Five lines, each flushed, 300 ms apart.
header('Content-Type: text/plain');
for ($i = 1; $i <= 5; $i++) {
    echo "line $i\n";
    flush();
    if ($i < 5) {
        usleep(300000);
    }
}
