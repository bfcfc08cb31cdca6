#!/usr/bin/perl
# Issue 13: the provider's webhooks are verified at the gateway.  A webhook
# signed with the provider's key reaches the app (the recording mock) byte
# for byte, with X-PARTNER-SIGN as sent and X-SG-Verified naming the key;
# every other one is refused in the provider's error shape and never
# reaches it; nginx -t refuses what cannot be verified safely.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use MIME::Base64 qw(encode_base64 decode_base64);
use Test::More;
use SgSign::Test qw(error_ok read_file write_file);

my $t = SgSign::Test->new;
my $prov = $t->rsa_key('provider');
my $prov2 = $t->rsa_key('provider2', bits => 3072);
my $other = $t->rsa_key('other');
chmod 0644, $_->{pub} for $prov, $prov2, $other;

# the app: the mock provider records every request as it arrived; it
# wants the partner's auth headers, so the test's webhooks ask it for the
# app's answer instead (X-Mock-Status, X-Mock-Body)
$t->start_provider;
my $APP_ANSWER = '{"status":"ok"}';
my @APP = (['X-Mock-Status', '200'],
    ['X-Mock-Body', encode_base64($APP_ANSWER, '')]);

# the seed's success response, as the provider sends its webhooks
my $WEBHOOK = <<'EOF';
{
"status": "ok",
"session": {
"id": "3230",
"status": "in_progress",
"created_at": "2018-05-27T02:03:00.000000Z",
"updated_at": "2018-05-27T02:03:00.000000Z",
"payments": [
{
"id": "2018",
"status": "in_progress",
"created_at": "2018-05-27T02:03:00.000000Z",
"customer": {
"reference": "user123",
"contacts": [
{
"email": "user@gmail.com"
}
]
},
"payment_method": {
"type": "card",
"card": {
"last4": "4242",
"brand": "visa"
}
},
"amount_details": {
"amount": 10000,
"currency": "usd"
},
"metadata": "good"
}
]
}
}
EOF

# X-PARTNER-SIGN as the provider makes it: base64 of RSA-SHA256 over the
# exact bytes, made by the openssl command (not the module's code)
sub sign {
    my ($key, $body) = @_;
    my $bf = write_file($t->tmpfile('body'), $body);
    my $r = SgSign::Test::run_cmd('openssl', 'dgst', '-sha256', '-sign',
        $key->{key}, $bf);
    die "openssl dgst -sign failed\n" if $r->{rc} != 0;
    return encode_base64($r->{output}, '');
}

my $port = $t->port;
my $proxy = 'proxy_pass http://provider; proxy_http_version 1.1; '
    . 'proxy_set_header Connection "";';
my $verify = "sg_sign_verify on; sg_sign_verify_key $prov->{pub};";

$t->start(<<"EOF");
    sg_sign_metrics_zone sg 1m;
    log_format verify '\$sg_sign_verify_status|\$sg_sign_verify_key_fingerprint';

    server {
        listen 127.0.0.1:$port;
        underscores_in_headers on;
        client_max_body_size 0;

        location = /webhooks/provider {
            $verify
            access_log $t->{dir}/logs/verify.log verify;
            $proxy
        }
        location = /webhooks/rotation {
            sg_sign_verify on;
            sg_sign_verify_key $prov->{pub};
            sg_sign_verify_key $prov2->{pub};
            $proxy
        }
        location = /webhooks/file {
            $verify
            client_body_in_file_only on;
            client_body_buffer_size 128;
            $proxy
        }
        location = /webhooks/small {
            $verify
            sg_sign_max_body_size 100;
            $proxy
        }
        location = /webhooks/fallback {
            $verify
            error_page 401 403 405 413 500 = \@app;
            $proxy
        }
        location \@app {
            $proxy
        }
        location = /metrics {
            sg_sign_metrics;
        }
        location /app/ {
            $proxy
        }
        location = /probe {
            auth_request /webhooks/provider;
            $proxy
        }
    }
EOF

