#!/usr/bin/perl
# A valid payout is canonicalized, signed and forwarded: what the provider
# receives, the headers it sees, the variables, bodies in every shape.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(sha256_hex);
use Test::More;
use SgSign::Test qw(json_decode);

my $t = SgSign::Test->new;
my $key = $t->rsa_key('partner');
$t->start_provider(public_key => $key->{pub});

my $sign = "sg_sign on; sg_sign_project test_project; sg_sign_key $key->{key};";
my $proxy = 'proxy_pass http://provider; proxy_http_version 1.1; '
    . 'proxy_set_header Connection "";';
my $port = $t->port;

$t->start(<<"EOF");
    log_format sg '\$sg_sign_status|\$sg_sign_key_fingerprint|'
                  '\$sg_sign_body_sha256|\$sg_sign_session_id';

    server {
        listen 127.0.0.1:$port;

        location = /api/v1/session/start/payout {
            $sign
            sg_sign_submerchant \$http_x_tenant;
            access_log $t->{dir}/logs/sg.log sg;
            add_header X-SG-Status \$sg_sign_status always;
            add_header X-SG-Fingerprint \$sg_sign_key_fingerprint always;
            add_header X-SG-Body-SHA256 \$sg_sign_body_sha256 always;
            add_header X-SG-Session \$sg_sign_session_id always;
            $proxy
        }
        location = /hex/session/start/payout {
            $sign
            sg_sign_encoding hex;
            $proxy
        }
        location = /merchant/session/start/payout {
            $sign
            sg_sign_submerchant merchant-42;
            $proxy
        }
        location = /object/session/create {
            $sign
            sg_sign_schema object;
            $proxy
        }
        location = /in-file/session/start/payout {
            $sign
            client_body_in_file_only on;
            $proxy
        }
        location = /small-buffer/session/start/payout {
            $sign
            client_body_buffer_size 1k;
            $proxy
        }
        location = /denied/session/start/payout {
            satisfy any;
            deny all;
            $sign
            $proxy
        }
        location = /plain/echo {
            $proxy
        }
    }
EOF

my $PAYOUT = '/api/v1/session/start/payout';

# sends $body to $path, returns (response, what upstream received or undef)
sub payout {
    my ($body, %o) = @_;
    $t->clear_upstream;
    my $res = $t->request(path => $PAYOUT, %o, body => $body);
    my @up = $t->upstream_requests;
    return ($res, $up[-1], scalar @up);
}

sub signature_ok {
    my ($up, $encoding) = @_;
    return 0 unless $up;
    my @sig = $up->header('X-PARTNER-SIGN');
    return @sig == 1
        && $t->verify_signature($up->body, $sig[0], $key->{pub}, $encoding);
}


# ------------------------------------------------- steps 5-6: canonical body

my $messy = qq( {\n  "session_id" : "sess-1",\t"metadata": {"b": 4.50,)
    . qq( "a": 1E30, "c": [1, -0, "x\\u00e9\\/y", "\\u000F"]},\r\n)
    . qq( "amount_details" : { "currency": "USD", "amount": 10000 } } \n);
my $canonical = '{"amount_details":{"amount":10000,"currency":"usd"},'
    . qq("metadata":{"a":1e+30,"b":4.5,"c":[1,0,"x\xc3\xa9/y","\\u000f"]},)
    . '"session_id":"sess-1"}';

{
    my ($res, $up) = payout($messy);

    is $res->status, 200, 'a valid payout is forwarded and the provider answers 200';
    ok $up, 'the provider receives the payout';
    is $up && $up->body, $canonical,
        'the provider receives the canonical JCS body (sorted, no whitespace, '
        . '4.50 -> 4.5, 1E30 -> 1e+30, -0 -> 0, currency lower case)';
    is_deeply [$up ? $up->header('Content-Length') : ()],
        [length $canonical],
        'Content-Length equals the canonical body length';
    is_deeply [$up ? $up->header('Transfer-Encoding') : ()], [],
        'no Transfer-Encoding is sent upstream';
    like $up && $up->request_line, qr{\APOST \Q$PAYOUT\E HTTP/1\.1\z},
        'the request goes upstream as POST to the same path';
    is_deeply [$up ? $up->header('X-PARTNER-PROJECT') : ()], ['test_project'],
        'X-PARTNER-PROJECT is the configured project';
    ok signature_ok($up),
        'X-PARTNER-SIGN is base64 RSA-SHA256 over the received bytes '
        . '(openssl dgst -verify)';
    like +($up ? ($up->header('X-PARTNER-SIGN'))[0] : ''),
        qr{\A[A-Za-z0-9+/]{342}==\z},
        'the base64 signature is padded and has no line breaks';

    my $j = $res->json;
    is ref $j eq 'HASH' && $j->{status}, 'ok',
        'the mock provider accepts the signature (status ok)';
    is ref $j eq 'HASH' && ref $j->{session} eq 'HASH' && $j->{session}{id},
        'sess-1', 'the provider response is passed back to the caller';
}

