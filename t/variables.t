# The CGI/1.1 environment a FastCGI backend sees.
#
# What PHP shows in $_SERVER and, where PHP-FPM could rewrite a variable
# (cgi.fix_pathinfo), the raw params as the test backend prints them
# (case=env): the script and path variables of a request backed by a file
# and of one that is not; every address form of the handler; what must
# never reach a backend (HTTP_PROXY; Authorization unless CGIPassAuth On);
# what must (SetEnv, SetEnvIf, request headers as HTTP_*, even 100 KiB of
# one); and a .php that does not exist.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use Digest::SHA ();
use JSON::PP ();
use FcgiTest qw(raw_request error_log_mark wait_error_log);

plan tests => 94, need_lwp;

my $docroot = Apache::Test::vars('documentroot');
my $port = Apache::Test::vars('port');

# PHP's $_SERVER (t/htdocs/php/env.php) for a request.
sub php_server {
    my ($path, @headers) = @_;
    my $res = GET $path, @headers;
    my $env = eval { JSON::PP::decode_json($res->content) } || {};
    return ($res, $env);
}

# The params exactly as the module sent them: the test backend's case=env
# answers NAME=VALUE lines (then STDIN_LENGTH and STDIN_SHA256).
sub parse_params {
    my %env;
    for my $line (split /\n/, shift) {
        my ($k, $v) = split /=/, $line, 2;
        $env{$k} = $v if defined $v;
    }
    return \%env;
}

sub raw_params {
    my ($path, @headers) = @_;
    my $res = GET $path, @headers;
    return ($res, parse_params($res->content));
}

# $n printable bytes that do not repeat in any short period.
sub text_of_length {
    my ($n, $seed) = @_;
    my $out = '';
    my $i = 0;
    $out .= Digest::SHA::sha256_base64("$seed-" . $i++) while length $out < $n;
    return substr($out, 0, $n);
}

my ($res, $env);

# --- a PHP script with extra path, over the unix socket (AddHandler) --------

($res, $env) = php_server('/php/env.php/foo/bar?q=1');
ok t_cmp($res->code, 200, 'a PHP script with extra path after its name answers 200');
ok t_cmp($env->{SCRIPT_NAME}, '/php/env.php',
         'PHP sees SCRIPT_NAME as the URL of the script');
ok t_cmp($env->{SCRIPT_FILENAME}, "$docroot/php/env.php",
         'PHP sees SCRIPT_FILENAME as the script file');
ok t_cmp($env->{PATH_INFO}, '/foo/bar',
         'PHP sees the extra path as PATH_INFO');
ok t_cmp($env->{PATH_TRANSLATED}, "$docroot/foo/bar",
         'PHP sees PATH_TRANSLATED as the extra path under the DocumentRoot');
ok t_cmp($env->{QUERY_STRING}, 'q=1', 'PHP sees the query as QUERY_STRING');
ok t_cmp($env->{REQUEST_URI}, '/php/env.php/foo/bar?q=1',
         'PHP sees the whole request target as REQUEST_URI');
ok t_cmp($env->{FCGI_ROLE}, 'RESPONDER', 'PHP runs as a FastCGI RESPONDER');

($res, $env) = php_server('/php/env.php?x=y');
ok t_cmp($res->code, 200, 'a PHP script without extra path answers 200');
ok t_cmp($env->{SCRIPT_NAME}, '/php/env.php',
         'without extra path PHP still sees SCRIPT_NAME as the script URL');
ok t_cmp($env->{SCRIPT_FILENAME}, "$docroot/php/env.php",
         'without extra path PHP still sees the script file');
ok t_cmp($env->{PATH_INFO}, undef,
         'without extra path PHP has no PATH_INFO');
ok t_cmp($env->{PATH_TRANSLATED}, undef,
         'without extra path PHP has no PATH_TRANSLATED');
ok t_cmp($env->{QUERY_STRING}, 'x=y',
         'without extra path PHP sees the query as QUERY_STRING');