sub webhook {
    my (%o) = @_;
    my $body = exists $o{body} ? $o{body} : $WEBHOOK;
    my @h = exists $o{sign} ? (defined $o{sign}
        ? (['X-PARTNER-SIGN', $o{sign}]) : ())
        : (['X-PARTNER-SIGN', sign($prov, $body)]);
    return $t->request(path => $o{path} // '/webhooks/provider',
        body => $body, headers => [@h, @{ $o{headers} // [] }, @APP],
        map { exists $o{$_} ? ($_ => $o{$_}) : () }
            qw(method chunked content_type content_length));
}

# one webhook through: what the app received, or undef and a failure
sub passes_ok {
    my ($res, $body, $sig, $fp, $name) = @_;
    my @up = $t->upstream_requests;
    my $up = $up[-1];
    my @why;
    push @why, "status " . ($res->status // 'none') if ($res->status // 0) != 200;
    push @why, scalar(@up) . " requests upstream" if @up != 1;
    if ($up) {
        push @why, "body differs" if $up->body ne $body;
        my @s = $up->header('X-PARTNER-SIGN');
        push @why, "X-PARTNER-SIGN: @s" if "@s" ne $sig;
        my @v = $up->header('X-SG-Verified');
        push @why, "X-SG-Verified: @v" if "@v" ne "sha256:$fp";
        my @u = grep { $_->[0] =~ /_/ } @{ $up->{headers} };
        push @why, "underscore header $_->[0]" for @u;
    }
    ok(!@why, $name) or diag join "\n", @why;
    $t->clear_upstream;
    return $up;
}

sub refused_ok {
    my ($res, $status, $code, $re, $name) = @_;
    error_ok($res, $status, $code, $re, "$name: $status $code");
    is($t->upstream_count, 0, "$name: nothing reaches the app");
    $t->clear_upstream;
}


# ---------------------------------------------------------------- passes

my $sig = sign($prov, $WEBHOOK);

{
    my $res = webhook();
    my $up = passes_ok($res, $WEBHOOK, $sig, $prov->{fingerprint},
        'a webhook signed by the provider reaches the app byte for byte, '
        . 'X-PARTNER-SIGN as sent, X-SG-Verified naming the key');
    is($res->body, $APP_ANSWER, 'the app\'s answer comes back');
    my ($ct) = $up ? $up->header('Content-Type') : ();
    is($ct, 'application/json', 'Content-Type passes as sent');
}

{
    my $res = webhook(content_type => 'text/plain; charset=latin1');
    my @up = $t->upstream_requests;
    is(scalar @up, 1, 'a webhook with another Content-Type is verified too');
    is(($up[0] ? ($up[0]->header('Content-Type'))[0] : ''),
        'text/plain; charset=latin1', '... and its Content-Type is kept');
    $t->clear_upstream;
}

passes_ok(webhook(chunked => [substr($WEBHOOK, 0, 100),
        substr($WEBHOOK, 100)]), $WEBHOOK, $sig, $prov->{fingerprint},
    'a chunked webhook is verified over its de-chunked bytes');

{
    my $body = "{}";
    my $s = sign($prov, $body);
    passes_ok(webhook(body => $body, sign => $s), $body, $s,
        $prov->{fingerprint}, 'a tiny body verifies');
}

{
    my $s = sign($prov, '');
    passes_ok(webhook(body => '', sign => $s), '', $s, $prov->{fingerprint},
        'an empty body signed by the provider verifies');
}

passes_ok(webhook(path => '/webhooks/file'), $WEBHOOK, $sig,
    $prov->{fingerprint},
    'a body nginx keeps in a temp file (client_body_in_file_only) verifies');

refused_ok(webhook(path => '/webhooks/file', body => $WEBHOOK . ' ',
        sign => $sig), 401, 'invalid_signature', qr/does not verify/,
    'a tampered body in a temp file');


# ---------------------------------------------------------------- forged X-SG-Verified

my $forged = 'sha256:' . ('0' x 64);

for my $name ('X-SG-Verified', 'x-sg-verified', 'X-SG-VERIFIED',
    'X_SG_VERIFIED', 'x_sg-Verified')
{
    passes_ok(webhook(headers => [[$name, $forged]]), $WEBHOOK, $sig,
        $prov->{fingerprint},
        "a caller's \"$name\" never reaches the app; the gateway's does");
}

passes_ok(webhook(headers => [['X-SG-Verified', $forged],
        ['X-SG-Verified', "sha256:$prov2->{fingerprint}"]]),
    $WEBHOOK, $sig, $prov->{fingerprint},
    'two forged copies are both removed');

refused_ok(webhook(sign => sign($other, $WEBHOOK),
        headers => [['X-SG-Verified', "sha256:$prov->{fingerprint}"]]),
    401, 'invalid_signature', undef,
    'a forged X-SG-Verified on a refused webhook');


# ---------------------------------------------------------------- refused

my $tampered = $WEBHOOK;
$tampered =~ s/"amount": 10000/"amount": 10001/ or die;

(my $urlsafe = $sig) =~ tr{+/}{-_};
my $noncanon = $sig;
# 256 bytes: "...X==", X carries 2 bits; set one of its 4 unused ones
substr($noncanon, -3, 1) =~ tr{AQgw}{BRhx};
my $hexsig = unpack 'H*', decode_base64($sig);

my @refused = (
    ['a tampered body', sign => $sig, body => $tampered],
    ['a body with a byte appended', sign => $sig, body => "$WEBHOOK\n"],
    ['a body one byte short', sign => $sig, body => substr($WEBHOOK, 0, -1)],
    ['a missing X-PARTNER-SIGN', sign => undef, re => qr/missing/],
    ['an empty X-PARTNER-SIGN', sign => ''],
    ['a garbage X-PARTNER-SIGN', sign => 'garbage!',
        re => qr/not standard base64 with padding/],
    ['a signature without its padding', sign => ($sig =~ s/=+\z//r)],
    ['a non-canonical base64 signature', sign => $noncanon],
    ['a URL-safe base64 signature', sign => $urlsafe],
    ['a signature with a space inside', sign => substr($sig, 0, 100) . ' '
        . substr($sig, 100)],
    ['a hex signature', sign => $hexsig],
    ['a signature cut short', sign => substr($sig, 0, 340)],
    ['a signature of a key longer than any configured (RSA-4096 long)',
        sign => encode_base64(decode_base64($sig) x 2, '')],
    ['a 4000-character X-PARTNER-SIGN', sign => 'A' x 4000],
    ['another key\'s signature', sign => sign($other, $WEBHOOK),
        re => qr/does not verify/],
    ['the second provider key\'s signature where only the first is set',
        sign => sign($prov2, $WEBHOOK)],
    ['a doubled X-PARTNER-SIGN', headers => [['X-PARTNER-SIGN', $sig]],
        re => qr/sent once/],
    ['X-PARTNER-SIGN doubled in another case',
        headers => [['x-partner-sign', $sig]]],
    ['X-PARTNER-SIGN doubled with underscores',
        headers => [['X_PARTNER_SIGN', $sig]]],
    ['a forged and a real X-PARTNER-SIGN', sign => 'Zm9yZ2Vk',
        headers => [['X-PARTNER-SIGN', $sig]]],
);

ok($sig =~ m{[+/]} && $urlsafe ne $sig,
    'the signature has a + or / for the URL-safe case');
ok($noncanon ne $sig && $sig =~ /==\z/,
    'the non-canonical case differs only in unused bits');

for my $c (@refused) {
    my ($name, %o) = @$c;
    my $re = delete $o{re};
    refused_ok(webhook(%o), 401, 'invalid_signature', $re, $name);
}

{
    my $res = webhook(method => 'GET', body => undef, sign => $sig);
    refused_ok($res, 405, 'method_not_allowed', undef, 'a GET');
    is(join(',', $res->header('Allow')), 'POST', 'a 405 says Allow: POST');
}

refused_ok(webhook(method => 'PUT'), 405, 'method_not_allowed', undef,
    'a PUT');

refused_ok(webhook(path => '/webhooks/small'), 413, 'body_too_large', undef,
    'a body over sg_sign_max_body_size');

refused_ok(webhook(path => '/webhooks/small', chunked => [
        substr($WEBHOOK, 0, 60), substr($WEBHOOK, 60)]),
    413, 'body_too_large', undef,
    'a chunked body that crosses sg_sign_max_body_size');

{
    my $body = '{"status":"ok"}';
    my $s = sign($prov, $body);
    passes_ok(webhook(path => '/webhooks/small', body => $body, sign => $s),
        $body, $s, $prov->{fingerprint},
        'a body under sg_sign_max_body_size passes');
}


# ---------------------------------------------------------------- rotation

passes_ok(webhook(path => '/webhooks/rotation'), $WEBHOOK, $sig,
    $prov->{fingerprint}, 'rotation: the first key verifies, and is named');

{
    my $s2 = sign($prov2, $WEBHOOK);
    passes_ok(webhook(path => '/webhooks/rotation', sign => $s2), $WEBHOOK,
        $s2, $prov2->{fingerprint},
        'rotation: the second (RSA-3072) key verifies, and is named');
}

{
    my $off = length $t->error_log;
    refused_ok(webhook(path => '/webhooks/rotation',
            sign => sign($other, $WEBHOOK)),
        401, 'invalid_signature', undef, 'rotation: a third key\'s signature');
    my $log = $t->error_log($off);
    like($log, qr/\[warn\].*sg_sign_verify: webhook refused: the 256-byte signature verifies with none of the keys tried: sha256:$prov->{fingerprint} \(RSA-2048\), sha256:$prov2->{fingerprint} \(RSA-3072\)/,
        'the error log says why and names every key tried');
}


# ---------------------------------------------------------------- fallbacks

{
    my $body = $WEBHOOK;
    my $res = webhook(path => '/webhooks/fallback', sign => sign($other, $body),
        headers => [['X-SG-Verified', $forged]]);
    my @up = $t->upstream_requests;
    my @leak = grep { $_->body =~ /3230/ || $_->header('X-SG-Verified') } @up;
    ok(!@leak, 'error_page 401 = @app after a refusal: neither the body nor '
        . 'an X-SG-Verified reaches the app')
        or diag map { $_->head . "\n" . $_->body } @leak;
    $t->clear_upstream;

    $res = webhook(path => '/webhooks/fallback', sign => undef,
        headers => [['X-SG-Verified', $forged]]);
    @up = $t->upstream_requests;
    @leak = grep { $_->body =~ /3230/ || $_->header('X-SG-Verified') } @up;
    ok(!@leak, 'refused before the body was read, a fallback cannot read it')
        or diag map { $_->head . "\n" . $_->body } @leak;
    like($t->error_log, qr/tried to read the body of a request that entered an sg_sign_verify location/,
        '... and the error log says so');
    $t->clear_upstream;

    $res = webhook(path => '/webhooks/fallback', method => 'GET',
        headers => [['X-SG-Verified', $forged]]);
    @up = $t->upstream_requests;
    ok(!grep({ $_->header('X-SG-Verified') } @up),
        'a fallback after a 405 gets no X-SG-Verified');
    $t->clear_upstream;
}

passes_ok(webhook(path => '/webhooks/fallback'), $WEBHOOK, $sig,
    $prov->{fingerprint}, 'the fallback location verifies valid webhooks');

{
    my $res = $t->request(path => '/probe', method => 'GET',
        headers => [['X-PARTNER-SIGN', $sig]]);
    is($res->status, 403, 'auth_request to a verify location: its '
        . 'subrequest is refused (403)');
    is($t->upstream_count, 0, '... and nothing reaches the app');
    $t->clear_upstream;
}


# ---------------------------------------------------------------- logs

{
    my $log = $t->error_log;
    unlike($log, qr/user\@gmail|in_progress/, 'the error log never holds '
        . 'the body');
    my $s64 = quotemeta substr($sig, 0, 40);
    unlike($log, qr/$s64/, 'nor a signature');
    my $access = read_file("$t->{dir}/logs/verify.log") // '';
    like($access, qr/^verified\|$prov->{fingerprint}$/m,
        '$sg_sign_verify_status and $sg_sign_verify_key_fingerprint: '
        . 'verified');
    like($access, qr/^invalid_signature\|-$/m,
        '$sg_sign_verify_status: invalid_signature');
    like($access, qr/^method_not_allowed\|-$/m,
        '$sg_sign_verify_status: method_not_allowed');
}

# a location that does not verify, proxying to the app: a caller's
# X-SG-Verified is dropped there too, once any location verifies
for my $name ('X-SG-Verified', 'x-sg-verified', 'X_SG_VERIFIED') {
    $t->clear_upstream;
    my $res = $t->request(path => '/app/webhook', body => $WEBHOOK,
        headers => [[$name, "sha256:$prov->{fingerprint}"], @APP]);
    my $up = $t->last_upstream;
    ok($up && !grep({ lc($_->[0]) =~ /\Ax.sg.verified\z/ } @{ $up->{headers} }),
        "a location without sg_sign_verify drops a caller's $name");
}
$t->clear_upstream;

# sg_sign_webhooks_total counts each verdict once; the provider's keys are
# listed as kind="webhook"
{
    my $scrape = sub {
        my $res = $t->request(method => 'GET', path => '/metrics');
        my %m;
        for (split /\n/, $res->body // '') {
            $m{$1} = $2 if /\A(sg_sign_\S+) (\S+)\z/;
        }
        return \%m;
    };
    my $wh = sub { qq(sg_sign_webhooks_total{outcome="$_[0]"}) };
    my $before = $scrape->();
    ok(defined $before->{ $wh->('verified') }, 'the page has the webhooks');

    webhook() for 1 .. 3;
    webhook(sign => sign($other, $WEBHOOK)) for 1 .. 2;
    webhook(method => 'GET', body => '');
    webhook(path => '/webhooks/small');
    webhook(path => '/webhooks/fallback', sign => 'garbage');
    $t->clear_upstream;

    my $after = $scrape->();
    my %want = (verified => 3, invalid_signature => 3,
        method_not_allowed => 1, body_too_large => 1,
        subrequest_refused => 0, verification_failed => 0, other => 0);
    for my $o (sort keys %want) {
        is(($after->{ $wh->($o) } // -1) - ($before->{ $wh->($o) } // 0),
            $want{$o}, "sg_sign_webhooks_total{outcome=\"$o\"} += $want{$o}");
    }
    for my $k ($prov, $prov2) {
        is($after->{qq(sg_sign_key_info{fingerprint="$k->{fingerprint}",)
            . qq(kind="webhook"})}, 1, "key info: a provider key, kind webhook");
    }
}

$t->stop;


# ---------------------------------------------------------------- nginx -t

my $small = $t->rsa_key('small', bits => 1024);
my $ec = $t->ec_key('ec');
chmod 0644, $_->{pub} for $small, $ec;
my $signkey = $t->rsa_key('partner');

sub conf_t {
    my ($location) = @_;
    return <<"EOF";
    server {
        listen 127.0.0.1:$port;
        location = /webhooks/provider {
            $location
            proxy_pass http://provider;
        }
    }
EOF
}

my @bad = (
    ['no key', 'sg_sign_verify on;',
        qr/"sg_sign_verify" is on but no "sg_sign_verify_key" is set/,
        qr/sg_sign_verify on/],
    ['a private key file', "sg_sign_verify on; \n"
        . "sg_sign_verify_key $prov->{key};",
        qr/holds a private key: only public keys belong here/,
        qr/sg_sign_verify_key/],
    ['an EC public key', "sg_sign_verify on;\nsg_sign_verify_key $ec->{pub};",
        qr/is an EC key; an RSA key is required/, qr/sg_sign_verify_key/],
    ['an RSA-1024 public key',
        "sg_sign_verify on;\nsg_sign_verify_key $small->{pub};",
        qr/RSA key is 1024 bits; at least 2048 are required/,
        qr/sg_sign_verify_key/],
    ['a missing key file',
        "sg_sign_verify on;\nsg_sign_verify_key $t->{dir}/keys/nope.pub;",
        qr/cannot open public key file/, qr/sg_sign_verify_key/],
    ['sg_sign and sg_sign_verify in one location',
        "sg_sign on; sg_sign_project p; sg_sign_key $signkey->{key};\n"
        . "sg_sign_verify on;\nsg_sign_verify_key $prov->{pub};",
        qr/"sg_sign" and "sg_sign_verify" cannot both be on in one location/,
        qr/sg_sign_verify on/],
    ['proxy_set_header X-SG-Verified',
        "$verify\nproxy_set_header X-SG-Verified yes;",
        qr/"proxy_set_header X-SG-Verified" cannot be used where "sg_sign_verify" is on/,
        qr/sg_sign_verify on/],
    ['proxy_set_header X_SG_VERIFIED',
        "$verify\nproxy_set_header X_SG_VERIFIED yes;",
        qr/"proxy_set_header X_SG_VERIFIED" cannot be used/,
        qr/sg_sign_verify on/],
    ['proxy_set_header X-PARTNER-SIGN',
        "$verify\nproxy_set_header X-PARTNER-SIGN x;",
        qr/"proxy_set_header X-PARTNER-SIGN" cannot be used where "sg_sign_verify" is on/,
        qr/sg_sign_verify on/],
    ['proxy_set_body', "$verify\nproxy_set_body x;",
        qr/"proxy_set_body" cannot be used where "sg_sign_verify" is on: the app would not receive exactly what was verified/,
        qr/sg_sign_verify on/],
    ['proxy_pass_request_body off',
        "$verify\nproxy_pass_request_body off;",
        qr/"proxy_pass_request_body off" cannot be used where "sg_sign_verify"/,
        qr/sg_sign_verify on/],
    ['mirror', "$verify\nmirror /copy;",
        qr/"mirror" cannot be used where "sg_sign_verify" is on/,
        qr/sg_sign_verify on/],
    ['grpc_pass', "$verify\ngrpc_pass grpc://127.0.0.1:9;",
        qr/"grpc_pass" cannot be used where "sg_sign_verify" is on: use proxy_pass/,
        qr/sg_sign_verify on/],
    ['error_page 413 with a client_max_body_size',
        "$verify\nerror_page 413 = /x;",
        qr/"error_page 413" needs "client_max_body_size 0" where "sg_sign_verify" is on/,
        qr/sg_sign_verify on/],
);

for my $c (@bad) {
    my ($name, $loc, $re, $line_re) = @$c;
    my $r = $t->nginx_test(conf_t($loc));
    my $line = $t->conf_line($line_re);
    my $conf = $t->conf_path;
    ok($r->{rc} != 0 && $r->{output} =~ $re
        && $r->{output} =~ /\Q$conf\E:$line\b/,
        "nginx -t refuses $name, naming $line_re at file:line")
        or diag $r->{output};
    unlike($r->{output}, qr/PRIVATE KEY|MII/, "... and prints no key material")
        if $name eq 'a private key file';
}

{
    my $r = $t->nginx_test(conf_t("$verify\nsg_sign_verify_key $prov2->{pub};"
        . "\nproxy_set_header X-Request-Id 1;"));
    is($r->{rc}, 0, 'nginx -t accepts two keys and harmless neighbours')
        or diag $r->{output};
}

{
    my $r = $t->nginx_test(<<"EOF");
    sg_sign_verify_key $prov->{pub};
    server {
        listen 127.0.0.1:$port;
        location = /a { sg_sign_verify on; proxy_pass http://provider; }
        location = /b { proxy_set_body x; proxy_pass http://provider; }
    }
EOF
    is($r->{rc}, 0, 'a key set at http level is inherited; a location '
        . 'without sg_sign_verify may set what a verify location may not')
        or diag $r->{output};
}

# the README's example, as printed but for its paths
{
    my $readme = read_file("$SgSign::Test::ROOT/README.md");
    my ($block) = $readme =~ /^## Verifying the provider's webhooks\n.*?\n((?: {4}[^\n]*\n|\n)+)/ms;
    ok(defined $block && $block =~ /sg_sign_verify\s+on;/,
        'the README shows a verify location');
    $block //= '';
    $block =~ s{/etc/nginx/sg/provider\.pub}{$prov->{pub}}g or die;
    $block =~ s{http://payments-app}{http://provider}g or die;
    my $r = $t->nginx_test("    server {\n        listen 127.0.0.1:$port;\n"
        . "$block    }\n");
    is($r->{rc}, 0, 'nginx -t accepts the README\'s verify location')
        or diag $r->{output};
}

done_testing;
