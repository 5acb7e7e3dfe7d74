<?php
// Says back what was asked: the request's id (a header), the client's
// port (so a test can tell which connection carried the request), and
// a body of exactly size= bytes made of "ID;" repeated.
$id = preg_replace('/[^\w-]/', '', $_GET['id'] ?? '');
$size = max(0, (int)($_GET['size'] ?? 0));
header('Content-Type: text/plain');
header('X-Conc-Id: ' . $id);
header('X-Conc-Port: ' . $_SERVER['REMOTE_PORT']);
$unit = "$id;";
echo substr(str_repeat($unit, intdiv($size, strlen($unit)) + 1), 0, $size);
