<?php
// The CGI variables this request reached PHP with, as a table.
//
// mod_fastcgi_handler sends httpd's own CGI environment (the one mod_cgi
// builds) plus FCGI_ROLE.  PHP adds a few keys of its own to $_SERVER,
// and PHP-FPM its workers' HOME and USER; they are listed, greyed out, at
// the end.
function h($s) { return htmlspecialchars((string)$s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8'); }

$added_by_php = ['PHP_SELF', 'REQUEST_TIME', 'REQUEST_TIME_FLOAT', 'argv', 'argc',
                 'HOME', 'USER'];
$from_httpd = $from_php = [];
foreach ($_SERVER as $name => $value) {
    if (is_array($value)) {
        $value = implode(' ', $value);
    }
    if (in_array($name, $added_by_php, true)) {
        $from_php[$name] = $value;
    } else {
        $from_httpd[$name] = $value;
    }
}
ksort($from_httpd);
ksort($from_php);
header('Content-Type: text/html; charset=utf-8');
?>
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>CGI variables</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<p><a href="/">&larr; demo</a></p>
<h1>The CGI variables PHP received</h1>

<p>Try <a href="/env.php">/env.php</a> (no extra path: no PATH_INFO),
<a href="/env.php/some/extra/path?q=1&amp;lang=en">/env.php/some/extra/path?q=1&amp;lang=en</a>,
or a POST:</p>
<form method="post" action="/env.php/posted?via=form">
<input type="text" name="field" value="some text">
<button type="submit">POST it</button>
</form>

<table>
<tr><th>variable</th><th>value</th></tr>
<?php foreach ($from_httpd as $name => $value): ?>
<tr><td><?= h($name) ?></td><td><?= h($value) ?></td></tr>
<?php endforeach; ?>
<?php foreach ($from_php as $name => $value): ?>
<tr class="php"><td><?= h($name) ?></td><td><?= h($value) ?> (added by PHP or PHP-FPM)</td></tr>
<?php endforeach; ?>
</table>
</body>
</html>
