#!/usr/bin/perl
# Every error the gateway returns, in the contract's order (405, 415, 413,
# invalid_json, invalid_request), each in the provider's error shape, and
# nothing refused ever reaches the provider.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time);
use SgSign::Test qw(error_ok);

my $t = SgSign::Test->new;
my $key = $t->rsa_key('partner');
$t->start_provider(public_key => $key->{pub});

my $sign = "sg_sign on; sg_sign_project test_project; sg_sign_key $key->{key};";
my $proxy = 'proxy_pass http://provider; proxy_http_version 1.1; '
    . 'proxy_set_header Connection "";';

$t->start(<<"EOF");
    server {
        listen 127.0.0.1:$t->{port};

        location = /api/v1/session/start/payout {
            $sign
            $proxy
        }
        location = /small/session/start/payout {
            $sign
            sg_sign_max_body_size 1k;
            $proxy
        }
        location = /object/session/create {
            $sign
            sg_sign_schema object;
            $proxy
        }
    }
EOF

my $PAYOUT = '/api/v1/session/start/payout';
my $SMALL = '/small/session/start/payout';
my $OBJECT = '/object/session/create';
my $VALID = '{"session_id":"s-1"}';

# a valid payout body of exactly $len bytes
sub valid_body_of {
    my ($len) = @_;
    my $frame = '{"session_id":"s","metadata":""}';
    return '{"session_id":"s","metadata":"' . ('m' x ($len - length $frame))
        . '"}';
}

$t->clear_upstream;


# ------------------------------------------------- step 1: method (405)

for my $method (qw(GET PUT DELETE PATCH)) {
    my $res = $t->request(method => $method,
        body => $method eq 'GET' || $method eq 'DELETE' ? undef : $VALID);
    error_ok $res, 405, 'method_not_allowed', undef,
        "$method is refused with 405 method_not_allowed";
    is_deeply [$res->header('Allow')], ['POST'],
        "the 405 for $method says Allow: POST";
}


# ------------------------------------------------- step 1: media type (415)

for my $ct ('text/plain', 'application/x-www-form-urlencoded', 'text/json',
    'application/jsonp', 'application/json-patch+json', 'multipart/form-data')
{
    my $res = $t->request(body => $VALID, content_type => $ct);
    error_ok $res, 415, 'unsupported_media_type', undef,
        "Content-Type $ct is refused with 415 unsupported_media_type";
}


# ------------------------------------------------- order: 405, 415, 413

{
    my $res = $t->request(method => 'PUT', content_type => 'text/plain',
        body => 'x' x 2048, path => $SMALL);
    error_ok $res, 405, 'method_not_allowed', undef,
        'a wrong method is reported before a wrong Content-Type and size';

    $res = $t->request(content_type => 'text/plain', body => 'x' x 2048,
        path => $SMALL);
    error_ok $res, 415, 'unsupported_media_type', undef,
        'a wrong Content-Type is reported before the size';

    $res = $t->request(body => '{,' . ('x' x 2048), path => $SMALL);
    error_ok $res, 413, 'body_too_large', undef,
        'the size is reported before the body is parsed';
}


# ------------------------------------------------- step 2: size (413)

{
    my $res = $t->request(body => valid_body_of(1025), path => $SMALL);
    error_ok $res, 413, 'body_too_large', undef,
        'a body one byte over sg_sign_max_body_size is refused with 413';

    my $t0 = time;
    $res = $t->request(path => $SMALL, content_length => 100000, body => '',
        timeout => 4);
    error_ok $res, 413, 'body_too_large', undef,
        'a Content-Length over the limit is refused at once, before any body';
    ok time - $t0 < 4, 'a Content-Length over the limit does not wait for '
        . 'the body';

    $res = $t->request(path => $SMALL,
        chunked => [map { valid_body_of(1500) } 1 .. 1], timeout => 4);
    error_ok $res, 413, 'body_too_large', undef,
        'a chunked body over the limit is refused with 413';

    $res = $t->request(path => $SMALL,
        chunked => [('{"session_id":"s","metadata":"' . 'x' x 500), 'x' x 500,
            'x' x 500, '"}'], timeout => 4);
    error_ok $res, 413, 'body_too_large', undef,
        'a chunked body that grows over the limit chunk by chunk is refused';

    $res = $t->request(body => valid_body_of(65 * 1024 + 1), timeout => 4);
    error_ok $res, 413, 'body_too_large', undef,
        'the default sg_sign_max_body_size is 64k (a 65k body is refused)';
}


