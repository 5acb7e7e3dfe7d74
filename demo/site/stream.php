<?php
// A line every 400 ms, each flushed at once.  mod_fastcgi_handler passes
// every flush on to the client (with a FLUSH down httpd's filters, so
// mod_deflate compresses and sends it too, instead of waiting for more).
//
// The pool has output_buffering = 0; flush() then sends a STDOUT record
// to the module straight away.
$lines = 20;
$interval_ms = 400;
$deflated = strncmp($_SERVER['REQUEST_URI'] ?? '', '/deflated/', 10) === 0;

header('Content-Type: text/html; charset=utf-8');
// Browsers render a text/html response progressively; nosniff keeps them
// from holding the first bytes back to guess the type.
header('X-Content-Type-Options: nosniff');
header('Cache-Control: no-store');

while (ob_get_level()) {
    ob_end_flush();
}
$start = microtime(true);
?>
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Streaming</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<p><a href="/">&larr; demo</a></p>
<h1>Streaming<?= $deflated ? ' through mod_deflate' : '' ?></h1>
<p><?php if ($deflated): ?>
This copy goes through mod_deflate (<code>SetOutputFilter DEFLATE</code>):
the response is gzip-compressed (see Content-Encoding in your browser's
network tab) and the lines still arrive one by one.
<a href="/stream.php">Without mod_deflate</a>.
<?php else: ?>
PHP prints a line every <?= $interval_ms ?> ms and flushes it; each one
appears as soon as it is written.
<a href="/deflated/stream.php">The same through mod_deflate</a>.
<?php endif; ?></p>
<pre>
<?php
flush();
for ($i = 1; $i <= $lines; $i++) {
    usleep($interval_ms * 1000);
    printf("line %2d of %d, written by PHP %5d ms after the request started\n",
           $i, $lines, (int)round((microtime(true) - $start) * 1000));
    flush();
}
?>
</pre>
<p>Done.</p>
</body>
</html>
