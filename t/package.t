#!/usr/bin/perl
# The Debian package (make deb-test, which unpacks it and runs the suite with
# SG_SIGN_MODULE set to the .so inside): what it installs, what it depends
# on, and its example configuration, which must be the README's "A complete
# configuration" as a site of Debian's nginx and must pass `nginx -t` with
# the packaged module.  Installing it for real: t/deb_install_test.sh.
#
#   SG_SIGN_PACKAGE=the .deb  SG_SIGN_PACKAGE_ROOT=where it is unpacked

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use SgSign::Test qw(read_file);

my $deb = $ENV{SG_SIGN_PACKAGE};
my $root = $ENV{SG_SIGN_PACKAGE_ROOT};

plan skip_all => 'needs the package: make deb-test'
    unless $deb && $root;

my $pkg = 'libnginx-mod-http-sg-sign';
my $doc = "$root/usr/share/doc/$pkg";
my $so = "$root/usr/lib/nginx/modules/ngx_http_sg_sign_module.so";

my $t = SgSign::Test->new;
my $dir = $t->dir;

is $SgSign::Test::MODULE, $so, 'the suite runs the packaged module';


# ---------------------------------------------------------------- contents

# dh_nginx's snippet, linked into /etc/nginx/modules-enabled by postinst
my $snippet = read_file("$root/usr/share/nginx/modules-available/"
    . 'mod-http-sg-sign.conf');
is $snippet, "load_module modules/ngx_http_sg_sign_module.so;\n",
    'modules-available/mod-http-sg-sign.conf loads the module';
