# Streaming: the module does not buffer responses.  A 64 MiB response
# arrives whole and exact; each flush of a script reaches the client at
# once (the one timed promise: the first line well under 300 ms), also
# through mod_deflate; a client that goes away stops the backend within
# a second; 10 000 one-byte records make one exact body.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);   # Test::More: is, like, ok with names
use Apache::TestRequest;
use Apache::TestUtil;
use Compress::Raw::Zlib ();
use Digest::SHA ();
use IO::Select ();
use IO::Uncompress::Gunzip ();
use Time::HiRes ();
use FcgiTest qw(raw_request http_connect http_request sockdir);

plan tests => 28, need_module 'deflate';

# GET $path on a fresh connection and follow the body as it arrives: it
# is de-chunked and, when gzip-encoded, inflated as it comes, so each
# line is stamped with the time (seconds since the request was sent)
# at which the client could first read it.  Returns
#   { status, headers (lc name => value), lines => [[secs, "text\n"]],
#     first_body_at (secs to the first body byte, still encoded),
#     complete (the final chunk came) }
sub timeline {
    my ($path, @headers) = @_;
    my $sock = http_connect();
    my $t0 = Time::HiRes::time();
    http_request($sock, path => $path, headers => \@headers);
    my $sel = IO::Select->new($sock);
    my %res = (headers => {}, lines => [], complete => 0);
    my ($buf, $head, $inflater, $text) = ('', undef, undef, '');
    my ($state, $left) = ('size', 0);
    while (!$res{complete} && $sel->can_read(10)) {
        my $n = sysread($sock, $buf, 65536, length $buf);
        last unless $n;
        my $now = Time::HiRes::time() - $t0;
        if (!defined $head) {
            my $end = index($buf, "\r\n\r\n");
            next if $end < 0;
            $head = substr($buf, 0, $end + 4, '');
            ($res{status}) = $head =~ m{^HTTP/1\.\d (\d+)};
            $res{headers}{lc $1} = $2 while $head =~ /^([^:\r\n]+):\s*([^\r\n]*)/mg;
            die "timeline: $path answered without chunking\n"
                unless lc($res{headers}{'transfer-encoding'} // '') eq 'chunked';
            if (lc($res{headers}{'content-encoding'} // '') eq 'gzip') {
                $inflater = Compress::Raw::Zlib::Inflate->new(
                    -WindowBits => Compress::Raw::Zlib::WANT_GZIP());
            }
        }
        $res{first_body_at} //= $now if length $buf;
        my $data = '';
        while (1) {
            if ($state eq 'size') {
                $buf =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n// or last;
                $left = hex $1;
                if (!$left) {
                    $res{complete} = 1;
                    last;
                }
                $state = 'data';
            }
            elsif ($state eq 'data') {
                last unless length $buf;
                my $take = $left < length $buf ? $left : length $buf;
                $data .= substr($buf, 0, $take, '');
                $left -= $take;
                $state = 'crlf' unless $left;
            }
            else {
                last if length $buf < 2;
                substr($buf, 0, 2, '');
                $state = 'size';
            }
        }
        if ($inflater && length $data) {
            my $status = $inflater->inflate($data, my $out);
            die "timeline: $path: bad gzip data: $status\n"
                if $status != Compress::Raw::Zlib::Z_OK()
                && $status != Compress::Raw::Zlib::Z_STREAM_END();
            $data = $out;
        }
        $text .= $data;
        push @{ $res{lines} }, [$now, $1] while $text =~ s/^([^\n]*\n)//;
    }
    close $sock;
    return \%res;
}

sub gunzip {
    my $in = shift;
    IO::Uncompress::Gunzip::gunzip(\$in => \my $out)
        or return "gunzip failed: $IO::Uncompress::Gunzip::GunzipError";
    return $out;
}

# --- a 64 MiB response -----------------------------------------------------

{
    my $sha = Digest::SHA->new(256);
    for my $n (0 .. 1023) {
        my $prefix = sprintf 'block %04d ', $n;
        $sha->add($prefix . (chr(97 + $n % 26) x (65536 - length($prefix) - 1))
                  . "\n");
    }
    my $expected = $sha->hexdigest;

    my $res = raw_request(path => '/php/stream_big.php', timeout => 60);
    is($res->{status}, 200, 'a 64 MiB response answers 200');
    ok($res->{complete}, 'a 64 MiB response arrives to its end (not cut off)');
    is(length $res->{body}, 64 * 1024 * 1024, 'a 64 MiB response has all its bytes');
    is(Digest::SHA::sha256_hex($res->{body}), $expected,
       'a 64 MiB response is byte for byte what the script wrote (sha256)');
}

# --- flushes reach the client at once --------------------------------------

my @five = map { "line $_\n" } 1 .. 5;

{
    my $res = timeline('/php/stream_lines.php');
    is($res->{status}, 200, 'a streaming script answers 200');
    is(join('', map { $_->[1] } @{ $res->{lines} }), join('', @five),
       'a streaming script: the client gets its five lines, in order');
    ok($res->{complete}, 'a streaming script: the response ends properly');
    my ($first, $last) = map { $_ ? $_->[0] : 99 } @{ $res->{lines} }[0, -1];
    note(sprintf 'lines at %s s', join ' ', map { sprintf '%.3f', $_->[0] } @{ $res->{lines} });
    cmp_ok($first, '<', 0.25,
           'a streaming script: the first line reaches the client well under 300 ms');
    cmp_ok($last - $first, '>', 1.0,
           'a streaming script: the lines arrive as written, spread over more than a second');
}

{
    my $res = timeline('/php-deflate/stream_lines.php',
                       ['Accept-Encoding', 'gzip']);
    is($res->{status}, 200, 'a streaming script through mod_deflate answers 200');
    is($res->{headers}{'content-encoding'}, 'gzip',
       'a streaming script through mod_deflate is gzip-encoded');
    cmp_ok($res->{first_body_at} // 99, '<', 0.25,
           'through mod_deflate the first compressed bytes arrive well under 300 ms');
    is(join('', map { $_->[1] } @{ $res->{lines} }), join('', @five),
       'through mod_deflate the body inflates to the five lines');
    my ($first, $last) = map { $_ ? $_->[0] : 99 } @{ $res->{lines} }[0, -1];
    note(sprintf 'lines at %s s', join ' ', map { sprintf '%.3f', $_->[0] } @{ $res->{lines} });
    cmp_ok($first, '<', 0.25,
           'through mod_deflate the first line can be inflated well under 300 ms');
    cmp_ok($last - $first, '>', 1.0,
           'through mod_deflate the lines still arrive as written, spread over more than a second');
}

# --- mod_deflate on an ordinary response -----------------------------------

{
    my $plain = raw_request(path => '/php/stream_text.php');
    my $gz = raw_request(path => '/php-deflate/stream_text.php',
                         headers => [['Accept-Encoding', 'gzip']]);
    is($gz->{status}, 200, 'a PHP page through mod_deflate answers 200');
    is($gz->{headers}{'content-encoding'}[0], 'gzip',
       'a PHP page through mod_deflate is gzip-encoded');
    cmp_ok(length $gz->{body}, '<', length $plain->{body},
           'the gzip-encoded page is smaller than the text');
    is(gunzip($gz->{body}), $plain->{body},
       'the gzip-encoded page inflates to exactly the page served without mod_deflate');
    is(length $plain->{body}, 100 * 49, 'the page without mod_deflate is the whole text');
}

# --- a client that goes away -----------------------------------------------

{
    my $id = "gone-$$-" . int(Time::HiRes::time() * 1000);
    # The backend is let go by FCGI_ABORT_REQUEST (the connection is kept)
    # or by closing the connection: it notes which, and when.
    my @flags = map { sockdir() . "/slow-$id.$_" } qw(aborted closed);
    my $sock = http_connect();
    http_request($sock, path => "/backend?case=slow&id=$id&n=100");
    my ($got, $sel) = ('', IO::Select->new($sock));
    while ($got !~ /tick 2\n/ && $sel->can_read(5)) {
        sysread($sock, $got, 4096, length $got) or last;
    }
    like($got, qr{^HTTP/1\.1 200 .*tick 1\n.*tick 2\n}s,
         'a slow backend streams its ticks to the client');
    close $sock;
    my $closed_at = Time::HiRes::time();

    my $until = $closed_at + 3;
    my ($flag) = grep { -e } @flags;
    until ($flag || Time::HiRes::time() > $until) {
        Time::HiRes::sleep(0.05);
        ($flag) = grep { -e } @flags;
    }
    ok($flag, 'when the client goes away, the backend is told '
              . '(FCGI_ABORT_REQUEST or its connection closed)');
    my $noticed = 99;
    if ($flag && open my $fh, '<', $flag) {
        ($noticed = <$fh> // 99) =~ s/\s+//g;
        close $fh;
    }
    note(sprintf 'the backend noticed %.3f s after the client closed', $noticed - $closed_at);
    cmp_ok($noticed - $closed_at, '<', 1.0,
           'the backend is let go within a second of the client leaving');

    my $ok = raw_request(path => '/backend?case=ok');
    is("$ok->{status} $ok->{body}", "200 ok\n",
       'after a client went away the next request is served normally');
}

# --- many tiny records -------------------------------------------------------

{
    my $res = raw_request(path => '/backend?case=onebyte');
    is($res->{status}, 200, '10 000 one-byte records answer 200');
    ok($res->{complete}, '10 000 one-byte records make a complete response');
    is($res->{body}, '0123456789' x 1000,
       '10 000 one-byte records make exactly the 10 000 digits, in order');
    # The backend wrote them in one go: they go out as the few large
    # writes they arrived in, not as a chunk (a flush) per record.
    cmp_ok($res->{chunk_count}, '<=', 20,
           "10 000 one-byte records written at once reach the client in "
           . "a few large chunks ($res->{chunk_count}), not one per record");
}
