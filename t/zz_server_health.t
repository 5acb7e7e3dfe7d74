# Server health, checked last (files run in alphabetical order): after
# everything the other files did to it, httpd's error log shows no child
# that crashed and no line of ours at crit, alert or emerg level.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);   # Test::More: every assertion has a name
use Apache::TestRequest;
use Apache::TestUtil;
use FcgiTest qw(raw_request);
use Time::HiRes ();

plan tests => 4, need_lwp;

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

