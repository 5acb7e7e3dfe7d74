# Concurrency: 32 clients at once, each sending 50 requests one after
# the other over ONE keep-alive connection.  Every request asks for its
# own id and a body size of its own (0 to 20 000 bytes), and every
# response must be exactly the one asked for: no mix-ups between
# requests, nothing missing, and no connection dropped on the way.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);   # Test::More: is, like, ok with names
use Apache::TestRequest;
use Apache::TestUtil;
use POSIX ();
use FcgiTest qw(http_connect http_request read_response);

my ($CLIENTS, $REQUESTS) = (32, 50);

plan tests => 6;

# What request $r of client $c asks for, and what it must get back.
sub id_for   { my ($c, $r) = @_; "c$c-r$r" }
sub size_for { my ($c, $r) = @_; ($c * 7919 + $r * 104729) % 20001 }
sub body_for {
    my ($id, $size) = @_;
    my $unit = "$id;";
    return substr($unit x (int($size / length $unit) + 1), 0, $size);
}

# One client: one connection, $REQUESTS requests in a row.  Writes one
# line per request to $out: id, then what it saw, as name=0/1 words.
sub client {
    my ($c, $out) = @_;
    my $sock = eval { http_connect() };
    if (!$sock) {
        print $out "c$c connect-failed\n";
        return;
    }
    my $port = $sock->sockport;
    for my $r (1 .. $REQUESTS) {
        my ($id, $size) = (id_for($c, $r), size_for($c, $r));
        my $res = eval {
            http_request($sock, path => "/php/conc_echo.php?id=$id&size=$size");
            read_response($sock, timeout => 20);
        };
        if (!$res || !defined $res->{status}) {
            print $out "$id no-response\n";
            return;
        }
        my $h = sub { my $v = $res->{headers}{ $_[0] }; $v ? $v->[-1] : '' };
        my $right = $res->{status} == 200 && $res->{complete}
            && $h->('x-conc-id') eq $id
            && $res->{body} eq body_for($id, $size) ? 1 : 0;
        my $open = !$res->{closed} && lc $h->('connection') ne 'close' ? 1 : 0;
        my $same = $h->('x-conc-port') eq $port ? 1 : 0;
        print $out "$id right=$right open=$open same=$same"
            . " status=$res->{status} length=" . length($res->{body})
            . " asked=$size\n";
        return unless $open;
    }
}

my %pipe;
for my $c (1 .. $CLIENTS) {
    pipe(my $in, my $out) or die "pipe: $!";
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        close $in;
        $out->autoflush(1);
        client($c, $out);
        close $out;
        POSIX::_exit(0);      # no END blocks: the parent reports
    }
    close $out;
    $pipe{$pid} = $in;
}

my @lines;
for my $pid (sort keys %pipe) {
    my $in = $pipe{$pid};
    push @lines, <$in>;
    close $in;
    waitpid $pid, 0;
}
chomp @lines;

my @answered = grep { /\bright=/ } @lines;
my @right = grep { /\bright=1\b/ } @answered;
my @wrong = grep { !/\bright=1\b/ } @lines;
my @closed = grep { /\bopen=0\b/ } @answered;
my @moved = grep { /\bsame=0\b/ } @answered;
my %seen = map { (split ' ', $_)[0] => 1 } @answered;
my @missing = grep { !$seen{$_} }
              map { my $c = $_; map { id_for($c, $_) } 1 .. $REQUESTS }
              1 .. $CLIENTS;
my $total = $CLIENTS * $REQUESTS;
sub first10 { @_[0 .. ($#_ < 9 ? $#_ : 9)] }

is(scalar @answered, $total,
   "$CLIENTS clients x $REQUESTS keep-alive requests: every request got an answer");
is(scalar @missing, 0, 'no request went missing')
    or diag("missing: @{[ first10(@missing) ]}");
is(scalar(@answered) - scalar(@right), 0,
   'no response is mixed up: each is the one its request asked for (id, length and content)')
    or diag(join "\n", map { "not as asked: $_" } first10(@wrong));
is(scalar @right, $total, "all $total responses are right");
is(scalar @closed, 0,
   'the server never closed a keep-alive connection between requests')
    or diag(join "\n", map { "closed after: $_" } first10(@closed));
is(scalar @moved, 0,
   "each client's $REQUESTS requests were all served on its one connection");