# ------------------------------------------------- step 3: strict JSON

my $deep33 = '[' x 33 . ']' x 33;
my $deep33_obj = '{"a":' x 32 . '{}' . '}' x 32;
my @invalid_json = (
    # name, body, offset of the first offending byte (undef: any)
    ['an empty body', '', 0],
    ['a body of whitespace only', "  \n", 3],
    ['a trailing comma', '{"a":1,}', 7],
    ['bad UTF-8 (0xff)', qq({"session_id":"\xff"}), 15],
    ['an overlong UTF-8 encoding', qq({"session_id":"\xc0\xaf"}), 15],
    ['a surrogate encoded in UTF-8 (0xa0 cannot follow 0xed)',
        qq({"session_id":"\xed\xa0\x80"}), 16],
    ['a truncated UTF-8 sequence (the quote is the offending byte)',
        qq({"session_id":"\xe2\x82"}), 17],
    ['duplicate member names', '{"a":1,"a":2}', 7],
    ['duplicate member names spelled with escapes', '{"a":1,"\u0061":2}', 7],
    ['nesting depth 33 (arrays)', $deep33, 32],
    ['nesting depth 33 (objects)', $deep33_obj, 160],
    ['two values', '{} {}', 3],
    ['a raw control character in a string', qq({"a":"x\ny"}), 7],
    ['an invalid escape', '{"a":"\x"}', undef],
    ['a lone surrogate escape', '{"a":"\ud800"}', undef],
    ['a leading zero', '{"a":01}', undef],
    ['NaN', '{"a":NaN}', 5],
    ['a single-quoted string', q({'a':1}), 1],
    ['an unterminated object', '{"a":1', 6],
    ['a number with a bare decimal point', '{"a":1.}', undef],
);
for my $case (@invalid_json) {
    my ($what, $body, $offset) = @$case;
    my $re = defined $offset ? qr/offset $offset\b/ : qr/offset \d+\b/;
    my $res = $t->request(body => $body, path => $OBJECT);
    error_ok $res, 400, 'invalid_json', $re,
        "$what is refused with 400 invalid_json"
        . (defined $offset ? " at offset $offset" : '');
}

{
    my $res = $t->request(content_length => undef, content_type => undef);
    error_ok $res, 400, 'invalid_json', qr/offset 0\b/,
        'a POST with no body at all is refused with 400 invalid_json';

    $res = $t->request(chunked => [], body => '');
    error_ok $res, 400, 'invalid_json', qr/offset 0\b/,
        'an empty chunked body is refused with 400 invalid_json';
}


# ------------------------------------------------- step 4: payout rules

my $MINOR = qr/minor units/i;
sub amount { qq({"session_id":"s","amount_details":{"amount":$_[0],"currency":"USD"}}) }
sub currency { qq({"session_id":"s","amount_details":{"amount":100,"currency":$_[0]}}) }
sub card { qq({"session_id":"s","payment_method":{"type":"card","card":$_[0]}}) }
sub bank_card { card(qq({"type":"bank_card","bank_card":{"number":"$_[0]"}})) }

