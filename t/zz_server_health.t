# Server health, checked last (files run in alphabetical order): after
# everything the other files did to it, httpd's error log shows no child
# that crashed and no line of ours at crit, alert or emerg level, and
# httpd holds no connection to the test backend open (none leaked by the
# timeouts, aborts and failures before).
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);   # Test::More: every assertion has a name
use Apache::TestRequest;
use Apache::TestUtil;
use FcgiTest qw(raw_request sockdir);
use Time::HiRes ();

plan tests => 5, need_lwp;

# The server still answers.
my $res = raw_request(path => '/backend?case=ok', timeout => 10);
ok(($res->{status} // 0) == 200 && $res->{body} eq "ok\n",
   'at the end of the suite the server still answers 200 "ok"');

# httpd's parent notices a dead child in its once-a-second maintenance:
# give it the time to log a crash that just happened.
Time::HiRes::sleep(1.5);

my $path = Apache::Test::vars('t_logs') . '/error_log';
open my $fh, '<', $path or die "$path: $!";
my @log = <$fh>;
close $fh;

ok(scalar(grep { /resuming normal operations/ } @log),
   "the error log is this server's (it records the start)");

my @crashes = grep { /exit signal|Segmentation fault|AH00052/ } @log;
is(scalar(@crashes), 0, 'no httpd child crashed (no "exit signal", no segfault)')
    or diag(join '', @crashes);

my @severe = grep { /\[fastcgi_handler:(?:crit|alert|emerg)\]/ } @log;
is(scalar(@severe), 0, 'the module logged nothing at crit, alert or emerg')
    or diag(join '', @severe);


# The test backend keeps a file in open/ per connection it has open; once
# the last request here is done, none may be left.
my @open;
for (1 .. 50) {
    @open = glob(sockdir() . '/open/*');
    last unless @open;
    Time::HiRes::sleep(0.1);
}
is(scalar(@open), 0,
   'after the suite no connection to the test backend is left open')
    or diag("still open: @open");
