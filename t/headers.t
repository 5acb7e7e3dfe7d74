# Response headers: the CGI header block a FastCGI application writes
# becomes the HTTP response, as with mod_cgi.  Status (either way PHP
# can say it), custom and repeated headers, separate Set-Cookie lines,
# Content-Type, Location (a local path is an internal redirect, an
# absolute URL is a 302 unless a status says otherwise), HEAD, a
# backend's Content-Length (passed on, and enforced when the backend
# breaks it, refused when it gives two that disagree), conditional GET
# against a backend's Last-Modified; an interim Status (1xx) refused as
# the response; hop-by-hop headers kept off the client's connection.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);   # Test::More: is, like, ok with names
use Apache::TestRequest;
use Apache::TestUtil;
use IO::Select ();
use FcgiTest qw(raw_request http_connect http_request
                error_log_mark wait_error_log);

plan tests => 71;

# One request on its own connection with "Connection: close": the head
# of the response as text, and every byte the server sent after it (so
# that a test can see bytes that a Content-Length reader would ignore).
sub wire {
    my (%opt) = @_;
    my $sock = http_connect();
    http_request($sock, %opt,
                 headers => [@{ $opt{headers} || [] }, [Connection => 'close']]);
    my $all = '';
    my $sel = IO::Select->new($sock);
    while ($sel->can_read(10)) {
        my $n = sysread($sock, $all, 65536, length $all);
        last unless $n;
    }
    close $sock;
    my ($head, $rest) = split /\r\n\r\n/, $all, 2;
    return ($head // '', $rest // '');
}

sub header_of {
    my ($res, $name) = @_;
    my $v = $res->{headers}{lc $name};
    return $v ? join(', ', @$v) : undef;
}

# --- Status ---------------------------------------------------------------

for my $how (qw(code header)) {
    my $res = raw_request(path => "/php/hdr_status.php?how=$how");
    is($res->{status}, 404,
       "a script's 404 (PHP $how) reaches the client as 404");
    is($res->{body}, "the script says: no such thing here\n",
       "the 404 (PHP $how) comes with the script's own body");
}

# --- custom headers, repeated headers, cookies, Content-Type ---------------

{
    my $res = raw_request(path => '/php/hdr_custom.php');
    is($res->{status}, 200, 'a script with many headers answers 200');
    is(header_of($res, 'X-Custom'), 'hello from PHP',
       'a custom header reaches the client');
    is(header_of($res, 'X-Multi'), 'a, b',
       'a header sent twice with different values arrives with both');
    my @cookies = @{ $res->{headers}{'set-cookie'} || [] };
    is(scalar @cookies, 3, 'three cookies arrive as three Set-Cookie lines');
    is(join(' | ', sort @cookies),
       'first=1; Path=/ | second=2; Path=/php | third=3; HttpOnly',
       'each Set-Cookie line is one cookie, unchanged');
    is(header_of($res, 'Content-Type'),
       'application/x-hdr-test; charset=latin1',
       'the Content-Type is the one the script set');
    is($res->{body}, "custom headers body\n",
       'the body follows the headers');
}

# --- Location: local path, no Status = internal redirect -------------------

{
    my $res = raw_request(path => '/php/hdr_redirect.php');
    is($res->{status}, 200,
       'a local Location without Status gives the client 200, not a redirect');
    is($res->{body}, "target reached by GET\n",
       "the client gets the Location target's content");
    is(header_of($res, 'Location'), undef,
       'an internal redirect shows the client no Location header');

    $res = raw_request(method => 'POST', path => '/php/hdr_redirect.php',
                       headers => [['Content-Type',
                                    'application/x-www-form-urlencoded']],
                       body => 'a=1&b=2');
    is($res->{status}, 200,
       'a POST answered with a local Location gives the client 200');
    is($res->{body}, "target reached by GET\n",
       'the internally redirected POST reaches the target as a GET');
}

# --- Location: absolute URL ------------------------------------------------

{
    my $res = raw_request(path => '/php/hdr_absolute.php');
    is($res->{status}, 302,
       'an absolute Location without Status gives the client a 302');
    is(header_of($res, 'Location'), 'http://example.com/x',
       'the 302 carries the Location the script sent');

    $res = raw_request(path => '/php/hdr_absolute.php?code=301');
    is($res->{status}, 301,
       'an absolute Location with Status 301 stays a 301');
    is(header_of($res, 'Location'), 'http://example.com/x',
       'the 301 carries the Location the script sent');
}

# --- HEAD -------------------------------------------------------------------

{
    my ($head, $rest) = wire(method => 'HEAD', path => '/php/hdr_custom.php');
    like($head, qr{^HTTP/1\.1 200 }, 'HEAD on a script answers 200');
    like($head, qr{^Content-Type: application/x-hdr-test; charset=latin1\r?$}mi,
         "HEAD shows the script's Content-Type");
    is(length $rest, 0, 'HEAD sends no body bytes at all');
}

# --- the backend's Content-Length ------------------------------------------

{
    my $res = raw_request(path => '/php/hdr_length.php');
    is(header_of($res, 'Content-Length'), 1234,
       "a script's Content-Length: 1234 reaches the client");
    is(header_of($res, 'Transfer-Encoding'), undef,
       'a response with a backend Content-Length is not chunked');
    is(length $res->{body}, 1234, 'the client gets the 1234 bytes');
    is($res->{body}, ('0123456789' x 123) . '0123',
       "the 1234 bytes are the script's, in order");
}

# A backend that says 10 and sends 100: the client gets the 10 it was
# promised, nothing after them, and the log says why.
{
    my $mark = error_log_mark();
    my ($head, $rest) = wire(path => '/backend?case=cllong');
    like($head, qr/^Content-Length: 10\r?$/mi,
         'a backend saying Content-Length 10 gives the client Content-Length 10');
    is($rest, 'l' x 10,
       'a backend sending 100 bytes after saying 10: the client gets exactly 10');
    my $log = wait_error_log($mark, qr/FCGI031[02]/);
    like($log, qr/FCGI031[02]: the backend sent more body than its Content-Length/,
         'the extra bytes are logged (FCGI0310, or FCGI0312 when they came with the headers)');
    my $ok = raw_request(path => '/backend?case=ok');
    is("$ok->{status} $ok->{body}", "200 ok\n",
       'after a too-long body the backend still answers normally');
}

# A backend that says 100 and sends 50, all at once: nothing has gone out
# when the module sees the response is short, so the client gets a 502.
{
    my $mark = error_log_mark();
    my $res = raw_request(path => '/backend?case=clshort');
    is($res->{status}, 502,
       'a backend short of its Content-Length in one piece gives 502');
    unlike($res->{body}, qr/s{50}/,
           'the 502 carries none of the short body');
    my $log = wait_error_log($mark, qr/FCGI0313/);
    like($log, qr/FCGI0313: the backend's response is 50 bytes short/,
         'the missing bytes are logged (FCGI0313)');
    my $ok = raw_request(path => '/backend?case=ok');
    is("$ok->{status} $ok->{body}", "200 ok\n",
       'after a too-short body the backend still answers normally');
}

# The same when the backend ends the request only after the body went out:
# the client must be able to tell that the download broke, so the
# connection is cut.
{
    my $mark = error_log_mark();
    my $res = raw_request(path => '/backend?case=clshort_late');
    is($res->{status}, 200, 'a backend short of its Content-Length: headers went out as 200');
    is(header_of($res, 'Content-Length'), 100,
       'a backend saying Content-Length 100 gives the client Content-Length 100');
    cmp_ok(length $res->{body}, '<', 100,
           'a backend short of its Content-Length: the client gets fewer than 100 bytes');
    ok(!$res->{complete},
       'a backend short of its Content-Length: the client sees an incomplete response');
    ok($res->{closed},
       'a backend short of its Content-Length: the server closes the connection');
    my $log = wait_error_log($mark, qr/FCGI0311/);
    like($log, qr/FCGI0311: the backend ended the response 50 bytes short/,
         'the missing bytes are logged (FCGI0311)');
    my $ok = raw_request(path => '/backend?case=ok');
    is("$ok->{status} $ok->{body}", "200 ok\n",
       'after a too-short body the backend still answers normally');
}

# --- conditional GET -------------------------------------------------------

{
    my $date = 'Tue, 15 Nov 1994 12:45:26 GMT';
    my $res = raw_request(path => '/php/hdr_lastmod.php');
    is($res->{status}, 200,
       'a page with a Last-Modified answers 200 to a plain GET');
    is(header_of($res, 'Last-Modified'), $date,
       "the page's Last-Modified reaches the client");
    is($res->{body}, "unchanged since 1994\n",
       'the plain GET gets the body');

    $res = raw_request(path => '/php/hdr_lastmod.php',
                       headers => [['If-Modified-Since', $date]]);
    is($res->{status}, 304,
       'If-Modified-Since equal to the Last-Modified gives 304');
    my ($head, $rest) = wire(path => '/php/hdr_lastmod.php',
                             headers => [['If-Modified-Since', $date]]);
    is(length $rest, 0, 'the 304 has no body');

    $res = raw_request(path => '/php/hdr_lastmod.php',
                       headers => [['If-Modified-Since',
                                    'Sun, 06 Nov 1994 08:49:37 GMT']]);
    is($res->{status}, 200,
       'If-Modified-Since older than the Last-Modified gives 200');
    is($res->{body}, "unchanged since 1994\n",
       'a page modified since the client\'s copy comes with its body');
}

# --- an interim Status is never the response --------------------------------

# 100 Continue or 101 Switching Protocols sent as the final response, with
# a body after it on a kept-alive connection, would have the client (or a
# proxy in front) read that body as the next response.
for my $code (100, 101, 103) {
    my $mark = error_log_mark();
    my $sock = http_connect();
    http_request($sock, path => "/backend?case=status&code=$code");
    my $res = FcgiTest::read_response($sock, timeout => 10);
    is($res->{status}, 502, "a backend's Status: $code is not sent as the response: 502");
    http_request($sock, path => '/backend?case=ok');
    my $next = FcgiTest::read_response($sock, timeout => 10);
    close $sock;
    is(($next->{status} // "none") . " " . ($next->{body} // ""), "200 ok\n",
       "... and the next request on the client's connection gets its own answer");
    my $log = wait_error_log($mark, qr/FCGI0402/);
    like($log, qr/FCGI0402: the backend sent an interim Status \(1xx\), which cannot be the response: 'Status: $code'.*\[backend fcgi:/,
         "... logged with the backend (FCGI0402)");
}

# --- hop-by-hop headers ------------------------------------------------------

{
    my $mark = error_log_mark();
    my $sock = http_connect();
    http_request($sock, path => '/backend?case=hopbyhop');
    my $res = FcgiTest::read_response($sock, timeout => 10);
    is($res->{status}, 200, 'a response with hop-by-hop headers is served');
    is(header_of($res, 'X-Kept'), 'yes', '... with its other headers');
    my %leaked = map { $_ => header_of($res, $_) }
                 grep { defined header_of($res, $_) }
                 qw(Trailer TE Proxy-Connection X-Secret);
    is(join(' ', sort keys %leaked), '',
       'Trailer, TE, Proxy-Connection and the header Connection names '
       . '(X-Secret) do not reach the client');
    # (httpd offers its own Upgrade: h2c here: Protocols h2c.)
    unlike(header_of($res, 'Upgrade') // '', qr/websocket/,
           "the backend's Upgrade does not reach the client");
    unlike(header_of($res, 'Keep-Alive') // '', qr/99/,
           "the backend's Keep-Alive does not reach the client");
    unlike(header_of($res, 'Connection') // '', qr/X-Secret|close/i,
           "the backend's Connection header does not replace httpd's own");
    http_request($sock, path => '/backend?case=ok');
    my $next = FcgiTest::read_response($sock, timeout => 10);
    close $sock;
    is(($next->{status} // "none") . " " . ($next->{body} // ""), "200 ok\n",
       'the client connection stays open for the next request');
    my $log = wait_error_log($mark, qr/FCGI0407/);
    like($log, qr/FCGI0407: hop-by-hop headers from fcgi:\S+ not passed on: Connection, X-Secret, Keep-Alive, Upgrade, Trailer, TE, Proxy-Connection/,
         'what was dropped is logged at debug (FCGI0407)');
}

# --- Content-Length given twice -----------------------------------------------

{
    my $mark = error_log_mark();
    my $res = raw_request(path => '/backend?case=twolengths&first=6&second=5');
    is($res->{status}, 502, 'two Content-Lengths that disagree (6, 5): 502');
    unlike($res->{body}, qr/hello/, '... and none of the body');
    my $log = wait_error_log($mark, qr/FCGI0408/);
    like($log, qr/FCGI0408: the backend sent two Content-Lengths that disagree: '6' and '5'.*\[backend fcgi:/,
         '... logged with both values (FCGI0408)');
    for my $same (['5', '5'], ['5', '05']) {
        $res = raw_request(path => "/backend?case=twolengths&first=$same->[0]&second=$same->[1]");
        is(join(' ', $res->{status}, header_of($res, 'Content-Length') // '-', $res->{body}),
           '200 5 hello', "two Content-Lengths that agree ($same->[0], $same->[1]) are one");
    }
}
