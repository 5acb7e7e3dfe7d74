<?php
// A page that takes 100 ms, and says which PHP-FPM worker ran it.
header('Content-Type: text/plain');
usleep(100000);
echo 'worker=', getmypid(), "\n";
