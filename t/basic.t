# The smallest round trip: a PHP page over the unix socket.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use JSON::PP ();

plan tests => 2, need_lwp;

my $res = GET '/php/env.php';
ok t_cmp($res->code, 200, 'a PHP page answers 200');
my $env = JSON::PP::decode_json($res->content);
ok t_cmp($env->{FCGI_ROLE}, 'RESPONDER', 'the backend runs as a RESPONDER');
