# FcgiWire: the FastCGI wire format as a backend speaks it, by hand (no
# FCGI.pm), so that the test backends can also get it wrong on purpose.
# Shared by t/backend/fcgi_test_backend.pl and bench/soak-backend.pl.
package FcgiWire;

use strict;
use warnings;

use IO::Select ();

use Exporter 'import';
our @EXPORT_OK = qw(read_exact read_record read_request record stdout
                    stderr_rec end_request put wait_for_close);

# Exactly $n bytes from $c, or undef when it ends first.
sub read_exact {
    my ($c, $n) = @_;
    my $buf = '';
    while (length $buf < $n) {
        my $r = sysread($c, $buf, $n - length $buf, length $buf);
        return undef unless $r;
    }
    return $buf;
}

# One record: ($type, $request_id, $content), or nothing at the end.
sub read_record {
    my $c = shift;
    my $h = read_exact($c, 8) // return;
    my ($ver, $type, $id, $clen, $plen) = unpack('CCnnC', $h);
    my $content = $clen ? read_exact($c, $clen) : '';
    return unless defined $content;
    read_exact($c, $plen) if $plen;
    return ($type, $id, $content);
}

sub param_len {
    my $s = shift;
    my $b = unpack('C', substr($$s, 0, 1));
    if ($b < 128) {
        substr($$s, 0, 1) = '';
        return $b;
    }
    my $n = unpack('N', substr($$s, 0, 4)) & 0x7fffffff;
    substr($$s, 0, 4) = '';
    return $n;
}

# Read BEGIN_REQUEST, PARAMS and STDIN; returns (\%params, $stdin, $id,
# $keep_conn), or nothing when the connection ends first.
sub read_request {
    my $c = shift;
    my ($params, $stdin, $id, $flags) = ('', '', 1, 0);
    my %p;
    while (1) {
        my ($type, $rid, $content) = read_record($c);
        return unless defined $type;
        if ($type == 1) {
            $id = $rid;
            $flags = unpack('x2C', $content);
        }
        elsif ($type == 4) {
            if (length $content) {
                $params .= $content;
                next;
            }
            while (length $params) {
                my $nl = param_len(\$params);
                my $vl = param_len(\$params);
                my $name = substr($params, 0, $nl, '');
                $p{$name} = substr($params, 0, $vl, '');
            }
        }
        elsif ($type == 5) {
            last unless length $content;
            $stdin .= $content;
        }
    }
    return (\%p, $stdin, $id, $flags & 1);
}

# Records of $type carrying $content (split at 65535 bytes, padded to 8);
# $version other than 1 for a backend that gets it wrong.
sub record {
    my ($type, $id, $content, $version) = @_;
    my $out = '';
    do {
        my $chunk = substr($content, 0, 65535, '');
        my $pad = (8 - length($chunk) % 8) % 8;
        $out .= pack('CCnnCC', $version // 1, $type, $id, length $chunk, $pad,
                     0) . $chunk . ("\0" x $pad);
    } while (length $content);
    return $out;
}

sub stdout { record(6, $_[0], $_[1]) }
sub stderr_rec { record(7, $_[0], $_[1]) }
sub end_request {
    my ($id, $app, $proto) = @_;
    return record(3, $id, pack('NCx3', $app // 0, $proto // 0));
}

# Write all of $data; false when the peer is gone.
sub put {
    my ($c, $data) = @_;
    while (length $data) {
        my $n = syswrite($c, $data);
        return 0 unless $n;
        substr($data, 0, $n) = '';
    }
    return 1;
}

# Wait until the peer closes (or a long time passes), discarding input.
sub wait_for_close {
    my ($c, $secs) = @_;
    my $sel = IO::Select->new($c);
    my $until = time + ($secs // 600);
    while (time < $until) {
        next unless $sel->can_read(1);
        my $r = sysread($c, my $buf, 65536);
        return unless $r;
    }
}

1;
