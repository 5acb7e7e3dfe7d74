# Request bodies: what reaches the backend, and how it is framed.
#
# Forms (query string, urlencoded, multipart with a 5 MiB file) as PHP
# parses them; a 50 MiB raw body that PHP hashes as it streams in; chunked
# bodies (which the module spools: small ones in memory, big ones in a
# temp file) arriving whole, with an exact CONTENT_LENGTH and no
# Transfer-Encoding; empty bodies; LimitRequestBody's 413; cookies.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use Digest::SHA ();
use JSON::PP ();
use IO::Select ();
use FcgiTest qw(raw_request http_connect http_request read_response);

plan tests => 62, need_lwp;

# $n bytes of every value 0..255 that do not repeat: each 64 KiB block is
# a random block XORed with its own number.
sub body_of_length {
    my ($n, $seed) = @_;
    srand($seed);
    my $base = pack('C*', map { int rand 256 } 1 .. 65536);
    my $out = '';
    my $i = 0;
    while (length $out < $n) {
        my $mask = pack('N', (++$i * 2654435761) % 4294967296) x 16384;
        $out .= $base ^ $mask;
    }
    return substr($out, 0, $n);
}

# Several values as one string, for one assertion ("undef" for a missing one).
sub joined { join ' ', map { $_ // 'undef' } @_ }

sub json_of {
    my $text = shift;
    return eval { JSON::PP::decode_json($text) } || {};
}

# The test backend's case=env: NAME=VALUE lines, then STDIN_LENGTH and
# STDIN_SHA256 of the body it received.
sub parse_params {
    my %env;
    for my $line (split /\n/, shift) {
        my ($k, $v) = split /=/, $line, 2;
        $env{$k} = $v if defined $v;
    }
    return \%env;
}

my ($res, $php, $r, $env);

# --- forms ---------------------------------------------------------------------

$res = GET '/php/body_form.php?name=Ada&motto=hello%20world&accent=%C3%A9';
$php = json_of($res->content);
ok t_cmp($res->code, 200, 'a GET form answers 200');
ok t_cmp($php->{get}, {name => 'Ada', motto => 'hello world', accent => "\x{e9}"},
         'PHP sees the fields of a GET form in $_GET, decoded');

$res = POST '/php/body_form.php?from=query',
    'Content-Type' => 'application/x-www-form-urlencoded',
    content => 'name=Ada+Lovelace&sum=1%2B1%3D2&empty=';
$php = json_of($res->content);
ok t_cmp($res->code, 200, 'a urlencoded POST form answers 200');
ok t_cmp($php->{method}, 'POST', 'PHP sees the form as a POST');
ok t_cmp($php->{post}, {name => 'Ada Lovelace', sum => '1+1=2', empty => ''},
         'PHP sees the fields of a urlencoded POST body in $_POST, decoded');
ok t_cmp($php->{get}, {from => 'query'},
         'PHP sees the query string of a POST in $_GET');

# --- a 5 MiB multipart/form-data upload ---------------------------------------

my $file = body_of_length(5 * 1024 * 1024, 1);
$res = POST '/php/body_upload.php',
    Content_Type => 'form-data',
    content => [comment => 'five mebibytes',
                upload  => [undef, 'five.bin',
                            'Content-Type' => 'application/octet-stream',
                            Content => $file]];
$php = json_of($res->content);
ok t_cmp($res->code, 200, 'a 5 MiB multipart upload answers 200');
ok t_cmp($php->{files}{upload}{error}, 0, 'PHP stores the uploaded file without error');
ok t_cmp($php->{files}{upload}{name}, 'five.bin', 'PHP sees the uploaded file\'s name');
ok t_cmp($php->{files}{upload}{size}, length $file,
         'PHP sees the uploaded file at its full size');
ok t_cmp($php->{files}{upload}{sha256}, Digest::SHA::sha256_hex($file),
         'the file PHP stored is the file uploaded (sha256)');
ok t_cmp($php->{post}{comment}, 'five mebibytes',
         'PHP sees the ordinary field beside the uploaded file');

# --- a 50 MiB raw body, hashed by PHP as it streams -----------------------------

my $raw = body_of_length(50 * 1024 * 1024, 2);
$res = POST '/php/body_input.php',
    'Content-Type' => 'application/octet-stream', content => $raw;
$php = json_of($res->content);
ok t_cmp($res->code, 200, 'a 50 MiB raw POST answers 200');
ok t_cmp($php->{length}, length $raw, 'PHP reads all 50 MiB of a raw POST');
ok t_cmp($php->{sha256}, Digest::SHA::sha256_hex($raw),
         'PHP reads a 50 MiB raw POST intact (sha256)');
ok t_cmp($php->{content_length}, length $raw,
         'PHP sees the client\'s Content-Length as CONTENT_LENGTH');
undef $raw;

# --- chunked bodies: spooled, then sent with a length -------------------------

for my $case (['a small chunked body (in memory)', 10_000, 3],
              ['a 3 MiB chunked body (in a temp file)', 3 * 1024 * 1024, 4]) {
    my ($what, $size, $seed) = @$case;
    my $body = body_of_length($size, $seed);
    my $sha = Digest::SHA::sha256_hex($body);

    $r = raw_request(method => 'POST', path => '/php/body_input.php',
                     headers => [['Content-Type', 'application/octet-stream']],
                     body => $body, chunked => 1);
    $php = json_of($r->{body});
    ok t_cmp($r->{status}, 200, "$what to PHP answers 200");
    ok t_cmp($php->{length}, $size, "PHP reads all of $what");
    ok t_cmp($php->{sha256}, $sha, "PHP reads $what intact (sha256)");
    ok t_cmp($php->{content_length}, $size,
             "PHP sees CONTENT_LENGTH as the size of $what");
    ok t_cmp($php->{transfer_encoding}, undef,
             "PHP sees no HTTP_TRANSFER_ENCODING for $what");

    $r = raw_request(method => 'POST', path => '/backend?case=env',
                     headers => [['Content-Type', 'application/octet-stream']],
                     body => $body, chunked => 1);
    $env = parse_params($r->{body});
    ok t_cmp($r->{status}, 200, "$what reaches the test backend");
    ok t_cmp($env->{CONTENT_LENGTH}, $size,
             "the backend gets CONTENT_LENGTH = the size of $what");
    ok t_cmp($env->{HTTP_TRANSFER_ENCODING}, undef,
             "the backend gets no HTTP_TRANSFER_ENCODING for $what");
    ok t_cmp(joined($env->{STDIN_LENGTH}, $env->{STDIN_SHA256}), "$size $sha",
             "the backend's stdin is exactly $what");
}

# --- empty bodies ---------------------------------------------------------------

$r = raw_request(method => 'POST', path => '/php/body_input.php', body => '');
$php = json_of($r->{body});
ok t_cmp($r->{status}, 200, 'an empty POST (Content-Length: 0) to PHP answers 200');
ok t_cmp($php->{length}, 0, 'PHP reads nothing from an empty POST');
ok t_cmp($php->{content_length}, '0', 'PHP sees CONTENT_LENGTH=0 for an empty POST');

$r = raw_request(method => 'POST', path => '/backend?case=env', body => '');
$env = parse_params($r->{body});
ok t_cmp(joined($r->{status}, $env->{CONTENT_LENGTH}, $env->{STDIN_LENGTH}),
         '200 0 0',
         'an empty POST reaches the backend with CONTENT_LENGTH=0 and no stdin');

$r = raw_request(method => 'POST', path => '/php/body_input.php', body => '',
                 chunked => 1);
$php = json_of($r->{body});
ok t_cmp($r->{status}, 200, 'an empty chunked POST to PHP answers 200');
ok t_cmp($php->{length}, 0, 'PHP reads nothing from an empty chunked POST');
ok t_cmp($php->{content_length}, '0',
         'PHP sees CONTENT_LENGTH=0 for an empty chunked POST');
ok t_cmp($php->{transfer_encoding}, undef,
         'PHP sees no HTTP_TRANSFER_ENCODING for an empty chunked POST');

$r = raw_request(method => 'POST', path => '/backend?case=env', body => '',
                 chunked => 1);
$env = parse_params($r->{body});
ok t_cmp($r->{status}, 200, 'an empty chunked POST reaches the test backend');
ok t_cmp($env->{CONTENT_LENGTH}, '0',
         'the backend gets CONTENT_LENGTH=0 for an empty chunked POST');
ok t_cmp($env->{HTTP_TRANSFER_ENCODING}, undef,
         'the backend gets no HTTP_TRANSFER_ENCODING for an empty chunked POST');
ok t_cmp($env->{STDIN_LENGTH}, 0, 'the backend reads no stdin for an empty chunked POST');

# --- LimitRequestBody 1000 (/php-limited) ---------------------------------------

my $small = body_of_length(500, 5);
my $large = body_of_length(2000, 6);

$r = raw_request(method => 'POST', path => '/php-limited/body_input.php',
                 headers => [['Content-Type', 'application/octet-stream']],
                 body => $large);
ok t_cmp($r->{status}, 413,
         'a 2000-byte body with Content-Length over LimitRequestBody 1000 gives 413');
ok t_cmp($r->{body}, qr/Request Entity Too Large|too large/i,
         'the 413 for a body with Content-Length is httpd\'s error page');

$r = raw_request(method => 'POST', path => '/php-limited/body_input.php',
                 headers => [['Content-Type', 'application/octet-stream']],
                 body => $large, chunked => 1);
ok t_cmp($r->{status}, 413,
         'a 2000-byte chunked body over LimitRequestBody 1000 gives 413');
ok t_cmp($r->{body}, qr/Request Entity Too Large|too large/i,
         'the 413 for a chunked body is httpd\'s error page');

$r = raw_request(method => 'POST', path => '/php-limited/body_input.php',
                 headers => [['Content-Type', 'application/octet-stream']],
                 body => $small);
$php = json_of($r->{body});
ok t_cmp($r->{status}, 200, 'a 500-byte body under LimitRequestBody 1000 answers 200');
ok t_cmp(joined($php->{length}, $php->{sha256}),
         '500 ' . Digest::SHA::sha256_hex($small),
         'PHP reads a 500-byte body under LimitRequestBody intact');

$r = raw_request(method => 'POST', path => '/php-limited/body_input.php',
                 headers => [['Content-Type', 'application/octet-stream']],
                 body => $small, chunked => 1);
$php = json_of($r->{body});
ok t_cmp($r->{status}, 200,
         'a 500-byte chunked body under LimitRequestBody 1000 answers 200');
ok t_cmp(joined($php->{length}, $php->{sha256}),
         '500 ' . Digest::SHA::sha256_hex($small),
         'PHP reads a 500-byte chunked body under LimitRequestBody intact');

# --- on one connection: each body is consumed, none read as a request --------

{
    my $sock = http_connect();
    my $chunked = body_of_length(10_000, 7);
    http_request($sock, method => 'POST', path => '/php/body_input.php',
                 body => $small);
    my $first = read_response($sock);
    http_request($sock, method => 'POST', path => '/php/body_input.php',
                 body => $chunked, chunked => 1);
    my $second = read_response($sock);
    http_request($sock, path => '/php/body_form.php?third=yes');
    my $third = read_response($sock);
    close $sock;
    ok t_cmp(joined($first->{status}, json_of($first->{body})->{length}), '200 500',
             'on a kept-alive connection a POST with Content-Length is answered');
    ok t_cmp(joined($second->{status}, json_of($second->{body})->{sha256}),
             '200 ' . Digest::SHA::sha256_hex($chunked),
             'a chunked POST after it on the same connection arrives intact');
    ok t_cmp(json_of($third->{body})->{get}, {third => 'yes'},
             'a GET after both on the same connection is answered as itself');
}

$r = raw_request(method => 'POST', path => '/php-limited/body_input.php',
                 body => $large);
ok t_cmp(lc join(',', @{ $r->{headers}{connection} || [] }), 'close',
         'a 413 closes the connection: the unread body is never taken for a request');

# --- Expect: 100-continue (what curl sends for bodies over 1 KiB) ---------------

# Sends the head of a POST with Expect: 100-continue; returns the socket
# and the first response head the server sent back (within 5 s).
sub post_expecting_continue {
    my ($path, $length) = @_;
    my $sock = http_connect();
    my $head = "POST $path HTTP/1.1\r\nHost: localhost\r\n"
             . "Content-Type: application/octet-stream\r\n"
             . "Content-Length: $length\r\nExpect: 100-continue\r\n\r\n";
    syswrite($sock, $head) == length $head or die "write: $!";
    my ($buf, $sel) = ('', IO::Select->new($sock));
    while ($buf !~ /\r\n\r\n/ && $sel->can_read(5)) {
        sysread($sock, $buf, 65536, length $buf) or last;
    }
    return ($sock, $buf);
}

{
    my $body = body_of_length(5000, 8);
    my ($sock, $interim) = post_expecting_continue('/php/body_input.php', 5000);
    ok t_cmp($interim, qr{^HTTP/1\.1 100 Continue\r\n\r\n$},
             'a POST with Expect: 100-continue is told 100 Continue');
    syswrite($sock, $body) == length $body or die "write: $!";
    my $final = read_response($sock);
    close $sock;
    ok t_cmp(joined($final->{status}, json_of($final->{body})->{sha256}),
             '200 ' . Digest::SHA::sha256_hex($body),
             'the body sent after 100 Continue reaches PHP intact');

    ($sock, my $refusal) = post_expecting_continue('/php-limited/body_input.php', 2000);
    close $sock;
    ok t_cmp($refusal, qr{^HTTP/1\.1 413 },
             'a body over LimitRequestBody announced with Expect: 100-continue '
             . 'is refused with 413 before it is sent');
}

# --- cookies ---------------------------------------------------------------------

$res = GET '/php/body_form.php', 'Cookie' => 'a=1; b=two';
$php = json_of($res->content);
ok t_cmp($php->{cookie}, {a => '1', b => 'two'},
         'PHP sees Cookie: a=1; b=two in $_COOKIE');
