# One user's response never reaches another: a backend that writes after
# it has ended a request (a stray STDOUT and END_REQUEST) cannot have
# those bytes read as the answer to the next request on the connection,
# whether the next request takes the kept connection at once, is handed
# it while waiting, or finds it after a while idle; such a connection is
# not kept, and the backend's fault is logged.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use FcgiTest qw(http_connect http_request read_response raw_request
                error_log_mark wait_error_log in_parallel);
use Time::HiRes ();

plan tests => 12;

# "token=TOK" -> TOK
sub token_of { ($_[0]->{body} // '') =~ /^token=(\S*)\n\z/ ? $1 : undef }

# On one keep-alive connection: $rounds times a request whose answer is
# followed by stray records, then one that must get its own answer.
# Returns (responses checked, wrong ones, first wrong one).
sub stray_rounds {
    my ($location, $rounds, $tag, $pause) = @_;
    my ($checked, $wrong, $first) = (0, 0, '');
    my $sock = http_connect();
    for my $i (1 .. $rounds) {
        for my $case ('stray', 'token') {
            my $tok = "$tag-$case-$i";
            http_request($sock, path => "$location?case=$case&tok=$tok");
            my $res = read_response($sock, timeout => 10);
            $checked++;
            if (($res->{status} // 0) != 200 || (token_of($res) // '') ne $tok) {
                $wrong++;
                $first ||= "$tok got " . ($res->{status} // 'nothing') . ' '
                           . ($res->{body} // '');
            }
            # (httpd ends a client connection after MaxKeepAliveRequests.)
            if ($res->{closed} || grep { /close/i } @{ $res->{headers}{connection} || [] }) {
                close $sock;
                $sock = http_connect();
            }
            Time::HiRes::sleep($pause) if $pause;
        }
    }
    close $sock;
    return ($checked, $wrong, $first);
}

{
    my $mark = error_log_mark();
    my ($checked, $wrong, $first) = stray_rounds('/isolation', 150, 'seq');
    is($wrong, 0, "back to back on one client connection: $checked responses "
       . "checked, none wrong $first");
    my $log = wait_error_log($mark, qr/FCGI0323/);
    like($log, qr/\[fastcgi_handler:warn\].*FCGI0323: the backend sent a record \(type 6\) for request id \d+ on the connection now serving request id \d+.*\[backend fcgi:unix:\S+backend\.sock/,
         'the stray record is logged at warn, naming the backend (FCGI0323)');
    like($log, qr/FCGI0323: .*the request is sent again on a new connection/,
         '... and the request it met is sent again, on a new connection');
}

{
    # The kept connection handed to a waiting request the moment the
    # answer before it ended: the stray records come after that request
    # went out on it.
    my @lines = in_parallel(4, sub {
        my $i = shift;
        my ($checked, $wrong, $first) = stray_rounds('/isolation-queue', 40, "q$i");
        return "$checked $wrong $first";
    });
    my ($checked, $wrong) = (0, 0);
    my @firsts;
    for (@lines) {
        my ($c, $w, $f) = split ' ', $_, 3;
        $checked += $c // 0;
        $wrong += $w // 1;
        push @firsts, $f if $f;
    }
    is($checked, 320, 'four clients through one backend connection (FcgiMaxConns 1): '
       . "all $checked responses came");
    is($wrong, 0, "... and none was another request's (@firsts)");
}

{
    # Stray records that arrived while the connection sat idle.
    my $mark = error_log_mark();
    my ($checked, $wrong, $first) = stray_rounds('/isolation', 20, 'idle', 0.05);
    is($wrong, 0, "with a pause between requests: $checked responses checked, "
       . "none wrong $first");
    my $log = wait_error_log($mark, qr/FCGI0110/);
    like($log, qr/\[fastcgi_handler:debug\].*FCGI0110: a kept connection to fcgi:unix:\S+ had bytes waiting that no request asked for; it is closed and another taken/,
         'an idle connection with bytes waiting is closed, not used (FCGI0110, debug)');
    unlike($log, qr/FCGI0323/, '... before any request could meet them');
}

{
    # Stray records in the same write as the answer.
    my $mark = error_log_mark();
    my $sock = http_connect();
    http_request($sock, path => '/isolation?case=stray_now&tok=now');
    my $res = read_response($sock);
    is(token_of($res), 'now', 'an answer with stray records right behind it is passed on');
    http_request($sock, path => '/isolation?case=conn');
    my $next = read_response($sock);
    close $sock;
    like($next->{body} // '', qr/request=1 /,
         '... and its connection is not kept: the next request has a new one');
    my $log = wait_error_log($mark, qr/FCGI0324/);
    like($log, qr/\[fastcgi_handler:warn\].*FCGI0324: the backend sent more after END_REQUEST \(in the same read\); the response is complete, but the connection is closed, not kept/,
         '... which is logged (FCGI0324, warn)');
}

{
    # A backend that writes nothing stray keeps its connection.
    my @c = map { raw_request(path => '/isolation?case=conn') } 1 .. 3;
    is(join(' ', map { ($_->{body} // '') =~ /request=(\d+)/ ? $1 : 0 } @c) =~ /^(\d+) (\d+) (\d+)$/
       && $2 == $1 + 1 && $3 == $2 + 1 ? 'kept' : 'not kept', 'kept',
       'a well-behaved answer keeps its connection (the request ids differ, nothing else)');
}
