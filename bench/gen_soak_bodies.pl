#!/usr/bin/perl
# The soak's request mix: valid payouts of several sizes and invalid bodies,
# one per line for bench/wrk_post.lua ("V<TAB>json" / "I<TAB>json"), and
# each valid body also as DIR/valid-N.json (for its expected canonical form).
#
#   bench/gen_soak_bodies.pl DIR      # writes DIR/bodies.txt, DIR/valid-*.json
#
# Valid bodies have session_id "soak-valid-N".  Every invalid body carries
# the marker "INVALID-<kind>" (as its session_id where the body has one), so
# one reaching the upstream would be recognizable; the upstream check is
# stricter anyway: only the exact canonical forms of the valid bodies pass.

use strict;
use warnings;

use File::Basename qw(dirname);

my $dir = shift or die "usage: $0 DIR\n";
my $gen = dirname(__FILE__) . '/gen_payout.pl';

my @lines;

my @sizes = (300, 600, 1000, 2000, 3000, 4096, 4096, 6000, 8192, 12000,
    16384, 300, 1500, 4096, 30000, 61440);
for my $i (0 .. $#sizes) {
    my $sid = sprintf 'soak-valid-%02d', $i;
    my $body = `perl '$gen' $sizes[$i] $sid @{[ 100 + $i ]}`;
    die "gen_payout failed\n" if $? || $body !~ /^\{/;
    open my $fh, '>:raw', "$dir/valid-$i.json" or die "$!\n";
    print {$fh} $body;
    close $fh;
    push @lines, "V\t$body";
}

my $card = '"payment_method":{"type":"card","card":{"type":"bank_card",'
    . '"bank_card":{"number":"4111111111111111"}}}';
my $amount = '"amount_details":{"amount":150000,"currency":"RUB"}';

sub sid { qq{"session_id":"INVALID-$_[0]"} }

my @invalid = (
    # not JSON (step 3)
    '{' . sid('trailing-comma') . ",$amount,}",
    '{' . sid('duplicate') . ',' . sid('duplicate') . ",$amount}",
    '{' . sid('bad-utf8') . qq{,"metadata":"caf\xc3\x28"}. '}',
    '{' . sid('lone-surrogate') . ',"metadata":"\ud800"}',
    '{' . sid('truncated') . ",$card,$amount",
    '{' . sid('deep') . ',"metadata":' . ('[' x 40) . (']' x 40) . '}',
    '{' . sid('single-quote') . ",'amount_details':{}}",
    '{' . sid('raw-control') . qq{,"metadata":"a\x01b"}. '}',
    # JSON, but not a valid payout (step 4) or not exact (step 5)
    '{' . sid('float-amount') . ',"amount_details":{"amount":100.5,"currency":"RUB"}}',
    '{' . sid('string-amount') . ',"amount_details":{"amount":"10000","currency":"RUB"}}',
    '{' . sid('typo') . ',"ammount_details":{"amount":150000,"currency":"RUB"}}',
    '{' . sid('luhn') . ',"payment_method":{"type":"card","card":{"type":"bank_card",'
        . '"bank_card":{"number":"4111111111111112"}}}}',
    '{' . sid('currency') . ',"amount_details":{"amount":150000,"currency":"RUBL"}}',
    '{' . sid('inexact') . ",$amount," . '"metadata":{"n":9007199254740993}}',
    '{"metadata":"INVALID-no-session-id",' . "$amount}",
    '["INVALID-array"]',
);

# valid and invalid interleaved through the cycle
my @mix;
for my $i (0 .. ($#lines > $#invalid ? $#lines : $#invalid)) {
    push @mix, $lines[$i] if $i < @lines;
    push @mix, "I\t$invalid[$i]" if $i < @invalid;
}

open my $fh, '>:raw', "$dir/bodies.txt" or die "$!\n";
print {$fh} "$_\n" for @mix;
close $fh;

printf "%d valid, %d invalid bodies\n", scalar @lines, scalar @invalid;
