#!/usr/bin/perl
# soak-backend.pl: the FastCGI backend bench/soak kills and restarts.
#
# A trimmed copy of t/backend/fcgi_test_backend.pl (which the suite owns
# and this must not change) with the cases the soak needs: bodies made
# from the request's id (bench/lib/SoakBody.pm), uploads answered with
# their hash, streaming, and FCGI_KEEP_CONN: when the web server sets it,
# the connection serves further requests, up to a random number of them
# (--max-requests), and then is closed without notice, as a backend that
# recycles its workers does.  The fault cases always close.
#
#   soak-backend.pl --dir DIR --port PORT [--max-requests N]
#                   [--io-timeout SECS]
#
# Listens on DIR/backend.sock and 127.0.0.1:PORT, forks a process per
# connection, and touches DIR/backend.ready when it is up.
#
# Cases (QUERY_STRING "case=NAME&id=ID&..."):
#   id         SIZE (size=, default 200) bytes of SoakBody::body(ID)
#   big        the same, default 8 MiB, in STDOUT records of random sizes
#   upload     "id=ID length=N sha256=HEX\n" of the body it received
#   stream     n= lines (SoakBody::stream_lines), one every ms= ms
#   overlong   Content-Length: SIZE, then SIZE bytes of body(ID) and 1000
#              more (the module must drop the rest)
#   stall      headers and a line of body, then silence
#   hang       reads the request, never answers
#   slowhead   answers, but only after --io-timeout + 1 seconds
#   truncated  half a record, then closes (before the headers are done)
#   truncated_body  headers and some body, then half a record, closes
#   badversion a STDOUT record of FastCGI version 2
#   garbage    answers in HTTP, not FastCGI
#   noend      headers and body, then closes without END_REQUEST
#   wrongid    the answer in records for request id + 1
#   foreign    a good response carrying another request's body (the
#              same client's next request id): for checking bench/soak
use strict;
use warnings;

use Digest::SHA ();
use FindBin ();
use Getopt::Long ();
use IO::Select ();
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use POSIX ();
use Socket qw(SOCK_STREAM);
use Time::HiRes ();

use lib "$FindBin::Bin/lib", "$FindBin::Bin/../t/lib";
use SoakBody ();
use FcgiWire qw(read_record read_request stdout end_request put
                wait_for_close record);

my ($dir, $port, $max_requests, $io_timeout) = (undef, undef, 20, 2);
Getopt::Long::GetOptions('dir=s' => \$dir, 'port=i' => \$port,
                         'max-requests=i' => \$max_requests,
                         'io-timeout=i' => \$io_timeout)
    && $dir && $port
    or die "usage: $0 --dir DIR --port PORT [--max-requests N] "
           . "[--io-timeout SECS]\n";

$SIG{PIPE} = 'IGNORE';
$SIG{CHLD} = sub { 1 while waitpid(-1, POSIX::WNOHANG()) > 0 };
$SIG{TERM} = sub { POSIX::_exit(0) };

my @listeners;
{
    my $path = "$dir/backend.sock";
    unlink $path;
    push @listeners, IO::Socket::UNIX->new(Type => SOCK_STREAM,
                                           Local => $path, Listen => 512)
        || die "listen $path: $!";
    push @listeners, IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                           LocalPort => $port, Listen => 512,
                                           ReuseAddr => 1)
        || die "listen 127.0.0.1:$port: $!";
}
open my $ready, '>', "$dir/backend.ready" or die "$dir/backend.ready: $!";
close $ready;

my $select = IO::Select->new(@listeners);
while (1) {
    for my $l ($select->can_read) {
        my $c = $l->accept or next;
        my $pid = fork;
        if (!defined $pid || $pid) {
            close $c;
            next;
        }
        $SIG{CHLD} = 'DEFAULT';
        close $_ for @listeners;
        srand();
        serve_connection($c);
        close $c;
        POSIX::_exit(0);
    }
}

# ---------------------------------------------------------------------------

# STDOUT records of random sizes (1 byte to 32 KiB), to move the record
# boundaries around in the module's reads.
sub stdout_random {
    my ($id, $data) = @_;
    my $out = '';
    while (length $data) {
        my $n = rand() < 0.1 ? 1 + int rand 64 : 1 + int rand 32768;
        $out .= stdout($id, substr($data, 0, $n, ''));
    }
    return $out;
}

