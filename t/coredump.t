#!/usr/bin/perl
# What a core dump of the master or a worker carries of the partner's key:
# gcore (gdb) dumps both after they have signed, and the dumps are searched
# for the PEM text, the DER, the passphrase and the private numbers.  With
# sg_sign_secure_heap, the only private values in a worker's core are the
# primes p and q that OpenSSL's Montgomery cache copies (README, "What is in
# a worker's memory"); the master's core holds none.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use SgSign::Test qw(read_file);

plan skip_all => 'gcore (gdb) is not installed'
    unless grep { -x "$_/gcore" } split /:/, $ENV{PATH};
plan skip_all => 'gcore cannot trace nginx under a wrapper'
    if SgSign::Test::instrumented();

my $PASSPHRASE = 'sg-coredump-' . join '', map { sprintf '%04x', rand 65536 }
    1 .. 6;

my @NUMBERS = qw(d p q dP dQ qInv);


# ---------------------------------------------------------------- secrets

# { name => bytes } of everything of $key that must not be in a core
sub secrets {
    my ($t, $key) = @_;
    my $plain = "$key->{key}";
    $plain =~ s/\.key\z/.plain.pem/;
    my %s;

    # the PEM as nginx reads it: three base64 lines from its middle
    my @lines = SgSign::Test::key_material_lines($key->{pem});
    my $mid = int(@lines / 2);
    $s{"PEM line $_"} = $lines[$mid - 1 + $_] for 0 .. 2;

    # the DER, as PKCS#8 and PKCS#1: their first 40 bytes (headers, then
    # the start of n: together in no public structure)
    for my $f (['DER (PKCS#8)', 'pkey', []],
               ['DER (PKCS#1)', 'rsa', ['-traditional']])
    {
        my $der = SgSign::Test::openssl($f->[1], '-in', $plain, @{ $f->[2] },
            '-outform', 'DER');
        $s{$f->[0]} = substr $der, 0, 40;
    }

    $s{passphrase} = $key->{passphrase} if defined $key->{passphrase};

    # the numbers, big-endian (DER, OpenSSL's bn2bin) and little-endian
    # (a BIGNUM's words on x86-64): 32 bytes from the middle of each, so
    # that a partial copy is found too
    my $n = numbers($plain);
    for my $name (@NUMBERS) {
        my $be = $n->{$name};
        my $chunk = substr $be, int((length($be) - 32) / 2), 32;
        $s{"$name BE"} = $chunk;
        $s{"$name LE"} = reverse $chunk;
    }
    return (\%s, $n);
}

# p, q, d, dP, dQ, qInv and n as big-endian bytes (openssl rsa -text)
sub numbers {
    my ($plain) = @_;
    my $text = SgSign::Test::openssl('rsa', '-in', $plain, '-noout', '-text');
    my %label = (modulus => 'n', privateExponent => 'd', prime1 => 'p',
        prime2 => 'q', exponent1 => 'dP', exponent2 => 'dQ',
        coefficient => 'qInv');
    my (%n, $cur);
    for my $line (split /\n/, $text) {
        if ($line =~ /\A(\w+):\s*\z/ && $label{$1}) {
            $cur = $label{$1};
        } elsif (defined $cur && $line =~ /\A\s+([0-9a-f:]+)\s*\z/) {
            (my $hex = $1) =~ s/://g;
            $n{$cur} .= $hex;
        } else {
            undef $cur;
        }
    }
    for (values %n) {
        $_ = pack 'H*', $_;
        s/\A\0+//;
    }
    die "cannot read the key's numbers\n" unless keys %n == 7;
    return \%n;
}

# the core of a running process, read whole
sub core_of {
    my ($t, $pid, $name) = @_;
    my $file = "$t->{dir}/work/core-$name";
    my $r = SgSign::Test::run_cmd('gcore', '-o', $file, $pid);
    my $core = read_file("$file.$pid");
    unlink "$file.$pid";
    die "gcore $pid failed:\n$r->{output}\n" unless defined $core
        && length $core > 4096;
    return $core;
}

# the names of the secrets found in $core, sorted
sub found {
    my ($core, $secrets) = @_;
    return join ', ', sort grep { index($core, $secrets->{$_}) >= 0 }
        keys %$secrets;
}

