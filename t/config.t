#!/usr/bin/perl
# Configuration time: what `nginx -t` refuses (naming file and line, never
# printing key material), which keys it accepts, the "loaded" notice with
# the key's fingerprint, and directives inherited from http and server.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use SgSign::Test qw(write_file key_material_lines);

my $t = SgSign::Test->new;
my $kdir = "$t->{dir}/keys";

my $good  = $t->rsa_key('good');
my $pkcs1 = $t->rsa_key('pkcs1', format => 'pkcs1');
my $enc   = $t->rsa_key('enc', passphrase => 'correct horse battery');
my $short = $t->rsa_key('short', bits => 1024);
my $ec    = $t->ec_key('ec');

my $open_other = write_file("$kdir/other-readable.key", $good->{pem}, 0644);
chmod 0644, $open_other;
my $open_group = write_file("$kdir/group-readable.key", $good->{pem}, 0640);
chmod 0640, $open_group;
my $public = write_file("$kdir/public-only.key",
    SgSign::Test::read_file($good->{pub}), 0600);
my $garbage = write_file("$kdir/garbage.key",
    join('', map { chr int rand 256 } 1 .. 1200), 0600);
my $wrong_pass = write_file("$kdir/wrong.pass", "not the passphrase\n", 0600);
my $crlf_pass = write_file("$kdir/crlf.pass",
    "$enc->{passphrase}\r\nsecond line\r\n", 0600);
my $missing = "$kdir/no-such.key";

# the passphrase file is key material too
my $pass_open = write_file("$kdir/open.pass", "$enc->{passphrase}\n", 0644);
chmod 0644, $pass_open;
my $pass_gw = write_file("$kdir/group-writable.pass",
    "$enc->{passphrase}\n", 0620);
chmod 0620, $pass_gw;

# one private key a file; certificates beside it are fine
SgSign::Test::openssl('req', '-new', '-x509', '-key', $good->{key},
    '-subj', '/CN=sg-test', '-days', '1', '-out', "$kdir/good.crt");
my $key_cert = write_file("$kdir/key-cert.key",
    $good->{pem} . SgSign::Test::read_file("$kdir/good.crt"), 0600);
my $two_keys = write_file("$kdir/two.key", $good->{pem} . $short->{pem},
    0600);
my $mixed_keys = write_file("$kdir/mixed.key", $pkcs1->{pem} . $good->{pem},
    0600);

# files the worker user owns: it could rewrite them whatever their mode
my $nobody = getpwnam('nobody');
my $foreign_key = write_file("$kdir/nobody.key", $good->{pem}, 0600);
my $foreign_pass = write_file("$kdir/nobody.pass", "$enc->{passphrase}\n",
    0600);
my $chowned = $> == 0 && defined $nobody
    && chown($nobody, -1, $foreign_key, $foreign_pass) == 2;

# the words no output may contain, from every key in play
my @secrets = ('PRIVATE KEY', 'correct horse', 'not the passphrase',
    map { key_material_lines($_->{pem}), key_material_lines($_->{plain_pem}) }
    $good, $pkcs1, $enc, $short, $ec);

sub location {
    my (@directives) = @_;
    return $t->gateway(join "\n            ", @directives);
}

# -t output and the error logs, everything an operator might see
sub everything_printed {
    my ($r) = @_;
    return $r->{output} . $t->error_log;
}

sub leaked {
    my ($text) = @_;
    return grep { index($text, $_) >= 0 } @secrets;
}


# ------------------------------------------------- refusals