ok t_cmp($env->{REQUEST_URI}, '/php/env.php?x=y',
         'without extra path PHP sees REQUEST_URI');

# --- the same file-backed request, raw (the test backend behind /vars-raw) --

($res, $env) = raw_params('/vars-raw/env.php/foo/bar?case=env&q=1');
ok t_cmp($res->code, 200,
         'a file-backed request with extra path reaches the test backend');
ok t_cmp($env->{SCRIPT_NAME}, '/vars-raw/env.php',
         'the module sends SCRIPT_NAME as the URL of the file');
ok t_cmp($env->{SCRIPT_FILENAME}, "$docroot/php/env.php",
         'the module sends SCRIPT_FILENAME as the file');
ok t_cmp($env->{PATH_INFO}, '/foo/bar',
         'the module sends the extra path as PATH_INFO');
ok t_cmp($env->{PATH_TRANSLATED}, "$docroot/foo/bar",
         'the module sends PATH_TRANSLATED as the extra path under the DocumentRoot');
ok t_cmp($env->{QUERY_STRING}, 'case=env&q=1',
         'the module sends the query as QUERY_STRING');
ok t_cmp($env->{REQUEST_URI}, '/vars-raw/env.php/foo/bar?case=env&q=1',
         'the module sends the whole request target as REQUEST_URI');
ok t_cmp($env->{FCGI_ROLE}, 'RESPONDER', 'the module sends FCGI_ROLE=RESPONDER');
ok t_cmp($env->{REQUEST_METHOD}, 'GET', 'the module sends REQUEST_METHOD');
ok t_cmp($env->{GATEWAY_INTERFACE}, 'CGI/1.1',
         'the module sends GATEWAY_INTERFACE=CGI/1.1');
ok t_cmp($env->{SERVER_PROTOCOL}, 'HTTP/1.1', 'the module sends SERVER_PROTOCOL');
ok t_cmp($env->{SERVER_PORT}, $port, 'the module sends SERVER_PORT');
ok t_cmp($env->{REMOTE_ADDR}, '127.0.0.1',
         'the module sends the client address as REMOTE_ADDR');
ok t_cmp($env->{DOCUMENT_ROOT}, $docroot, 'the module sends DOCUMENT_ROOT');

($res, $env) = raw_params('/vars-raw/env.php?case=env&x=y');
ok t_cmp($res->code, 200,
         'a file-backed request without extra path reaches the test backend');
ok t_cmp($env->{SCRIPT_NAME}, '/vars-raw/env.php',
         'without extra path SCRIPT_NAME is the URL of the file');
ok t_cmp($env->{SCRIPT_FILENAME}, "$docroot/php/env.php",
         'without extra path SCRIPT_FILENAME is the file');
ok t_cmp($env->{PATH_INFO}, undef,
         'without extra path the module sends no PATH_INFO');
ok t_cmp($env->{PATH_TRANSLATED}, undef,
         'without extra path the module sends no PATH_TRANSLATED');

# --- the same PHP script over TCP (SetHandler on an Alias) ------------------

($res, $env) = php_server('/php-tcp/env.php/foo/bar?q=1');
ok t_cmp($res->code, 200, 'a PHP script over TCP with extra path answers 200');
ok t_cmp($env->{SCRIPT_NAME}, '/php-tcp/env.php',
         'over TCP PHP sees SCRIPT_NAME as the URL of the script');
ok t_cmp($env->{SCRIPT_FILENAME}, "$docroot/php/env.php",
         'over TCP PHP sees SCRIPT_FILENAME as the script file');
ok t_cmp($env->{PATH_INFO}, '/foo/bar', 'over TCP PHP sees the extra path as PATH_INFO');
ok t_cmp($env->{PATH_TRANSLATED}, "$docroot/foo/bar",
         'over TCP PHP sees PATH_TRANSLATED under the DocumentRoot');
