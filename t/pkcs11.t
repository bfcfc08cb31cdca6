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

# under valgrind (t/valgrind.sh) nginx is one process: no workers to count
my $one_process = $SgSign::Test::FOREGROUND;
my $slow = $SgSign::Test::SLOW;

my $gen = $hsm->generate('partner-2026', '01');
my $imp = $hsm->import_rsa('imported', '02');

$t->start_provider(public_key => $gen->{pub});

my $pin = "sg_sign_key_passphrase_file $hsm->{pin_file};";
my $module = "sg_sign_pkcs11_module $SgSign::HSM::SOFTHSM;";

sub body {
    my ($n) = @_;
    return qq({"session_id":"hsm-$n","metadata":{"n":$n}});
}

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

# pkcs11-spy (OpenSC) logs every call the workers make; it leaks a block
# per load that LeakSanitizer would blame on our stack (t/sanitize.sh):
# there, SoftHSM2 directly and no spy checks
my $spy = !$SgSign::Test::SANITIZER;
my $spy_log = $t->dir . '/logs/spy.log';
$ENV{PKCS11SPY} = $SgSign::HSM::SOFTHSM;
$ENV{PKCS11SPY_OUTPUT} = $spy_log;

# one process: its one listening socket (reuseport would make two)
my $reuseport = $one_process ? '' : 'reuseport';
my $first_module = $spy ? $SgSign::HSM::SPY : $SgSign::HSM::SOFTHSM;
my $http = <<"EOF";
    sg_sign_pkcs11_module $first_module;
    log_format pid '\$pid \$sg_sign_status \$sg_sign_key_fingerprint';
    access_log ${\ $t->dir}/logs/pid.log pid;

    server {
        listen 127.0.0.1:${\ $t->port} $reuseport;
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

$t->start($http, worker_processes => $one_process ? 1 : 2, log_level => 'debug',
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
like read_file($t->dir . '/logs/pid.log'),
    qr/ signed $gen->{fingerprint}$/m,
    '$sg_sign_key_fingerprint is the token key\'s';

SKIP: {
skip 'one process (master_process off)', 5 if $one_process;

is scalar(keys %pids), 2, 'both workers signed payouts';

{
    # each worker opened the module and a session of its own after fork;
    # the master closed its own before
    my $fp = $gen->{fingerprint};
    my %opened = map { $_ => 1 } $t->error_log
        =~ /\[debug\] (\d+)#\d+: sg_sign: PKCS#11 key sha256:$fp open/g;
    is_deeply [sort keys %opened], [sort keys %pids],
        'each worker opened the key itself (init_process)';

    skip 'no pkcs11-spy under the sanitizers', 3 unless $spy;

    my $calls = read_file($spy_log) // '';
    my @calls = $calls =~ /^\d+: (C_Initialize|C_Finalize|C_OpenSession)$/mg;
    my $first_fini = (grep { $calls[$_] eq 'C_Finalize' } 0 .. $#calls)[0];
    my $inits = grep { $_ eq 'C_Initialize' } @calls;
    my $later = grep { $calls[$_] eq 'C_Initialize' } $first_fini + 1 .. $#calls
        if defined $first_fini;

    # two keys: the master checks both (one C_Initialize each), then each
    # worker initializes the module once and opens a session per key
    cmp_ok $inits, '>=', 2 + 2, 'the spy saw the master\'s checks and a '
        . 'C_Initialize per worker';
    cmp_ok $later // 0, '>=', 3, 'the master finalized before the workers '
        . 'initialized (C_Finalize first)';
    cmp_ok scalar(grep { $_ eq 'C_OpenSession' } @calls), '>=', 2 + 4,
        'a session per key in each worker';
}
}

$t->stop;


# ------------------------------------------------ a token that goes away

sub signing_conf {
    my ($key, %o) = @_;
    my $mod = $o{module} // $SgSign::HSM::SOFTHSM;
    my $more = $o{more} // '';
    return "    sg_sign_pkcs11_module $mod;\n"
        . $t->gateway(qq(sg_sign on; sg_sign_project p;
            sg_sign_key "$key->{uri}"; $pin $more), extra => $o{extra});
}

# sg_sign_hsm_up and sg_sign_key_info of the metrics page, for this key
sub hsm_metrics {
    my $res = $t->request(method => 'GET', path => '/metrics');
    my $body = $res->body // '';
    my ($up) = $body =~ /^sg_sign_hsm_up\{fingerprint="$gen->{fingerprint}"\} (\d+)$/m;
    my ($info) = $body =~ /^sg_sign_key_info\{fingerprint="$gen->{fingerprint}",kind="pkcs11"\} (\d+)$/m;
    my ($pool) = $body =~ /^sg_sign_signing_seconds_count\{mode="pool"\} (\d+)$/m;
    my ($queue) = $body =~ /^sg_sign_thread_pool_queue\{pool="default"\} (\d+)$/m;
    return ($up // 'none', $info // 'none', $pool // 'none', $queue // 'none');
}

$t->start("    sg_sign_metrics_zone sg 1m;\n"
    . signing_conf($gen, extra => 'location = /metrics { sg_sign_metrics; }'),
    main => $hsm->main);

{
    my ($res, $up, $ok) = sign_one(100, pub => $gen->{pub});
    ok $res->status == 200 && $ok, 'before: the token signs';
    is_deeply [hsm_metrics()], [1, 1, 1, 0],
        'metrics: the key is listed as kind="pkcs11", sg_sign_hsm_up 1, '
        . 'one signature timed in the pool, none waiting in it';

    my $log_from = length $t->error_log;
    $hsm->remove;

    my $all = 1;
    for my $n (1 .. 4) {
        $t->clear_upstream;
        my $r = $t->request(body => body(100 + $n));
        $all &&= error_ok($r, 500, 'signing_failed', undef,
            "token removed: request $n answers 500 signing_failed");
        $all &&= is $t->upstream_count, 0,
            "token removed: request $n: nothing upstream";
    }

    is_deeply [(hsm_metrics())[0, 2]], [0, 5],
        'metrics: token removed, sg_sign_hsm_up 0; each attempt timed';

    my $log = $t->error_log($log_from);
    my @lines = $log =~ /(signing failed with PKCS#11 key[^\n]*)/g;
    is scalar(@lines), 1,
        'four failures within 10 s: the error log says so once';
    like $lines[0] // '', qr/sha256:$gen->{fingerprint} \(\Q$gen->{uri}\E\)/,
        'the line names the key (fingerprint and URI)';

    $hsm->restore;

    my $back = SgSign::Test::wait_for(sub {
        my ($res, $up, $ok) = sign_one(200, pub => $gen->{pub});
        $res->status == 200 && $ok;
    }, 25 * $slow);
    ok $back, 'the token is back: signing resumes without a reload';
    is((hsm_metrics())[0], 1, 'metrics: the token is back, sg_sign_hsm_up 1');
    like $t->error_log($log_from),
        qr/PKCS\#11\ key\ sha256:$gen->{fingerprint}\ \(\Q$gen->{uri}\E\)
           \ signs\ again;\ \d+\ failed\ since\ the\ last\ such\ line/x,
        'the error log says when the key signs again';
    unlike $t->error_log($log_from), qr/reconfiguring|signal 1 /,
        'no reload happened';
}

$t->stop;


# ------------------------------------------------ p11-kit's proxy

# without sg_sign_pkcs11_module: every module the system registers
# (Debian's softhsm2 registers itself in /usr/share/p11-kit/modules/)
SKIP: {
    skip 'SoftHSM2 is not registered with p11-kit', 2
        unless -f '/usr/share/p11-kit/modules/softhsm2.module';

    $t->start($t->gateway(qq(sg_sign on; sg_sign_project p;
            sg_sign_key "$gen->{uri}"; $pin)), main => $hsm->main);
    my ($res, $up, $ok) = sign_one(250, pub => $gen->{pub});
    is $res->status, 200, 'through p11-kit\'s proxy: the token signs';
    ok $ok, 'through p11-kit\'s proxy: the signature verifies';
    $t->stop;
}


# ------------------------------------------------ an HSM that hangs

my $shim = $hsm->shim;
$hsm->shim_set('');

$t->start(signing_conf($gen, module => $shim->{so},
        more => 'sg_sign_timeout 400ms;'),
    main => $hsm->main('SG_P11SHIM_CTL'));

{
    my ($res, $up, $ok) = sign_one(300, pub => $gen->{pub});
    ok $res->status == 200 && $ok, 'through the shim module: signs';

    $hsm->shim_set('hang');
    $t->clear_upstream;
    my $t0 = time;
    my $r = $t->request(body => body(301), timeout => 15);
    my $took = time - $t0;
    error_ok($r, 500, 'signing_failed', undef,
        'a C_Sign that does not return within sg_sign_timeout: 500');
    ok $took >= 0.35 && $took < 3 * $slow,
        sprintf('the answer comes after the timeout, not the HSM (%.2f s)',
            $took);
    is $t->upstream_count, 0, 'the timed-out payout is not forwarded';
    like $t->error_log, qr/did not answer within sg_sign_timeout/,
        'the error log says the HSM did not answer';

    # a client that goes away while the HSM hangs: its request ends, the
    # task frees itself when the HSM answers, nothing is forwarded
    my $gone = $t->request(body => body(303), timeout => 0.15);
    ok !defined $gone->status, 'a client gives up while its payout is '
        . 'with the HSM';
    sleep 0.6;

    $hsm->shim_set('');
    sleep 0.3;
    is $t->upstream_count, 0,
        'the late signatures are dropped with their tasks, never forwarded';
    unlike $t->error_log, qr/\[(?:alert|crit|emerg)\]|signal 11|exited on/,
        'no worker crashed or complained';

    my $back = SgSign::Test::wait_for(sub {
        my ($res, $up, $ok) = sign_one(302, pub => $gen->{pub});
        $res->status == 200 && $ok;
    }, 10 * $slow);
    ok $back, 'the HSM answers again: the next payout is signed';
}

{
    # SoftHSM2's file store now and then fails C_GetTokenInfo when two
    # workers open it at once (seen in CI): a new worker tries again,
    # 50 ms apart, before it serves, instead of failing its first payouts
    my @old = $t->worker_pids;
    $hsm->shim_set('flaky 3 ' . $t->master_pid);
    my $off = $t->reload;
    SgSign::Test::wait_for(sub {
        my %old = map { $_ => 1 } @old;
        my @w = $t->worker_pids;
        @w && !grep { $old{$_} } @w;
    }, 10 * $slow);
    SgSign::Test::wait_for(sub { read_file($shim->{ctl}) =~ /flaky 0 / },
        3 * $slow);
    like read_file($shim->{ctl}) // '', qr/flaky 0 /,
        'a new worker met three failing C_GetTokenInfo calls';
    my ($res, $up, $ok) = sign_one(304, pub => $gen->{pub});
    ok $res->status == 200 && $ok,
        '... and still signs its first payout';
    unlike $t->error_log($off), qr/fails until a session opens/,
        '... without giving up on the key at start';
    $hsm->shim_set('');
}

$t->stop;


# ------------------------------------------------ nginx -t refusals

my $ec = $hsm->generate('ec-key', '05', 'EC:prime256v1');
my $short = $hsm->generate('short', '06', 'rsa:1024');
my $bad_pin = write_file($t->dir . '/keys/bad.pin', "000000\n", 0600);
my $open_pin = write_file($t->dir . '/keys/open.pin', "$SgSign::HSM::PIN\n",
    0644);

my @refusals = (
    ['no such token', { uri => 'pkcs11:token=nope;object=partner-2026' },
        {}, qr/no token present matches/],
    ['no such object', { uri => 'pkcs11:token=payouts;object=nope' },
        {}, qr/no private key on the token matches/],
    ['a wrong PIN', $gen, { pin => $bad_pin }, qr/: wrong PIN/],
    ['an EC key', $ec, {}, qr/is an EC key; an RSA key is required/],
    ['an RSA-1024 key', $short, {},
        qr/RSA key is 1024 bits; at least 2048 are required/],
    ['a module that does not load', $gen,
        { module => $t->dir . '/nope/libnope.so' },
        qr/PKCS#11 module "[^"]*libnope.so" does not load/],
    ['a file that is no PKCS#11 module', $gen,
        { module => $hsm->{conf} }, qr/does not load/],
    ['a PIN in the URI (pin-value)',
        { uri => "$gen->{uri};pin-value=$SgSign::HSM::PIN" }, {},
        qr/carries a PIN \(pin-value or pin-source\)/],
    ['no PIN file for a token that needs a login', $gen, { pin => '' },
        qr/needs a login: set sg_sign_key_passphrase_file/],
    ['a PIN file others can read', $gen, { pin => $open_pin },
        qr/PIN file "[^"]*open.pin" has permissions 0644/],
    ['"sg_sign_thread_pool off"', $gen,
        { more => 'sg_sign_thread_pool off;' },
        qr/"sg_sign_thread_pool\ off"\ in\ \S+:\d+\ cannot\ sign\ with
           \ the\ PKCS\#11\ key\ of\ \S+:\d+/x],
    ['a locked PIN', $gen, { module => $shim->{so}, shim => 'locked' },
        qr/the token's user PIN is locked/],
    ['a PIN with one try left', $gen,
        { module => $shim->{so}, shim => 'final-try' },
        qr/allows one more PIN try; not trying/],
    ['a token without CKM_SHA256_RSA_PKCS', $gen,
        { module => $shim->{so}, shim => 'no-sha256' },
        qr/does not sign with CKM_SHA256_RSA_PKCS/],
);

for my $c (@refusals) {
    my ($what, $key, $o, $re) = @$c;
    my $pf = $o->{pin} // $hsm->{pin_file};
    my $pin_line = length $pf ? "sg_sign_key_passphrase_file $pf;" : '';
    my $more = $o->{more} // '';
    my $mod = $o->{module} // $SgSign::HSM::SOFTHSM;

    $hsm->shim_set($o->{shim} // '');
    my $logins = $hsm->shim_logins;

    my $conf = "    sg_sign_pkcs11_module $mod;\n" . $t->gateway(
        qq(sg_sign on; sg_sign_project p;\n)
        . qq(            sg_sign_key "$key->{uri}";\n)
        . qq(            $pin_line $more));
    my $r = $t->nginx_test($conf, main => $hsm->main('SG_P11SHIM_CTL'));
    my $line = $t->conf_line(qr/sg_sign_key "/);

    isnt $r->{rc}, 0, "nginx -t refuses $what";
    like $r->{output}, $re, "$what: the message says why";
    like $r->{output}, qr/ (?:in|of) \Q${\ $t->conf_path}\E:$line\b/,
        "$what: the message names the sg_sign_key line";
    unlike $r->{output}, qr/\Q$SgSign::HSM::PIN\E/,
        "$what: the message never holds the PIN";

    if (($o->{shim} // '') =~ /locked|final-try/) {
        is $hsm->shim_logins, $logins, "$what: C_Login is not even tried";
    }
}
$hsm->shim_set('');


# ------------------------------------------------ rotation

my $next = $hsm->generate('partner-2027', '07');

$t->start(signing_conf($gen), main => $hsm->main);

SKIP: {
    # nginx reloads a single process without init_process: no thread pool
    skip 'one process: a reload starts no thread pool', 4 if $one_process;

    my ($res, $up, $ok) = sign_one(400, pub => $gen->{pub});
    ok $ok, 'rotation: before, the old object signs';

    my @old_workers = $t->worker_pids;
    $t->write_conf(signing_conf($next), main => $hsm->main);
    my $from = $t->reload;

    my $rotated = SgSign::Test::wait_for(sub {
        my ($res, $up, $ok) = sign_one(401, pub => $next->{pub});
        $ok;
    }, 15 * $slow);
    ok $rotated, 'rotation: after the reload, the new object signs';
    like $t->error_log($from),
        qr/loaded\ RSA-2048\ key\ sha256:$next->{fingerprint}
           \ from\ \Q$next->{uri}\E/x,
        'rotation: the reload logs the new key\'s fingerprint';

    # until the old worker has gone, it may still accept a connection
    SgSign::Test::wait_for(sub { !grep { kill 0, $_ } @old_workers },
        10 * $slow);
    my ($res2, $up2, $old_ok) = sign_one(402, pub => $gen->{pub});
    ok !$old_ok, 'rotation: the old object signs no more';
}

unlike $t->error_log, qr/\Q$SgSign::HSM::PIN\E/,
    'the PIN never appears in the error log';

$t->stop;

done_testing;
