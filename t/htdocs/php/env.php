<?php
// The CGI variables the request arrived with, as JSON.
header('Content-Type: application/json');
$vars = $_SERVER;
unset($vars['argv'], $vars['argc']);
echo json_encode($vars, JSON_UNESCAPED_SLASHES);