ok t_cmp($env->{QUERY_STRING}, 'q=1', 'over TCP PHP sees QUERY_STRING');
ok t_cmp($env->{REQUEST_URI}, '/php-tcp/env.php/foo/bar?q=1',
         'over TCP PHP sees REQUEST_URI');
ok t_cmp($env->{FCGI_ROLE}, 'RESPONDER', 'over TCP PHP runs as a RESPONDER');

($res, $env) = php_server('/php-tcp/env.php?x=y');
ok t_cmp($res->code, 200, 'a PHP script over TCP without extra path answers 200');
ok t_cmp($env->{SCRIPT_NAME}, '/php-tcp/env.php',
         'over TCP without extra path PHP sees SCRIPT_NAME');
ok t_cmp($env->{PATH_INFO}, undef,
         'over TCP without extra path PHP has no PATH_INFO');
ok t_cmp($env->{PATH_TRANSLATED}, undef,
         'over TCP without extra path PHP has no PATH_TRANSLATED');

# --- a <Location> with SetHandler that maps to no file ----------------------

($res, $env) = raw_params('/backend/some/path?case=env');
ok t_cmp($res->code, 200, 'a location that maps to no file reaches its backend');
ok t_cmp($env->{SCRIPT_NAME}, '', 'with no file SCRIPT_NAME is sent, and empty');
ok t_cmp($env->{PATH_INFO}, '/backend/some/path',
         'with no file PATH_INFO is the whole URL path');
ok t_cmp($env->{PATH_TRANSLATED}, undef,
         'with no file there is no PATH_TRANSLATED');
ok t_cmp($env->{SCRIPT_FILENAME}, "$docroot/backend/some/path",
         'with no file SCRIPT_FILENAME is the path the URL maps to');
ok t_cmp($env->{REQUEST_URI}, '/backend/some/path?case=env',
         'with no file REQUEST_URI is the request target');

($res, $env) = raw_params('/backend/a%20b/c?case=env');
ok t_cmp($env->{PATH_INFO}, '/backend/a b/c',
         'with no file PATH_INFO is the decoded URL path');
ok t_cmp($env->{REQUEST_URI}, '/backend/a%20b/c?case=env',
         'with no file REQUEST_URI stays as the client wrote it');

# --- every address form reaches its backend ---------------------------------

for my $form (['/backend-unix',      'fcgi:unix:/path'],
              ['/backend-tcp',       'fcgi:127.0.0.1:port'],
              ['/backend-localhost', 'fcgi:localhost:port']) {
    my ($path, $what) = @$form;
    $res = GET "$path?case=ok";
    ok t_cmp($res->code . ' ' . $res->content, "200 ok\n",
             "a handler written $what reaches the backend");
}
my $have_ipv6 = -e "$ENV{FCGI_TEST_SOCKDIR}/ipv6";
skip($have_ipv6 ? 0 : 'the test backend could not listen on ::1 here', sub {
    my $r = GET '/backend-ipv6?case=ok';
    t_cmp($r->code . ' ' . $r->content, "200 ok\n",
          'a handler written fcgi:[::1]:port reaches the backend');
});

# --- httpoxy: HTTP_PROXY never reaches a backend -----------------------------

($res, $env) = raw_params('/backend?case=env', 'Proxy' => 'http://evil/',
                          'X-Beside-Proxy' => 'here');
ok t_cmp($env->{HTTP_X_BESIDE_PROXY}, 'here',
         'a header sent beside Proxy: reaches the backend');
ok t_cmp($env->{HTTP_PROXY}, undef,
         'a Proxy: request header does not reach the backend as HTTP_PROXY');

($res, $env) = raw_params('/vars-setenv?case=env', 'Proxy' => 'http://evil/');
ok t_cmp($env->{FCGI_TEST_SETENV}, 'from-setenv',
         'SetEnv in the same location reaches the backend');
ok t_cmp($env->{HTTP_PROXY}, undef,
         'SetEnv HTTP_PROXY (and a Proxy: header) do not reach the backend');