# name, directives of the location, directive whose line must be named,
# what the message must say
my @refused = (
    ['a key file readable by others (0644)',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $open_other;"],
        qr/^\s*sg_sign_key /, qr/permission|mode|group|other|readable|0644/i],
    ['a key file readable by the group (0640)',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $open_group;"],
        qr/^\s*sg_sign_key /, qr/permission|mode|group|other|readable|0640/i],
    ['a passphrase file readable by others (0644)',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $enc->{key};",
            "sg_sign_key_passphrase_file $pass_open;"],
        qr/^\s*sg_sign_key(?:_passphrase_file)? /,
        qr/passphrase file "\Q$pass_open\E" has permissions 0644/],
    ['a passphrase file writable by the group (0620)',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $enc->{key};",
            "sg_sign_key_passphrase_file $pass_gw;"],
        qr/^\s*sg_sign_key(?:_passphrase_file)? /,
        qr/passphrase file "\Q$pass_gw\E" has permissions 0620/],
    ['a PEM with two private keys',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $two_keys;"],
        qr/^\s*sg_sign_key /, qr/"\Q$two_keys\E" holds 2 private keys/],
    ['a PEM with a PKCS#1 and a PKCS#8 private key',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $mixed_keys;"],
        qr/^\s*sg_sign_key /, qr/"\Q$mixed_keys\E" holds 2 private keys/],
    ($chowned ? (
    ['a key file owned by nobody',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $foreign_key;"],
        qr/^\s*sg_sign_key /,
        qr/key file "\Q$foreign_key\E" is owned by uid $nobody/],
    ['a passphrase file owned by nobody',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $enc->{key};",
            "sg_sign_key_passphrase_file $foreign_pass;"],
        qr/^\s*sg_sign_key(?:_passphrase_file)? /,
        qr/passphrase file "\Q$foreign_pass\E" is owned by uid $nobody/],
    ) : ()),
    ['an RSA-1024 key',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $short->{key};"],
        qr/^\s*sg_sign_key /, qr/1024|2048|bits|short/i],
    ['an EC key',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $ec->{key};"],
        qr/^\s*sg_sign_key /, qr/RSA/],
    ['a public key',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $public;"],
        qr/^\s*sg_sign_key /, qr/private/i],
    ['a garbage key file',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $garbage;"],
        qr/^\s*sg_sign_key /, qr/private key|PEM|key/i],
    ['a wrong passphrase',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $enc->{key};",
            "sg_sign_key_passphrase_file $wrong_pass;"],
        qr/^\s*sg_sign_key(?:_passphrase_file)? /,
        qr/passphrase|password|decrypt/i],
    ['an encrypted key without a passphrase file',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $enc->{key};"],
        qr/^\s*sg_sign_key /, qr/passphrase|password|encrypted|decrypt/i],
    ['a missing key file',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $missing;"],
        qr/^\s*sg_sign_key /, qr/no such file|not found|open|exist/i],
    ['a missing passphrase file',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $enc->{key};",
            "sg_sign_key_passphrase_file $kdir/no-such.pass;"],
        qr/^\s*sg_sign_key(?:_passphrase_file)? /, qr/no such file|open|exist/i],
    ['sg_sign on without sg_sign_project',
        ['sg_sign on;', "sg_sign_key $good->{key};"],
        qr/^\s*sg_sign on;/, qr/sg_sign_project/],
    ['sg_sign on without sg_sign_key',
        ['sg_sign on;', 'sg_sign_project p;'],
        qr/^\s*sg_sign on;/, qr/sg_sign_key/],
    ['sg_sign_schema nope',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $good->{key};",
            'sg_sign_schema nope;'],
        qr/^\s*sg_sign_schema /, qr/nope|schema/],
    ['sg_sign_encoding base32',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $good->{key};",
            'sg_sign_encoding base32;'],
        qr/^\s*sg_sign_encoding /, qr/base32|encoding/],
    ['sg_sign_max_body_size 12q',
        ['sg_sign on;', 'sg_sign_project p;', "sg_sign_key $good->{key};",
            'sg_sign_max_body_size 12q;'],
        qr/^\s*sg_sign_max_body_size /, qr/12q|invalid|size/i],
    ['sg_sign maybe',
        ['sg_sign maybe;', 'sg_sign_project p;', "sg_sign_key $good->{key};"],
        qr/^\s*sg_sign maybe;/, qr/maybe|invalid/],
    ['sg_sign at server level (location only)',
        ['sg_sign_project p;', "sg_sign_key $good->{key};"],
        qr/^\s*sg_sign on;/, qr/not allowed|sg_sign/,
        extra => '        sg_sign on;'],
);
diag 'not root: the cases of files owned by nobody are left out'
    unless $chowned;
for my $case (@refused) {
    my ($what, $directives, $line_re, $msg_re, %o) = @$case;
    unlink $t->error_log_path;
    my $conf = $t->gateway(join("\n            ", @$directives),
        extra => $o{extra});
    my $r = $t->nginx_test($conf);
    my $path = $t->conf_path;
    my @lines = grep { defined } map {
        my $re = $_;
        my @l = split /\n/, $t->{conf};
        map { $l[$_] =~ $re ? $_ + 1 : () } 0 .. $#l;
    } $line_re;
    my $out = everything_printed($r);

    isnt $r->{rc}, 0, "nginx -t refuses $what";
    my ($named) = $r->{output} =~ /\Q$path\E:(\d+)/;
    ok defined $named && grep({ $_ == $named } @lines),
        "nginx -t names the file and line for $what"
        or diag "expected $path:" . join('|', @lines) . " in:\n$r->{output}";
    like $r->{output}, $msg_re, "the message says what is wrong with $what";
    my @leak = leaked($out);
    ok !@leak, "no key material is printed for $what"
        or diag "leaked: " . join ', ', map { substr($_, 0, 20) } @leak;
}


