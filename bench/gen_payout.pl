#!/usr/bin/perl
# Writes one realistic, valid session/start/payout body of about SIZE bytes,
# the way an internal service would post it: compact JSON, members in the
# order a service writes them (not sorted), upper-case currency, non-ASCII
# names, escapes and numbers that the gateway respells (4.50, 1.25E-3).
#
#   bench/gen_payout.pl SIZE [SESSION_ID] [SEED] > body.json
#
# SIZE is a target in bytes (the result is within ~250 bytes below it, never
# above it, except that the smallest complete payout is ~300 bytes).
# Deterministic: the same arguments give the same bytes on every machine.
# Core Perl only.

use strict;
use warnings;

my $size = shift // 4096;
my $sid  = shift // "bench-$size";
my $seed = shift // 42;

$size =~ /^\d+$/ or die "usage: $0 SIZE [SESSION_ID] [SEED]\n";

# small LCG, same on every machine
my $state = $seed & 0x7fffffff;
sub rnd { $state = ($state * 1103515245 + 12345) & 0x7fffffff; $state / 2**31 }
sub int_rnd { int(rnd() * $_[0]) }
sub pick { $_[int_rnd(scalar @_)] }

# JSON string literal for ASCII-or-UTF-8 text (bytes in, bytes out)
sub str {
    my ($s) = @_;
    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/\n/\\n/g;
    $s =~ s/\t/\\t/g;
    return qq{"$s"};
}

# the smallest complete payout (~300 bytes): card, amount, recipient,
# customer with one contact
my $core = join ',',
    '"session_id":' . str($sid),
    '"payment_method":{"type":"card","card":{"type":"bank_card",'
        . '"bank_card":{"number":"4111111111111111"}}}',
    '"amount_details":{"amount":150000,"currency":"RUB"}',
    '"participant_details":{"recipient":{"full_name":"Ivan Petrov"}}',
    '"customer":{"reference":"cust-000123","contacts":[{"email":"ivan@example.com"}]}';

my $small = "{$core}";
if ($size <= length($small) + 60) {
    print $small;
    exit 0;
}

# the bigger payouts: the full shape with sender, more contacts and
# metadata with nested objects, arrays, strings (escapes, UTF-8) and numbers
my $full = join ',',
    '"session_id":' . str($sid),
    '"payment_method":{"type":"card","card":{"type":"bank_card",'
        . '"bank_card":{"number":"4111111111111111","expiration_month":"12",'
        . '"expiration_year":"2030","holder":"IVAN PETROV"}}}',
    '"amount_details":{"amount":150000,"currency":"RUB"}',
    '"participant_details":{"recipient":{"full_name":"Иван Петров",'
        . '"first_name":"Иван","last_name":"Петров","birth_date":"1990-01-31",'
        . '"identity_document":{"id_type":"passport","id_number":"4510 123456"}},'
        . '"sender":{"full_name":"ООО \"Ромашка\"","inn":"7701234567",'
        . '"address":{"country":"RU","city":"Москва","zip":"101000"}}}',
    '"customer":{"reference":"cust-000123","contacts":['
        . '{"email":"ivan.petrov@example.com"},{"phone":"+79991234567"},'
        . '{"telegram":"\\/ivan_p"}]}';

my @skus   = map { sprintf 'SKU-%06d', $_ } 1 .. 50;
my @words  = qw(payout salary bonus refund invoice order courier shift
    выплата заказ премия доставка café naïve);
my @colors = qw(red green blue black white);

my @items;
my $meta_head = '"metadata":{"source":"payroll-service","batch":{"id":"b-2024-11-25-001",'
    . '"created_at":"2024-11-25T13:00:00Z","version":3,"rate":4.50},'
    . '"note":"line1\\nline2\\t\\u00e9\\u4e2d","items":[';
my $meta_tail = ']}';

my $n = 0;
while (1) {
    $n++;
    my $item = sprintf '{"line":%d,"sku":%s,"description":%s,"qty":%d,'
        . '"price":%d.%02d,"discount":0,"tax_rate":1.25E-1,'
        . '"attrs":{"color":"%s","flags":[true,false,null],"ratio":%dE-3,'
        . '"tags":["%s","%s"]}}',
        $n, str(pick(@skus)),
        str(join(' ', map { pick(@words) } 1 .. 2 + int_rnd(6)) . " №$n"),
        1 + int_rnd(9), 1 + int_rnd(9999), int_rnd(100),
        pick(@colors), 1 + int_rnd(999), pick(@words), pick(@words);
    my $try = '{' . $full . ',' . $meta_head . join(',', @items, $item)
        . $meta_tail . '}';
    last if length($try) > $size && @items;
    push @items, $item;
    last if length($try) > $size;
}

print '{' . $full . ',' . $meta_head . join(',', @items) . $meta_tail . '}';
