# SoakBody: the bodies bench/soak asks for and sends, made from the
# request's unique id, so that a body can only be right for its own
# request.  bench/soak-site/soak.inc.php makes the same bytes in PHP.
#
# body(ID, SIZE): SIZE bytes in 1024-byte blocks, each starting with
# "ID@OFFSET " (offset in ten digits), filled with dots, ending in "\n";
# the last block cut at SIZE.  A byte out of place, a block repeated or
# missing, or a piece of another request's body makes it differ.
package SoakBody;

use strict;
use warnings;

use Exporter 'import';
our @EXPORT_OK = qw(body stream_lines upload_answer find_foreign_id);

sub body {
    my ($id, $size) = @_;
    my $out = '';
    for (my $off = 0; $off < $size; $off += 1024) {
        my $m = sprintf('%s@%010d ', $id, $off);
        $out .= $m . ('.' x (1023 - length $m)) . "\n";
    }
    substr($out, $size) = '' if length $out > $size;
    return $out;
}

# A streamed response: N lines, each naming the request.
sub stream_lines {
    my ($id, $n) = @_;
    return map { sprintf("%s line %d/%d\n", $id, $_, $n) } 1 .. $n;
}

# What the upload endpoints answer: what they received, and its hash.
sub upload_answer {
    my ($id, $length, $sha) = @_;
    return "id=$id length=$length sha256=$sha\n";
}

# The first request id in $text other than $id (ids look like
# s<run>c<client>r<seq>), for a wrong body: whose bytes are these?
sub find_foreign_id {
    my ($id, $text) = @_;
    while ($text =~ /(s[0-9a-z]+c\d+r\d+)/g) {
        return $1 if $1 ne $id;
    }
    return;
}

1;
