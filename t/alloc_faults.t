#!/usr/bin/perl
# One way to fail: with the fault-injection build (`make faults`), every
# allocation the module makes for a request is made to fail in turn.  Each
# one must end as the provider-shaped 500 signing_failed, with
# $sg_sign_status set and nothing forwarded: not to the provider, and no
# caller byte to an error_page fallback.  And a client that goes away while
# its payout is signed (inline or in a thread pool) gets nothing forwarded.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use SgSign::Test qw(error_ok read_file);

if ($ENV{SG_SIGN_MODULE} && !$ENV{SG_SIGN_FAULT_MODULE}) {
    # a valgrind run loads another build of the module (t/sanitize.sh
    # builds its own with the fault hooks and names it)
    plan skip_all => 'needs a fault-injection build (SG_SIGN_FAULT_MODULE)';
}

$SgSign::Test::MODULE = $ENV{SG_SIGN_FAULT_MODULE}
    // "$SgSign::Test::ROOT/build/faults/ngx_http_sg_sign_module.so";

my $t = SgSign::Test->new(log_level => 'info');
my $key = $t->rsa_key('partner');
$t->start_provider(public_key => $key->{pub});
my $fallback = $t->start_mock('fallback');

my $sign = "sg_sign on; sg_sign_project p; sg_sign_key $key->{key}; "
    . 'sg_sign_submerchant $http_x_tenant;';
my $proxy = 'proxy_pass http://provider; proxy_http_version 1.1; '
    . 'proxy_set_header Connection "";';
my $port = $t->port;
my $dir = $t->dir;
my $dead = SgSign::Test::free_port();      # nothing listens there

$t->start(<<"EOF");
    log_format status '\$sg_sign_status';

    upstream fallback {
        server 127.0.0.1:$fallback->{port};
    }

    server {
        listen 127.0.0.1:$port;
        access_log $dir/logs/status.log status;

        # a body in several buffers: read_body has to join them
        location = /api/v1/session/start/payout {
            $sign
            client_body_buffer_size 1k;
            $proxy
        }
        location = /pool/session/start/payout {
            $sign
            sg_sign_thread_pool default;
            $proxy
        }
        location = /fallback/session/start/payout {
            $sign
            client_max_body_size 0;     # error_page 413 needs it
            error_page 400 403 405 413 415 500 = \@fallback;
            $proxy
        }
        # signed, then the provider is unreachable: error_page sends it on
        location = /exit/session/start/payout {
            $sign
            proxy_pass http://127.0.0.1:$dead;
            error_page 502 = \@fallback;
        }
        location \@fallback {
            proxy_pass http://fallback;
        }
    }
EOF

my $PAYOUT = '/api/v1/session/start/payout';
my $CARD = '4111111111111111';

# a valid payout of ~3 KB (several 1k buffers), with a card number marker
my $payout = qq({"session_id":"fault-1","amount_details":)
    . qq({"amount":100,"currency":"USD"},"payment_method":{"type":"card",)
    . qq("card":{"type":"bank_card","bank_card":{"number":"$CARD"}}},)
    . qq("metadata":{"pad":") . ('p' x 3000) . qq("}});

my @forged = (['X-PARTNER-SIGN', 'Zm9yZ2Vk'], ['X_PARTNER_PROJECT', 'evil'],
    ['X-Partner-Submerchant', 'evil'], ['X-Tenant', 'merchant-7']);

