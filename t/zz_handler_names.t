# Handler names computed per request (an expression in SetHandler): each
# value is a backend of its own, and an httpd child keeps at most 512 of
# them.  Past that the module says so once, and the backends beyond the
# bound still have one: together they hold no more connections than
# FcgiMaxConns.  (Named zz_ to run near the end: it fills the registry of
# the suite's httpd child.)
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use FcgiTest qw(raw_request error_log_mark error_log_since sockdir in_parallel);
use Time::HiRes ();

plan tests => 5;

my $dir = sockdir();
mkdir "$dir/names";
for my $i (1 .. 600) {
    my $link = sprintf "$dir/names/n%03d.sock", $i;
    symlink "$dir/backend.sock", $link or die "$link: $!" unless -l $link;
}

sub by_name {
    my ($n, $query) = @_;
    return raw_request(path => "/names?$query", timeout => 20,
                       headers => [['X-Backend', sprintf('n%03d', $n)]]);
}

my $mark = error_log_mark();
my $bad = 0;
for my $n (1 .. 530) {
    $bad++ unless (by_name($n, 'case=ok')->{status} // 0) == 200;
}
is($bad, 0, '530 distinct handler names, each served');
my @said = grep { /FCGI0006/ } split /\n/, error_log_since($mark);
is(scalar(@said), 1, 'past 512 names in the child, that is said once');
like($said[0] // '', qr/\[fastcgi_handler:warn\].*FCGI0006: more than 512 distinct handler names in this process \(this one: 'fcgi:\S+names\/n\d{3}\.sock'\).*all such names together have no more open than FcgiMaxConns.*name the backends in the configuration instead/,
     '... at warn, with what to do about it (FCGI0006)');

# Wait until the backend has no connection open.
for (1 .. 60) {
    last unless glob("$dir/open/*");
    Time::HiRes::sleep(0.1);
}
my @lines = in_parallel(6, sub {
    my $i = shift;
    my $res = by_name(550 + $i, 'case=conn&sleep=400');
    return sprintf('%s %s', $res->{status} // 0,
                   ($res->{body} // '') =~ /open=(\d+)/ ? $1 : 99);
});
is(join(' ', map { (split)[0] } @lines), '200 200 200 200 200 200',
   'six requests at once to six names past the bound are served');
my ($most) = sort { $b <=> $a } map { (split)[1] } @lines;
cmp_ok($most, '<=', 2, "... on no more than FcgiMaxConns 2 connections at once ($most)");
