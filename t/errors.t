# Errors: a backend that is missing, refuses, times out, or answers with
# junk gives the client a clear status (an error page before the
# headers; a cut-off response after them), leaves ONE clear line in the
# error log that starts with its FCGI number and ends with
#   [backend fcgi:ADDR, phase P, sent N bytes, received M bytes, T ms]
# and the server goes on serving the next request as if nothing happened.
# Also: the backend's STDERR goes to the error log (at FcgiStderrLevel,
# at most 100 lines a request), never to the client.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);   # Test::More: every assertion has a name
use Apache::TestRequest;
use Apache::TestUtil;
use FcgiTest qw(raw_request error_log_mark error_log_since wait_error_log
                sockdir http_connect read_response);
use IO::Select ();
use Time::HiRes ();

my $dir = sockdir();
my $backend = "fcgi:$dir/backend.sock";

my %title = (500 => '500 Internal Server Error', 502 => '502 Bad Gateway',
             503 => '503 Service Unavailable', 504 => '504 Gateway Timeout');

# --- the cases --------------------------------------------------------------
#
# what     the backend's misbehaviour, as the assertion names say it
# path     the request
# status   the error page the client gets, or, for a failure after the
#          headers went out:
# cut_off  the body the client gets before the response is cut off, and
# upto     what the backend tried to send: the client may get a part of the
#          record the backend cut in half, never more (payload is passed on
#          as it arrives)
# repeat   how many times to try it again: whether all of the response was
#          read before httpd sent the headers is timing, and every try must
#          be cut off the same visible way
# says     what the one FCGI line in the error log says (number, words)
# addr, phase, sent, received   that line's trailer (regexes)
# secs     [min, max): how long the request takes, where a timeout is the
#          point
# junk     what of the backend's answer must never reach the client
my @cases = (
    {   what   => 'a socket file nobody listens on',
        path   => '/fail/refused',
        status => 503,
        says   => qr/Connection refused.* FCGI0100: cannot connect to the backend/,
        addr   => "fcgi:$dir/refused.sock", phase => 'connect',
        sent   => '0', received => '0',
    },
    {   what   => 'a socket file that does not exist',
        path   => '/fail/missing',
        status => 503,
        says   => qr/ FCGI0102: the backend's socket does not exist/,
        addr   => "fcgi:$dir/missing.sock", phase => 'connect',
        sent   => '0', received => '0',
    },
    {   what   => 'a TCP port nobody listens on',
        path   => '/fail/closed-port',
        status => 503,
        says   => qr/Connection refused.* FCGI0100: cannot connect to the backend/,
        addr   => "fcgi:127.0.0.1:$ENV{FCGI_TEST_CLOSED_PORT}",
        phase  => 'connect', sent => '0', received => '0',
    },
    {   what   => 'a backend whose listen queue is full (FcgiConnectTimeout 500ms)',
        path   => '/fail/full',
        status => 504,
        says   => qr/ FCGI0101: connecting to the backend took longer than FcgiConnectTimeout/,
        addr   => "fcgi:127.0.0.1:$ENV{FCGI_TEST_FULL_PORT}",
        phase  => 'connect', sent => '0', received => '0',
        secs   => [0.4, 5],
    },
    # Whether the close is seen while sending the request or while reading
    # the answer depends on timing (on Linux, a unix socket closed with our
    # request unread in it resets: FCGI0305); either way it is one line and
    # a 502.
    {   what   => 'a backend that accepts and closes at once',
        path   => '/fail/close',
        status => 502,
        says   => qr/ FCGI0(?:302: the backend closed the connection without ending the request|303: the backend closed the connection in the middle of a record|305: reading from the backend failed|200: sending the request to the backend failed)/,
        addr   => "fcgi:$dir/close.sock", phase => 'params|headers',
        received => '0',
    },
    {   what   => 'a backend that never answers (FcgiIOTimeout 1s)',
        path   => '/fail/silent',
        status => 504,
        says   => qr/ FCGI0304: the backend sent nothing for longer than FcgiIOTimeout/,
        addr   => "fcgi:$dir/silent.sock", phase => 'headers',
        sent   => '[1-9]\d*', received => '0',
        secs   => [0.8, 1.9],
    },
    {   what   => 'a backend that does not read an 8 MiB request body (FcgiIOTimeout 1s)',
        path   => '/fail/deaf',
        method => 'POST',
        body   => 'b' x (8 << 20),
        status => 504,
        says   => qr/ FCGI0211: the backend did not take the request body within FcgiIOTimeout/,
        addr   => "fcgi:$dir/deaf.sock", phase => 'stdin',
        sent   => '[1-9]\d*', received => '0',
        secs   => [0.8, 3],
    },
    {   what   => 'a backend that reads the request and hangs (FcgiIOTimeout 2s)',
        path   => '/backend?case=hang',
        status => 504,
        says   => qr/ FCGI0304: the backend sent nothing for longer than FcgiIOTimeout/,
        phase  => 'headers', received => '0',
        secs   => [1.8, 5],
    },
    {   what   => 'a backend that answers in HTTP, not FastCGI',
        path   => '/backend?case=garbage',
        status => 502,
        says   => qr/ FCGI0301: malformed response: a record with a FastCGI version other than 1/,
        phase  => 'headers',
        junk   => qr{HTTP/1\.1 200 OK},
    },
    {   what   => 'a backend that speaks FastCGI version 2',
        path   => '/backend?case=badversion',
        status => 502,
        says   => qr/ FCGI0301: malformed response: a record with a FastCGI version other than 1/,
        phase  => 'headers',
        junk   => qr/version two/,
    },
    {   what   => 'a backend that closes in the middle of a record, before the headers',
        path   => '/backend?case=truncated',
        status => 502,
        says   => qr/ FCGI0303: the backend closed the connection in the middle of a record/,
        phase  => 'headers', received => '20',
        junk   => qr/cut in half/,
    },
    {   what    => 'a backend that closes in the middle of a body record',
        path    => '/backend?case=truncated_body',
        cut_off => "first part of the body\n",
        upto    => "first part of the body\nand this record is cut in half\n",
        repeat  => 100,
        says    => qr/ FCGI0303: the backend closed the connection in the middle of a record; the response to the client is cut off/,
        phase   => 'body',
    },
    {   what    => 'a backend that closes after the body without END_REQUEST',
        path    => '/backend?case=noend',
        cut_off => "a body with no end\n",
        repeat  => 100,
        says    => qr/ FCGI0302: the backend closed the connection without ending the request \(no END_REQUEST\); the response to the client is cut off/,
        phase   => 'body',
    },
    {   what    => 'a backend that stalls in the middle of the body (FcgiIOTimeout 2s)',
        path    => '/backend?case=stall',
        cut_off => "one line, then nothing\n",
        says    => qr/ FCGI0304: the backend sent nothing for longer than FcgiIOTimeout; the response to the client is cut off/,
        phase   => 'body',
        secs    => [1.8, 5],
    },
    {   what   => 'a backend that sends 1 MiB of headers',
        path   => '/backend?case=bigheaders',
        status => 502,
        says   => qr/ FCGI0405: the backend's CGI header block is larger than 65536 bytes/,
        phase  => 'headers', received => '(?:6[5-9]|[7-9]\d|\d{3,})\d{3}',
        junk   => qr/X-Filler/i,
    },
    {   what   => 'a backend that sends a control character in a header value',
        path   => '/backend?case=ctlheader',
        status => 502,
        says   => qr/ FCGI0402: the backend sent a control character in a header value: 'X-Evil: a\?b'/,
        phase  => 'headers',
        junk   => qr/\x01|X-Evil/i,
    },
    {   what   => 'a backend that sends a header name with a space',
        path   => '/backend?case=badheader',
        status => 502,
        says   => qr/ FCGI0402: the backend sent a header name that is empty or not a token: 'Bad Name: x'/,
        phase  => 'headers',
        junk   => qr/Bad Name/i,
    },
    {   what   => 'a backend that sends Status: abc',
        path   => '/backend?case=badstatus',
        status => 502,
        says   => qr/ FCGI0402: the backend sent a Status header that is not a status code from 100 to 599: 'Status: abc'/,
        phase  => 'headers',
        junk   => qr/bad status/,
    },
    {   what   => 'a backend that sends Content-Length: nope',
        path   => '/backend?case=badlength',
        status => 502,
        says   => qr/ FCGI0403: the backend sent an invalid Content-Length: 'nope'/,
        phase  => 'headers',
        junk   => qr/nope|bad length/,
    },
    {   what   => 'a backend that ends the request without any output',
        path   => '/backend?case=nohdr',
        status => 502,
        says   => qr/ FCGI0400: the backend's response has no CGI header block \(it sent no output\)/,
        phase  => 'headers', received => '16',
    },
    {   what   => 'a backend that answers FCGI_OVERLOADED',
        path   => '/backend?case=overloaded',
        status => 503,
        says   => qr/ FCGI0320: the backend refused the request: FCGI_OVERLOADED/,
        phase  => 'headers',
    },
);

