#!/usr/bin/perl
# make-corpus.pl: writes the hand-made seed corpora under fuzz/corpus/.
# Run from fuzz/; the files are committed, this says how they were made.
use strict;
use warnings;

sub rec {
    my ($type, $content, %o) = @_;
    my $pad = $o{pad} // (8 - length($content) % 8) % 8;
    return pack('CCnnCC', $o{version} // 1, $type, $o{id} // 1,
                length $content, $pad, 0) . $content . ("\0" x $pad);
}
sub end_req { rec(3, pack('NCx3', $_[0] // 0, $_[1] // 0), %{ $_[2] || {} }) }

sub put {
    my ($dir, $name, $data) = @_;
    mkdir 'corpus';
    mkdir "corpus/$dir";
    open my $f, '>:raw', "corpus/$dir/$name" or die "$dir/$name: $!";
    print $f $data;
    close $f;
}

# fuzz_records: two seed bytes (the split pattern), then a record stream.
my $hdr = "Status: 200 OK\r\nContent-Type: text/html\r\n\r\n";
my %records = (
    normal       => rec(6, "$hdr<p>hello</p>\n") . rec(6, '') . end_req(),
    padding      => rec(6, $hdr, pad => 255) . rec(6, 'body', pad => 0)
                    . end_req(0, 0, { pad => 7 }),
    max_record   => rec(6, 'x' x 65535, pad => 1) . end_req(),
    stderr_mixed => rec(7, "PHP Warning: one\n") . rec(6, $hdr)
                    . rec(7, "two\nthree") . rec(6, 'body') . rec(7, "\n")
                    . end_req(),
    overloaded   => end_req(0, 2),
    app_status   => rec(6, $hdr) . end_req(255, 0),
    management   => rec(10, "\x0e\x01FCGI_MAX_CONNS1", id => 0) . rec(6, $hdr)
                    . end_req(),
    bad_version  => rec(6, $hdr, version => 2) . end_req(),
    other_id     => rec(6, $hdr, id => 7) . end_req(0, 0, { id => 7 }),
    bad_type     => rec(5, 'stdin from the app?') . end_req(),
    bad_end      => rec(3, 'short'),
    one_byte     => rec(6, $hdr) . join('', map { rec(6, chr(48 + $_ % 10)) } 0 .. 99)
                    . end_req(),
    truncated    => substr(rec(6, "$hdr body"), 0, 21),
    after_end    => rec(6, $hdr) . end_req() . rec(6, 'trailing'),
);
for my $name (sort keys %records) {
    put('records', $name, "\x12\x34" . $records{$name});
}

# fuzz_headers: one split byte, then a header block (and some body).
my %headers = (
    crlf        => "Content-Type: text/plain\r\nStatus: 404 Not Found\r\n\r\nbody",
    lf          => "Content-Type: text/plain\nLocation: /elsewhere\n\nbody",
    empty_block => "\r\nbody",
    cookies     => "Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\nX-Multi: a\r\n"
                   . "X-Multi: b\r\n\r\n",
    control     => "X-Evil: a\x01b\r\n\r\n",
    bare_cr     => "X-Evil: a\rb\r\n\r\n",
    folded      => "X-Long: a\r\n  continued\r\n\r\n",
    bad_name    => "Bad Name: x\r\n\r\n",
    no_colon    => "just text\r\n\r\n",
    bad_status  => "Status: abc\r\n\r\n",
    status_600  => "Status: 600\r\n\r\n",
    long_line   => 'X-Big: ' . ('v' x 9000) . "\r\n\r\n",
    obs_text    => "X-Latin: caf\xe9\r\n\r\n",
    incomplete  => "Content-Type: text/plain\r\n",
    tabs        => "X-Tab:\tvalue\t\r\n\r\n",
);
for my $name (sort keys %headers) {
    put('headers', $name, "\x05" . $headers{$name});
}

# fuzz_addr: the text after "fcgi:".
my %addr = (
    unix_path  => '/run/php/php-fpm.sock',
    unix_form  => 'unix:/run/app.sock',
    relative   => 'unix:run/app.sock',
    ipv4       => '127.0.0.1:9000',
    name       => 'localhost:9000',
    ipv6       => '[::1]:9000',
    ipv6_bad   => '[::zz]:9000',
    no_port    => 'localhost',
    port_0     => 'localhost:0',
    port_big   => 'localhost:65536',
    long_path  => '/' . ('a' x 120),
    empty      => '',
);
for my $name (sort keys %addr) {
    put('addr', $name, $addr{$name});
}

# fuzz_params: pairs of (name length, value length, bytes).
my %params = (
    small     => "\x0bSCRIPT_NAME\x04/a.p" . "\x0bSCRIPT_NAMExxxx",
    long      => "\x03\xc9" . 'COOKIE' . ('c' x 1200),
    empty     => "\x00\x00",
);
for my $name (sort keys %params) {
    put('params', $name, $params{$name});
}