my ($so_name) = ($snippet // '') =~ m{modules/(\S+);};
ok defined $so_name && -f "$root/usr/lib/nginx/modules/$so_name",
    'the file it names is in /usr/lib/nginx/modules, which Debian\'s '
    . '/usr/share/nginx/modules (the prefix\'s modules/) links to';

my $postinst = `dpkg-deb --ctrl-tarfile '$deb' | tar -xOf - ./postinst`;
like $postinst,
    qr{ln -sf /usr/share/nginx/modules-available/\$from\s+\\\s+/etc/nginx/modules-enabled/\$to}s,
    'postinst links the snippet into modules-enabled';
like $postinst, qr{for confpair in mod-http-sg-sign\.conf:50-mod-http-sg-sign\.conf },
    '... as 50-mod-http-sg-sign.conf';

my $readme = read_file("$SgSign::Test::ROOT/README.md");
my $shipped = `gzip -dc '$doc/README.md.gz'`;
ok length $shipped && $shipped eq $readme,
    'the README shipped is the checkout\'s';
like read_file("$doc/copyright") // '', qr/Serge Zaitsev/,
    'copyright credits jsmn, which is compiled in';
ok -f "$doc/schemas/README.md.gz", 'the schema reference is shipped';

# no key (nor any PEM) in the package: the module's own .so names PEM
# markers, so it is left out of the search
my @pem = grep { !/\.so$/ && `zcat -f '$_'` =~ /-----BEGIN/ }
    split /\n/, `find '$root' -type f`;
is "@pem", '', 'no PEM block (a key) anywhere in the package';


# ---------------------------------------------------------------- depends

my $depends = `dpkg-deb -f '$deb' Depends`;
my %dep = map { /^\s*(\S+)/ ? ($1 => 1) : () } split /[,|]/, $depends;

my ($abi) = grep { /^nginx-abi-/ } split /,\s*/,
    `dpkg-query -W -f '\${Provides}' nginx`;
ok defined $abi && $dep{$abi},
    "Depends names the installed nginx's ABI (" . ($abi // 'none') . ')';

# every library the module links (NEEDED, where the loader finds it): its
# Debian package is a dependency
my @needed = `readelf -d '$so'` =~ /\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g;
my %path;
for (split /\n/, `ldd '$so'`) {
    if (m{^\s*(\S+) => (/\S+)}) {
        $path{$1} = $2;
    } elsif (m{^\s*(/\S*/([^/\s]+)) \(}) {
        $path{$2} = $1;         # the loader itself, named by its path
    }
}
ok scalar(grep { /^libcrypto\.so/ } @needed), 'the module links libcrypto';
for my $lib (@needed) {
    $path{$lib} //= '';
    # dpkg knows a library by the path its package installs it at
    my ($owner) = map { `dpkg -S '$_' 2>/dev/null` =~ /^([^:,\s]+)/ }
        grep { -e } $path{$lib}, $path{$lib} =~ s{^/usr/lib/}{/lib/}r,
        $path{$lib} =~ s{^/lib/}{/usr/lib/}r;
    ok defined $owner && $dep{$owner},
        "$lib: its package (" . ($owner // '?') . ') is in Depends';
}


# ---------------------------------------------------------------- example

my $example = read_file("$doc/examples/sg-sign-site.conf");
ok defined $example, 'examples/sg-sign-site.conf is shipped';
$example //= '';
unlike $example, qr/^\s*load_module\b/m,
    'the example has no load_module: the package loads the module';

# the README's block, but for what only a complete nginx.conf has (the
# load_module, the main error_log, events, the http braces), is the
# example, but for its server-level error_log: the same directives with
# the same values, comments and layout aside
sub readme_http {
    my @lines = split /\n/, $readme;
    my $i = 0;
    $i++ while $i < @lines && $lines[$i] ne '## A complete configuration';
    $i++ while $i < @lines && $lines[$i] !~ /\A {4}\S/;
    my @block;
    while ($i < @lines && ($lines[$i] =~ /\A {4}/ || $lines[$i] !~ /\S/)) {
        push @block, $lines[$i++];
    }
    my $block = join "\n", @block;
    $block =~ /^ {4}http \{\n(.*)^ {4}\}\s*\z/ms
        or die "README.md: no http { } block in 'A complete configuration'\n";
    return $1;
}

sub directives {
    my ($conf) = @_;
    $conf =~ s/#[^\n]*//g;
    $conf =~ s/\s+/ /g;
    $conf =~ s/^ | $//g;
    return $conf;
}

my $site = $example;
is $site =~ s/^\s*error_log\s[^;]*;[^\n]*\n//mg, 1,
    'the example has one error_log of its own';
is directives($site), directives(readme_http()),
    'the example is the README\'s complete configuration';

# with what it names made local, it passes nginx -t with the packaged module
my $key = $t->rsa_key('partner');
my $ca = "$dir/keys/ca.pem";
SgSign::Test::openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-keyout', "$dir/keys/ca.key", '-subj', '/CN=test CA', '-days', '1',
    '-out', $ca);

my $conf = $example;
my %subst = (
    '10.0.0.5:8080' => '127.0.0.1:' . $t->port,
    '10.0.0.0/8' => '127.0.0.0/8',
    'demo.smart-glocal.com:443' => '127.0.0.1:' . $t->up_port,
    '/etc/nginx/sg/partner.key' => $key->{key},
    '/etc/ssl/certs/ca-certificates.crt' => $ca,
    '/var/log/nginx/sg.log' => "$dir/logs/sg.log",
    '/var/log/nginx/sg-error.log' => "$dir/logs/sg-error.log",
);
for my $from (sort keys %subst) {
    my $n = $conf =~ s/\Q$from\E/$subst{$from}/g;
    is $n, 1, "the example names $from once";
}
my $left = directives($conf);
unlike $left, qr{/etc/|/var/|\b10\.\d|:443\b},
    'nothing of the production paths is left in what is tested'
    or diag $left;

my $r = $t->nginx_test($conf);
is $r->{rc}, 0, 'the example passes nginx -t with the packaged module'
    or diag $r->{output};

# and nginx -t refuses it without the module: the check above is real
my $without = read_file($t->write_conf($conf));
$without =~ s/^load_module [^\n]*\n//m or die "no load_module line\n";
SgSign::Test::write_file($t->conf_path, $without, 0644);
$r = SgSign::Test::run_cmd($SgSign::Test::NGINX, '-p', "$dir/", '-c',
    $t->conf_path, '-e', $t->error_log_path, '-t');
isnt $r->{rc}, 0, 'without the module nginx -t refuses the example';
like $r->{output}, qr/unknown (?:directive|"sg_sign_\w+" variable)/,
    '... for the module\'s directives and variables';

done_testing;
