<?php
// A page that takes 100 ms (or ?ms=N), and says which PHP-FPM worker ran it.
header('Content-Type: text/plain');
usleep((isset($_GET['ms']) ? (int)$_GET['ms'] : 100) * 1000);
echo 'worker=', getmypid(), "\n";
