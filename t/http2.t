# Through mod_http2: each backend flush reaches an HTTP/2 client at once
# (also behind mod_deflate), and a backend that fails after the headers
# resets the stream instead of ending it cleanly.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use FcgiTest qw(server_addr);

my $nghttp = `which nghttp 2>/dev/null`;
chomp $nghttp;

plan tests => 9, need { 'nghttp (nghttp2-client) is installed' => -x $nghttp };

my $base = 'http://' . server_addr();

# Run nghttp -v; returns the DATA frames as [seconds, length, end_stream]
# and whether a RST_STREAM came.
sub h2_frames {
    my ($path, @headers) = @_;
    my @h = map { ('-H', $_) } @headers;
    open my $out, '-|', $nghttp, '-v', '-n', @h, "$base$path"
        or die "nghttp: $!";
    my (@data, $reset, $status);
    while (my $line = <$out>) {
        if ($line =~ /^\[\s*([\d.]+)\] recv DATA frame <length=(\d+), flags=0x(\w+)/) {
            push @data, [$1, $2, hex($3) & 1];
        }
        $reset = 1 if $line =~ /recv RST_STREAM frame/;
        $status = $1 if $line =~ /recv \(stream_id=\d+\) :status: (\d+)/;
    }
    close $out;
    return { data => \@data, reset => $reset, status => $status };
}

sub h2_body {
    my ($path) = @_;
    return scalar `$nghttp '$base$path'`;
}

# Streaming: the first line is there well before the second is written.
my $r = h2_frames('/php/h2_stream.php');
my @nonempty = grep { $_->[1] > 0 } @{ $r->{data} };
ok t_cmp($r->{status}, 200, 'an HTTP/2 request to PHP answers 200');
ok t_cmp(scalar(@nonempty) >= 5 ? 1 : 0, 1,
         'over HTTP/2 the five flushed lines arrive as separate DATA frames');
ok t_cmp($nonempty[0][0] < 0.25 ? 1 : 0, 1,
         "over HTTP/2 the first line arrives at once ($nonempty[0][0] s)");
ok t_cmp($nonempty[-1][0] - $nonempty[0][0] > 1.0 ? 1 : 0, 1,
         'over HTTP/2 the lines arrive as they are written, not at the end');
ok t_cmp(h2_body('/php/h2_stream.php'), join('', map { "line $_\n" } 1 .. 5),
         'over HTTP/2 the body is complete');

# The same behind mod_deflate.
$r = h2_frames('/php-deflate/h2_stream.php', 'accept-encoding: gzip');
@nonempty = grep { $_->[1] > 0 } @{ $r->{data} };
ok t_cmp(@nonempty && $nonempty[0][0] < 0.25 ? 1 : 0, 1,
         'over HTTP/2 through mod_deflate the first line arrives at once');
ok t_cmp(@nonempty && $nonempty[-1][0] - $nonempty[0][0] > 1.0 ? 1 : 0, 1,
         'over HTTP/2 through mod_deflate the lines arrive as written');

# A backend that dies after the headers: the stream is reset, not ended.
$r = h2_frames('/backend?case=noend');
ok t_cmp($r->{reset} ? 1 : 0, 1,
         'over HTTP/2 a backend failing after the headers resets the stream');
ok t_cmp((grep { $_->[2] } @{ $r->{data} }) ? 1 : 0, 0,
         'over HTTP/2 such a response never carries END_STREAM');
