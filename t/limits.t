# Limits that protect the server from a backend (and from its own
# configuration): the size of the CGI header block (FcgiResponseHeaderLimit),
# the total time of a response (FcgiResponseTimeout, off by default, while
# FcgiIOTimeout cuts only a backend that goes quiet), and the size of the
# environment sent.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use FcgiTest qw(raw_request error_log_mark wait_error_log);
use Time::HiRes ();

plan tests => 14;

# --- FcgiResponseHeaderLimit -------------------------------------------------

{
    my $res = raw_request(path => '/backend?case=headers_kb&kb=16');
    is($res->{status}, 200, 'a 16 KiB header block passes the default limit (64K)');
    is($res->{body}, "body\n", '... with its body');

    my $mark = error_log_mark();
    $res = raw_request(path => '/limits-headers?case=headers_kb&kb=16');
    is($res->{status}, 502, 'with FcgiResponseHeaderLimit 8K a 16 KiB header block gives 502');
    my $log = wait_error_log($mark, qr/FCGI0405/);
    like($log, qr/FCGI0405: the backend's CGI header block is larger than 8192 bytes \(FcgiResponseHeaderLimit\)/,
         'the error log names the limit (FCGI0405)');
    $res = raw_request(path => '/limits-headers?case=headers_kb&kb=4');
    is($res->{status}, 200, 'with FcgiResponseHeaderLimit 8K a 4 KiB header block passes');
}

# --- FcgiIOTimeout vs FcgiResponseTimeout --------------------------------------

{
    # 8 bytes, 250 ms apart: 2 s in all, never quiet for FcgiIOTimeout (2s).
    my $t0 = Time::HiRes::time();
    my $res = raw_request(path => '/backend?case=trickle&n=8&ms=250', timeout => 10);
    my $took = Time::HiRes::time() - $t0;
    is($res->{status}, 200, 'a backend that trickles a byte every 250 ms answers 200');
    ok($res->{complete}, 'FcgiIOTimeout (2s) does not cut a backend that is slow but never quiet');
    is($res->{body}, 'abcdefgh', '... and the whole trickled body arrives');
    ok($took > 1.8, sprintf('the trickle took its 2 s (%.2f s)', $took));

    my $mark = error_log_mark();
    $t0 = Time::HiRes::time();
    $res = raw_request(path => '/limits-trickle?case=trickle&n=8&ms=250', timeout => 10);
    $took = Time::HiRes::time() - $t0;
    ok(!$res->{complete} && $res->{closed},
       'FcgiResponseTimeout (1s) cuts the trickling response off');
    ok($took > 0.8 && $took < 1.8,
       sprintf('... after about a second (%.2f s)', $took));
    my $log = wait_error_log($mark, qr/FCGI0306/);
    like($log, qr/FCGI0306: the response took longer than FcgiResponseTimeout; the response to the client is cut off \[backend fcgi:\S+, phase body/,
         'the cut is logged (FCGI0306, phase body)');
}

# --- the environment's size ---------------------------------------------------

{
    # LimitRequestFieldSize is 200 KiB here: 50 headers of 90 KiB make an
    # environment of 4.5 MiB, more than a backend is sent.
    my $mark = error_log_mark();
    my @headers = map { ["X-Big-$_", 'v' x (90 * 1024)] } 1 .. 50;
    my $res = raw_request(path => '/backend?case=env', headers => \@headers);
    is($res->{status}, 500, 'an environment over 4 MiB is not sent: 500');
    my $log = wait_error_log($mark, qr/FCGI0202/);
    like($log, qr/FCGI0202: the CGI environment is \d+ bytes, more than the 4194304 we send a backend/,
         'the error log says how big it was (FCGI0202)');
}
