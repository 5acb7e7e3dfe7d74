# Configuration: the directives FcgiConnectTimeout, FcgiIOTimeout,
# FcgiQueueTimeout, FcgiIdleTimeout, FcgiResponseTimeout (durations: 500ms,
# 5s, 2m, 1h, bare seconds), FcgiStderrLevel (a log level), FcgiMaxConns (a
# number), FcgiResponseHeaderLimit (a size) and FcgiKeepConn (a flag).  A bad value stops httpd at config time with a message that
# names the directive and says what to write instead; good values pass
# "httpd -t".  In .htaccess (AllowOverride FileInfo) the handler and the
# directives apply per directory, and a bad value there fails the request
# (500) with the same message in the error log.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);   # Test::More: every assertion has a name
use Apache::TestRequest;
use Apache::TestUtil;
use FcgiTest qw(raw_request error_log_mark wait_error_log sockdir);
use File::Temp ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

my $write = 'write e.g. 500ms, 5s, 2m or 30 (seconds)';
my @bad = (
    ['FcgiConnectTimeout', 'abc', "'abc' is not a duration (it does not start with a number)", $write],
    ['FcgiConnectTimeout', '0',   "'0' is not a duration (it must be more than zero)", $write],
    ['FcgiConnectTimeout', '5x',  "'5x' is not a duration (the unit is not one of ms, s, m, h)", $write],
    ['FcgiIOTimeout',      '-1',  "'-1' is not a duration (it does not start with a number)", $write],
    ['FcgiStderrLevel',    'loud', "'loud' is not a log level",
     'write one of emerg, alert, crit, error, warn, notice, info, debug, trace1 ... trace8'],
    ['FcgiQueueTimeout',   'never', "'never' is not a duration (it does not start with a number)", $write],
    ['FcgiResponseTimeout', 'soon', "'soon' is not a duration (it does not start with a number)", $write],
    ['FcgiIdleTimeout',    '0',   "'0' is not a duration (it must be more than zero)", $write],
    ['FcgiMaxConns',       '0',   "'0' is not a number of connections",
     'write a whole number from 1, e.g. FcgiMaxConns 4'],
    ['FcgiMaxConns',       'many', "'many' is not a number of connections",
     'write a whole number from 1, e.g. FcgiMaxConns 4'],
    ['FcgiResponseHeaderLimit', '100', "'100' is not a size (it must be from 1K to 64M)",
     'write e.g. 64K, 1M or 16384 (bytes)'],
    ['FcgiResponseHeaderLimit', '64X', "'64X' is not a size (the unit is not K or M)",
     'write e.g. 64K, 1M or 16384 (bytes)'],
);
my @good = (
    ['FcgiConnectTimeout', '500ms'],
    ['FcgiConnectTimeout', '5s'],
    ['FcgiIOTimeout',      '2m'],
    ['FcgiIOTimeout',      '1h'],
    ['FcgiIOTimeout',      '30'],
    ['FcgiStderrLevel',    'debug'],
    ['FcgiKeepConn',       'Off'],
    ['FcgiMaxConns',       '16'],
    ['FcgiQueueTimeout',   '500ms'],
    ['FcgiResponseTimeout', '5m'],
    ['FcgiResponseTimeout', 'Off'],
    ['FcgiResponseHeaderLimit', '128K'],
);

plan tests => 3 * @bad + @good + 2 + 6 + 3, need_lwp;

# --- config time: httpd -t on a minimal configuration -------------------------

