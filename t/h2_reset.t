#!/usr/bin/perl
# HTTP/2 clients that cancel a payout while it is signed.  With the
# fault-injection build, X-SG-Fault-Sign-Delay makes signing sleep; the
# client resets its stream (RST_STREAM CANCEL) or sends GOAWAY and closes
# the connection meanwhile.  A payout signed inline or in a thread pool must
# then reach nobody, and the connection must stay usable for its other
# streams.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(sleep time);
use SgSign::Test qw(read_file);
use SgSign::H2;

if ($ENV{SG_SIGN_MODULE} && !$ENV{SG_SIGN_FAULT_MODULE}) {
    plan skip_all => 'needs a fault-injection build (SG_SIGN_FAULT_MODULE)';
}

my $module = $ENV{SG_SIGN_FAULT_MODULE}
    // "$SgSign::Test::ROOT/build/faults/ngx_http_sg_sign_module.so";
plan skip_all => "no fault-injection build ($module): run `make faults`"
    unless -f $module;

my $t = SgSign::Test->new(log_level => 'info');
my $key = $t->rsa_key('partner');
$t->start_provider(public_key => $key->{pub});

my $sign = "sg_sign on; sg_sign_project p; sg_sign_key $key->{key};";
my $proxy = 'proxy_pass http://provider; proxy_http_version 1.1; '
    . 'proxy_set_header Connection "";';
my $port = $t->port;
my $dir = $t->dir;

$t->start(<<"EOF", module => $module);
    log_format status '\$sg_sign_status';

    server {
        listen 127.0.0.1:$port http2;
        access_log $dir/logs/status.log status;

        location = /api/v1/session/start/payout {
            $sign
            $proxy
        }
        location = /pool/session/start/payout {
            $sign
            sg_sign_thread_pool default;
            $proxy
        }
    }
EOF

my $INLINE = '/api/v1/session/start/payout';
my $POOL = '/pool/session/start/payout';
my $DELAY = 600;                    # ms of signing
my $AFTER = $DELAY / 1000 + 0.6;    # s: past the delay, with room to forward

my $seq = 0;
sub payout {
    $seq++;
    return qq({"session_id":"h2-$seq","amount_details":)
        . qq({"amount":100,"currency":"USD"}});
}

# sends a payout on stream $sid, signing delayed by $delay ms (0: none)
sub send_payout {
    my ($h2, $sid, $path, $delay) = @_;
    my $body = payout();
    my @h = (['content-type', 'application/json'],
        ['content-length', length $body]);
    push @h, ['x-sg-fault-sign-delay', $delay] if $delay;
    $h2->request($sid, 'POST', $path, \@h, $body);
    return $body;
}

# the error log since $off has no alert/crit/emerg line
sub log_clean {
    my ($off, $name) = @_;
    my @bad = grep { /\[(?:alert|crit|emerg)\]/ }
        split /\n/, $t->error_log($off);
    ok !@bad, "$name: no alert or crit in the error log"
        or diag join "\n", @bad;
}

# the forwarded payout is signed and verifies
sub forwarded_ok {
    my ($body, $name) = @_;
    my @up = $t->upstream_requests;
    my $sig = @up ? ($up[-1]->header('X-PARTNER-SIGN'))[0] : undef;
    ok @up == 1 && $up[-1]->body =~ /"session_id":"h2-\d+"/
        && $t->verify_signature($up[-1]->body, $sig, $key->{pub}),
        "$name: forwarded once, signed, and the signature verifies"
        or diag scalar(@up) . ' upstream requests';
}

# the last $sg_sign_status line
sub last_status {
    SgSign::Test::wait_for(sub { -s "$dir/logs/status.log" }, 2);
    my @st = split /\n/, read_file("$dir/logs/status.log") // '';
    return $st[-1] // '';
}

# a cancelled payout: stream 1 signed slowly and reset ~100 ms in, then
# stream 3 on the same connection signed at once
sub reset_case {
    my ($what, $path) = @_;
    $t->clear_upstream;
    my $off = length $t->error_log;
    my $h2 = SgSign::H2->new($port);

    my $t0 = time;
    send_payout($h2, 1, $path, $DELAY);
    sleep 0.1;
    $h2->rst(1);
    $h2->pump($AFTER - (time - $t0));

    like $t->error_log($off), qr/client canceled stream 1\b/,
        "$what: nginx saw the reset";
    my @up = $t->upstream_requests;
    # inline signing blocks the worker, so the RST_STREAM is still unread
    # when signing returns; the module waits one pass of the event loop
    # before it forwards.  The pool case above leaves an idle keepalive
    # connection to the provider, on which a payout would go at once.
    is scalar(@up), 0,
        "$what: a payout reset while it is signed is not forwarded"
        or diag 'the provider received: ' . join ' | ',
            map { $_->request_line } @up;
    # what must hold either way: never more than the one signed payout
    ok @up <= 1 && !grep({ !$t->verify_signature($_->body,
            ($_->header('X-PARTNER-SIGN'))[0], $key->{pub}) } @up),
        "$what: at most the one payout, and signed, reached the provider";
    my $s1 = $h2->{streams}{1};
    ok !defined $s1->{status}, "$what: no answer on the reset stream";

    $t->clear_upstream;
    my $body = send_payout($h2, 3, $path, 0);
    my $res = $h2->response(3, 5);
    is $res->{status}, 200,
        "$what: the connection still works: stream 3 is answered 200";
    forwarded_ok($body, "$what, stream 3");
    ok !$h2->eof, "$what: the connection is still open";
    $h2->goaway(3);
    $h2->close;
    log_clean($off, $what);
}

# ------------------------------------------------------------ the control

{
    $t->clear_upstream;
    my $off = length $t->error_log;
    my $h2 = SgSign::H2->new($port);
    my $t0 = time;
    my $body = send_payout($h2, 1, $POOL, $DELAY);
    my $res = $h2->response(1, 5);
    my $took = time - $t0;
    is $res->{status}, 200,
        'control: a slowly signed pool payout on h2 is answered 200';
    ok $took >= $DELAY / 1000,
        sprintf('control: signing was delayed (%.2f s): the fault build',
            $took)
        or BAIL_OUT('no sign delay: not the fault-injection build?');
    forwarded_ok($body, 'control');
    is last_status(), 'signed', 'control: $sg_sign_status is signed';
    $h2->goaway(1);
    $h2->close;
    log_clean($off, 'control');
}

# ------------------------------------------------------ reset in the pool

reset_case('thread pool', $POOL);

# ------------------------------------------------------- reset inline
#
# Inline signing blocks the worker: the RST_STREAM is read in the pass of
# the event loop the module waits for after signing.

reset_case('inline', $INLINE);

# --------------------------------- GOAWAY and close during signing

for my $case (['pool', $POOL], ['inline', $INLINE]) {
    my ($how, $path) = @$case;
    $t->clear_upstream;
    my $off = length $t->error_log;
    my $h2 = SgSign::H2->new($port);
    send_payout($h2, 1, $path, $DELAY);
    sleep 0.1;
    $h2->goaway(0);
    $h2->close;
    sleep $AFTER;
    is $t->upstream_count, 0,
        "GOAWAY and close while $how signing: nothing forwarded";
    isnt last_status(), 'signed', '... and $sg_sign_status does not say signed';
    log_clean($off, "GOAWAY and close, $how");
}

done_testing;
