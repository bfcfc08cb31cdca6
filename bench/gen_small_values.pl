#!/usr/bin/perl
# Writes one valid session/start/payout body of about SIZE bytes made of
# many small values: the smallest complete payout plus a "metadata" object
# with short members ("k1a":7; ~1,800 at 60 KB) and a long array of one-digit
# numbers.  A JSON token every two or three bytes (two is the least
# possible), so its parse tree is near the largest a body of its size can
# make: the worst case for the memory a payout holds (issue 8, finding 7),
# where gen_payout.pl's bodies are the realistic case.
#
#   bench/gen_small_values.pl SIZE [SESSION_ID] > body.json
#
# SIZE is a target in bytes; the result is within 8 bytes below it.  About a
# quarter of the metadata's bytes are members, the rest array items.
# Deterministic, core Perl only.

use strict;
use warnings;

my $size = shift // 61440;
my $sid  = shift // "small-values-$size";

$size =~ /^\d+$/ or die "usage: $0 SIZE [SESSION_ID]\n";
$sid =~ /\A[A-Za-z0-9_.-]+\z/ or die "$0: SESSION_ID: [A-Za-z0-9_.-]+\n";

my $head = '{"session_id":"' . $sid . '",'
    . '"payment_method":{"type":"card","card":{"type":"bank_card",'
    . '"bank_card":{"number":"4111111111111111"}}},'
    . '"amount_details":{"amount":150000,"currency":"RUB"},'
    . '"participant_details":{"recipient":{"full_name":"Ivan Petrov"}},'
    . '"customer":{"reference":"cust-000123",'
    . '"contacts":[{"email":"ivan@example.com"}]},'
    . '"metadata":{"members":{';
my $mid  = '},"items":[';
my $tail = ']}}';

my $room = $size - length($head) - length($mid) - length($tail);
die "$0: SIZE must be at least " . ($size - $room + 64) . "\n" if $room < 64;

# members: unique short names in base 36 ("k0", "k1", ... "kzz"), values 0-9
my ($members, $n) = ('', 0);
while (length($members) < $room / 4) {
    my ($i, $name) = ($n, '');
    do { $name = substr('0123456789abcdefghijklmnopqrstuvwxyz', $i % 36, 1)
        . $name; $i = int($i / 36) } while $i > 0;
    $members .= ($n ? ',' : '') . qq{"k$name":} . ($n % 10);
    $n++;
}

# items: one-digit numbers, two bytes each
my $left = $room - length($members);
my $count = int(($left + 1) / 2);
my $items = join ',', map { $_ % 10 } 0 .. $count - 1;
$items = substr $items, 0, length($items) - 2 while length($items) > $left;

print $head, $members, $mid, $items, $tail;
