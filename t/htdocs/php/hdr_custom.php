<?php
// Headers of every kind: a custom one, one sent twice with different
// values, three cookies, and an unusual Content-Type.
header('Content-Type: application/x-hdr-test; charset=latin1');
header('X-Custom: hello from PHP');
header('X-Multi: a', false);
header('X-Multi: b', false);
header('Set-Cookie: first=1; Path=/', false);
header('Set-Cookie: second=2; Path=/php', false);
header('Set-Cookie: third=3; HttpOnly', false);
echo "custom headers body\n";
