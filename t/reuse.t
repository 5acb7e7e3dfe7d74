# Connection reuse: a request's connection to the backend serves the next
# request (FCGI_KEEP_CONN) unless FcgiKeepConn Off; a kept connection the
# backend closed is retried on a new one; idle connections close after
# FcgiIdleTimeout; FcgiMaxConns bounds the connections and a request that
# cannot get one within FcgiQueueTimeout gets 503 with Retry-After; a
# response cut short by the client ends with FCGI_ABORT_REQUEST, keeping
# the connection when the backend cooperates.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Apache::TestUtil;
use FcgiTest qw(raw_request http_connect http_request read_response
                error_log_mark wait_error_log sockdir in_parallel);
use POSIX ();
use Time::HiRes ();

plan tests => 62;

my $dir = sockdir();

# "conn=PID request=N keep=K open=M" -> hash
sub conn_info {
    my $res = shift;
    my %h = ($res->{body} // '') =~ /(\w+)=(\S+)/g;
    return \%h;
}

sub open_conns { scalar(my @f = glob("$dir/open/*")) }

# Established TCP connections (IPv4) to a local port: our side of them.
sub tcp_conns_to {
    my $port = sprintf '%04X', shift;
    open my $fh, '<', '/proc/net/tcp' or return -1;
    my $n = 0;
    while (<$fh>) {
        my (undef, undef, $remote, $state) = split;
        $n++ if defined $state && $state eq '01' && $remote =~ /:$port$/;
    }
    return $n;
}

# Wait until the backend has no connection open (idle ones time out).
sub wait_quiet {
    for (1 .. 60) {
        return 1 unless open_conns();
        Time::HiRes::sleep(0.1);
    }
    return 0;
}

# --- kept, or not ------------------------------------------------------------

{
    my $a = conn_info(raw_request(path => '/reuse-keep?case=conn'));
    my $b = conn_info(raw_request(path => '/reuse-keep?case=conn'));
    is($a->{keep}, 1, 'the backend is asked to keep the connection (FCGI_KEEP_CONN)');
    is($b->{conn}, $a->{conn}, 'the next request is served on the same connection');
    is($b->{request}, $a->{request} + 1,
       'the kept connection serves its second request');
}

{
    my $a = conn_info(raw_request(path => '/reuse-off?case=conn'));
    my $b = conn_info(raw_request(path => '/reuse-off?case=conn'));
    is($a->{keep}, 0, 'with FcgiKeepConn Off the backend is not asked to keep it');
    isnt($b->{conn}, $a->{conn}, 'with FcgiKeepConn Off each request has its own connection');
    is($b->{request}, 1, 'with FcgiKeepConn Off no connection serves twice');
}

# A POST is not idempotent: were its kept connection closing just then,
# it could not be sent again.  It gets a new connection.
{
    my $a = conn_info(raw_request(path => '/reuse-keep?case=conn'));
    my $post = raw_request(method => 'POST', path => '/reuse-keep?case=conn',
                           body => 'x=1');
    my $b = conn_info($post);
    is($post->{status}, 200, 'a POST through a backend with kept connections is served');
    isnt($b->{conn}, $a->{conn}, 'a POST gets a new connection, not a kept one');
    is($b->{request}, 1, '... on which it is the first request');
}

# --- idle connections close --------------------------------------------------

{
    my $a = conn_info(raw_request(path => '/reuse-keep?case=conn'));
    ok(-e "$dir/open/$a->{conn}", 'a kept connection stays open after its request');
    my $gone = 0;
    for (1 .. 40) {
        if (!-e "$dir/open/$a->{conn}") {
            $gone = 1;
            last;
        }
        Time::HiRes::sleep(0.1);
    }
    ok($gone, 'an idle connection is closed after FcgiIdleTimeout (1s)');
    my $b = conn_info(raw_request(path => '/reuse-keep?case=conn'));
    is($b->{request}, 1, 'after the idle timeout a new connection serves');
}

# --- a kept connection the backend closed --------------------------------------

{
    my $mark = error_log_mark();
    my $a = raw_request(path => '/reuse-stale?case=conn&die_next=1');
    is($a->{status}, 200, 'the first request on a connection about to die is served');
    my $b = raw_request(path => '/reuse-stale?case=conn');
    is($b->{status}, 200,
       'the next request, on the kept connection the backend closed, is still served');
    isnt(conn_info($b)->{conn}, conn_info($a)->{conn},
         '... on a new connection');
    my $log = wait_error_log($mark, qr/FCGI0105/);
    like($log, qr/FCGI0105: a kept connection to fcgi:\S+ had been closed by the backend; trying again/,
         'the retry is logged (FCGI0105, info)');
    unlike($log, qr/FCGI0(?!105)[1-4]\d\d/, 'and no failure is logged');
}

# --- FcgiMaxConns ------------------------------------------------------------

ok(wait_quiet(), 'the backend is quiet before the FcgiMaxConns test');
{
    # Six clients at once, 300 ms each, FcgiMaxConns 2.
    my @lines = in_parallel(6, sub {
        my $i = shift;
        my $res = raw_request(path => "/reuse-cap?case=conn&sleep=300&i=$i",
                              timeout => 20);
        return sprintf('%s %s', $res->{status} // 0,
                       conn_info($res)->{open} // -1);
    });
    my @ok = grep { /^200 / } @lines;
    my ($max_open) = sort { $b <=> $a } map { (split)[1] } @lines;
    is(scalar(@ok), 6, 'six requests at once with FcgiMaxConns 2 are all served');
    cmp_ok($max_open, '<=', 2,
           "the backend never had more than 2 connections open ($max_open)");
}

# --- FcgiQueueTimeout ----------------------------------------------------------

{
    # One connection (FcgiMaxConns 1), held 2.5 s; the next request waits
    # for it at most FcgiQueueTimeout (1s).
    my $mark = error_log_mark();
    my $slow = http_connect();
    http_request($slow, path => '/reuse-queue?case=conn&sleep=2500');
    Time::HiRes::sleep(0.3);
    my $t0 = Time::HiRes::time();
    my $res = raw_request(path => '/reuse-queue?case=conn', timeout => 10);
    my $waited = Time::HiRes::time() - $t0;
    is($res->{status}, 503,
       'a request that finds every connection busy beyond FcgiQueueTimeout gets 503');
    is(($res->{headers}{'retry-after'} || [])->[0], 1,
       'the 503 says when to retry (Retry-After)');
    ok($waited >= 0.8 && $waited < 2.2,
       sprintf('it waited about FcgiQueueTimeout (1s) for a connection (%.2f s)', $waited));
    my $log = wait_error_log($mark, qr/FCGI0104/);
    like($log, qr/FCGI0104: every connection to the backend \(FcgiMaxConns\) stayed busy for FcgiQueueTimeout/,
         'the 503 is logged (FCGI0104)');
    my $first = read_response($slow, timeout => 10);
    is($first->{status}, 200, 'the request holding the connection is served');
    close $slow;
}

# --- more connections than the backend has workers -----------------------------

# 8 clients x 10 pages of 100 ms at $location, a PHP-FPM pool of 2 workers
# with FcgiMaxConns 4, while a sampler counts our connections to it every
# 50 ms ($count).  Returns the pages' statuses and times, how long the run
# took, and the most connections seen in each half of it.
sub starve_run {
    my ($location, $count, $clients, $pages, $ms) = @_;
    ($clients, $pages, $ms) = (8, 10, 100) unless $clients;
    my $samples = "$dir/starve-samples";
    my $sampler = fork // die "fork: $!";
    if (!$sampler) {
        open my $out, '>', $samples or POSIX::_exit(1);
        $out->autoflush(1);
        while (1) {
            printf $out "%.3f %d\n", Time::HiRes::time(), $count->();
            Time::HiRes::sleep(0.05);
        }
    }
    my $t0 = Time::HiRes::time();
    my @lines = in_parallel($clients, sub {
        my $i = shift;
        my $sock = http_connect();
        my @out;
        for my $n (1 .. $pages) {
            my $t = Time::HiRes::time();
            http_request($sock, path => "$location/reuse_sleep.php?ms=$ms&c=$i&n=$n");
            my $res = read_response($sock, timeout => 30);
            push @out, sprintf('%s %.3f', $res->{status} // 0,
                               Time::HiRes::time() - $t);
        }
        return @out;
    });
    my $t1 = Time::HiRes::time();
    kill 'KILL', $sampler;
    waitpid $sampler, 0;
    my (@first, @second, @all);
    open my $in, '<', $samples or die "$samples: $!";
    while (<$in>) {
        my ($t, $n) = split;
        next if $t > $t1;
        push @{ $t < ($t0 + $t1) / 2 ? \@first : \@second }, $n;
        push @all, [$t - $t0, $n];
    }
    my ($first) = sort { $b <=> $a } @first;
    my ($second, @rest) = sort { $b <=> $a } @second;
    return (\@lines, $t1 - $t0, $first // 0, $second // 99, $rest[-1] // $second // 0,
            \@all);
}

# Connections to a unix socket, accepted or still in its listen queue.
sub unix_conns_to {
    my $path = shift;
    open my $fh, '<', '/proc/net/unix' or return -1;
    my $n = 0;
    while (<$fh>) {
        my @f = split;
        $n++ if @f >= 8 && $f[7] eq $path && ($f[5] eq '02' || $f[5] eq '03');
    }
    return $n;
}

# Wait until no connection to PHP-FPM's pool "two" is left from the test
# before (they close once idle): the next one needs its workers.
sub php_two_quiet {
    for (1 .. 50) {
        return 1 if unix_conns_to("$dir/php-two.sock") == 0;
        Time::HiRes::sleep(0.1);
    }
    return 0;
}

# A kept connection holds its worker, so without care the 2 connections
# the workers did not take would wait inside PHP-FPM until the others are
# let go, the whole run.  8 s of work on 2 workers: about 4 s, and a fair
# share is about 0.4 s a page; a request left waiting behind kept
# connections waits for seconds.
# Where the kernel tells whether PHP-FPM has accepted a connection (Linux:
# a unix socket, or TCP to this machine) the pool learns that the backend
# serves 2 and holds no more than that (and one it tries now and then),
# queueing the rest itself.  Built as off Linux (FCGI_PORTABLE), nothing
# tells: a request still waiting for its first byte gets a worker freed
# for it, and the pool learns nothing.
my $portable = ($ENV{FCGI_CFLAGS} // '') =~ /-DFCGI_PORTABLE\b/;
for my $case (['TCP', '/reuse-starve', sub { tcp_conns_to($ENV{FCGI_TEST_PHP_PORT}) }],
              ['unix', '/reuse-learn', sub { unix_conns_to("$dir/php-two.sock") }]) {
    my ($over, $location, $count) = @$case;
    my ($lines, $took, $first, $second, $fewest) = starve_run($location, $count);
    my @ok = grep { /^200 / } @$lines;
    my ($slowest) = sort { $b <=> $a } map { (split)[1] } @$lines;
    is(scalar(@ok), 80, "$over: 8 clients x 10 pages with more connections than workers: all served");
    cmp_ok($slowest, '<', 2.5,
           sprintf('%s: no page waited behind kept connections (slowest %.2f s)', $over, $slowest));
    ok($took < 10, sprintf('%s: the run took about the work it had (%.1f s)', $over, $took));
    SKIP: {
        skip "$over: built as off Linux, the pool cannot tell a queued request (FCGI_PORTABLE)", 3
            if $portable;
        cmp_ok($first, '>=', 3,
               "$over: the sampler saw the pool open more connections than workers at first ($first)");
        cmp_ok($second, '<=', 3,
               "$over: in the second half of the run the pool held at most the 2 the backend "
               . "serves and one more it tried, not FcgiMaxConns 4 ($second)");
        cmp_ok($fewest, '>=', 2,
               "$over: ... and never fewer than the 2 ($fewest): it learned no fewer workers "
               . 'than the backend has');
    }
}

# Many connections allowed (FcgiMaxConns 8) for 2 workers, and many
# clients: the pool finds one queued connection after another and frees
# a worker for each; what it learns must still be the 2 workers, not
# fewer (those freed for the earlier ones are busy, not missing).  Too
# few, it would hold 1 connection until it tried one more, a second
# later: the samples from 0.3 to 0.9 s tell.
ok(php_two_quiet(), 'PHP-FPM has no connection left from the test before');
SKIP: {
    skip 'built as off Linux, the pool learns nothing (FCGI_PORTABLE)', 2 if $portable;
    my ($lines, $took, $first, $second, $fewest, $samples) = starve_run('/reuse-learnmany',
        sub { unix_conns_to("$dir/php-two.sock") }, 16, 30, 10);
    my ($least) = sort { $a <=> $b } map { $_->[1] } grep { $_->[0] >= 0.3 && $_->[0] <= 0.9 } @$samples;
    is(scalar(grep { /^200 / } @$lines), 480, 'FcgiMaxConns 8, 16 clients x 30 pages: all served');
    cmp_ok($least // 0, '>=', 2,
           'from 0.3 to 0.9 s the pool held no fewer connections than the backend has workers, 2 ('
           . ($least // 'no sample') . ')');
}

# --- a slow PHP page on a new connection is not starvation ------------------

{
    # PHP-FPM reads a request's parameters, not the end of its (empty)
    # body, until it has answered: a worker busy with a request on a new
    # connection leaves that much unread.  Here a 900 ms page on a new
    # connection is being worked on when a page sent after it completes on
    # a kept connection: the pool must not take the slow one for queued
    # (and learn that PHP-FPM serves one connection), so two slow pages
    # next run side by side on the two workers.
    my $sleep = sub { "/reuse-phpslow/reuse_sleep.php?ms=$_[0]&r=" . rand() };
    ok(php_two_quiet(), 'the connections of the test before to PHP-FPM are closed (idle)');
    is(raw_request(path => $sleep->(10))->{status}, 200,
       'a first page leaves a kept connection to PHP-FPM');
    # The kept connection: 300 ms, then 100 ms; a new one meanwhile: 900 ms.
    my @first = in_parallel(3, sub {
        my $i = shift;
        Time::HiRes::sleep((0, 0.1, 0.45)[$i - 1]);
        return raw_request(path => $sleep->((300, 900, 100)[$i - 1]),
                           timeout => 10)->{status};
    });
    my $t0 = Time::HiRes::time();
    my @next = in_parallel(2, sub {
        my $res = raw_request(path => $sleep->(500), timeout => 10);
        return sprintf '%s %.3f', $res->{status} // 0, Time::HiRes::time() - $t0;
    });
    my ($slowest) = sort { $b <=> $a } map { (split)[1] } @next;
    is("@first", '200 200 200', 'a 900 ms page on a new connection while two go on the kept one');
    is(join(' ', map { (split)[0] } @next), '200 200', 'then two 500 ms pages');
    cmp_ok($slowest, '<', 0.85,
           sprintf('the two ran side by side on the 2 workers (the slower took %.2f s)', $slowest));
}

# --- slow pages are not starvation -------------------------------------------

ok(wait_quiet(), 'the backend is quiet before the slow-page test');
{
    # Four kept connections (FcgiMaxConns 4), then two slow pages (1.5 s
    # before their first byte) on two of them while one client asks for
    # fast ones.  A kept connection is held by the worker that served it,
    # so a request on one that is slow to answer is being worked on, not
    # queued: the fast requests go on on kept connections, and the pool
    # neither closes them nor shrinks.
    in_parallel(4, sub {
        raw_request(path => '/reuse-slowpage?case=conn&sleep=200', timeout => 10);
    });
    my @slow = map {
        my $s = http_connect();
        http_request($s, path => '/reuse-slowpage?case=conn&sleep=1500');
        $s;
    } 1 .. 2;
    Time::HiRes::sleep(0.2);
    my $fast = http_connect();
    my @requests;
    for (1 .. 20) {
        http_request($fast, path => '/reuse-slowpage?case=conn');
        my $res = read_response($fast, timeout => 10);
        push @requests, ($res->{status} // 0) == 200
            ? conn_info($res)->{request} // 0 : 0;
        Time::HiRes::sleep(0.02);
    }
    close $fast;
    my @slow_status = map { read_response($_, timeout => 10)->{status} // 0 } @slow;
    close $_ for @slow;
    my $on_kept = grep { $_ >= 2 } @requests;
    is("@slow_status", '200 200', 'the two slow pages are served');
    is($on_kept, 20, 'all 20 fast requests during them went on kept connections '
       . "(requests on their connections: @requests)");
}

# --- hand-over: a waiting request is sent on the connection given back --------

{
    # One connection (FcgiMaxConns 1).  The first request holds it 600 ms;
    # two more wait for it, the second for an answer that takes 2.5 s.
    # Whoever gives the connection back sends the next waiting request on
    # it at once; FcgiIOTimeout (1s) still bounds the wait for that
    # request's answer, counted from when it was sent, though its thread
    # slept through the sending.
    my $first = http_connect();
    http_request($first, path => '/reuse-handover?case=conn&sleep=600');
    Time::HiRes::sleep(0.2);
    my $t0 = Time::HiRes::time();
    my @lines = in_parallel(2, sub {
        my $i = shift;
        Time::HiRes::sleep(0.1 * $i);    # in this order
        my $sleep = $i == 2 ? 2500 : 0;
        my $res = raw_request(path => "/reuse-handover?case=conn&sleep=$sleep",
                              timeout => 20);
        return sprintf('%d %s %.2f %s', $i, $res->{status} // 0,
                       Time::HiRes::time() - $t0, $res->{body} // '');
    });
    my $held = read_response($first, timeout => 10);
    close $first;
    my %by = map { (split)[0] => $_ } @lines;
    my ($next_status, $next_t, @next_info) = (split ' ', $by{1} // '')[1 .. 5];
    my ($slow_status, $slow_t) = (split ' ', $by{2} // '')[1, 2];
    my %next = map { /(\w+)=(\S+)/ } @next_info;
    is($held->{status}, 200, 'the request holding the only connection is served');
    is($next_status, 200, 'the first waiting request is served');
    is($next{request}, 2, 'on the connection given back, kept (request '
       . ($next{request} // '?') . ' on it)');
    is($slow_status, 504,
       'a waiting request sent on hand-over whose answer is late gets 504');
    ok(defined $slow_t && $slow_t > 1.0 && $slow_t < 2.2,
       sprintf('... FcgiIOTimeout (1s) after it was sent, at ~0.4 + 1 s (%.2f s)',
               $slow_t // -1));
}

# --- the client goes away ------------------------------------------------------

# Read the headers and a line of a slow response, then leave.
sub leave_early {
    my ($path) = @_;
    my $sock = http_connect();
    http_request($sock, path => $path);
    my $buf = '';
    while ($buf !~ /tick 2/) {
        sysread($sock, $buf, 4096, length $buf) or last;
    }
    close $sock;
}

{
    my $id = "abort$$";
    leave_early("/reuse-abort?case=slow&n=100&id=$id");
    my $aborted = 0;
    for (1 .. 40) {
        last if ($aborted = -e "$dir/slow-$id.aborted");
        Time::HiRes::sleep(0.05);
    }
    ok($aborted, 'when the client leaves, the backend gets FCGI_ABORT_REQUEST');
    Time::HiRes::sleep(0.2);
    my $next = conn_info(raw_request(path => '/reuse-abort?case=conn'));
    is($next->{request}, 2,
       'a backend that ends the aborted request keeps its connection for the next');
}

{
    my $id = "ignore$$";
    leave_early("/reuse-abort?case=slow&n=100&abort=ignore&id=$id");
    my $closed = 0;
    for (1 .. 40) {
        last if ($closed = -e "$dir/slow-$id.closed");
        Time::HiRes::sleep(0.05);
    }
    ok($closed, 'a backend that ignores FCGI_ABORT_REQUEST has its connection closed');
    my $next = conn_info(raw_request(path => '/reuse-abort?case=conn'));
    is($next->{request}, 1, '... and the next request gets a new connection');
}

# PHP-FPM reads FCGI_ABORT_REQUEST as the start of its next request and
# closes the connection: the module must notice, not keep it, and the next
# request must not meet a dead connection.
{
    my $mark = error_log_mark();
    my $sock = http_connect();
    http_request($sock, path => '/reuse-php/reuse_stream.php');
    my $buf = '';
    while ($buf !~ /line 2\n/) {
        sysread($sock, $buf, 4096, length $buf) or last;
    }
    close $sock;
    Time::HiRes::sleep(0.3);
    my @next = map { raw_request(path => '/reuse-php/env.php') } 1 .. 3;
    is(join(' ', map { $_->{status} } @next), '200 200 200',
       'after a client left a PHP response early, the next requests are served');
    my $log = wait_error_log($mark, qr/FCGI0105/, 1);
    unlike($log, qr/FCGI0(?:105|2\d\d|3[0-2]\d)/,
           '... without meeting a dead connection (no retry, no failure logged)');
}

# --- many requests, few connections ------------------------------------------

{
    my $sock = http_connect();
    my (%conns, $bad);
    for my $i (1 .. 50) {
        http_request($sock, path => "/reuse-keep?case=conn&i=$i");
        my $res = read_response($sock);
        $bad++ unless ($res->{status} // 0) == 200;
        $conns{ conn_info($res)->{conn} // 'none' }++;
    }
    close $sock;
    ok(!$bad, '50 requests in a row are all served');
    is(scalar(keys %conns), 1, '50 requests in a row use one backend connection');
}

ok(wait_quiet(), 'once idle, every connection to the backend is closed again');