my @invalid_request = (
    # name, body, description must match
    ['a missing session_id', '{}', qr/session_id/],
    ['a missing session_id with other members',
        '{"amount_details":{"amount":1,"currency":"usd"}}', qr/session_id/],
    ['an empty session_id', '{"session_id":""}', qr/session_id/],
    ['a numeric session_id', '{"session_id":3230}', qr/session_id/],
    ['the unknown member ammount_details',
        '{"session_id":"s","ammount_details":{"amount":1,"currency":"usd"}}',
        qr/ammount_details/],
    ['payout_details (payment_method\'s other name) without its card',
        '{"session_id":"s","payout_details":{"type":"card"}}',
        qr/^payout_details\.card: is required$/],
    ['payout_details sent with payment_method',
        '{"session_id":"s","payout_details":{"type":"recurrent",'
        . '"recurrent":{"token":"t"}},"payment_method":{"type":"recurrent",'
        . '"recurrent":{"token":"t"}}}',
        qr/^payout_details: cannot be sent with payment_method/],
    ['a payment_method type the docs do not have',
        '{"session_id":"s","payment_method":{"type":"sbp","sbp":{}}}',
        qr/^payment_method\.type: must be one of "card"/],
    ['amount_details that is not an object',
        '{"session_id":"s","amount_details":10000}', qr/amount_details/],
    ['amount 100.5', amount('100.5'), qr/amount_details\.amount.*$MINOR/],
    ['amount 10000.0', amount('10000.0'), qr/amount_details\.amount.*$MINOR/],
    ['amount 1e4', amount('1e4'), qr/amount_details\.amount.*$MINOR/],
    ['amount "10000"', amount('"10000"'),
        qr/amount_details\.amount.*$MINOR/],
    ['amount 0', amount('0'), qr/amount_details\.amount/],
    ['amount -5', amount('-5'), qr/amount_details\.amount/],
    ['amount 2^53 (9007199254740992)', amount('9007199254740992'),
        qr/amount_details\.amount/],
    ['a missing amount',
        '{"session_id":"s","amount_details":{"currency":"usd"}}',
        qr/amount_details\.amount/],
    ['a missing currency',
        '{"session_id":"s","amount_details":{"amount":100}}',
        qr/amount_details\.currency/],
    ['currency "US"', currency('"US"'), qr/amount_details\.currency/],
    ['currency "U$D"', currency('"U$D"'), qr/amount_details\.currency/],
    ['currency "USDT"', currency('"USDT"'), qr/amount_details\.currency/],
    ['currency 840', currency('840'), qr/amount_details\.currency/],
    ['a payment_method without type',
        '{"session_id":"s","payment_method":{}}', qr/payment_method\.type/],
    ['a missing card',
        '{"session_id":"s","payment_method":{"type":"card"}}',
        qr/payment_method\.card/],
    ['a card of unknown type', card('{"type":"paper_card"}'),
        qr/payment_method\.card\.type/],
    ['a card number failing Luhn', bank_card('4111111111111112'),
        qr/payment_method\.card\.bank_card\.number/],
    ['a card number with 11 digits', bank_card('41111111113'),
        qr/payment_method\.card\.bank_card\.number/],
    ['a card number with 20 digits', bank_card('41111111111111111113'),
        qr/payment_method\.card\.bank_card\.number/],
    ['a card number with spaces', bank_card('4111 1111 1111 1111'),
        qr/payment_method\.card\.bank_card\.number/],
    ['a bank_card without number', card('{"type":"bank_card","bank_card":{}}'),
        qr/payment_method\.card\.bank_card\.number/],
    ['an encrypted_card without number_hash',
        card('{"type":"encrypted_card","encrypted_card":{}}'),
        qr/payment_method\.card\.encrypted_card\.number_hash/],
    ['an encrypted_card with an empty number_hash',
        card('{"type":"encrypted_card","encrypted_card":{"number_hash":""}}'),
        qr/payment_method\.card\.encrypted_card\.number_hash/],
    ['an empty recipient.full_name',
        '{"session_id":"s","participant_details":{"recipient":{"full_name":""}}}',
        qr/participant_details\.recipient\.full_name/],
    ['a recipient that is not an object',
        '{"session_id":"s","participant_details":{"recipient":"x"}}',
        qr/participant_details\.recipient/],
    ['a sender that is not an object',
        '{"session_id":"s","participant_details":{"sender":[]}}',
        qr/participant_details\.sender/],
    ['customer.contacts that is not an array',
        '{"session_id":"s","customer":{"contacts":{"email":"a@b.c"}}}',
        qr/customer\.contacts/],
    ['customer.contacts holding a non-object',
        '{"session_id":"s","customer":{"contacts":["a@b.c"]}}',
        qr/customer\.contacts/],
    ['an empty customer.reference',
        '{"session_id":"s","customer":{"reference":""}}',
        qr/customer\.reference/],
    ['a body that is an array', '[{"session_id":"s"}]', undef],
    ['a body that is a string', '"session_id"', undef],
    # step 5: a number whose value would change is refused, never rounded
    ['9007199254740993 in metadata (not exact as a double)',
        '{"session_id":"s","metadata":{"n":9007199254740993}}', qr/metadata/],
    ['333333333.33333329 in metadata',
        '{"session_id":"s","metadata":[333333333.33333329]}', qr/metadata/],
    ['1e400 in metadata (out of range)',
        '{"session_id":"s","metadata":1e400}', qr/metadata/],
    ['1e-400 in metadata (underflows)',
        '{"session_id":"s","metadata":{"x":1e-400}}', qr/metadata/],
);
for my $case (@invalid_request) {
    my ($what, $body, $re) = @$case;
    my $res = $t->request(body => $body);
    error_ok $res, 400, 'invalid_request', $re,
        "$what is refused with 400 invalid_request"
        . (defined $re ? ' naming the member' : '');
}

