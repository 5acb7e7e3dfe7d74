#!/usr/bin/perl
# fcgi_test_backend.pl: a FastCGI responder that behaves, or misbehaves,
# on demand, for the test suite.  It speaks the protocol by hand (not
# with FCGI.pm) precisely so that it can get it wrong.
#
#   fcgi_test_backend.pl --dir DIR --port PORT --full-port PORT
#
# Listens on (and creates, in DIR):
#   backend.sock, 127.0.0.1:PORT, [::1]:PORT   requests, dispatched on ?case=
#   close.sock      accepts and closes at once, before reading anything
#   silent.sock     accepts, takes the request in, never answers
#   deaf.sock       accepts, never reads (writes to it block) nor answers
#   diebody.sock    reads the request and 64 KiB of its body, then closes
#   refused.sock    a socket file nobody listens on (connect is refused)
#   127.0.0.1:FULL  a listener whose queue is full: connects time out
# and touches DIR/backend.ready when all are up.  DIR/open/ holds a file
# per connection it has open (named for the process serving it).
#
# Cases (QUERY_STRING "case=NAME&..."); with FCGI_KEEP_CONN, ok, conn, env,
# status, slow, token, stray and stray_now keep the connection for the
# next request, the others close it:
#   ok           a small text response
#   token        "token=TOK" (tok=), the request's own mark
#   stray        token's answer and END_REQUEST, then ms= (default 5) ms
#                later a stray STDOUT "stray after TOK" and a second
#                END_REQUEST, for the same request id (a buggy backend)
#   stray_now    the same stray records in the same write as the answer
#   hopbyhop     hop-by-hop headers (Connection naming X-Secret, Keep-Alive,
#                Upgrade, Trailer, TE, Proxy-Connection) and X-Kept
#   twolengths   Content-Length: 5 and Content-Length: 6 (first=, second=
#                to choose them), body "hello"
#   conn         "conn=PID request=N keep=0|1 open=M": which connection, its
#                request count, the connections open now (sleep=MS first;
#                die_next=1: the next request on it finds it dead)
#   env          the params as NAME=VALUE lines, then STDIN's length/sha256
#   echo         the request body back
#   close        reads the request, closes without a word
#   hang         reads the request, never answers
#   garbage      answers in HTTP, not FastCGI
#   badversion   a STDOUT record of FastCGI version 2
#   truncated    half a record, then closes (before the headers are done)
#   truncated_body  headers and some body, then half a record and closes
#   onebyte      the body in 10000 one-byte STDOUT records (n= to change)
#   bigheaders   1 MiB of header lines
#   headers_kb   kb= KiB of header lines (default 16), then "body"
#   trickle      the body a byte at a time: n= bytes, ms= apart
#   noend        headers and body, then closes without END_REQUEST
#   stderr       STDERR lines interleaved with STDOUT
#   stderrflood  n= STDERR lines (default 150) "stderr flood NNN", each 17
#                bytes, then a one-line body "flooded\n"
#   overloaded   END_REQUEST with protocolStatus FCGI_OVERLOADED
#   ctlheader    a header value with a control character
#   badheader    a header name with a space in it
#   nohdr        END_REQUEST without any STDOUT
#   clshort      Content-Length: 100 with 50 bytes of body, all in one write
#   clshort_late the same, but END_REQUEST comes 300 ms after the body
#   cllong       Content-Length: 10 with 100 bytes of body
#   slow         a line every 100 ms (n= lines); when the connection is
#                closed on it, writes DIR/slow-ID.closed (id=ID); on
#                FCGI_ABORT_REQUEST ends the request and writes
#                DIR/slow-ID.aborted (abort=ignore: carries on)
#   stall        headers and a line of body, then silence
#   status       answers with Status: CODE (code=), body "status CODE"
#   badstatus    answers with "Status: abc"
#   badlength    answers with "Content-Length: nope"
use strict;
use warnings;

use Digest::SHA ();
use Getopt::Long ();
use IO::Poll qw(POLLHUP POLLERR);
use IO::Select ();
use IO::Socket::INET ();
use IO::Socket::IP ();
use IO::Socket::UNIX ();
use POSIX ();
use Socket qw(SOCK_STREAM);
use Time::HiRes ();

use FindBin ();
use lib "$FindBin::Bin/../lib";
use FcgiWire qw(read_record read_request stdout stderr_rec end_request put
                wait_for_close record);

my ($dir, $port, $full_port);
Getopt::Long::GetOptions('dir=s' => \$dir, 'port=i' => \$port,
                         'full-port=i' => \$full_port)
    or die "usage: $0 --dir DIR --port PORT --full-port PORT\n";