# "p LE, q LE" for a key named $k in a list of names prefixed "$k "
sub names { my ($k, @n) = @_; return join ', ', sort map { "$k $_" } @n }

sub prefixed {
    my ($k, $s) = @_;
    return { map { ("$k $_" => $s->{$_}) } keys %$s };
}

sub sign_some {
    my ($t, @paths) = @_;
    my $ok = 0;
    for my $path (@paths) {
        for my $n (1 .. 3) {
            my $res = $t->request(path => $path,
                body => qq({"session_id":"core-$n"}));
            $ok++ if ($res->status // 0) == 200;
        }
    }
    return $ok == 3 * @paths;
}

sub worker_of {
    my ($t, $not) = @_;
    my $w;
    SgSign::Test::wait_for(sub {
        ($w) = grep { !$not || $_ != $not } $t->worker_pids;
        return $w;
    }, 10);
    return $w;
}

sub conf {
    my ($t, $a, $b) = @_;
    my $sign = 'sg_sign on; sg_sign_project p;';
    my $loc = sub {
        my ($path, $key, $more) = @_;
        my $pass = $key->{pass_file}
            ? "sg_sign_key_passphrase_file $key->{pass_file};" : '';
        return "location = $path {\n"
            . "    $sign sg_sign_key $key->{key}; $pass $more\n"
            . "    proxy_pass http://provider;\n}\n";
    };
    return "server {\n    listen 127.0.0.1:" . $t->port . ";\n"
        . $loc->('/a/session/start/payout', $a, '')
        . $loc->('/t/session/start/payout', $a, 'sg_sign_thread_pool signers;')
        . ($b ? $loc->('/b/session/start/payout', $b, '') : '')
        . "}\n";
}

my @PATHS = ('/a/session/start/payout', '/t/session/start/payout');


# ---------------------------------------------------------------- the heap

{
    my $t = SgSign::Test->new;
    my $a = $t->rsa_key('plain');
    my $b = $t->rsa_key('encrypted', passphrase => $PASSPHRASE);
    my ($sa, $na) = secrets($t, $a);
    my ($sb, $nb) = secrets($t, $b);
    my $all = { %{ prefixed('A', $sa) }, %{ prefixed('B', $sb) } };

    $t->start_provider;
    $t->start(conf($t, $a, $b), main => "sg_sign_secure_heap 64k;\n"
        . 'thread_pool signers threads=2;');

    ok sign_some($t, @PATHS, '/b/session/start/payout'),
        'with sg_sign_secure_heap, payouts are signed inline, in a thread '
        . 'pool, with a plain and an encrypted key';

    my $worker = worker_of($t);
    my $mcore = core_of($t, $t->master_pid, 'master');
    my $wcore = core_of($t, $worker, 'worker');

    # the control: the search finds what is there
    ok index($wcore, reverse $na->{n}) >= 0
        && index($mcore, reverse $na->{n}) >= 0,
        'the search finds the public modulus n in both cores';

    is found($mcore, $all), '',
        'the master\'s core holds no PEM, DER, passphrase, nor any of '
        . "@NUMBERS in either byte order";

    # p and q in OpenSSL's Montgomery cache: README says why they remain
    is found($wcore, $all), names('A', 'p LE', 'q LE') . ', '
        . names('B', 'p LE', 'q LE'),
        'a worker\'s core holds no PEM, DER, passphrase, d, dP, dQ nor '
        . 'qInv; only p and q remain, as the Montgomery cache\'s words';

    # ---- reload to a new key: nothing of the old one in the new
    # generation's worker nor in the master
    my $c = $t->rsa_key('next');
    my ($sc) = secrets($t, $c);
    $t->write_conf(conf($t, $c), main => "sg_sign_secure_heap 64k;\n"
        . 'thread_pool signers threads=2;');
    my $off = $t->reload;
    ok SgSign::Test::wait_for(sub {
        $t->error_log($off) =~ /loaded RSA-2048 key sha256:$c->{fingerprint}/
    }, 10), 'a reload loads the next key';
    my $new = worker_of($t, $worker);
    SgSign::Test::wait_for(sub { !kill 0, $worker }, 10);
    ok sign_some($t, @PATHS), 'the new generation signs';

    $mcore = core_of($t, $t->master_pid, 'master2');
    $wcore = core_of($t, $new, 'worker2');
    my $old = { %{ prefixed('A', $sa) }, %{ prefixed('B', $sb) } };
    is found($mcore, $old), '',
        'after the reload, the master\'s core holds nothing of the old keys';
    is found($wcore, $old), '',
        'after the reload, a new worker\'s core holds nothing of the old keys';
    is found($wcore, prefixed('C', $sc)), names('C', 'p LE', 'q LE'),
        'the new worker holds the new key\'s p and q (the cache) only';
    $t->stop_all;
}


# ------------------------------------------------------ without the heap

# The same search without sg_sign_secure_heap finds the private exponent:
# the test can fail.  A reload then frees (and OpenSSL cleanses) the old
# key: the master, which never signs with it, keeps no trace of it.
{
    my $t = SgSign::Test->new;
    my $a = $t->rsa_key('plain');
    my ($sa) = secrets($t, $a);

    $t->start_provider;
    $t->start(conf($t, $a), main => 'thread_pool signers threads=2;');
    ok sign_some($t, @PATHS), 'without the heap, payouts are signed';

    my $worker = worker_of($t);
    my $mcore = core_of($t, $t->master_pid, 'master');
    my $wcore = core_of($t, $worker, 'worker');
    like found($wcore, $sa), qr/\bd LE\b/,
        'without the heap, the worker\'s core holds d (the control)';
    like found($mcore, $sa), qr/\bd LE\b/,
        'without the heap, the master\'s core holds d (the control)';

    my $c = $t->rsa_key('next');
    my ($sc) = secrets($t, $c);
    $t->write_conf(conf($t, $c), main => 'thread_pool signers threads=2;');
    my $off = $t->reload;
    ok SgSign::Test::wait_for(sub {
        $t->error_log($off) =~ /loaded RSA-2048 key sha256:$c->{fingerprint}/
    }, 10), 'a reload loads the next key';
    SgSign::Test::wait_for(sub { !kill 0, $worker }, 10);

    $mcore = core_of($t, $t->master_pid, 'master2');
    is found($mcore, $sa), '',
        'after the reload, the master\'s core holds nothing of the old key '
        . '(its memory was cleansed when its configuration was freed)';
    like found($mcore, $sc), qr/\bd LE\b/,
        'while the new key\'s d is there (the control)';
    $t->stop_all;
}


# ---------------------------------------------------------- a PKCS#11 PIN

# A worker keeps the token's PIN to log in again after a fault: in the
# secure heap when there is one (out of the cores), in plain memory without
# (found: the control).
SKIP: {
    require SgSign::HSM;
    skip 'softhsm2 is not installed (make deps)', 4
        unless -f $SgSign::HSM::SOFTHSM
            && grep { -x "$_/pkcs11-tool" } split /:/, $ENV{PATH};

    for my $heap (1, 0) {
        my $t = SgSign::Test->new;
        my $pin = 'sg-pin-' . join '', map { sprintf '%04x', rand 65536 }
            1 .. 6;
        my $hsm = SgSign::HSM->new($t, pin => $pin);
        my $k = $hsm->generate('core', '01');
        $t->start_provider(public_key => $k->{pub});
        $t->start("    sg_sign_pkcs11_module $SgSign::HSM::SOFTHSM;\n"
            . $t->gateway(qq(sg_sign on; sg_sign_project p;
                sg_sign_key "$k->{uri}";
                sg_sign_key_passphrase_file $hsm->{pin_file};)),
            main => ($heap ? "sg_sign_secure_heap 64k;\n" : '')
                . $hsm->main);
        my $res = $t->post('{"session_id":"core-hsm"}');
        my $with = $heap ? 'with' : 'without';
        is $res->status, 200, "PKCS#11, $with the heap: a payout is signed";

        my $wcore = core_of($t, worker_of($t), 'worker-hsm');
        my $mcore = core_of($t, $t->master_pid, 'master-hsm');
        if ($heap) {
            is found("$mcore\n$wcore", { PIN => $pin }), '',
                'with the heap, neither the master\'s nor a worker\'s core '
                . 'holds the PIN';
        } else {
            is found($wcore, { PIN => $pin }), 'PIN',
                'without the heap, a worker\'s core holds the PIN (the '
                . 'control)';
        }
        $t->stop_all;
    }
}

done_testing;
