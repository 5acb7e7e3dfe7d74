<?php
// t/bodies.t: what PHP parsed from the query string, a form body and the
// Cookie header.
header('Content-Type: application/json');
echo json_encode(['method' => $_SERVER['REQUEST_METHOD'],
                  'get'    => (object)$_GET,
                  'post'   => (object)$_POST,
                  'cookie' => (object)$_COOKIE]);
