<?php
// t/bodies.t: the files of a multipart/form-data upload as PHP stored
// them (size, upload error, sha256 of the temporary file), and the
// ordinary fields beside them.
header('Content-Type: application/json');
$files = [];
foreach ($_FILES as $field => $f) {
    $files[$field] = [
        'name'   => $f['name'],
        'size'   => $f['size'],
        'error'  => $f['error'],
        'sha256' => is_uploaded_file($f['tmp_name'])
                    ? hash_file('sha256', $f['tmp_name']) : null,
    ];
}
echo json_encode(['files' => (object)$files, 'post' => (object)$_POST]);
