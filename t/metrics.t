#!/usr/bin/perl
# sg_sign_metrics_zone / sg_sign_metrics: the counters every worker shares.
#
#   - a mixed run over two workers, a reload in the middle, and again:
#     every counter of sg_sign_requests_total and
#     sg_sign_upstream_responses_total equals what the client saw, the
#     recording upstreams received (signed == sent upstream), nothing
#     counted twice, no refused or failed request counted as signed;
#   - the zone survives the reload (the counts keep growing), keys of the
#     old configuration leave the page, a kept key keeps its load time;
#   - the page passes `promtool check metrics`;
#   - a reload onto another .so with the same layout keeps the counts; onto
#     the fault build, whose layout version differs, starts a fresh zone;
#   - with the fault build's test headers: the webhook and HSM hooks, the
#     histogram's buckets (a slow signature) and the pool queue gauge.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use SgSign::Test qw(read_file error_ok);

plan skip_all => 'two workers and reloads: not under SG_SIGN_VALGRIND '
    . '(one foreground process)' if $SgSign::Test::FOREGROUND;

my $ROOT = $SgSign::Test::ROOT;
my $FAULTS = "$ROOT/build/faults/ngx_http_sg_sign_module.so";
die "$FAULTS not built (run `make faults`)\n" unless -f $FAULTS;

my $PROMTOOL = (grep { -x } map { "$_/promtool" } split /:/, $ENV{PATH})[0];

my $t = SgSign::Test->new(log_level => 'notice');
my $dir = $t->dir;
my $key_a = $t->rsa_key('a');
my $key_k = $t->rsa_key('k');
my $key_b = $t->rsa_key('b');

$t->start_provider;
my $hang = $t->start_mock('hang', mode => 'hang');
my $drop = $t->start_mock('drop', mode => 'drop');
my $closed = SgSign::Test::free_port();     # nothing listens there

my $LOG = "$dir/logs/metrics.log";