is $t->upstream_count, 0, 'nothing refused ever reaches upstream'
    or diag join "\n---\n", map { $_->head . $_->body } $t->upstream_requests;


# ------------------------------------------------- what the rules accept

sub luhn {
    my ($digits) = @_;
    my ($sum, $dbl) = (0, 1);
    for my $d (reverse split //, $digits) {
        $d *= 2 if $dbl;
        $d -= 9 if $d > 9;
        $sum += $d;
        $dbl = !$dbl;
    }
    return $digits . ((10 - $sum % 10) % 10);
}

my @accepted = (
    ['Content-Type application/json; charset=utf-8', $VALID,
        'application/json; charset=utf-8'],
    ['Content-Type APPLICATION/JSON', $VALID, 'APPLICATION/JSON'],
    ['no Content-Type', $VALID, undef],
    ['a body of exactly sg_sign_max_body_size', valid_body_of(1024),
        'application/json', $SMALL],
    ['a body of exactly 64k by default', valid_body_of(65536)],
    ['nesting depth 32',
        '{"session_id":"s","metadata":' . '[' x 31 . ']' x 31 . '}'],
    ['amount 2^53 - 1', amount('9007199254740991')],
    ['a lower-case currency', currency('"usd"')],
    ['a 16-digit Luhn-valid card', bank_card('4242424242424242')],
    ['a 12-digit Luhn-valid card', bank_card(luhn('41111111111'))],
    ['a 19-digit Luhn-valid card', bank_card(luhn('411111111111111111'))],
    ['an encrypted_card with number_hash',
        card('{"type":"encrypted_card","encrypted_card":{"number_hash":"h"}}')],
    ['an SBP payout (faster_payment_system)',
        '{"session_id":"s","payment_method":{"type":"bank_account",'
        . '"bank_account":{"system_type":"faster_payment_system",'
        . '"faster_payment_system":{"phone":"79680000000",'
        . '"bank_id":"100000000069","description":"d"}}}}'],
    ['payout_details, payment_method\'s other name',
        '{"session_id":"s","payout_details":{"type":"card","card":'
        . '{"type":"tokenized_card","tokenized_card":{"token":"t"}}}}'],
    ['empty customer.contacts', '{"session_id":"s","customer":{"contacts":[]}}'],
    ['unknown members in nested objects',
        '{"session_id":"s","customer":{"reference":"r","extra":1},'
        . '"participant_details":{"recipient":{"full_name":"A B","x":2}}}'],
    ['metadata of any type', '{"session_id":"s","metadata":[null,true,"x",1.5]}'],
    ['an escaped surrogate pair', '{"session_id":"\ud83d\ude00"}'],
    ['-0 and 1E30 in metadata', '{"session_id":"s","metadata":[-0,1E30]}'],
);
for my $case (@accepted) {
    my ($what, $body, $ct, $path) = @$case;
    $t->clear_upstream;
    my $res = $t->request(body => $body, path => $path // $PAYOUT,
        @$case > 2 ? (content_type => $ct) : ());
    my $n = $t->upstream_count;
    ok $res->status == 200 && $n == 1, "$what is accepted and forwarded"
        or diag 'status ' . ($res->status // 'none') . ", upstream got $n: "
            . substr($res->body, 0, 300);
}

done_testing;