($res, $env) = php_server('/php-env/env.php', 'Proxy' => 'http://evil/');
ok t_cmp($res->code, 200, 'a PHP script under SetEnv HTTP_PROXY answers 200');
ok t_cmp($env->{HTTP_PROXY}, undef,
         'PHP sees no HTTP_PROXY from SetEnv nor from a Proxy: header');

# --- Authorization only with CGIPassAuth On ----------------------------------

my $basic = 'Basic dXNlcjpzZWNyZXQ=';    # user:secret

($res, $env) = raw_params('/backend?case=env', 'Authorization' => $basic,
                          'X-Beside-Auth' => 'here');
ok t_cmp($env->{HTTP_X_BESIDE_AUTH}, 'here',
         'a header sent beside Authorization: reaches the backend');
ok t_cmp($env->{HTTP_AUTHORIZATION}, undef,
         'without CGIPassAuth the backend gets no HTTP_AUTHORIZATION');

($res, $env) = raw_params('/vars-passauth?case=env', 'Authorization' => $basic);
ok t_cmp($env->{HTTP_AUTHORIZATION}, $basic,
         'with CGIPassAuth On the backend gets HTTP_AUTHORIZATION as sent');

($res, $env) = php_server('/php/env.php', 'Authorization' => $basic);
ok t_cmp($env->{HTTP_AUTHORIZATION}, undef,
         'without CGIPassAuth PHP sees no HTTP_AUTHORIZATION');
ok t_cmp($env->{PHP_AUTH_PW}, undef,
         'without CGIPassAuth PHP sees no password (PHP_AUTH_PW)');

($res, $env) = php_server('/php-passauth/env.php', 'Authorization' => $basic);
ok t_cmp($env->{HTTP_AUTHORIZATION}, $basic,
         'with CGIPassAuth On PHP sees HTTP_AUTHORIZATION');
ok t_cmp($env->{PHP_AUTH_USER}, 'user',
         'with CGIPassAuth On PHP decodes the user (PHP_AUTH_USER)');
ok t_cmp($env->{PHP_AUTH_PW}, 'secret',
         'with CGIPassAuth On PHP decodes the password (PHP_AUTH_PW)');

# --- SetEnv and SetEnvIf ------------------------------------------------------

($res, $env) = php_server('/php-env/env.php', 'User-Agent' => 'plain-agent/1.0');
ok t_cmp($env->{FCGI_TEST_SETENV}, 'from-setenv', 'PHP sees a SetEnv variable');
ok t_cmp($env->{FCGI_TEST_SETENVIF}, undef,
         'PHP does not see a SetEnvIf variable whose condition is false');

($res, $env) = php_server('/php-env/env.php', 'User-Agent' => 'special-agent/1.0');
ok t_cmp($env->{FCGI_TEST_SETENVIF}, 'from-setenvif',
         'PHP sees a SetEnvIf variable whose condition (User-Agent) holds');
ok t_cmp($env->{FCGI_TEST_SETENV}, 'from-setenv',
         'PHP sees SetEnv beside SetEnvIf');

($res, $env) = raw_params('/vars-setenv?case=env', 'User-Agent' => 'special-agent/2');
ok t_cmp($env->{FCGI_TEST_SETENVIF}, 'from-setenvif',
         'the module sends a SetEnvIf variable whose condition holds');

# --- request headers as HTTP_* -----------------------------------------------

($res, $env) = raw_params('/backend?case=env', 'X-Custom-Thing' => 'custom value',
                          'Accept-Language' => 'fr-CH, fr;q=0.9');
ok t_cmp($env->{HTTP_X_CUSTOM_THING}, 'custom value',
         'X-Custom-Thing: arrives as HTTP_X_CUSTOM_THING');
ok t_cmp($env->{HTTP_ACCEPT_LANGUAGE}, 'fr-CH, fr;q=0.9',
         'Accept-Language: arrives as HTTP_ACCEPT_LANGUAGE');
