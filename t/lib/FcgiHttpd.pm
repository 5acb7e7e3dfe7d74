# FcgiHttpd: an httpd of a test's own, beside the suite's main server, for
# what one server cannot show: another MPM or number of children, a
# configuration taken from the README, a second front end on the same
# backend, an httpd inside a network namespace.
#
#   my $h = FcgiHttpd->start(name => 'event2', mpm => 'event',
#                            mpm_conf => "StartServers 2\n...",
#                            conf => "<Location /x>...</Location>");
#   ... requests to $h->port (127.0.0.1) ...
#   $h->error_log; $h->stop;
#
# It loads the module the suite built, from the source tree the suite runs
# in, and only the httpd modules a test names (modules => [...]) beyond
# the few any configuration here needs.  It runs in the foreground of a
# child of ours (-DFOREGROUND) in a directory of its own, and stops with
# the test (or with stop()).
package FcgiHttpd;

use strict;
use warnings FATAL => 'all';

use Cwd ();
use File::Basename ();
use File::Path ();
use File::Temp ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

use FcgiTestServers ();

my $top = Cwd::abs_path(File::Basename::dirname(__FILE__) . '/../..');

sub apxs_q {
    my $what = shift;
    for my $apxs ($ENV{APXS}, 'apxs', '/usr/bin/apxs') {
        next unless $apxs;
        my $v = `$apxs -q $what 2>/dev/null`;
        chomp $v;
        return $v if length $v;
    }
    die "apxs -q $what: no answer (is apache2-dev installed?)\n";
}

sub httpd_binary {
    return $ENV{FCGI_TEST_HTTPD} || apxs_q('SBINDIR') . '/' . apxs_q('TARGET');
}

sub start {
    my ($class, %o) = @_;
    my $name = $o{name} // 'extra';
    my $dir = $o{dir} // File::Temp::tempdir("/tmp/fcgi-httpd-$name-XXXXXX",
                                             CLEANUP => 0);
    my $port = $o{port} // FcgiTestServers::free_port();
    my $mpm = $o{mpm} // 'event';
    my $libexec = FcgiTestServers::httpd_libexecdir();
    my $module = $o{module} // "$top/modules/.libs/mod_fastcgi_handler.so";
    mkdir "$dir/logs";
    my @mods = ("mpm_$mpm", qw(authz_core alias mime dir), @{ $o{modules} || [] });
    my %seen;
    my $load = join '', map { "LoadModule ${_}_module $libexec/mod_$_.so\n" }
                        grep { !$seen{$_}++ } @mods;
    my $conf = <<"EOF";
ServerRoot "$dir"
ServerName localhost
Listen 127.0.0.1:$port
PidFile "$dir/logs/httpd.pid"
ErrorLog "$dir/logs/error_log"
LogLevel info fastcgi_handler:debug
LogFormat "%h %t \\"%r\\" %>s %b %D" timed
CustomLog "$dir/logs/access_log" timed
DocumentRoot "$dir/htdocs"
Mutex file:$dir/logs
$load
LoadModule fastcgi_handler_module "$module"
TypesConfig /etc/mime.types
<Directory />
    Require all granted
</Directory>
@{[ $o{mpm_conf} // "" ]}
@{[ $o{conf} // "" ]}
EOF
    mkdir "$dir/htdocs";
    open my $f, '>', "$dir/httpd.conf" or die "$dir/httpd.conf: $!";
    print $f $conf;
    close $f;

    my $self = bless { dir => $dir, port => $port, name => $name,
                       owner => $$ }, $class;
    my $out = "$dir/logs/httpd.out";
    # wrap: a command to run httpd under (unshare, say).
    my @run = (@{ $o{wrap} || [] }, httpd_binary());
    my $check = system(@run, '-t', '-f', "$dir/httpd.conf");
    die "httpd ($name) refuses its configuration ($dir/httpd.conf)\n" if $check;
    $self->{pid} = FcgiTestServers::spawn($out, @run, '-DFOREGROUND',
                                          '-f', "$dir/httpd.conf");
    FcgiTestServers::wait_for("httpd ($name)", sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                      Timeout => 1);
        return $s ? 1 : 0;
    }, $self->{pid});
    return $self;
}

sub port { $_[0]->{port} }
sub dir { $_[0]->{dir} }

sub error_log {
    my $self = shift;
    open my $fh, '<', "$self->{dir}/logs/error_log" or return '';
    local $/;
    return <$fh> // '';
}

# The pids of the httpd children now running (the parent's children).
sub children {
    my $self = shift;
    my @kids;
    for my $stat (glob('/proc/[0-9]*/stat')) {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // '';
        close $fh;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S (\d+)/ or next;
        push @kids, $pid if $ppid == $self->{pid};
    }
    return @kids;
}

# Graceful restart (SIGUSR1), as apache2ctl graceful.
sub graceful {
    my $self = shift;
    kill 'USR1', $self->{pid};
}

sub stop {
    my $self = shift;
    local ($?, $!);                   # an END or DESTROY must not change the exit status
    return unless $self->{pid} && $$ == $self->{owner};
    kill 'TERM', $self->{pid};
    my $until = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $until) {
        last if waitpid($self->{pid}, POSIX::WNOHANG()) == $self->{pid};
        Time::HiRes::sleep(0.05);
    }
    kill 'KILL', -$self->{pid};
    waitpid($self->{pid}, 0);
    delete $self->{pid};
    File::Path::remove_tree($self->{dir}) unless $ENV{FCGI_TEST_KEEP};
}

sub DESTROY { $_[0]->stop }

1;
