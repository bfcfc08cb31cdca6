#!/usr/bin/perl
# Descriptions name members and positions, never values: a card number, a
# name or a token a caller sent is never echoed in a response or a log.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use SgSign::Test;

my $t = SgSign::Test->new(log_level => 'info');
my $key = $t->rsa_key('partner');
$t->start_provider(public_key => $key->{pub});
$t->start($t->gateway('sg_sign on; sg_sign_project p; '
    . "sg_sign_key $key->{key}; sg_sign_max_body_size 2k;"));

my $CARD  = '4111111111111111';        # Luhn-valid: refused for other reasons
my $BAD   = '4111111111111112';        # fails Luhn
my $NAME  = 'Zebulon Quartzfeather';
my $TOKEN = 'tok_MARKER_7f3a9c0d';
my $EMAIL = 'marker.person@example.org';
my @MARKERS = ($CARD, $BAD, $NAME, $TOKEN, $EMAIL);

sub card { qq("payment_method":{"type":"card","card":{"type":"bank_card",)
    . qq("bank_card":{"number":"$_[0]"}}}) }
my $people = qq("participant_details":{"recipient":{"full_name":"$NAME"}},)
    . qq("customer":{"reference":"$TOKEN","contacts":[{"email":"$EMAIL"}]});

my @refused = (
    ['a valid card number in a request with a bad amount',
        qq({"session_id":"s",${\ card($CARD)},"amount_details":{"amount":100.5,"currency":"usd"}})],
    ['a card number failing Luhn',
        qq({"session_id":"s",${\ card($BAD)}})],
    ['a card number of the wrong length',
        qq({"session_id":"s",${\ card($CARD . '0000')}})],
    ['a name, a token and an email in a request with an unknown member',
        qq({"session_id":"s",$people,"ammount_details":{}})],
    ['a token as an encrypted card hash with a bad currency',
        qq({"session_id":"s","payment_method":{"type":"card","card":{"type":"encrypted_card","encrypted_card":{"number_hash":"$TOKEN"}}},"amount_details":{"amount":1,"currency":"U\$D"}})],
    ['markers in invalid JSON (trailing comma)',
        qq({"session_id":"s",${\ card($CARD)},$people,})],
    ['markers right before bad UTF-8',
        qq({"session_id":"s","metadata":"$CARD $NAME \xff"})],
    ['markers in a duplicate member',
        qq({"session_id":"s","metadata":"$TOKEN","metadata":"$CARD"})],
    ['markers in an over-long number',
        qq({"session_id":"s","metadata":{"t":"$TOKEN","n":9007199254740993}})],
    ['markers in a body over the size limit',
        qq({"session_id":"s","metadata":") . "$CARD $NAME $TOKEN " x 100 . '"}'],
    ['markers in a refused Content-Type',
        qq({"session_id":"s",${\ card($CARD)}}), 'text/plain'],
);

for my $case (@refused) {
    my ($what, $body, $ct) = @$case;
    my $off = length $t->error_log;
    my $res = $t->post($body, defined $ct ? (content_type => $ct) : ());
    ok defined $res->status && $res->status >= 400,
        "$what is refused";
    my @in_response = grep { index($res->{raw} // '', $_) >= 0 } @MARKERS;
    ok !@in_response, "$what: no marker is echoed in the response"
        or diag "echoed: @in_response\n" . ($res->{raw} // '');
    # the log line of this request may come a moment after the response
    SgSign::Test::wait_for(sub { length $t->error_log > $off }, 0.3);
    my $log = $t->error_log($off);
    my @in_log = grep { index($log, $_) >= 0 } @MARKERS;
    ok !@in_log, "$what: no marker is written to the error log"
        or diag "logged: @in_log\n$log";
}

{
    my $off = length $t->error_log;
    my $res = $t->post(qq({"session_id":"s",${\ card($CARD)},$people}));
    is $res->status, 200, 'a valid payout with card and personal data is signed';
    my $up = $t->last_upstream;
    ok $up && index($up->body, $CARD) >= 0,
        'the provider receives the card number';
    my $log = $t->error_log($off);
    my @in_log = grep { index($log, $_) >= 0 } @MARKERS;
    ok !@in_log, 'a signed payout writes no card number, name or token to the '
        . 'error log' or diag "logged: @in_log";
}

{
    my @in_log = grep { index($t->access_log, $_) >= 0 } @MARKERS;
    ok !@in_log, 'the access log holds no marker';
}

done_testing;
