# FcgiTest: what the .t files share.
#
# A raw HTTP/1.1 client (for what LWP hides: when each byte arrived,
# whether a response was cut off, keep-alive by hand), and a view of the
# error log since a mark.
package FcgiTest;

use strict;
use warnings FATAL => 'all';

use Apache::Test ();
use POSIX ();
use Apache::TestRequest ();
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes ();

use Exporter 'import';
our @EXPORT_OK = qw(server_addr http_connect http_request read_response
                    raw_request error_log_mark error_log_since
                    wait_error_log sockdir in_parallel);

sub sockdir { $ENV{FCGI_TEST_SOCKDIR} }

# host:port of the test server.
sub server_addr {
    my $cfg = Apache::Test::config();
    return $cfg->{vars}->{servername} . ':' . $cfg->{vars}->{port};
}

sub http_connect {
    my ($host, $port) = split /:/, server_addr();
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Timeout => 10)
        or die "cannot connect to the test server: $!";
    return $sock;
}

# Send one request on $sock.  %opt: method, path, headers (array ref of
# [name, value]), body, chunked (send the body chunked).
sub http_request {
    my ($sock, %opt) = @_;
    my $method = $opt{method} // 'GET';
    my $req = "$method $opt{path} HTTP/1.1\r\nHost: localhost\r\n";
    for my $h (@{ $opt{headers} || [] }) {
        $req .= "$h->[0]: $h->[1]\r\n";
    }
    my $body = $opt{body};
    if (defined $body) {
        if ($opt{chunked}) {
            $req .= "Transfer-Encoding: chunked\r\n\r\n";
            my $copy = $body;
            while (length $copy) {
                my $piece = substr($copy, 0, 8192, '');
                $req .= sprintf("%x\r\n", length $piece) . $piece . "\r\n";
            }
            $req .= "0\r\n\r\n";
        }
        else {
            $req .= 'Content-Length: ' . length($body) . "\r\n\r\n$body";
        }
    }
    else {
        $req .= "\r\n";
    }
    while (length $req) {
        my $n = syswrite($sock, $req);
        die "write to the test server: $!" unless $n;
        substr($req, 0, $n) = '';
    }
}

# Read one response from $sock.  Returns a hash:
#   status, headers (lowercased name => [values]), body,
#   complete (the body ended as its framing says), closed (the server
#   closed the connection), chunks ([time since $opt{t0}, bytes] for each
#   read, when t0 is given), first_body_at (seconds from t0 to the first
#   body byte), chunk_count (chunks of a chunked body, the last aside).
# %opt: head (a HEAD request: no body), t0, timeout (seconds, default 30).
sub read_response {
    my ($sock, %opt) = @_;
    my $timeout = $opt{timeout} // 30;
    my $sel = IO::Select->new($sock);
    my $buf = '';
    my %res = (headers => {}, body => '', complete => 0, closed => 0,
               chunks => [], chunk_count => 0);
    my $body_start;
    my $fill = sub {
        return 0 unless $sel->can_read($timeout);
        my $n = sysread($sock, $buf, 262144, length $buf);
        if (!$n) {
            $res{closed} = 1;
            return 0;
        }
        if (defined $opt{t0}) {
            my $t = Time::HiRes::time() - $opt{t0};
            push @{ $res{chunks} }, [$t, $n];
        }
        return 1;
    };

    while ($buf !~ /\r\n\r\n/) {
        $fill->() or return \%res;
    }
    my $head = substr($buf, 0, index($buf, "\r\n\r\n") + 4, '');
    my ($status_line, @lines) = split /\r\n/, $head;
    ($res{status}) = $status_line =~ m{^HTTP/1\.\d (\d{3})};
    for my $l (@lines) {
        my ($k, $v) = $l =~ /^([^:]+):\s*(.*)$/ or next;
        push @{ $res{headers}{lc $k} }, $v;
    }
    my $header = sub { my $v = $res{headers}{$_[0]}; $v ? $v->[-1] : undef };
    my $first_body = sub {
        $res{first_body_at} //= (defined $opt{t0} && length $buf)
            ? Time::HiRes::time() - $opt{t0} : undef;
    };

    if ($opt{head} || $res{status} == 204 || $res{status} == 304) {
        $res{complete} = 1;
    }
    elsif (lc($header->('transfer-encoding') // '') eq 'chunked') {
        while (1) {
            while ($buf !~ /\r\n/) {
                $fill->() or return \%res;
            }
            $first_body->();
            $buf =~ s/^([0-9a-fA-F]+)[^\r]*\r\n// or return \%res;
            my $size = hex $1;
            $res{chunk_count}++ if $size;
            if ($size == 0) {
                while ($buf !~ /\r\n/) {
                    $fill->() or return \%res;
                }
                $res{complete} = 1;
                last;
            }
            while (length $buf < $size + 2) {
                $fill->() or do { $res{body} .= $buf; return \%res };
            }
            $res{body} .= substr($buf, 0, $size);
            substr($buf, 0, $size + 2) = '';
        }
    }
    elsif (defined(my $len = $header->('content-length'))) {
        $first_body->() if length $buf;
        while (length $buf < $len) {
            $fill->() or do { $res{body} = $buf; return \%res };
            $first_body->();
        }
        $res{body} = substr($buf, 0, $len);
        $res{complete} = 1;
    }
    else {
        1 while $fill->();
        $res{body} = $buf;
        $res{complete} = $res{closed};
    }
    return \%res;
}

# One request on a fresh connection; returns read_response's hash.
sub raw_request {
    my (%opt) = @_;
    my $sock = http_connect();
    my $t0 = Time::HiRes::time();
    http_request($sock, %opt);
    my $res = read_response($sock, t0 => $t0,
                            head => ($opt{method} // '') eq 'HEAD',
                            timeout => $opt{timeout});
    close $sock;
    return $res;
}

sub error_log_path {
    return Apache::Test::vars('t_logs') . '/error_log';
}

# The error log's current end, to read what comes after it.
sub error_log_mark {
    return -s error_log_path() || 0;
}

sub error_log_since {
    my $mark = shift;
    open my $fh, '<', error_log_path() or return '';
    seek $fh, $mark, 0;
    local $/;
    my $text = <$fh> // '';
    close $fh;
    return $text;
}

# Wait (up to 3 s) for a line matching $re after $mark; returns the log
# text since the mark (which the caller can match again).
sub wait_error_log {
    my ($mark, $re, $secs) = @_;
    my $until = Time::HiRes::time() + ($secs // 3);
    my $text;
    do {
        $text = error_log_since($mark);
        return $text if $text =~ $re;
        Time::HiRes::sleep(0.05);
    } while (Time::HiRes::time() < $until);
    return $text;
}

# Run $code->($i) for $i in 1 .. $n, each in a process of its own, all at
# once; each returns a list of one-line results.  Returns them all.
sub in_parallel {
    my ($n, $code) = @_;
    pipe(my $r, my $w) or die "pipe: $!";
    my @kids;
    for my $i (1 .. $n) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $r;
            my @out = eval { $code->($i) };
            @out = ("error: $@") if $@;
            syswrite $w, join('', map { s/\n/ /gr . "\n" } @out);
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    close $w;
    my @lines = <$r>;
    close $r;
    waitpid($_, 0) for @kids;
    chomp @lines;
    return @lines;
}

1;