ok t_cmp($env->{HTTP_HOST}, qr/^(?:localhost|127\.0\.0\.1):$port$/,
         'Host: arrives as HTTP_HOST');

($res, $env) = php_server('/php/env.php', 'X-Custom-Thing' => 'custom value');
ok t_cmp($env->{HTTP_X_CUSTOM_THING}, 'custom value',
         'PHP sees X-Custom-Thing: as HTTP_X_CUSTOM_THING');

my $r = raw_request(path => '/backend?case=env',
                    headers => [['X-Twice', 'first'], ['X-Twice', 'second'],
                                ['X_Custom_Thing', 'spoofed']]);
$env = parse_params($r->{body});
ok t_cmp($env->{HTTP_X_TWICE}, 'first, second',
         'a header sent twice arrives once, its values joined with a comma');
ok t_cmp($env->{HTTP_X_CUSTOM_THING}, undef,
         'a header spelt with underscores (X_Custom_Thing) cannot pose as X-Custom-Thing');

# --- 100 KiB of one header, of one cookie ------------------------------------

my $big = text_of_length(100 * 1024, 'header');
($res, $env) = raw_params('/backend?case=env', 'X-Big-Header' => $big);
ok t_cmp($res->code, 200, 'a request with a 100 KiB header reaches the backend');
ok t_cmp(length($env->{HTTP_X_BIG_HEADER} // ''), length $big,
         'a 100 KiB header arrives at its full length');
ok t_cmp(Digest::SHA::sha256_hex($env->{HTTP_X_BIG_HEADER} // ''),
         Digest::SHA::sha256_hex($big), 'a 100 KiB header arrives intact');
ok t_cmp($env->{QUERY_STRING}, 'case=env',
         'the params after a 100 KiB header still arrive');

my $cookie = text_of_length(100 * 1024, 'cookie');
($res, $env) = raw_params('/backend?case=env', 'Cookie' => "big=$cookie");
ok t_cmp(Digest::SHA::sha256_hex($env->{HTTP_COOKIE} // ''),
         Digest::SHA::sha256_hex("big=$cookie"),
         'a 100 KiB cookie reaches the backend intact as HTTP_COOKIE');

# PHP-FPM reads each PARAMS record on its own: a name-value pair must not
# straddle two records, so no single pair over 64 KiB can ever reach PHP
# (through any server).  The biggest cookie PHP can take, 60 KiB, beside
# a 40 KiB header: the params need two records, and each pair fits one.
my $cookie60 = text_of_length(60 * 1024, 'cookie60');
my $header40 = text_of_length(40 * 1024, 'header40');
$res = GET '/php/vars_cookie.php', 'Cookie' => "c60=$cookie60",
           'X-Filler' => $header40;
ok t_cmp($res->code, 200,
         'a PHP script answers a 60 KiB cookie sent beside a 40 KiB header');
my $cookies = eval { JSON::PP::decode_json($res->content) } || {};
ok t_cmp($cookies->{c60}{length}, length $cookie60,
         'PHP sees a 60 KiB cookie (beside a 40 KiB header) at its full length');
ok t_cmp($cookies->{c60}{sha256}, Digest::SHA::sha256_hex($cookie60),
         'PHP sees a 60 KiB cookie (beside a 40 KiB header) intact');

# --- a script that does not exist -------------------------------------------

my $mark = error_log_mark();
$res = GET '/php/vars_no_such_script.php';
ok t_cmp($res->code, 404, 'a .php that does not exist gives 404');
my $log = wait_error_log($mark, qr/FCGI0004/);
ok t_cmp($log,
         qr/FCGI0004: no such script: \Q$docroot\E\/php\/vars_no_such_script\.php/,
         'a .php that does not exist is logged FCGI0004 with its file name');

$res = GET '/vars-raw/vars_no_such_script.php?case=ok';
ok t_cmp($res->code . ' ' . $res->content, "200 ok\n",
         'under SetHandler a missing file is the backend\'s business: it answers');
