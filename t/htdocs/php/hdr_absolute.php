<?php
// An absolute Location: with ?code=301 an explicit 301, otherwise no
// Status at all (code 200 keeps PHP from adding "Status: 302").
$code = (int)($_GET['code'] ?? 200);
header('Location: http://example.com/x', true, $code);
echo "moved\n";
