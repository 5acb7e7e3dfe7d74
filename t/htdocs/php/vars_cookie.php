<?php
// t/variables.t: the cookies PHP parsed, each as its length and sha256
// (so that a 100 KiB cookie can be compared without echoing it back).
header('Content-Type: application/json');
$out = [];
foreach ($_COOKIE as $name => $value) {
    $out[$name] = ['length' => strlen($value),
                   'sha256' => hash('sha256', $value)];
}
echo json_encode($out, JSON_FORCE_OBJECT);