{
    my ($res, $up) = payout('{"session_id":"hex-1"}',
        path => '/hex/session/start/payout');
    my ($sig) = $up ? $up->header('X-PARTNER-SIGN') : ();
    like $sig // '', qr/\A[0-9a-f]{512}\z/,
        'sg_sign_encoding hex sends 512 lower-case hex digits';
    ok signature_ok($up, 'hex'),
        'the hex signature verifies over the received bytes';
}


# ------------------------------------------------- step 2: bodies in any shape

{
    my @chunks = ('{"session_id":', '"chunky",', ' "amount_details":',
        '{"amount":1,"currency":"EUR"}}');
    my ($res, $up) = payout(undef, chunked => \@chunks);
    my $want = '{"amount_details":{"amount":1,"currency":"eur"},'
        . '"session_id":"chunky"}';
    is $up && $up->body, $want, 'a chunked request body is read whole';
    ok signature_ok($up), 'a chunked request body is signed';
    is_deeply [$up ? $up->header('Transfer-Encoding') : ()], [],
        'a chunked request goes upstream without Transfer-Encoding';
    is_deeply [$up ? $up->header('Content-Length') : ()], [length $want],
        'a chunked request goes upstream with Content-Length';
}

my $pad = 'p' x 5000;
my $big = qq({"session_id":"big", "metadata":{"pad":"$pad"}});
my $big_canonical = qq({"metadata":{"pad":"$pad"},"session_id":"big"});
for my $case (
    ['/in-file/session/start/payout', 'client_body_in_file_only on'],
    ['/small-buffer/session/start/payout',
        'client_body_buffer_size 1k and a 5k body'],
) {
    my ($path, $what) = @$case;
    my ($res, $up) = payout($big, path => $path);
    is $up && $up->body, $big_canonical,
        "a body nginx buffered to a temp file is read whole ($what)";
    ok signature_ok($up),
        "a body nginx buffered to a temp file is signed ($what)";
    is $res->status, 200,
        "a body nginx buffered to a temp file is accepted ($what)";
}


# ------------------------------------------------- step 7: the gateway's headers

{
    my ($res, $up) = payout('{"session_id":"s"}',
        headers => [['X-Tenant', 'tenant-7']]);
    is_deeply [$up ? $up->header('X-PARTNER-SUBMERCHANT') : ()], ['tenant-7'],
        'sg_sign_submerchant from a variable sends its value';

    ($res, $up) = payout('{"session_id":"s"}');
    is_deeply [$up ? $up->header('X-PARTNER-SUBMERCHANT') : ()], [],
        'sg_sign_submerchant with an empty value sends no header';

    ($res, $up) = payout('{"session_id":"s"}',
        path => '/merchant/session/start/payout');
    is_deeply [$up ? $up->header('X-PARTNER-SUBMERCHANT') : ()],
        ['merchant-42'], 'sg_sign_submerchant with a constant sends it';

    ($res, $up) = payout('{"session_id":"s"}', path => '/hex/session/start/payout');
    is_deeply [$up ? $up->header('X-PARTNER-SUBMERCHANT') : ()], [],
        'without sg_sign_submerchant no X-PARTNER-SUBMERCHANT is sent';

    ($res, $up) = payout('{"session_id":"s"}',
        headers => [['X-PARTNER-IDEMPOTENCY-KEY', 'retry-Key_0042']]);
    is_deeply [$up ? $up->header('X-PARTNER-IDEMPOTENCY-KEY') : ()],
        ['retry-Key_0042'], 'X-PARTNER-IDEMPOTENCY-KEY passes through untouched';
}

