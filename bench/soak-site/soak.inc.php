<?php
// What bench/soak's PHP endpoints share: the request id and the body
// made from it (the same bytes as bench/lib/SoakBody.pm makes in Perl).
function soak_id() {
    $id = isset($_GET['id']) ? $_GET['id'] : '';
    if (!preg_match('/^[a-z0-9-]{1,64}$/', $id)) {
        header('Status: 400');
        echo "bad id\n";
        exit;
    }
    header('X-Soak-Id: ' . $id);
    return $id;
}

function soak_int($name, $default, $max) {
    $v = isset($_GET[$name]) ? (int)$_GET[$name] : $default;
    return max(0, min($v, $max));
}

// SIZE bytes in 1024-byte blocks "ID@OFFSET ....\n", handed to $emit in
// pieces of about 64 KiB.
function soak_body($id, $size, $emit) {
    $piece = '';
    $sent = 0;
    for ($off = 0; $off < $size; $off += 1024) {
        $m = sprintf('%s@%010d ', $id, $off);
        $piece .= $m . str_repeat('.', 1023 - strlen($m)) . "\n";
        if (strlen($piece) >= 65536) {
            $take = min(strlen($piece), $size - $sent);
            $emit(substr($piece, 0, $take));
            $sent += $take;
            $piece = '';
        }
    }
    if ($sent < $size) {
        $emit(substr($piece, 0, $size - $sent));
    }
}