# Each case: status or (cut off: status, headers, body, no last chunk,
# closed), one line, its words, its trailer, the next request; plus the
# error page, the junk and the time where the case has them.
my $tests = 0;
for my $c (@cases) {
    $tests += $c->{cut_off} ? 9 : 6;
    $tests += 1 if $c->{repeat};
    $tests += 1 if $c->{junk};
    $tests += 1 if $c->{secs};
}
$tests += 4;        # a handler that is not an address
$tests += 2 * 6;    # STDERR at warn, and at debug
$tests += 6;        # a STDERR flood
$tests += 3;        # ten thousand one-byte records
$tests += 2 * 5;    # a backend that dies during an upload, two clients

plan tests => $tests, need_lwp;

# A normal request after each failure: the server still works.
sub next_request_works {
    my $after = shift;
    my $res = raw_request(path => '/backend?case=ok', timeout => 10);
    ok(($res->{status} // 0) == 200 && $res->{body} eq "ok\n",
       "after $after, the next request still gets 200 \"ok\"");
}

# The FCGI lines of the error log text (STDERR lines aside).
# The module's lines about a request, but for STDERR (FCGI0500/0501), the
# retry of a kept connection the backend had closed (FCGI0105, info: the
# test backend closes after most cases, which a request may meet) and
# what the module explains at debug level (the suite logs at debug).
sub fcgi_lines {
    my $log = shift;
    return grep { / FCGI\d{4}: / && !/ FCGI0(?:50[01]|105): /
                  && !/\[fastcgi_handler:debug\]/ }
           split /\n/, $log;
}

sub is_chunked {
    my $res = shift;
    return lc(($res->{headers}{'transfer-encoding'} || [''])->[0]) eq 'chunked';
}

# What a client can tell: the body did not end as its framing says.
sub visibly_cut_off {
    my $res = shift;
    return ($res->{status} // 0) == 200 && is_chunked($res)
           && !$res->{complete} && $res->{closed};
}

sub headers_text {
    my $res = shift;
    my $h = $res->{headers} || {};
    return join '', map { my $k = $_; map { "$k: $_\n" } @{ $h->{$k} } }
                    sort keys %$h;
}

for my $c (@cases) {
    my $what = $c->{what};
    my $mark = error_log_mark();
    my $t0 = Time::HiRes::time();
    my $res = raw_request(path => $c->{path}, timeout => 10,
                          map { exists $c->{$_} ? ($_ => $c->{$_}) : () }
                              qw(method body));
    my $secs = Time::HiRes::time() - $t0;
    my $log = wait_error_log($mark, qr/ FCGI0(?!105)[1-4]\d\d: /);
    my @lines = fcgi_lines($log);

    if ($c->{status}) {
        is($res->{status}, $c->{status}, "$what gives $c->{status}");
        ok(defined $res->{status} && $res->{body} =~ /<title>\Q$title{$c->{status}}\E<\/title>/,
           "$what: the client gets the server's $c->{status} error page");
    }
    else {
        is($res->{status}, 200,
           "$what: the client gets the status and headers (200)");
        my $upto = $c->{upto} // $c->{cut_off};
        ok(index($res->{body}, $c->{cut_off}) == 0
               && index($upto, $res->{body}) == 0,
           "$what: the client gets the body up to the failure")
            or diag("body: '$res->{body}'");
        ok(is_chunked($res), "$what: the response is sent chunked");
        ok(!$res->{complete},
           "$what: the response is cut off (no terminating chunk)");
        ok($res->{closed}, "$what: the server closes the connection");
    }
    if ($c->{repeat}) {
        my %seen;
        for (1 .. $c->{repeat}) {
            my $again = raw_request(path => $c->{path}, timeout => 10);
            my $how = visibly_cut_off($again) ? 'cut off'
                    : sprintf('status %s, %s, %s', $again->{status} // 'none',
                              is_chunked($again) ? 'chunked' : 'not chunked',
                              $again->{complete} ? 'looks complete'
                                                 : 'incomplete');
            $seen{$how}++;
        }
        is(join('; ', map { "$seen{$_} x $_" } sort keys %seen),
           "$c->{repeat} x cut off",
           "$what: each of $c->{repeat} more tries is visibly cut off "
           . '(chunked, no terminating chunk, closed)');
    }
    if ($c->{junk}) {
        my $seen = headers_text($res) . $res->{body};
        ok($seen !~ $c->{junk},
           "$what: nothing of the backend's answer reaches the client");
    }
    if ($c->{secs}) {
        my ($min, $max) = @{ $c->{secs} };
        ok($secs >= $min && $secs < $max,
           sprintf("%s: the request ends after the timeout, in %.1f s to %.1f s (took %.2f s)",
                   $what, $min, $max, $secs));
    }

    is(scalar(@lines), 1, "$what leaves exactly one FCGI line in the error log")
        or diag("lines:\n" . join("\n", @lines));
    my $line = $lines[0] // '';
    ok($line =~ $c->{says}, "$what: the error log line says what happened")
        or diag("line: $line");
    my $addr = $c->{addr} // $backend;
    my $sent = $c->{sent} // '\d+';
    my $received = $c->{received} // '\d+';
    (my $phases = $c->{phase}) =~ s/\|/ or /g;
    ok($line =~ /\[backend \Q$addr\E, phase (?:$c->{phase}), sent $sent bytes, received $received bytes, \d+ ms\]$/,
       "$what: the error log line names the backend, phase $phases and the byte counts")
        or diag("line: $line");
    next_request_works($what);
}

# --- a handler string that is not an address ---------------------------------
{
    my $what = 'a handler "fcgi:no-port-here"';
    my $mark = error_log_mark();
    my $res = raw_request(path => '/fail/badaddr', timeout => 10);
    my $log = wait_error_log($mark, qr/ FCGI0002: /);
    my @lines = fcgi_lines($log);
    is($res->{status}, 500, "$what gives 500");
    is(scalar(@lines), 1, "$what leaves exactly one FCGI line in the error log");
    ok(($lines[0] // '') =~ /\[fastcgi_handler:error\] .* FCGI0002: handler 'fcgi:no-port-here' in the configuration: 'fcgi:no-port-here' is not a FastCGI address: a TCP address needs a port \(HOST:PORT\); write one of fcgi:\/run\/php\/php-fpm\.sock, .*fcgi:127\.0\.0\.1:9000/,
       "$what: the error log line says why and shows valid addresses (\"write one of\")")
        or diag("lines:\n" . join("\n", @lines));
    next_request_works($what);
}

# --- STDERR -----------------------------------------------------------------

my $ten_lines = join '', map { "stdout line $_\n" } 0 .. 9;

for my $route (['/backend?case=stderr', 'warn'],
               ['/backend-stderr-debug?case=stderr', 'debug']) {
    my ($path, $level) = @$route;
    my $what = $level eq 'warn' ? 'a backend writing STDERR'
                                : 'a backend writing STDERR under FcgiStderrLevel debug';
    my $mark = error_log_mark();
    my $res = raw_request(path => $path, timeout => 10);
    my $log = wait_error_log($mark, qr/stderr line 9$/m);
    my @err = grep { / FCGI0500: / } split /\n/, $log;

    is($res->{status}, 200, "$what still answers 200");
    is($res->{body}, $ten_lines,
             "$what: the body is exactly the ten STDOUT lines, no STDERR text");
    is(scalar(@err), 10, "$what: each of its ten lines is one line in the error log");
    ok(10 == grep({ /\[fastcgi_handler:\Q$level\E\] / } @err),
       "$what: the lines are logged at $level")
        or diag(join "\n", @err);
    my @want = map { "FCGI0500: stderr of $backend: stderr line $_" } 0 .. 9;
    my @got = map { / (FCGI0500: .*)$/ ? $1 : $_ } @err;
    is(join("\n", @got), join("\n", @want),
             "$what: the lines name the backend and carry the text, in order");
    is(scalar(fcgi_lines($log)), 0, "$what: no error is logged for it");
}

{
    my $what = 'a backend writing 150 STDERR lines';
    my $mark = error_log_mark();
    my $res = raw_request(path => '/backend?case=stderrflood', timeout => 10);
    my $log = wait_error_log($mark, qr/ FCGI0501: /);
    my @lines = grep { / FCGI050[01]: / } split /\n/, $log;
    my @logged = grep { / FCGI0500: / } @lines;

    is($res->{status}, 200, "$what still answers 200");
    is($res->{body}, "flooded\n", "$what: the body is only its STDOUT");
    is(scalar(@logged), 100, "$what: only the first 100 lines are logged");
    ok(@logged == 100 && $logged[0] =~ /: stderr flood 000$/
           && $logged[99] =~ /: stderr flood 099$/,
       "$what: the logged ones are lines 0 to 99");
    # 50 lines of 17 bytes ("stderr flood NNN\n") are left.
    ok(@lines && $lines[-1] =~ / FCGI0501: stderr of \Q$backend\E: 850 more bytes not logged \(only the first 100 lines of a request are\)$/,
       "$what: one last line counts the 850 bytes not logged")
        or diag('last: ' . ($lines[-1] // ''));
    is(scalar(grep { / FCGI0501: / } @lines), 1,
             "$what: the count is logged once");
}

# --- many tiny records ------------------------------------------------------
{
    my $what = 'a body in 10000 one-byte records';
    my $res = raw_request(path => '/backend?case=onebyte&n=10000', timeout => 10);
    is($res->{status}, 200, "$what answers 200");
    ok(($res->{body} eq join('', map { $_ % 10 } 0 .. 9999)),
       "$what arrives whole: the 10000 digits in order");
    ok($res->{complete}, "$what: the response ends properly");
}

# --- a backend that dies during an upload -------------------------------------
# A 1 MiB upload at about 100 KB/s to a backend that reads 64 KiB of it and
# dies: the client gets its 502 at once, not after sending the rest (which
# httpd would otherwise read and discard first), and the connection is
# closed; so does a client that sends half of it at once and waits.
for my $client (['keeps sending', 1], ['sends half of it and waits', 0]) {
    my ($how, $keeps_sending) = @$client;
    my $what = "an upload whose backend dies, a client that $how";
    my $mark = error_log_mark();
    my $total = 1024 * 1024;
    my $sock = http_connect();
    my $t0 = Time::HiRes::time();
    my $head = "POST /fail/diebody HTTP/1.1\r\nHost: localhost\r\n"
               . "Content-Type: application/octet-stream\r\n"
               . "Content-Length: $total\r\n\r\n";
    my $first = $keeps_sending ? 131072 : 524288;
    my $sent = syswrite($sock, $head . ('u' x $first)) - length $head;
    my $sel = IO::Select->new($sock);
    my $answered;
    while (Time::HiRes::time() - $t0 < 15) {
        if ($sel->can_read(0.1)) {
            $answered = Time::HiRes::time() - $t0;
            last;
        }
        if ($keeps_sending && $sent < $total) {
            my $n = syswrite($sock, 'u' x ($total - $sent < 10240 ? $total - $sent : 10240));
            last unless $n;
            $sent += $n;
        }
    }
    my $res = defined $answered ? read_response($sock, timeout => 5) : {};
    my $eof = defined $answered && !$sel->can_read(5) ? 0
            : !sysread($sock, my $junk, 1);
    close $sock;
    is($res->{status}, 502, "$what: 502");
    ok(defined $answered && $answered < 3,
       sprintf("$what: the answer comes at once (%s s, %d of %d bytes sent)",
               defined $answered ? sprintf('%.2f', $answered) : 'never',
               $sent, $total));
    ok($eof, "$what: the client connection is closed after the answer");
    my $log = wait_error_log($mark, qr/FCGI0216/);
    like($log, qr/FCGI03\d\d: .*\(sending the request body had failed: .*\[backend fcgi:\S+diebody\.sock, phase (?:stdin|headers)/,
         "$what: one line names the backend and the failed body");
    like($log, qr/FCGI0216: the request body was not read to its end/,
         "$what: the unread body is logged at debug (FCGI0216)");
}