# ------------------------------------------------- accepted keys

my @accepted = (
    ['a PKCS#8 key', $good, ["sg_sign_key $good->{key};"]],
    ['a PKCS#1 key', $pkcs1, ["sg_sign_key $pkcs1->{key};"]],
    ['an encrypted PKCS#8 key with its passphrase file', $enc,
        ["sg_sign_key $enc->{key};",
            "sg_sign_key_passphrase_file $enc->{pass_file};"]],
    ['an encrypted key whose passphrase file ends in CRLF and has more lines',
        $enc, ["sg_sign_key $enc->{key};",
            "sg_sign_key_passphrase_file $crlf_pass;"]],
    ['a key followed by its certificate', $good,
        ["sg_sign_key $key_cert;"]],
);
for my $case (@accepted) {
    my ($what, $key, $directives) = @$case;
    my $r = $t->nginx_test(location('sg_sign on;', 'sg_sign_project p;',
        @$directives));
    is $r->{rc}, 0, "nginx -t accepts $what" or diag $r->{output};
    ok !leaked(everything_printed($r)), "no key material is printed for $what";
}

{
    my $r = $t->nginx_test(location('sg_sign off;'));
    is $r->{rc}, 0, 'sg_sign off needs neither project nor key'
        or diag $r->{output};
    $r = $t->nginx_test(location('proxy_set_header X-Off 1;'));
    is $r->{rc}, 0, 'a location without sg_sign needs neither project nor key'
        or diag $r->{output};
}


# ------------------------------------------------- the notice, inheritance

$t->start_provider(public_key => $good->{pub}, encoding => 'hex');
unlink $t->error_log_path;
$t->start(<<"EOF", log_level => 'notice');
    sg_sign_key      $good->{key};
    sg_sign_encoding hex;

    server {
        listen 127.0.0.1:$t->{port};
        sg_sign_project  inherited_project;
        sg_sign_submerchant server-merchant;

        location = /api/v1/session/start/payout {
            sg_sign on;
            proxy_pass http://provider;
        }
        location = /override/session/start/payout {
            sg_sign on;
            sg_sign_project location_project;
            sg_sign_submerchant "";
            proxy_pass http://provider;
        }
    }
EOF

{
    my $log = $t->error_log;
    like $log,
        qr/\[notice\].*sg_sign: loaded RSA-2048 key sha256:\Q$good->{fingerprint}\E from \Q$good->{key}\E/,
        'the notice names the key size, its fingerprint and its path';
    ok !leaked($log), 'the error log holds no key material';

    my $res = $t->post('{"session_id":"inherit"}');
    my $up = $t->last_upstream;
    is_deeply [$up ? $up->header('X-PARTNER-PROJECT') : ()],
        ['inherited_project'], 'sg_sign_project is inherited from server';
    is_deeply [$up ? $up->header('X-PARTNER-SUBMERCHANT') : ()],
        ['server-merchant'], 'sg_sign_submerchant is inherited from server';
    my ($sig) = $up ? $up->header('X-PARTNER-SIGN') : ();
    ok $up && $t->verify_signature($up->body, $sig, $good->{pub}, 'hex'),
        'sg_sign_key and sg_sign_encoding are inherited from http';
    is $res->status, 200, 'the provider accepts the inherited configuration';

    $t->clear_upstream;
    $res = $t->post('{"session_id":"override"}',
        path => '/override/session/start/payout');
    $up = $t->last_upstream;
    is_deeply [$up ? $up->header('X-PARTNER-PROJECT') : ()],
        ['location_project'], 'a location overrides the inherited project';
    is_deeply [$up ? $up->header('X-PARTNER-SUBMERCHANT') : ()], [],
        'a location turns the inherited submerchant off with ""';
}

SKIP: {
    skip 'workers run as the master\'s user unless the tests run as root', 1
        if $> != 0;
    my $master = $t->master_pid;
    my @workers = grep {
        (SgSign::Test::read_file("/proc/$_/stat") // '')
            =~ /\A\d+ \(.*\) \S (\d+)/s && $1 == $master
    } map { m{\A/proc/(\d+)\z} ? $1 : () } glob '/proc/[0-9]*';
    my @uids = map {
        (SgSign::Test::read_file("/proc/$_/status") // '') =~ /^Uid:\s+(\d+)/m
    } @workers;
    ok @uids && !grep({ $_ == 0 } @uids),
        'the key is read by the master: unprivileged workers sign with a '
        . 'root-only 0600 key' or diag "worker uids: @uids";
}

done_testing;