$SIG{PIPE} = 'IGNORE';
$SIG{CHLD} = sub { 1 while waitpid(-1, POSIX::WNOHANG()) > 0 };
$SIG{TERM} = sub { POSIX::_exit(0) };

sub unix_listener {
    my $path = shift;
    unlink $path;
    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path,
                                  Listen => 128)
        or die "listen $path: $!";
    return $s;
}

my %role;                          # listener fileno -> role
my @listeners;
sub add_listener {
    my ($sock, $role) = @_;
    push @listeners, $sock;
    $role{ fileno $sock } = $role;
}

add_listener(unix_listener("$dir/backend.sock"), 'dispatch');
add_listener(unix_listener("$dir/close.sock"), 'close');
add_listener(unix_listener("$dir/silent.sock"), 'silent');
add_listener(unix_listener("$dir/deaf.sock"), 'deaf');
add_listener(unix_listener("$dir/diebody.sock"), 'diebody');
add_listener(IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                   LocalPort => $port, Listen => 128,
                                   ReuseAddr => 1)
             || die("listen 127.0.0.1:$port: $!"), 'dispatch');
if (my $v6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => $port,
                                 Listen => 128, ReuseAddr => 1)) {
    add_listener($v6, 'dispatch');
    open(my $f, '>', "$dir/ipv6") or die "$dir/ipv6: $!";
    close $f;
}

# A socket file with nobody behind it.
{
    my $s = unix_listener("$dir/refused.sock");
    close $s;                       # the file stays; connects are refused
}

# A listener that never accepts, its queue filled by our own connects:
# further connects get no answer, so the connect timeout is what ends them.
my $full = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                 LocalPort => $full_port, Listen => 0,
                                 ReuseAddr => 1)
    or die "listen 127.0.0.1:$full_port: $!";
my @fillers;
for (1 .. 8) {
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $full_port, Blocking => 0);
    push @fillers, $c if $c;
}

mkdir "$dir/open";
open my $ready, '>', "$dir/backend.ready" or die "$dir/backend.ready: $!";
close $ready;

my $select = IO::Select->new(@listeners);
while (1) {
    for my $l ($select->can_read) {
        my $c = $l->accept or next;
        my $role = $role{ fileno $l };
        my $pid = fork;
        if (!defined $pid) {
            close $c;
            next;
        }
        if ($pid) {
            close $c;
            next;
        }
        $SIG{CHLD} = 'DEFAULT';
        close $_ for @listeners;
        # While this connection is open, DIR/open/PID says so: the suite
        # checks that httpd leaves no backend connection open.
        my $marker = "$dir/open/$$";
        if (open(my $m, '>', $marker)) {
            close $m;
        }
        serve($c, $role);
        close $c;
        unlink $marker;
        POSIX::_exit(0);
    }
}

# ---------------------------------------------------------------------------

sub serve {
    my ($c, $role) = @_;
    if ($role eq 'close') {
        close $c;
        return;
    }
    if ($role eq 'deaf') {
        # Never read: the request piles up in the socket buffers until
        # httpd's writes block.  Leave when httpd hangs up.
        my $poll = IO::Poll->new;
        $poll->mask($c => POLLHUP);
        for (1 .. 600) {
            $poll->poll(1);
            last if $poll->events($c) & (POLLHUP | POLLERR);
        }
        return;
    }
    if ($role eq 'diebody') {
        # The parameters and the start of the body, then gone: as a
        # backend that crashes during an upload.
        my $body = 0;
        while ($body < 65536) {
            my ($type, undef, $content) = read_record($c);
            return unless defined $type;
            $body += length $content if $type == 5;
        }
        return;
    }
    if ($role eq 'silent') {
        # Take the request in, answer nothing, until httpd hangs up.
        wait_for_close($c);
        return;
    }
    # With FCGI_KEEP_CONN, the cases that end a request cleanly serve the
    # next one on the same connection.
    my $served = 0;
    while (1) {
        my ($p, $stdin, $id, $keep) = read_request($c);
        return unless $p;
        $served++;
        my $next = answer($c, $p, $stdin, $id, $keep, $served);
        return unless $keep && $next;
        if ($next eq 'die_next') {
            # Like a backend restarted between two requests: the next
            # request finds the connection dead.
            read_request($c);
            return;
        }
    }
}

