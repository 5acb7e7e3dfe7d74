<?php
// An upload form: a file and a text field.  After a POST it shows what
// arrived at PHP: the file's size and SHA-256, and the text.
function h($s) { return htmlspecialchars((string)$s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8'); }

$upload_errors = [
    UPLOAD_ERR_INI_SIZE   => 'the file is larger than upload_max_filesize (' . ini_get('upload_max_filesize') . ')',
    UPLOAD_ERR_FORM_SIZE  => 'the file is larger than the form allows',
    UPLOAD_ERR_PARTIAL    => 'only part of the file arrived',
    UPLOAD_ERR_NO_FILE    => 'no file was chosen',
    UPLOAD_ERR_NO_TMP_DIR => 'PHP has no temporary directory',
    UPLOAD_ERR_CANT_WRITE => 'PHP could not write the file',
    UPLOAD_ERR_EXTENSION  => 'a PHP extension stopped the upload',
];
$posted = ($_SERVER['REQUEST_METHOD'] ?? '') === 'POST';
header('Content-Type: text/html; charset=utf-8');
?>
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Upload</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<p><a href="/">&larr; demo</a></p>
<h1>Upload</h1>

<form method="post" action="/upload.php" enctype="multipart/form-data">
<p><label>File: <input type="file" name="file"></label></p>
<p><label>Text: <input type="text" name="note" value="hello"></label></p>
<p><button type="submit">Send</button></p>
</form>

<p>The body streams to PHP-FPM as it arrives.  A chunked upload (no
Content-Length) works too: the module spools it and gives PHP an exact
CONTENT_LENGTH.  From a shell:</p>
<pre>
curl -F file=@/etc/services -F note=hello http://<?= h($_SERVER['HTTP_HOST'] ?? '127.0.0.1:8080') ?>/upload.php
curl -H 'Transfer-Encoding: chunked' -F file=@/etc/services -F note=hello http://<?= h($_SERVER['HTTP_HOST'] ?? '127.0.0.1:8080') ?>/upload.php
sha256sum /etc/services
</pre>

<?php if ($posted): ?>
<h2>What arrived</h2>
<table>
<tr><th colspan="2">the request</th></tr>
<tr><td>CONTENT_LENGTH</td><td><?= h($_SERVER['CONTENT_LENGTH'] ?? '(none)') ?></td></tr>
<tr><td>CONTENT_TYPE</td><td><?= h($_SERVER['CONTENT_TYPE'] ?? '(none)') ?></td></tr>
<?php if (!$_POST && !$_FILES && ($_SERVER['CONTENT_LENGTH'] ?? 0) > 0): ?>
<tr><td colspan="2">PHP dropped the body: it is larger than post_max_size (<?= h(ini_get('post_max_size')) ?>).</td></tr>
<?php endif; ?>

<tr><th colspan="2">the text field</th></tr>
<tr><td>note</td><td><?= isset($_POST['note']) ? h($_POST['note']) . ' (' . strlen($_POST['note']) . ' bytes)' : '(not sent)' ?></td></tr>

<tr><th colspan="2">the file</th></tr>
<?php $f = $_FILES['file'] ?? null; ?>
<?php if (!$f): ?>
<tr><td colspan="2">no file field in the request</td></tr>
<?php elseif ($f['error'] !== UPLOAD_ERR_OK): ?>
<tr><td>error</td><td><?= h($upload_errors[$f['error']] ?? "upload error {$f['error']}") ?></td></tr>
<?php else: ?>
<tr><td>name</td><td><?= h($f['name']) ?></td></tr>
<tr><td>type (as the client said)</td><td><?= h($f['type']) ?></td></tr>
<tr><td>size</td><td><?= filesize($f['tmp_name']) ?> bytes</td></tr>
<tr><td>sha256</td><td><?= hash_file('sha256', $f['tmp_name']) ?></td></tr>
<?php endif; ?>
</table>
<?php endif; ?>
</body>
</html>