# Sends the request with allocation N failing. Returns (response, whether a
# fault was injected, the new error-log text, the new $sg_sign_status line).
sub faulted {
    my ($n, %o) = @_;
    my $log_off = length($t->error_log);
    my $status_off = length(read_file("$dir/logs/status.log") // '');
    my $res = $t->request(%o,
        headers => [@{ $o{headers} // [] }, ['X-SG-Fault-Alloc', $n]]);
    # the access log is written after the response
    SgSign::Test::wait_for(sub {
        length(read_file("$dir/logs/status.log") // '') > $status_off }, 5);
    my $log = $t->error_log($log_off);
    my $status = substr(read_file("$dir/logs/status.log") // '', $status_off);
    chomp $status;
    my $hit = $log =~ /sg_sign: test fault at allocation \Q$n\E\b/;
    return ($res, $hit, $log, $status);
}

# Walks allocation 1, 2, ... until a request runs without a fault; returns
# the number of sites found.  $final checks that last, fault-free request.
sub walk {
    my ($what, $final, %o) = @_;
    my $sites = 0;
    for my $n (1 .. 300) {
        $t->clear_upstream;
        $t->clear_upstream($fallback->{record_dir});
        my ($res, $hit, $log, $status) = faulted($n, %o);
        if (!$hit) {
            $final->($res, $status, "$what, no fault left (after $sites)");
            return $sites;
        }
        $sites++;
        my @why;
        push @why, 'the provider received the request'
            if $t->upstream_count;
        # without a context there is nothing to carry the status across
        # an error_page redirect
        push @why, "\$sg_sign_status is '$status'"
            if $status ne 'signing_failed'
            && !($o{path} && $o{path} =~ m{^/fallback/}
                 && $log =~ /while creating the request context/);
        push @why, 'the card number is in the error log'
            if index($log, $CARD) >= 0;
        push @why, 'the error log has no internal-failure line'
            unless $log =~ /\[error\].*sg_sign: internal failure/;
        if ($o{path} && $o{path} =~ m{^/fallback/}) {
            for my $up ($t->upstream_requests($fallback->{record_dir})) {
                push @why, 'the fallback received caller bytes in its body'
                    if length $up->body;
                push @why, 'the fallback received an X-PARTNER auth header'
                    if grep { /\Ax[-_]partner[-_](?:sign|project|submerchant)/i }
                        map { $_->[0] } @{ $up->{headers} };
            }
            ok !@why, "$what, allocation $n fails: nothing reaches the "
                . 'fallback or the provider' or diag join "\n", @why;
        } else {
            my $ok = error_ok($res, 500, 'signing_failed', undef,
                "$what, allocation $n fails: 500 signing_failed");
            ok !@why, "$what, allocation $n fails: nothing forwarded, "
                . 'status logged' or diag join "\n", @why;
        }
    }
    fail "$what: more than 300 allocation sites?";
    return $sites;
}

sub signed_ok {
    my ($res, $status, $name) = @_;
    my $up = $t->last_upstream;
    my ($sig) = $up ? $up->header('X-PARTNER-SIGN') : ();
    ok $res->status == 200 && $status eq 'signed' && $up
        && $t->verify_signature($up->body, $sig, $key->{pub}),
        "$name: signed, forwarded and verifies";
}

# the first request proves this is the fault build at all
{
    my (undef, $hit) = faulted(1, body => $payout);
    ok $hit, 'the module under test is the fault-injection build'
        or BAIL_OUT('not the fault-injection build: run `make faults`');
}

my $sites = walk('a valid payout', \&signed_ok, body => $payout,
    headers => \@forged);
cmp_ok $sites, '>=', 8, "a valid payout walks $sites allocation sites";

$sites = walk('a valid payout in a thread pool', \&signed_ok,
    path => "/pool/session/start/payout", body => $payout,
    headers => \@forged);
cmp_ok $sites, '>=', 8, "the thread-pool payout walks $sites sites";

$sites = walk('a refused payout', sub {
        my ($res, $status, $name) = @_;
        error_ok($res, 400, 'invalid_request', qr/amount_details/, $name);
    }, body => '{"session_id":"f","amount_details":{"amount":1.5,'
        . '"currency":"USD"}}', headers => \@forged);
cmp_ok $sites, '>=', 4, "a refused payout walks $sites sites";

$sites = walk('a GET', sub {
        my ($res, $status, $name) = @_;
        error_ok($res, 405, 'method_not_allowed', undef, $name);
    }, method => 'GET');
cmp_ok $sites, '>=', 1, "a GET walks $sites sites";

$sites = walk('a valid payout with an error_page fallback', sub {
        my ($res, $status, $name) = @_;
        signed_ok($res, $status, $name);
        is scalar(() = $t->upstream_requests($fallback->{record_dir})), 0,
            "$name: the fallback is not involved";
    }, path => '/fallback/session/start/payout', body => $payout,
    headers => \@forged);
cmp_ok $sites, '>=', 8, "the error_page payout walks $sites sites";

# what the fallback received that it must not: caller bytes, a body, an
# X-PARTNER auth header
sub fallback_problems {
    my @why;
    for my $up ($t->upstream_requests($fallback->{record_dir})) {
        push @why, 'the fallback received ' . length($up->body)
            . ' body bytes' if length $up->body;
        push @why, "the fallback received $_"
            for grep { /\Ax[-_]partner[-_](?:sign|project|submerchant)/i }
                map { $_->[0] } @{ $up->{headers} };
    }
    return @why;
}

# a signed payout sent on to a location without sg_sign: whichever
# allocation fails, the fallback never gets the signature or the body
{
    my ($sites, $exit_hit) = (0, 0);
    for my $n (1 .. 300) {
        $t->clear_upstream($fallback->{record_dir});
        my ($res, $hit, $log) = faulted($n,
            path => '/exit/session/start/payout', body => $payout,
            headers => \@forged);
        my @why = fallback_problems();
        if (!$hit) {
            my @got = $t->upstream_requests($fallback->{record_dir});
            push @why, scalar(@got) . ' requests reached the fallback, not 1'
                if @got != 1;
            ok !@why, 'a signed payout sent on by error_page, no fault '
                . "left (after $sites): the fallback gets it without the "
                . 'signature and the body' or diag join "\n", @why;
            last;
        }
        $sites++;
        $exit_hit++ if $log =~ /internal failure while removing the gateway's headers from a request that went on/;
        push @why, 'the card number is in the error log'
            if index($log, $CARD) >= 0;
        ok !@why, "a signed payout sent on by error_page, allocation $n "
            . 'fails: nothing of it reaches the fallback'
            or diag join "\n", @why;
    }
    is $exit_hit, 1, '... one of those allocations is the one that removes '
        . 'the gateway\'s headers on the way out, and it failed closed';
}


# ------------------------------------------------ a client that goes away

# X-SG-Fault-Sign-Delay makes signing take that long
sub delayed_payout {
    my ($path, $close_after) = @_;
    my $body = '{"session_id":"gone-1"}';
    my $req = "POST $path HTTP/1.1\r\n"
        . "Host: localhost\r\nContent-Type: application/json\r\n"
        . "X-SG-Fault-Sign-Delay: 1500\r\n"
        . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    return $t->send_raw($req, $close_after);
}

# in a thread pool, and inline (the worker blocks; the close is read in
# the pass of the event loop the module waits for before it forwards)
for my $case (['in a thread pool', '/pool/session/start/payout'],
    ['inline', '/api/v1/session/start/payout'])
{
    my ($how, $path) = @$case;
    $t->clear_upstream;
    my $res = delayed_payout($path, 5);
    is $res->status, 200, "a payout slowly signed $how is answered";
    is $t->upstream_count, 1, '... and forwarded once';

    $t->clear_upstream;
    my $off = length($t->error_log);
    delayed_payout($path, 0.3);          # the client leaves while signing
    sleep 2.5;
    is $t->upstream_count, 0, "a client that left while its payout was "
        . "signed $how: nothing forwarded";
    like $t->error_log($off), qr/client prematurely closed connection/,
        '... and the error log says the client went away';
    my @st = split /\n/, read_file("$dir/logs/status.log");
    isnt $st[-1], 'signed', '... and $sg_sign_status does not say signed';
}

done_testing;