# Answer one request; returns true when the connection may serve another
# ('die_next': it may, but will die at the next request).
sub answer {
    my ($c, $p, $stdin, $id, $keep, $served) = @_;
    my %q = map { my ($k, $v) = split /=/, $_, 2; ($k, $v // '') }
            split /&/, $p->{QUERY_STRING} // '';
    my $case = $q{case} // 'ok';
    my $text = "Content-Type: text/plain\r\n\r\n";
    my $again = 0;

    if ($case eq 'ok') {
        put($c, stdout($id, "${text}ok\n") . stdout($id, '')
                . end_request($id));
        $again = 1;
    }
    elsif ($case eq 'token' || $case eq 'stray' || $case eq 'stray_now') {
        my $tok = $q{tok} // '';
        my $answer = stdout($id, "${text}token=$tok\n") . end_request($id);
        my $stray = stdout($id, "${text}stray after $tok\n") . end_request($id);
        if ($case eq 'stray_now') {
            put($c, $answer . $stray);
        }
        else {
            put($c, $answer);
            if ($case eq 'stray') {
                Time::HiRes::sleep(($q{ms} // 5) / 1000);
                put($c, $stray);
            }
        }
        $again = 1;
    }
    elsif ($case eq 'hopbyhop') {
        put($c, stdout($id, "Content-Type: text/plain\r\n"
                            . "Connection: X-Secret, close\r\n"
                            . "X-Secret: from the backend\r\n"
                            . "Keep-Alive: timeout=99, max=99\r\n"
                            . "Upgrade: websocket\r\n"
                            . "Trailer: X-Checksum\r\n"
                            . "TE: trailers\r\n"
                            . "Proxy-Connection: keep-alive\r\n"
                            . "X-Kept: yes\r\n"
                            . "\r\nhop by hop\n") . end_request($id));
        $again = 1;
    }
    elsif ($case eq 'twolengths') {
        put($c, stdout($id, "Content-Type: text/plain\r\n"
                            . 'Content-Length: ' . ($q{first} // 5) . "\r\n"
                            . 'Content-Length: ' . ($q{second} // 6) . "\r\n"
                            . "\r\nhello") . end_request($id));
        $again = 1;
    }
    elsif ($case eq 'conn') {
        # Which connection this is, how many requests it has served, and
        # how many connections the backend has open right now.
        Time::HiRes::sleep($q{sleep} / 1000) if $q{sleep};
        my @open = glob("$dir/open/*");
        put($c, stdout($id, "${text}conn=$$ request=$served keep=$keep "
                            . 'open=' . scalar(@open) . "\n")
                . end_request($id));
        $again = $q{die_next} ? 'die_next' : 1;
    }
    elsif ($case eq 'env') {
        my $body = join '', map { "$_=$p->{$_}\n" } sort keys %$p;
        $body .= 'STDIN_LENGTH=' . length($stdin) . "\n";
        $body .= 'STDIN_SHA256=' . Digest::SHA::sha256_hex($stdin) . "\n";
        put($c, stdout($id, $text . $body) . stdout($id, '')
                . end_request($id));
        $again = 1;
    }
    elsif ($case eq 'echo') {
        put($c, stdout($id, "Content-Type: application/octet-stream\r\n\r\n"
                            . $stdin) . end_request($id));
    }
    elsif ($case eq 'close') {
        close $c;
    }
    elsif ($case eq 'hang') {
        wait_for_close($c);
    }
    elsif ($case eq 'garbage') {
        put($c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>");
    }
    elsif ($case eq 'badversion') {
        put($c, record(6, $id, "${text}version two\n", 2) . end_request($id));
    }
    elsif ($case eq 'truncated') {
        my $rec = stdout($id, "${text}this record is cut in half\n");
        put($c, substr($rec, 0, 20));
    }
    elsif ($case eq 'truncated_body') {
        my $rec = stdout($id, "and this record is cut in half\n");
        put($c, stdout($id, "${text}first part of the body\n")
                . substr($rec, 0, 20));
    }
    elsif ($case eq 'onebyte') {
        my $n = $q{n} || 10000;
        my $out = stdout($id, $text);
        $out .= stdout($id, chr(48 + $_ % 10)) for 0 .. $n - 1;
        put($c, $out . end_request($id));
    }
    elsif ($case eq 'bigheaders') {
        my $line = 'X-Filler: ' . ('x' x 1000) . "\r\n";
        my $out = "Content-Type: text/plain\r\n" . ($line x 1048);
        put($c, stdout($id, "$out\r\nbody\n") . end_request($id));
    }
    elsif ($case eq 'headers_kb') {
        my $line = 'X-Filler: ' . ('x' x 1000) . "\r\n";
        put($c, stdout($id, "Content-Type: text/plain\r\n"
                            . ($line x ($q{kb} || 16)) . "\r\nbody\n")
                . end_request($id));
        $again = 1;
    }
    elsif ($case eq 'trickle') {
        # The body a byte at a time, ms= apart, n= bytes.
        put($c, stdout($id, $text)) or return 0;
        for my $i (1 .. ($q{n} || 10)) {
            Time::HiRes::sleep(($q{ms} || 250) / 1000);
            put($c, stdout($id, chr(96 + $i % 26))) or return 0;
        }
        put($c, end_request($id));
        $again = 1;
    }
    elsif ($case eq 'noend') {
        put($c, stdout($id, "${text}a body with no end\n"));
    }
    elsif ($case eq 'stderr') {
        my $out = stdout($id, $text);
        for my $i (0 .. 9) {
            $out .= stderr_rec($id, "stderr line $i\n");
            $out .= stdout($id, "stdout line $i\n");
        }
        put($c, $out . end_request($id));
    }
    elsif ($case eq 'stderrflood') {
        my $n = $q{n} || 150;
        my $out = stdout($id, $text);
        $out .= stderr_rec($id, sprintf("stderr flood %03d\n", $_))
            for 0 .. $n - 1;
        put($c, $out . stdout($id, "flooded\n") . end_request($id));
    }
    elsif ($case eq 'overloaded') {
        put($c, end_request($id, 0, 2));
    }
    elsif ($case eq 'ctlheader') {
        put($c, stdout($id, "Content-Type: text/plain\r\nX-Evil: a\x01b\r\n"
                            . "\r\nbody\n") . end_request($id));
    }
    elsif ($case eq 'badheader') {
        put($c, stdout($id, "Content-Type: text/plain\r\nBad Name: x\r\n"
                            . "\r\nbody\n") . end_request($id));
    }
    elsif ($case eq 'nohdr') {
        put($c, end_request($id));
    }
    elsif ($case eq 'clshort') {
        put($c, stdout($id, "Content-Type: text/plain\r\n"
                            . "Content-Length: 100\r\n\r\n" . ('s' x 50))
                . end_request($id));
    }
    elsif ($case eq 'clshort_late') {
        put($c, stdout($id, "Content-Type: text/plain\r\n"
                            . "Content-Length: 100\r\n\r\n" . ('s' x 50)));
        Time::HiRes::sleep(0.3);
        put($c, end_request($id));
    }
    elsif ($case eq 'cllong') {
        put($c, stdout($id, "Content-Type: text/plain\r\n"
                            . "Content-Length: 10\r\n\r\n" . ('l' x 100))
                . end_request($id));
    }
    elsif ($case eq 'slow') {
        my $n = $q{n} || 100;
        my $tag = $q{id} // 'x';
        $tag =~ s/[^\w-]//g;
        my $sel = IO::Select->new($c);
        my $closed = sub {
            open my $f, '>', "$dir/slow-$tag.closed";
            printf $f "%.3f\n", Time::HiRes::time();
            close $f;
            return 0;
        };
        put($c, stdout($id, $text));
        for my $i (1 .. $n) {
            return $closed->() unless put($c, stdout($id, "tick $i\n"));
            if ($sel->can_read(0.1)) {
                # FCGI_ABORT_REQUEST (or a close): end the request unless
                # told to ignore it (abort=ignore).
                my ($type) = read_record($c);
                return $closed->() unless defined $type;
                if ($type == 2 && ($q{abort} // '') ne 'ignore') {
                    open my $f, '>', "$dir/slow-$tag.aborted";
                    printf $f "%.3f\n", Time::HiRes::time();
                    close $f;
                    put($c, end_request($id));
                    return 1;
                }
            }
        }
        put($c, end_request($id));
        $again = 1;
    }
    elsif ($case eq 'stall') {
        put($c, stdout($id, "${text}one line, then nothing\n"));
        wait_for_close($c);
    }
    elsif ($case eq 'status') {
        my $code = $q{code} || 200;
        put($c, stdout($id, "Status: $code\r\nContent-Type: text/plain\r\n"
                            . "\r\nstatus $code\n") . end_request($id));
        $again = 1;
    }
    elsif ($case eq 'badstatus') {
        put($c, stdout($id, "Status: abc\r\n${text}bad status\n")
                . end_request($id));
    }
    elsif ($case eq 'badlength') {
        put($c, stdout($id, "Content-Type: text/plain\r\n"
                            . "Content-Length: nope\r\n\r\nbad length\n")
                . end_request($id));
    }
    else {
        put($c, stdout($id, "Status: 400\r\n${text}unknown case $case\n")
                . end_request($id));
    }
    return $again;
}
