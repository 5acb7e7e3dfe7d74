# Resolving a backend's name: a lookup that takes seconds holds up only
# the requests for that name (never those for other backends of the same
# httpd child, unix sockets included), and a name that did not resolve is
# answered from memory for a few seconds (503 at once) before it is looked
# up again: a dead name costs one lookup, not one per request.
#
# Real resolver, real DNS: httpd's child runs with an /etc/resolv.conf of
# the test's own (a mount namespace) pointing at t/backend/dns_test_server.pl
# on 127.0.0.1:53 (a network namespace, where the test may bind port 53).
# The test runs itself again inside `unshare -rnm` for that, and skips
# where user namespaces are not allowed.
use strict;
use warnings FATAL => 'all';

use FindBin ();
use Test::More;

BEGIN {
    if (!$ENV{FCGI_TEST_IN_NS}) {
        if (system('unshare -rnm true >/dev/null 2>&1') != 0
            || system('sh -c "command -v ip" >/dev/null 2>&1') != 0) {
            plan skip_all => 'needs unprivileged user namespaces (unshare -rnm) and ip';
        }
        $ENV{FCGI_TEST_IN_NS} = 1;
        exec('unshare', '-rnm', $^X, (map { "-I$_" } grep { !ref } @INC), $0)
            or die "exec unshare: $!";
    }
}

use lib "$FindBin::Bin/lib";
use FcgiHttpd ();
use FcgiTestServers ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

plan tests => 13;

my $sockdir = $ENV{FCGI_TEST_SOCKDIR} or die "FCGI_TEST_SOCKDIR is not set\n";
my $dir = "$sockdir/resolve";
mkdir $dir;

# The namespace's own network and resolver.
system('ip', 'link', 'set', 'lo', 'up') == 0 or die "ip link set lo up failed\n";
open my $rc, '>', "$dir/resolv.conf" or die "$dir/resolv.conf: $!";
print $rc "nameserver 127.0.0.1\noptions timeout:5 attempts:1\n";
close $rc;
system('mount', '--bind', "$dir/resolv.conf", '/etc/resolv.conf') == 0
    or die "cannot bind-mount a resolv.conf\n";

# The name that does not exist: NXDOMAIN, after 2 s.
open my $z, '>', "$dir/zone" or die "$dir/zone: $!";
print $z "slow.test NXDOMAIN 2000\n";
close $z;
my $dns = FcgiTestServers::spawn("$dir/dns.out", $^X,
                                 "$FindBin::Bin/backend/dns_test_server.pl",
                                 '--zone', "$dir/zone", '--log', "$dir/queries");
FcgiTestServers::wait_for('the DNS server', sub { -e "$dir/zone.ready" }, $dns);
END { kill 'TERM', -$dns if $dns; }

# httpd runs as a user of a nested namespace (httpd will not serve as
# root), in one child: a stalled lookup would hold up all of that child.
my $mpm = join "\n", 'StartServers 1', 'ServerLimit 1', 'ThreadsPerChild 25',
                     'MaxRequestWorkers 25', 'MinSpareThreads 1',
                     'MaxSpareThreads 25';
my $conf = join "\n",
    '<Location /slow>', '    SetHandler fcgi:slow.test:9000', '</Location>',
    '<Location /unix>', "    SetHandler fcgi:$sockdir/backend.sock", '</Location>',
    '<Location /unix-new>', "    SetHandler fcgi:$sockdir/./backend.sock", '</Location>';
my $httpd = FcgiHttpd->start(
    name => 'resolve', mpm_conf => $mpm, conf => $conf,
    wrap => ['unshare', '-U', '--map-user=1000', '--map-group=1000']);

# GET $path: (status, seconds).
sub get {
    my $path = shift;
    my $t0 = Time::HiRes::time();
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $httpd->port,
                                  Timeout => 20) or return (0, 0);
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
    my $res = do { local $/; <$s> } // '';
    my ($status) = $res =~ m{^HTTP/1\.\d (\d{3})};
    return ($status // 0, Time::HiRes::time() - $t0);
}

# How many times the DNS server was asked for slow.test's address.
sub lookups {
    open my $f, '<', "$dir/queries" or return 0;
    return scalar grep { / slow\.test A$/ } <$f>;
}

is((get('/unix?case=ok'))[0], 200, 'the backend on a unix socket answers');

# Four requests for the name that takes 2 s to fail, and meanwhile others.
my $t0 = Time::HiRes::time();
pipe(my $r, my $w) or die "pipe: $!";
my @kids;
for (1 .. 4) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $r;
        my ($st, $t) = get('/slow');
        syswrite $w, "$st $t\n";
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
close $w;
Time::HiRes::sleep(0.3);
my @others = map { [get($_)] } ('/unix?case=ok') x 5, '/unix-new?case=ok';
my @slow = map { [split] } <$r>;
waitpid($_, 0) for @kids;

my ($slowest_other) = sort { $b <=> $a } map { $_->[1] } @others;
is(join(' ', map { $_->[0] } @others), '200 200 200 200 200 200',
   'during the lookup, requests for other backends are served');
cmp_ok($slowest_other, '<', 0.5,
       sprintf('... without waiting for it (slowest %.2f s)', $slowest_other));
is(join(' ', map { $_->[0] } @slow), '503 503 503 503',
   'the requests for the name that does not resolve get 503');
my ($fastest_slow) = sort { $a <=> $b } map { $_->[1] } @slow;
my ($slowest_slow) = sort { $b <=> $a } map { $_->[1] } @slow;
ok($fastest_slow > 1.3 && $slowest_slow < 4,
   sprintf('... once the lookup failed, 2 s on (%.2f to %.2f s)',
           $fastest_slow // -1, $slowest_slow // -1));
is(lookups(), 1, 'four requests at once for the name cost one lookup');

# Within a few seconds of the failure, the name is not looked up again.
my @again = map { [get('/slow')] } 1 .. 10;
my ($slowest_again) = sort { $b <=> $a } map { $_->[1] } @again;
is(join(' ', map { $_->[0] } @again), join(' ', ('503') x 10),
   'ten more requests for it get 503');
cmp_ok($slowest_again, '<', 0.5,
       sprintf('... at once (slowest %.2f s)', $slowest_again));
is(lookups(), 1, '... without another lookup');
like($httpd->error_log,
     qr/FCGI0003: cannot resolve the host of 'fcgi:slow\.test:9000' \(the lookup \d+ ms ago failed; it is tried again 5 s after that\)/,
     'their log line says the failure is remembered (FCGI0003)');

# After that, it is.
my $since = Time::HiRes::time() - $t0;
Time::HiRes::sleep(7.3 - $since) if $since < 7.3;
my ($st, $t) = get('/slow');
is($st, 503, 'a few seconds later the name still does not resolve: 503');
cmp_ok($t, '>', 1.3, sprintf('... after a new lookup (%.2f s)', $t));
is(lookups(), 2, '... one more');

$httpd->stop;
