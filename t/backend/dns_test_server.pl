#!/usr/bin/perl
# dns_test_server.pl: a small DNS server (UDP) whose answers, TTLs and
# delays a test controls, for the cases only a real resolver shows: a
# lookup that takes seconds, a name that does not exist, addresses that
# come and go.
#
#   dns_test_server.pl --addr 127.0.0.1 --port 53 --zone FILE --log FILE
#
# FILE is read again whenever it changes; one record a line:
#
#   NAME A|AAAA ADDRESS TTL [DELAY_MS]
#   NAME NXDOMAIN [DELAY_MS]
#
# A name it does not list gets NXDOMAIN at once; a listed name asked for a
# type it has no record of gets an empty answer.  Each query is logged as
# "TIME NAME TYPE" (TIME in seconds, with fractions).  It writes FILE.ready
# once it listens.
use strict;
use warnings;

use Getopt::Long ();
use IO::Select ();
use IO::Socket::INET ();
use Socket qw(inet_pton AF_INET6);
use Time::HiRes ();

my ($addr, $port, $zone, $log) = ('127.0.0.1', 53);
Getopt::Long::GetOptions('addr=s' => \$addr, 'port=i' => \$port,
                         'zone=s' => \$zone, 'log=s' => \$log)
    or die "usage: $0 --addr A --port P --zone FILE --log FILE\n";

my $sock = IO::Socket::INET->new(Proto => 'udp', LocalAddr => $addr,
                                 LocalPort => $port)
    or die "udp $addr:$port: $!";
open my $logf, '>>', $log or die "$log: $!";
$logf->autoflush(1);
open my $ready, '>', "$zone.ready" or die "$zone.ready: $!";
close $ready;

my %type_code = (A => 1, AAAA => 28);
my %type_name = reverse %type_code;
my ($zone_mtime, %records, %nx) = (-1);

sub load_zone {
    my $mtime = (stat $zone)[9] // 0;
    return if $mtime == $zone_mtime;
    $zone_mtime = $mtime;
    %records = ();
    %nx = ();
    open my $f, '<', $zone or return;
    while (<$f>) {
        next if /^\s*(#|$)/;
        my ($name, $type, @rest) = split;
        $name = lc $name;
        $name =~ s/\.$//;
        if ($type eq 'NXDOMAIN') {
            $nx{$name} = $rest[0] // 0;
        }
        else {
            push @{ $records{$name} }, { type => $type, addr => $rest[0],
                                         ttl => $rest[1] // 60,
                                         delay => $rest[2] // 0 };
        }
    }
}

# The question: (name, qtype, the bytes of the question section).
sub question {
    my $pkt = shift;
    my ($pos, @labels) = (12);
    while ($pos < length $pkt) {
        my $len = ord substr($pkt, $pos, 1);
        $pos++;
        last if $len == 0;
        push @labels, substr($pkt, $pos, $len);
        $pos += $len;
    }
    my ($qtype) = unpack('n', substr($pkt, $pos, 2));
    return (lc join('.', @labels), $qtype // 0, substr($pkt, 12, $pos + 4 - 12));
}

sub answer {
    my ($pkt) = @_;
    my ($id, $flags) = unpack('nn', $pkt);
    my ($name, $qtype, $q) = question($pkt);
    load_zone();
    my $tname = $type_name{$qtype} // $qtype;
    printf $logf "%.3f %s %s\n", Time::HiRes::time(), $name, $tname;
    my ($rcode, $delay, @rr) = (0, 0);
    if (exists $nx{$name}) {
        ($rcode, $delay) = (3, $nx{$name});
    }
    elsif (!$records{$name}) {
        $rcode = 3;
    }
    else {
        for my $r (@{ $records{$name} }) {
            $delay = $r->{delay} if $r->{delay} > $delay;
            next unless ($type_code{$r->{type}} // -1) == $qtype;
            my $data = $r->{type} eq 'A'
                ? pack('C4', split /\./, $r->{addr})
                : inet_pton(AF_INET6, $r->{addr});
            push @rr, pack('nnnNn', 0xc00c, $qtype, 1, $r->{ttl}, length $data)
                      . $data;
        }
    }
    my $out = pack('nnnnnn', $id, 0x8180 | ($flags & 0x0100) | $rcode, 1,
                   scalar @rr, 0, 0) . $q . join('', @rr);
    return ($out, $delay);
}

my $sel = IO::Select->new($sock);
my @pending;                      # [due, packet, peer]
while (1) {
    my $now = Time::HiRes::time();
    my $wait = @pending ? $pending[0][0] - $now : 1;
    $wait = 0 if $wait < 0;
    if ($sel->can_read($wait)) {
        my $peer = $sock->recv(my $pkt, 512);
        if (defined $peer && length $pkt >= 12) {
            my ($out, $delay) = answer($pkt);
            push @pending, [Time::HiRes::time() + $delay / 1000, $out, $peer];
            @pending = sort { $a->[0] <=> $b->[0] } @pending;
        }
    }
    $now = Time::HiRes::time();
    while (@pending && $pending[0][0] <= $now) {
        my $p = shift @pending;
        $sock->send($p->[1], 0, $p->[2]);
    }
}
