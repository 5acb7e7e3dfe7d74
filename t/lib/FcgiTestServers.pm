# FcgiTestServers: the backends the suite runs against, started before
# httpd and stopped after it.
#
#   PHP-FPM       $FCGI_TEST_SOCKDIR/php.sock and 127.0.0.1:$FCGI_TEST_PHP_PORT
#   test backend  $FCGI_TEST_SOCKDIR/backend.sock, 127.0.0.1:$FCGI_TEST_BACKEND_PORT
#                 (and ::1 when the host has IPv6), plus the sockets that
#                 misbehave before reading anything (see the backend)
#
# Ports are picked free at start; the environment carries them to httpd's
# configuration and to the tests.
package FcgiTestServers;

use strict;
use warnings FATAL => 'all';

use File::Path ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1)
        or die "cannot find a free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub httpd_libexecdir {
    for my $apxs ($ENV{APXS}, 'apxs', '/usr/bin/apxs') {
        next unless $apxs;
        my $dir = `$apxs -q LIBEXECDIR 2>/dev/null`;
        chomp $dir;
        return $dir if $dir && -d $dir;
    }
    return '/usr/lib/apache2/modules';
}

sub find_php_fpm {
    for my $p (glob('/usr/sbin/php-fpm* /usr/local/sbin/php-fpm*')) {
        return $p if -x $p && $p =~ m{/php-fpm[\d.]*$};
    }
    die "php-fpm not found: install it (./build.sh deps)\n";
}

sub wait_for {
    my ($what, $check, $pid) = @_;
    for (1 .. 100) {
        return 1 if $check->();
        if ($pid && waitpid($pid, POSIX::WNOHANG()) == $pid) {
            die "$what exited at start (status $?)\n";
        }
        Time::HiRes::sleep(0.05);
    }
    die "$what did not come up within 5 seconds\n";
}

sub spawn {
    my ($log, @cmd) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or die "$log: $!";
        open STDERR, '>&', \*STDOUT;
        POSIX::setsid();
        exec @cmd or die "exec $cmd[0]: $!";
    }
    return $pid;
}

sub start {
    my ($class, $tdir) = @_;
    my $self = bless { pids => [], owner => $$ }, $class;
    eval { $self->_start($tdir); 1 } or do {
        my $err = $@;
        $self->stop;
        die $err;
    };
    return $self;
}

sub _start {
    my ($self, $tdir) = @_;

    # Unix socket paths have a length limit (108 bytes): keep them short.
    # And lowercase: httpd lowercases handler names, socket paths included.
    my $dir = sprintf('/tmp/fcgi-test-%d-%d', $$, int(rand(1e9)));
    mkdir $dir, 0700 or die "mkdir $dir: $!";
    $self->{dir} = $dir;
    my %env = (
        FCGI_TEST_SOCKDIR      => $dir,
        FCGI_TEST_PHP_PORT     => free_port(),
        FCGI_TEST_BACKEND_PORT => free_port(),
        FCGI_TEST_FULL_PORT    => free_port(),
        FCGI_TEST_CLOSED_PORT  => free_port(),
        # Where httpd's own modules are, for the ones the suite loads.
        FCGI_TEST_LIBEXECDIR   => httpd_libexecdir(),
    );
    @ENV{keys %env} = values %env;

    # PHP-FPM, with a configuration of our own.
    my $conf = "$dir/php-fpm.conf";
    open my $in, '<', "$tdir/php-fpm.conf.in" or die "$tdir/php-fpm.conf.in: $!";
    open my $out, '>', $conf or die "$conf: $!";
    while (my $line = <$in>) {
        $line =~ s/\@(\w+)\@/exists $env{$1} ? $env{$1} : die "unknown \@$1\@"/ge;
        print $out $line;
    }
    close $out;
    my $fpm = spawn("$dir/php-fpm.out", find_php_fpm(), '-F', '-y', $conf,
                    '-p', $dir);
    push @{ $self->{pids} }, $fpm;
    wait_for('php-fpm', sub { -S "$dir/php.sock" }, $fpm);

    # The scriptable backend.
    my $backend = spawn("$dir/backend.out", $^X,
                        "$tdir/backend/fcgi_test_backend.pl",
                        '--dir', $dir,
                        '--port', $env{FCGI_TEST_BACKEND_PORT},
                        '--full-port', $env{FCGI_TEST_FULL_PORT});
    push @{ $self->{pids} }, $backend;
    wait_for('the test backend', sub { -e "$dir/backend.ready" }, $backend);
}

sub stop {
    my $self = shift;
    # Apache::Test forks (and its children run END blocks): only the
    # process that started the backends stops them.
    return unless $$ == $self->{owner};
    for my $pid (@{ $self->{pids} }) {
        kill 'TERM', -$pid;           # each runs in its own process group
        kill 'TERM', $pid;
    }
    for my $pid (@{ $self->{pids} }) {
        waitpid($pid, 0);
    }
    $self->{pids} = [];
    # FCGI_TEST_KEEP=1 keeps the backends' logs for a post-mortem.
    File::Path::remove_tree($self->{dir})
        if $self->{dir} && !$ENV{FCGI_TEST_KEEP};
}

1;