sub http {
    my (%o) = @_;
    my $pool_key = $o{pool_key};
    my $port = $t->port;
    my $extra = $o{extra} // '';
    my $zone = $o{zone} // 'sg_sign_metrics_zone sg 1m;';
    return <<"EOF";
    $zone

    log_format m '\$pid \$request_uri \$status sg=\$sg_sign_status';

    upstream hang { server 127.0.0.1:$hang->{port}; }
    upstream drop { server 127.0.0.1:$drop->{port}; }
    upstream closed { server 127.0.0.1:$closed; }

    server {
        listen 127.0.0.1:$port reuseport;
        access_log $LOG m;

        sg_sign_project p;
        sg_sign_key $key_a->{key};

        location /api/v1/ {
            sg_sign on;
            sg_sign_schema auto;
            proxy_pass http://provider/api/v1/\$sg_sign_method;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }

        location = /pool/session/start/payout {
            sg_sign on;
            sg_sign_key $pool_key->{key};
            sg_sign_thread_pool signers;
            proxy_pass http://provider;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }

        location = /hang/payout {
            sg_sign on;
            proxy_pass http://hang;
            proxy_read_timeout 1s;
        }

        location = /drop/payout {
            sg_sign on;
            proxy_pass http://drop;
        }

        location = /closed/payout {
            sg_sign on;
            proxy_pass http://closed;
        }

        location = /auth {
            auth_request /api/v1/session/start/payout;
            root $dir/work;
        }

        location = /metrics {
            sg_sign_metrics;
        }
$extra
    }
EOF
}

my %MAIN = (main => 'thread_pool signers threads=2;', worker_processes => 2);

$t->start(http(pool_key => $key_k), %MAIN);


# ---------------------------------------------------------------- helpers

# the page as { 'name{labels}' => value } and its text
sub scrape {
    my (@headers) = @_;
    my $res = $t->request(method => 'GET', path => '/metrics',
        headers => \@headers);
    my %m;
    for (split /\n/, $res->body // '') {
        next if /\A#/;
        $m{$1} = $2 if /\A(\S+\{[^}]*\}|\S+) (\S+)\z/;
    }
    return (\%m, $res);
}

# the families the run is checked on, every series of them
sub counted {
    my ($m) = @_;
    return { map { $_ => $m->{$_} } grep {
        /\Asg_sign_(requests_total|upstream_responses_total)\{/ } keys %$m };
}

sub req_key { qq(sg_sign_requests_total{method="$_[0]",outcome="$_[1]"}) }
sub up_key {
    qq(sg_sign_upstream_responses_total{method="$_[0]",class="$_[1]"})
}

sub promtool_ok {
    my ($text, $name) = @_;
    SKIP: {
        skip 'promtool is not installed (Debian prometheus)', 1
            unless $PROMTOOL;
        my $f = SgSign::Test::write_file($t->tmpfile('page'), $text, 0644);
        my $r = SgSign::Test::run_cmd('sh', '-c', "'$PROMTOOL' check metrics"
            . " < '$f'");
        is $r->{rc}, 0, $name or diag $r->{output};
    }
}


# ---------------------------------------------------------------- the run

my $PAY = '{"session_id":"m1","amount_details":'
    . '{"currency":"USD","amount":10000}}';
my $STATUS = '{"session_id":"m1"}';
my $PAY_PATH = '/api/v1/session/start/payout';
my $P = 'session/start/payout';

# [what, times, request, status, error code (undef: not the gateway's),
#  method, outcome, upstream class, where it was sent]
my @RUN = (
    ['a signed payout', 3, { path => $PAY_PATH, body => $PAY },
        200, undef, $P, 'signed', '2xx', 'provider'],
    ['a signed session/status', 1,
        { path => '/api/v1/session/status', body => $STATUS },
        200, undef, 'session/status', 'signed', '2xx', 'provider'],
    ['the provider answers 422', 2, { path => $PAY_PATH, body => $PAY,
            headers => [['X-Mock-Status', '422']] },
        422, 'mock_422', $P, 'signed', '4xx', 'provider'],
    ['the provider answers 502 itself', 1, { path => $PAY_PATH,
            body => $PAY, headers => [['X-Mock-Status', '502']] },
        502, 'mock_502', $P, 'signed', '5xx', 'provider'],
    ['the provider answers 503', 1, { path => $PAY_PATH, body => $PAY,
            headers => [['X-Mock-Status', '503']] },
        503, 'mock_503', $P, 'signed', '5xx', 'provider'],
    ['a payout signed in the thread pool', 2,
        { path => '/pool/session/start/payout', body => $PAY },
        200, undef, $P, 'signed', '2xx', 'provider'],
    ['a provider that never answers', 1,
        { path => '/hang/payout', body => $PAY },
        504, 'upstream_timeout', $P, 'signed', 'timeout', 'hang'],
    ['a provider that drops the connection', 1,
        { path => '/drop/payout', body => $PAY },
        502, 'upstream_unavailable', $P, 'signed', 'unavailable', 'drop'],
    ['a provider port nobody listens on', 1,
        { path => '/closed/payout', body => $PAY },
        502, 'upstream_unavailable', $P, 'signed', 'unavailable', undef],
    ['invalid JSON', 2, { path => $PAY_PATH, body => '{"session_id":' },
        400, 'invalid_json', $P, 'invalid_json'],
    ['an invalid payout', 1, { path => $PAY_PATH,
            body => '{"session_id":"m1","amount_details":{"amount":-1}}' },
        400, 'invalid_request', $P, 'invalid_request'],
    ['a GET', 1, { method => 'GET', path => $PAY_PATH },
        405, 'method_not_allowed', $P, 'method_not_allowed'],
    ['a text/plain body', 1, { path => $PAY_PATH, body => $PAY,
            content_type => 'text/plain' },
        415, 'unsupported_media_type', $P, 'unsupported_media_type'],
    ['a body too large', 1, { path => $PAY_PATH, body => 'x' x 70000 },
        413, 'body_too_large', $P, 'body_too_large'],
    ['a method auto does not know', 2,
        { path => '/api/v1/no/such_method', body => $PAY },
        404, 'unknown_method', 'other', 'unknown_method'],
    ['a subrequest (auth_request) into sg_sign', 1,
        { method => 'GET', path => '/auth' },
        403, undef, 'other', 'subrequest_refused'],
);

my (%expect, %sent, $pool_signed);

# the client that sends a payout's headers and half its body, then leaves:
# the request reached the gateway and ended without a verdict
sub abandon {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port, Proto => 'tcp') or die "connect: $@\n";
    print {$s} "POST $PAY_PATH HTTP/1.1\r\nHost: x\r\n"
        . "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        . '{"session_id":';
    sleep 0.2;
    close $s;
}

sub run_once {
    my ($phase) = @_;
    for my $c (@RUN) {
        my ($what, $times, $req, $status, $code, $method, $outcome, $class,
            $to) = @$c;
        for my $n (1 .. $times) {
            my $res = $t->request(%$req);
            if (defined $code && $status >= 400) {
                if ($res->status == $status && ($res->error_code // '') eq
                    $code)
                {
                    pass "$phase: $what: $status $code";
                } else {
                    fail "$phase: $what: $status $code";
                    diag 'got ' . ($res->status // 'nothing') . ' '
                        . substr($res->body // '', 0, 200);
                }
            } else {
                is $res->status, $status, "$phase: $what: $status";
            }
            $expect{req_key($method, $outcome)}++;
            $expect{up_key($method, $class)}++ if $class;
            $sent{$to // 'nowhere'}++ if $class;
        }
    }
    abandon();
    $expect{req_key($P, 'none')}++;
}

sub counts_ok {
    my ($phase) = @_;
    # the abandoned request is counted when nginx notices the close
    my $m = SgSign::Test::wait_for(sub {
        my ($m) = scrape();
        my $c = $m->{req_key($P, 'none')} // 0;
        return $c >= $expect{req_key($P, 'none')} ? $m : undef;
    }, 10) // (scrape())[0];
    my $got = counted($m);

    ok scalar(keys %$got) > 100, "$phase: the page has the counter series";
    my @wrong;
    for my $k (sort keys %$got) {
        my $want = $expect{$k} // 0;
        push @wrong, "$k: $got->{$k}, expected $want" if $got->{$k} != $want;
    }
    for my $k (sort keys %expect) {
        push @wrong, "$k: missing" unless exists $got->{$k};
    }
    ok !@wrong, "$phase: every request and upstream counter equals what "
        . 'the client saw' or diag join "\n", @wrong;

    # the recording upstreams: every signed request was sent, once
    my %rec = (
        provider => $t->upstream_count,
        hang => $t->upstream_count($hang->{record_dir}),
        drop => $t->upstream_count($drop->{record_dir}),
    );
    my $signed = 0;
    $signed += $got->{$_} for grep { /outcome="signed"/ } keys %$got;
    my $up = 0;
    $up += $got->{$_} for grep { /\Asg_sign_upstream/ } keys %$got;
    is $signed, $rec{provider} + $rec{hang} + $rec{drop} + $sent{nowhere},
        "$phase: signed == what the upstreams received (plus the closed "
        . "port's)";
    is_deeply \%rec, { map { $_ => $sent{$_} // 0 } qw(provider hang drop) },
        "$phase: each upstream received exactly the signed requests sent "
        . 'to it';
    is $up, $signed, "$phase: one upstream class per signed request";

    my $hist = ($m->{'sg_sign_signing_seconds_count{mode="inline"}'} // 0)
        + ($m->{'sg_sign_signing_seconds_count{mode="pool"}'} // 0);
    is $hist, $signed, "$phase: every signature is in the histogram "
        . '(no signing failed)';
    is $m->{'sg_sign_signing_seconds_count{mode="pool"}'},
        $pool_signed, "$phase: the pool's signatures, as mode=pool";
    is $m->{'sg_sign_thread_pool_queue{pool="signers"}'}, 0,
        "$phase: no task waits in the pool";
    return $m;
}

# which workers served the run (access log: $pid), by phase
sub pids_since {
    my ($off) = @_;
    my $log = substr(read_file($LOG) // '', $off);
    my %p = map { /\A(\d+) / ? ($1 => 1) : () } split /\n/, $log;
    return \%p;
}

# reloads and waits until the old workers are gone
sub reloaded {
    my ($conf, %o) = @_;
    my @old = $t->worker_pids;
    $t->write_conf($conf, %o);
    my $off = $t->reload;
    SgSign::Test::wait_for(sub {
        my @w = $t->worker_pids;
        return @w && !grep { my $o = $_; grep { $_ == $o } @w } @old;
    }, 10) or diag 'the old workers did not go';
    return $off;
}

# ---- phase 1

run_once('before the reload');
$pool_signed = 2;
my $m1 = counts_ok('before the reload');
my $pids1 = pids_since(0);
cmp_ok scalar(keys %$pids1), '>=', 2,
    'before the reload two workers served the run';

my (undef, $page1) = scrape();
promtool_ok($page1->body, 'the page passes promtool check metrics');
like(($page1->header('Content-Type'))[0] // '',
    qr{\Atext/plain; version=0\.0\.4}, 'the page is text/plain 0.0.4');

my $fa = $key_a->{fingerprint};
my $fk = $key_k->{fingerprint};
my $fb = $key_b->{fingerprint};
is $m1->{qq(sg_sign_key_info{fingerprint="$fa",kind="file"})}, 1,
    'key info: the server\'s key, kind file';
is $m1->{qq(sg_sign_key_info{fingerprint="$fk",kind="file"})}, 1,
    'key info: the pool location\'s key';
my $ts_a = $m1->{qq(sg_sign_key_loaded_timestamp_seconds{fingerprint="$fa"})};
ok $ts_a && abs($ts_a - time) < 120, 'the key\'s load time is now';
ok !grep({ /\Asg_sign_hsm_up/ } keys %$m1),
    'no sg_sign_hsm_up for file keys';
like $page1->body, qr/^# TYPE sg_sign_hsm_up gauge$/m,
    'sg_sign_hsm_up has its HELP and TYPE without samples';
like $page1->body, qr/^# TYPE sg_sign_webhooks_total counter$/m,
    'sg_sign_webhooks_total is there before webhooks exist';

# ---- the reload: the pool location's key K is replaced by B

sleep 1.1;      # the new key's load time is a later second
my $reload_at = int time;
reloaded(http(pool_key => $key_b), %MAIN);
my $m = SgSign::Test::wait_for(sub {
    my ($m) = scrape();
    return $m->{qq(sg_sign_key_info{fingerprint="$fb",kind="file"})}
        && !$m->{qq(sg_sign_key_info{fingerprint="$fk",kind="file"})}
        ? $m : undef;
}, 10);
ok $m, 'after the reload the new key is listed and the old one is not';
is $m && $m->{qq(sg_sign_key_loaded_timestamp_seconds{fingerprint="$fa"})},
    $ts_a, 'a key the reload kept keeps its load time';
cmp_ok $m && $m->{qq(sg_sign_key_loaded_timestamp_seconds{fingerprint="$fb"})}
    // 0, '>=', $reload_at, 'the new key\'s load time is the reload\'s';
is_deeply counted($m // {}), counted($m1),
    'the counters are the same after the reload (the zone survived it)';
my $log_off = length(read_file($LOG) // '');

# ---- phase 2: the same again, on the new workers

run_once('after the reload');
$pool_signed = 4;
my $m2 = counts_ok('after the reload');
my $pids2 = pids_since($log_off);
cmp_ok scalar(keys %$pids2), '>=', 2,
    'after the reload two workers served the run';
ok !grep({ $pids1->{$_} } keys %$pids2),
    'after the reload the run was served by new workers'
    or diag 'before: ' . join(' ', sort keys %$pids1) . ', after: '
        . join(' ', sort keys %$pids2) . "\n"
        . substr(read_file($LOG), $log_off, 3000);
is $m2->{req_key($P, 'signed')}, 2 * $m1->{req_key($P, 'signed')},
    'the counts kept growing across the reload';

my (undef, $page2) = scrape();
promtool_ok($page2->body, 'the page after the reload passes promtool');
unlike $page2->body, qr/no\/such_method|such_method/,
    'a method name a caller made up is never a label';


# ---------------------------------------------------------------- layouts

# A reload cannot bring another module build (nginx keeps the old .so
# loaded and the new one's symbols resolve to it), so the fault build, in a
# new master, plays the other version with its test-only "layout=N".
$t->stop;
my $FAULT_HTTP = sub {
    my ($zone) = @_;
    return http(pool_key => $key_b, zone => $zone, extra => <<"EOF");
        location = /one/session/start/payout {
            sg_sign on;
            sg_sign_thread_pool one;
            proxy_pass http://provider;
        }
EOF
};
my %FAULT_MAIN = (module => $FAULTS, worker_processes => 1,
    main => "thread_pool signers threads=2;\nthread_pool one threads=1;");

$t->start($FAULT_HTTP->('sg_sign_metrics_zone sg 1m;'), %FAULT_MAIN);
$t->request(path => $PAY_PATH, body => $PAY) for 1 .. 2;
my ($before) = scrape();
is $before->{req_key($P, 'signed')}, 2, 'the fault build counts';

{
    my $off = reloaded($FAULT_HTTP->('sg_sign_metrics_zone sg 1m layout=1;'),
        %FAULT_MAIN);
    my ($m) = scrape();
    is_deeply counted($m), counted($before),
        'a reload with the same layout version keeps the counts';
    unlike $t->error_log($off), qr/counting starts afresh/,
        '... and says nothing about it';
}

{
    my $off = reloaded($FAULT_HTTP->('sg_sign_metrics_zone sg 1m layout=2;'),
        %FAULT_MAIN);
    like $t->error_log($off),
        qr/metrics zone "sg" was laid out by another module version; (?#
            )counting starts afresh/,
        'a reload onto another layout version says the zone starts afresh';
    my ($m) = scrape();
    my @left = grep { $m->{$_} } keys %{ counted($m) };
    ok scalar(keys %{ counted($m) }) > 100 && !@left,
        '... and every counter starts from zero' or diag "@left";
    is $m->{qq(sg_sign_key_info{fingerprint="$fa",kind="file"})}, 1,
        'the fresh zone lists the keys of the configuration';
    $t->request(path => $PAY_PATH, body => $PAY);
    ($m) = scrape();
    is $m->{req_key($P, 'signed')}, 1, 'the fresh zone counts';
}

# ---------------------------------------------------------------- hooks

# the fault build's headers call the webhook and HSM hooks as issue 12's
# and 13's code will
{
    my @h = (['X-SG-Fault-Metrics-Webhook', 'verified']);
    scrape(@h) for 1 .. 2;
    scrape(['X-SG-Fault-Metrics-Webhook', 'invalid_signature']);
    scrape(['X-SG-Fault-Metrics-Webhook', 'x"}\\ <made-up>']);
    my ($m, $res) = scrape();
    is $m->{'sg_sign_webhooks_total{outcome="verified"}'}, 2,
        'webhooks: verified counted';
    is $m->{'sg_sign_webhooks_total{outcome="invalid_signature"}'}, 1,
        'webhooks: invalid_signature counted';
    is $m->{'sg_sign_webhooks_total{outcome="other"}'}, 1,
        'webhooks: an outcome not in the table is counted as other';
    unlike $res->body, qr/made-up/, '... and never becomes a label';

    scrape(['X-SG-Fault-Metrics-Hsm', '0']);
    ($m) = scrape();
    is $m->{qq(sg_sign_hsm_up{fingerprint="$fa"})}, 0,
        'hsm: a failed call shows the key\'s HSM down';
    scrape(['X-SG-Fault-Metrics-Hsm', '1']);
    ($m, $res) = scrape();
    is $m->{qq(sg_sign_hsm_up{fingerprint="$fb"})}, 1,
        'hsm: a call that succeeded shows it up';
    promtool_ok($res->body, 'the page with webhooks and HSM states passes '
        . 'promtool');
}

# a slow signature lands in its bucket
{
    my $bucket = sub {
        my ($m, $le) = @_;
        return $m->{qq(sg_sign_signing_seconds_bucket{mode="inline",le="$le"})}
            // -1;
    };
    my $sum = 'sg_sign_signing_seconds_sum{mode="inline"}';
    my ($m0) = scrape();
    my $res = $t->request(path => $PAY_PATH, body => $PAY,
        headers => [['X-SG-Fault-Sign-Delay', '300']]);
    is $res->status, 200, 'a payout signed in 300 ms';
    my ($m) = scrape();
    is $bucket->($m, '0.25') - $bucket->($m0, '0.25'), 0,
        'histogram: not in the 0.25 s bucket';
    is $bucket->($m, '0.5') - $bucket->($m0, '0.5'), 1,
        'histogram: in the 0.5 s bucket';
    cmp_ok $m->{$sum} - $m0->{$sum}, '>=', 0.3,
        'histogram: the sum has its 300 ms';
}

# every allocation of a payout failed in turn (the fault build): a 500
# signing_failed is never counted as signed, not even when the signature
# was computed and putting it on the request failed (Envoy's trap)
{
    my $hc = 'sg_sign_signing_seconds_count{mode="inline"}';
    my ($m0) = scrape();
    my $up0 = $t->upstream_count;
    my (%got, $after_sign);
    for my $n (1 .. 40) {
        my ($mb) = scrape();
        my $res = $t->request(path => $PAY_PATH, body => $PAY,
            headers => [['X-SG-Fault-Alloc', $n]]);
        my ($ma) = scrape();
        my $st = $res->status // 'none';
        $got{$st}++;
        $after_sign++ if $st eq '500' && $ma->{$hc} > $mb->{$hc};
    }
    my ($m) = scrape();
    # by outcome, whatever the method (one refused before auto found it
    # is "other")
    my $d = sub {
        my ($outcome) = @_;
        my $n = 0;
        my $re = qr/\Asg_sign_requests_total\{.*,outcome="\Q$outcome\E"\}/;
        for my $k (grep { /$re/ } keys %$m) {
            $n += $m->{$k} - ($m0->{$k} // 0);
        }
        return $n;
    };
    ok $got{500} && $got{200}, 'alloc faults: some payouts failed, the '
        . 'rest were signed' or diag explain \%got;
    ok $after_sign, 'alloc faults: some failed after their signature was '
        . 'computed';
    is $d->('signing_failed'), $got{500} // 0,
        'alloc faults: each 500 is counted signing_failed';
    is $d->('signed'), $got{200} // 0,
        'alloc faults: only the 200s are counted signed';
    is $t->upstream_count - $up0, $got{200} // 0,
        'alloc faults: only the signed ones reached the provider';
}

# sg_sign_thread_pool_queue: one thread, three slow signatures: two wait
{
    my $pc = 'sg_sign_signing_seconds_count{mode="pool"}';
    my ($m0) = scrape();
    my @socks = map {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $t->port, Proto => 'tcp') or die "connect: $@\n";
        print {$s} "POST /one/session/start/payout HTTP/1.1\r\nHost: x\r\n"
            . "Connection: close\r\nContent-Type: application/json\r\n"
            . "X-SG-Fault-Sign-Delay: 700\r\n"
            . 'Content-Length: ' . length($PAY) . "\r\n\r\n$PAY";
        $s;
    } 1 .. 3;
    my $q = 'sg_sign_thread_pool_queue{pool="one"}';
    my $seen = SgSign::Test::wait_for(sub {
        my ($m) = scrape();
        return ($m->{$q} // -1) == 2;
    }, 2);
    ok $seen, 'queue: two tasks wait while one signs';
    my @st = map { local $/; my $r = <$_>; $r =~ m{\AHTTP/1\.1 (\d+)} ? $1
        : 'none' } @socks;
    is "@st", '200 200 200', 'queue: the three are signed';
    my ($m) = scrape();
    is $m->{$q}, 0, 'queue: none waits afterwards';
    is $m->{$pc} - $m0->{$pc}, 3, 'queue: the three signatures, as mode=pool';
}


# ---------------------------------------------------------------- nginx -t

{
    my $r = $t->nginx_test("server { listen 127.0.0.1:1; "
        . "location = /m { sg_sign_metrics; } }");
    isnt $r->{rc}, 0, 'nginx -t refuses sg_sign_metrics without a zone';
    like $r->{output}, qr/"sg_sign_metrics" needs "sg_sign_metrics_zone"/,
        '... and says what is missing';
    $r = $t->nginx_test("sg_sign_metrics_zone sg 4k;");
    isnt $r->{rc}, 0, 'nginx -t refuses a zone too small';
    like $r->{output}, qr/metrics zone "sg" is too small/, '... and says so';
}

done_testing;
