# The README's PHP-FPM configuration, taken from README.pod as it stands,
# does what the README says, in an httpd of its own with nothing else
# configured for PHP: PHP files run wherever they lie (a directory like
# /usr/share/APP as well as the document root), their source is never
# served, .phps and ".php" are denied, and the Authorization header
# reaches PHP.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use FindBin ();
use FcgiHttpd ();
use FcgiTest qw(sockdir);
use File::Temp ();
use IO::Socket::INET ();

plan tests => 8;

# The verbatim block that starts "<IfModule !php_module>" in the PHP-FPM
# section.
open my $pod, '<', "$FindBin::Bin/../README.pod" or die "README.pod: $!";
my $readme = do { local $/; <$pod> };
my ($section) = $readme =~ /^=head2 PHP-FPM\n(.*?)^=head/ms;
my ($block) = ($section // '') =~ /^(    <IfModule !php_module>\n.*?^    <\/IfModule>\n)/ms;
ok($block, "README.pod's PHP-FPM section has the server-level configuration");
$block //= '';
$block =~ s{/run/php/php8\.2-fpm\.sock}{sockdir() . '/php.sock'}e;

my $dir = File::Temp::tempdir('/tmp/fcgi-httpd-readme-XXXXXX');
my ($root, $app) = ("$dir/htdocs", "$dir/app");
mkdir $_ for $root, $app;
sub write_file {
    my ($path, $text) = @_;
    open my $f, '>', $path or die "$path: $!";
    print $f $text;
    close $f;
}
my $secret = '<?php $secret = "the-secret-key"; echo "ran in ", basename(__DIR__), "\n";';
write_file("$root/index.php", $secret);
write_file("$app/LocalSettings.php", $secret);
write_file("$app/source.phps", $secret);
write_file("$app/.php", $secret);
write_file("$app/auth.php", '<?php echo "auth=", $_SERVER["HTTP_AUTHORIZATION"] ?? "none", "\n";');

my $httpd = FcgiHttpd->start(name => 'readme', dir => $dir,
                             conf => "Alias /app $app\n$block");

sub get {
    my ($path, @headers) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $httpd->port,
                                  Timeout => 10) or return (0, '');
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n", map({ "$_\r\n" } @headers), "\r\n";
    my $res = do { local $/; <$s> } // '';
    my ($status) = $res =~ m{^HTTP/1\.\d (\d{3})};
    my (undef, $body) = split /\r\n\r\n/, $res, 2;
    return ($status // 0, $body // '');
}

my ($st, $body) = get('/index.php');
is("$st $body", "200 ran in htdocs\n", 'a PHP file in the document root runs');
($st, $body) = get('/app/LocalSettings.php');
is("$st $body", "200 ran in app\n", 'a PHP file in another directory (an Alias, as /usr/share/APP) runs');
unlike($body, qr/the-secret-key/, '... and its source is not served');
is((get('/app/source.phps'))[0], 403, '.phps is denied');
is((get('/app/.php'))[0], 403, 'a file named ".php" is denied');
($st, $body) = get('/app/auth.php', 'Authorization: Basic Zm9vOmJhcg==');
is($body, "auth=Basic Zm9vOmJhcg==\n", 'the Authorization header reaches PHP (CGIPassAuth On)');
unlike($httpd->error_log, qr/\[fastcgi_handler:(?:error|crit|alert|emerg)\]/,
       'the module logs no error for it');