sub serve_connection {
    my $c = shift;
    my $limit = 1 + int rand($max_requests > 0 ? $max_requests : 1);
    for (my $served = 1; ; $served++) {
        my ($p, $stdin, $id, $keep) = read_request($c);
        return unless $p;
        my $clean = answer($c, $p, $stdin, $id);
        return unless $clean && $keep && $served < $limit;
    }
}

# Answer one request; returns true when the connection is still good for
# another one.
sub answer {
    my ($c, $p, $stdin, $id) = @_;
    my %q = map { my ($k, $v) = split /=/, $_, 2; ($k, $v // '') }
            split /&/, $p->{QUERY_STRING} // '';
    my $case = $q{case} // 'id';
    my $rid = $q{id} // '';
    $rid =~ /^[a-z0-9-]{1,64}$/ or $rid = 'noid';
    my $hdr = "Content-Type: text/plain\r\nX-Soak-Id: $rid\r\n";
    my $size = $q{size} // ($case eq 'big' ? 8 << 20 : 200);

    if ($case eq 'id' || $case eq 'big') {
        # Written as it is cut into records, 256 KiB at a time.
        my $data = "$hdr\r\n" . SoakBody::body($rid, $size);
        for (my $off = 0; $off < length $data; $off += 262144) {
            put($c, stdout_random($id, substr($data, $off, 262144)))
                or return 0;
        }
        return put($c, stdout($id, '') . end_request($id));
    }
    if ($case eq 'foreign') {
        # For bench/soak's check of itself: another request's body (the
        # same client's next request) under this request's X-Soak-Id.
        (my $other = $rid) =~ s/r(\d+)$/'r' . ($1 + 1)/e;
        return put($c, stdout_random($id, "$hdr\r\n"
                                     . SoakBody::body($other, $size))
                       . stdout($id, '') . end_request($id));
    }
    if ($case eq 'upload') {
        my $answer = SoakBody::upload_answer($rid, length $stdin,
                                             Digest::SHA::sha256_hex($stdin));
        return put($c, stdout($id, "$hdr\r\n$answer") . stdout($id, '')
                       . end_request($id));
    }
    if ($case eq 'stream') {
        my $n = $q{n} || 10;
        my $ms = $q{ms} // 50;
        put($c, stdout($id, "$hdr\r\n")) or return 0;
        my @lines = SoakBody::stream_lines($rid, $n);
        for my $i (0 .. $#lines) {
            put($c, stdout($id, $lines[$i])) or return 0;
            Time::HiRes::sleep($ms / 1000) if $i < $#lines;
        }
        return put($c, stdout($id, '') . end_request($id));
    }
    if ($case eq 'overlong') {
        put($c, stdout_random($id, "${hdr}Content-Length: $size\r\n\r\n"
                              . SoakBody::body($rid, $size) . ('X' x 1000))
                . stdout($id, '') . end_request($id));
        return 0;
    }
    if ($case eq 'stall') {
        put($c, stdout($id, "$hdr\r\none line, then nothing\n"));
        wait_for_close($c);
    }
    elsif ($case eq 'hang') {
        wait_for_close($c);
    }
    elsif ($case eq 'slowhead') {
        Time::HiRes::sleep($io_timeout + 1);
        put($c, stdout($id, "$hdr\r\ntoo late\n") . end_request($id));
    }
    elsif ($case eq 'truncated') {
        put($c, substr(stdout($id, "$hdr\r\nthis record is cut in half\n"),
                       0, 20));
    }
    elsif ($case eq 'truncated_body') {
        my $rec = stdout($id, "and this record is cut in half\n");
        put($c, stdout($id, "$hdr\r\nfirst part of the body\n")
                . substr($rec, 0, 20));
    }
    elsif ($case eq 'badversion') {
        put($c, record(6, $id, "$hdr\r\nversion two\n", 2) . end_request($id));
    }
    elsif ($case eq 'garbage') {
        put($c, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>");
    }
    elsif ($case eq 'noend') {
        put($c, stdout($id, "$hdr\r\na body with no end\n"));
    }
    elsif ($case eq 'wrongid') {
        put($c, stdout($id + 1, "$hdr\r\nfor another request\n")
                . end_request($id + 1));
    }
    else {
        put($c, stdout($id, "Status: 400\r\n$hdr\r\nunknown case $case\n")
                . end_request($id));
    }
    return 0;
}