# forged headers: [name, headers sent, tenant sent?, what upstream must see]
my @forged = (
    ['a forged X-PARTNER-PROJECT never reaches upstream',
        [['X-PARTNER-PROJECT', 'evil_project']]],
    ['a forged lower-case x-partner-project never reaches upstream',
        [['x-partner-project', 'evil_project']]],
    ['a forged X-PARTNER-SIGN never reaches upstream',
        [['X-PARTNER-SIGN', 'Zm9yZ2Vk']]],
    ['a forged mixed-case X-Partner-Sign never reaches upstream',
        [['X-Partner-Sign', 'Zm9yZ2Vk']]],
    ['duplicated forged X-PARTNER-SIGN headers in mixed case never reach upstream',
        [['X-PARTNER-SIGN', 'Zm9yZ2Vk'], ['x-partner-sign', 'Zm9yZ2Vl'],
         ['X-pArTnEr-SiGn', 'Zm9yZ2Vm']]],
    ['duplicated forged X-PARTNER-PROJECT headers never reach upstream',
        [['X-PARTNER-PROJECT', 'evil1'], ['X-Partner-Project', 'evil2']]],
    ['a forged X-PARTNER-SUBMERCHANT never reaches upstream (no tenant)',
        [['X-PARTNER-SUBMERCHANT', 'evil_sub']]],
    ['duplicated forged X-PARTNER-SUBMERCHANT never reach upstream (tenant set)',
        [['X-PARTNER-SUBMERCHANT', 'evil_sub'],
         ['x-partner-submerchant', 'evil_sub2'], ['X-Tenant', 'tenant-9']]],
    ['all three forged at once never reach upstream',
        [['x-partner-project', 'e'], ['X-PARTNER-SIGN', 'Zm9yZ2Vk'],
         ['X-Partner-Submerchant', 'e'], ['X-PARTNER-PROJECT', 'e2']]],
);
for my $case (@forged) {
    my ($name, $headers) = @$case;
    my ($tenant) = map { $_->[1] } grep { $_->[0] eq 'X-Tenant' } @$headers;
    my ($res, $up) = payout('{"session_id":"forged"}', headers => $headers);
    my %seen = map { my $h = $_; ($h => [$up ? $up->header($h) : ()]) }
        qw(X-PARTNER-PROJECT X-PARTNER-SUBMERCHANT);
    my $ok = $up
        && "@{ $seen{'X-PARTNER-PROJECT'} }" eq 'test_project'
        && "@{ $seen{'X-PARTNER-SUBMERCHANT'} }" eq ($tenant // '')
        && signature_ok($up);
    ok $ok, $name
        or diag "upstream head:\n" . ($up ? $up->head : '(nothing arrived)');
}

{
    # the removed header is the very last one of the request
    my $body = '{"session_id":"last"}';
    $t->clear_upstream;
    $t->send_raw("POST $PAYOUT HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\nContent-Type: application/json\r\n"
        . 'Content-Length: ' . length($body) . "\r\n"
        . "X-PARTNER-SIGN: Zm9yZ2Vk\r\n\r\n$body");
    my $up = $t->last_upstream;
    ok $up && signature_ok($up)
        && "@{[ $up->header('X-PARTNER-PROJECT') ]}" eq 'test_project',
        'a forged X-PARTNER-SIGN as the last request header never reaches '
        . 'upstream'
        or diag "upstream head:\n" . ($up ? $up->head : '(nothing arrived)');
}


# ------------------------------------------------- sg_sign_schema object

{
    my ($res, $up) = payout('{"zeta":[true,false,null],"alpha":{"x":1}}',
        path => '/object/session/create');
    is $up && $up->body, '{"alpha":{"x":1},"zeta":[true,false,null]}',
        'sg_sign_schema object accepts any object and canonicalizes it';
    ok signature_ok($up), 'sg_sign_schema object signs the body';
}


# ------------------------------------------------- variables

{
    my ($res, $up) = payout('{"session_id":"var-session","amount_details":'
        . '{"amount":500,"currency":"gbp"}}');
    my $sha = $up ? sha256_hex($up->body) : 'nothing upstream';

    is_deeply [$res->header('X-SG-Status')], ['signed'],
        '$sg_sign_status is "signed" for a signed request';
    is_deeply [$res->header('X-SG-Fingerprint')], [$key->{fingerprint}],
        '$sg_sign_key_fingerprint is the SHA-256 of the public key DER';
    is_deeply [$res->header('X-SG-Body-SHA256')], [$sha],
        '$sg_sign_body_sha256 is the SHA-256 of the body sent upstream';
    is_deeply [$res->header('X-SG-Session')], ['var-session'],
        '$sg_sign_session_id is the request\'s session_id';

    my $line = SgSign::Test::wait_for(sub {
        my ($l) = grep { /var-session/ }
            split /\n/, SgSign::Test::read_file("$t->{dir}/logs/sg.log") // '';
        $l;
    }, 3);
    is $line, "signed|$key->{fingerprint}|$sha|var-session",
        'the variables are available to log_format';

    $res = $t->request(path => $PAYOUT, method => 'GET');
    is_deeply [$res->header('X-SG-Status')], ['method_not_allowed'],
        '$sg_sign_status is the error code for a refused request';
}


# ------------------------------------------------- where the gateway is off

{
    $t->clear_upstream;
    my $body = qq({ "b" : 1,\n "a" : 4.50 });
    my $res = $t->request(path => '/plain/echo', body => $body,
        headers => [['X-PARTNER-SIGN', 'caller-own'],
                    ['X-PARTNER-PROJECT', 'caller-project']]);
    my $up = $t->last_upstream;
    is $up && $up->body, $body,
        'a location without sg_sign forwards the body untouched';
    is_deeply [$up ? $up->header('X-PARTNER-SIGN') : ()], ['caller-own'],
        'a location without sg_sign leaves X-PARTNER-SIGN alone';
}


# ------------------------------------------------- who may get a payout signed

{
    my ($res, $up, $n) = payout('{"session_id":"denied"}',
        path => '/denied/session/start/payout');
    is $res->status, 403,
        'with satisfy any and deny all the request is refused (the module '
        . 'never grants access)';
    is $n, 0, 'a denied request never reaches upstream';
}

done_testing;