my $httpd = Apache::Test::vars('httpd');
my $module = Apache::Test::vars('top_dir') . '/modules/.libs/mod_fastcgi_handler.so';
my $libexec = '/usr/lib/apache2/modules';
if (my $apxs = Apache::Test::vars('apxs')) {
    chomp(my $dir = `$apxs -q LIBEXECDIR 2>/dev/null` // '');
    $libexec = $dir if $dir && -d $dir;
}
my $tmp = File::Temp::tempdir('fcgi-config-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $port = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1) or die "no free port: $!";
    $s->sockport;
};

# Run "httpd -t" on a configuration with $body in it; returns the exit
# status and everything httpd printed.
sub httpd_t {
    my $body = shift;
    my $conf = "$tmp/httpd.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"EOF";
ServerRoot "$tmp"
ServerName localhost
Listen 127.0.0.1:$port
PidFile "$tmp/httpd.pid"
ErrorLog "$tmp/error_log"
LoadModule mpm_event_module "$libexec/mod_mpm_event.so"
LoadModule authz_core_module "$libexec/mod_authz_core.so"
LoadModule fastcgi_handler_module "$module"
$body
EOF
    close $fh;
    my $pid = open(my $out, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec $httpd, '-t', '-f', $conf or POSIX::_exit(127);
    }
    local $/;
    my $text = <$out> // '';
    close $out;
    return ($? >> 8, $text);
}

sub in_location {
    my ($directive, $value) = @_;
    # FcgiIdleTimeout is a property of the process's pools: server-wide.
    return "$directive $value\n" if $directive eq 'FcgiIdleTimeout';
    return "<Location /app>\n    SetHandler fcgi:127.0.0.1:9000\n"
         . "    $directive $value\n</Location>\n";
}

for my $b (@bad) {
    my ($directive, $value, $why, $instead) = @$b;
    my ($status, $out) = httpd_t(in_location($directive, $value));
    ok($status != 0, "httpd refuses to start with $directive $value")
        or diag($out);
    ok($out =~ /^\Q$directive: $why\E/m,
       "the message names $directive and says why '$value' is wrong")
        or diag($out);
    ok($out =~ /\Q$why; $instead\E$/m,
       "the message for $directive $value says what to write instead")
        or diag($out);
}

for my $g (@good) {
    my ($directive, $value) = @$g;
    my ($status, $out) = httpd_t(in_location($directive, $value));
    ok($status == 0 && $out =~ /^Syntax OK$/m,
       "$directive $value is accepted (Syntax OK)") or diag($out);
}

{
    my ($status, $out) = httpd_t("FcgiConnectTimeout 500ms\nFcgiIOTimeout 2m\n"
                                 . "FcgiStderrLevel info\nFcgiIdleTimeout 30s\n"
                                 . "FcgiMaxConns 4\nFcgiKeepConn On\n");
    ok($status == 0 && $out =~ /^Syntax OK$/m,
       'the directives are accepted at server level too (Syntax OK)')
        or diag($out);
}

{
    # The idle timeout belongs to the process's connection pools.
    my ($status, $out) = httpd_t("<Location /app>\n    FcgiIdleTimeout 30s\n"
                                 . "</Location>\n");
    ok($status != 0 && $out =~ /FcgiIdleTimeout not allowed in <Location> context/,
       'FcgiIdleTimeout is refused inside <Location> (server config only)')
        or diag($out);
}

# --- .htaccess ------------------------------------------------------------------

# errors-htaccess/.htaccess: SetHandler fcgi:${FCGI_TEST_SOCKDIR}/backend.sock
# and FcgiIOTimeout 1s.  The server's Timeout is 60 s, so a hang that ends
# in about a second shows the .htaccess value applied.
{
    my $res = raw_request(path => '/errors-htaccess/app?case=ok', timeout => 10);
    ok(($res->{status} // 0) == 200 && $res->{body} eq "ok\n",
       'a SetHandler in .htaccess (with ${FCGI_TEST_SOCKDIR}) reaches the backend');

    my $mark = error_log_mark();
    my $t0 = Time::HiRes::time();
    $res = raw_request(path => '/errors-htaccess/app?case=hang', timeout => 10);
    my $secs = Time::HiRes::time() - $t0;
    my $log = wait_error_log($mark, qr/ FCGI0304: /);
    is($res->{status}, 504,
             'a backend that hangs under .htaccess FcgiIOTimeout 1s gives 504');
    ok($secs >= 0.8 && $secs < 1.9,
       sprintf('the 504 comes after the .htaccess timeout of 1 s (took %.2f s)', $secs));
    my ($line) = grep { / FCGI0304: / } split /\n/, $log;
    ok(($line // '') =~ /FCGI0304: the backend sent nothing for longer than FcgiIOTimeout \[backend fcgi:\Q${\ sockdir()}\E\/backend\.sock, phase headers, /,
       'the timeout is logged as FCGI0304 for the backend the .htaccess names')
        or diag($log);

    $res = raw_request(path => '/backend?case=ok', timeout => 10);
    ok(($res->{status} // 0) == 200 && $res->{body} eq "ok\n",
       'after the .htaccess timeout, the next request still gets 200 "ok"');
    $res = raw_request(path => '/errors-htaccess/app?case=ok', timeout => 10);
    ok(($res->{status} // 0) == 200 && $res->{body} eq "ok\n",
       'the .htaccess directory still answers after its timeout');
}

# errors-htaccess-bad/.htaccess: FcgiIOTimeout soon.
{
    my $mark = error_log_mark();
    my $res = raw_request(path => '/errors-htaccess-bad/app?case=ok', timeout => 10);
    my $log = wait_error_log($mark, qr/FcgiIOTimeout: 'soon'/);
    is($res->{status}, 500, 'a bad FcgiIOTimeout in .htaccess gives 500');
    ok($log =~ /\.htaccess: FcgiIOTimeout: 'soon' is not a duration \(it does not start with a number\); \Q$write\E/,
       'the error log names the .htaccess, the directive and what to write instead')
        or diag($log);
    $res = raw_request(path => '/backend?case=ok', timeout => 10);
    ok(($res->{status} // 0) == 200 && $res->{body} eq "ok\n",
       'elsewhere the server still answers 200 "ok"');
}
