#!/usr/bin/perl
# Key rotation: replace the key file, reload, and the new key signs; a
# reload with a broken key is refused and the old key keeps signing.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use SgSign::Test qw(write_file read_file);

my $t = SgSign::Test->new(log_level => 'notice');
my $key_a = $t->rsa_key('a');
my $key_b = $t->rsa_key('b');
my $short = $t->rsa_key('short', bits => 1024);
my $live = "$t->{dir}/keys/live.key";

write_file($live, $key_a->{pem}, 0600);
$t->start_provider;
$t->start($t->gateway("sg_sign on; sg_sign_project p; sg_sign_key $live;"));

# which of the keys signed the request that upstream got last
sub signer {
    $t->clear_upstream;
    my $res = $t->post('{"session_id":"rotate"}');
    my $up = $t->last_upstream or return 'nothing upstream';
    my ($sig) = $up->header('X-PARTNER-SIGN');
    for my $k ($key_a, $key_b, $short) {
        return $k->{name} if $t->verify_signature($up->body, $sig, $k->{pub});
    }
    return 'no known key';
}

is signer(), 'a', 'before rotation requests are signed with key A';

# replace the file (atomically, as an operator's `install -m 600` would)
write_file($live, $key_b->{pem}, 0600);
is signer(), 'a', 'replacing the key file alone changes nothing (read at load)';

my $off = $t->reload;
my $who = SgSign::Test::wait_for(sub { my $s = signer(); $s eq 'b' && $s }, 10);
is $who, 'b', 'after nginx -s reload requests are signed with key B';
like $t->error_log($off),
    qr/sg_sign: loaded RSA-2048 key sha256:\Q$key_b->{fingerprint}\E/,
    'the reload logs the new key\'s fingerprint';

# an operator's mistakes: a key given to the worker user, or two keys
# pasted into one file (the first would have signed, silently)
my $nobody = $> == 0 ? getpwnam('nobody') : undef;
for my $case (
    ['a 1024-bit key', $short->{pem}, qr/1024|2048|bits|short/i],
    ['a garbage key file', "-----BEGIN PRIVATE KEY-----\nnot a key\n"
        . "-----END PRIVATE KEY-----\n", qr/key/i],
    ['a file with two private keys', $key_a->{pem} . $key_b->{pem},
        qr/holds 2 private keys/],
    (defined $nobody ? (['a key file owned by nobody', $key_a->{pem},
        qr/is owned by uid $nobody/, $nobody]) : ()),
) {
    my ($what, $pem, $why, $owner) = @$case;
    write_file($live, $pem, 0600);
    chown $owner, -1, $live if defined $owner;
    my $master = $t->master_pid;
    $off = $t->reload;
    my $log = SgSign::Test::wait_for(sub {
        my $l = $t->error_log($off);
        $l =~ /\[emerg\].*\n?/ ? $l : undef;
    }, 10) // $t->error_log($off);
    like $log, qr/\[emerg\][^\n]*sg_sign[^\n]*/,
        "a reload with $what is refused with an emerg line";
    like +(join "\n", grep { /\[emerg\]/ } split /\n/, $log), $why,
        "the refused reload with $what says why";
    ok kill(0, $master) && $t->master_pid == $master,
        "the master keeps running after the refused reload with $what";
    is signer(), 'b', "after the refused reload with $what key B still signs";
}

done_testing;
