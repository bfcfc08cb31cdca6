#!/usr/bin/perl
# The schema engine against ajv 6 (Debian's node-ajv, draft-07), which shares
# no code with it, on the built-in schemas (schemas/**/*.json):
#
# 1. the rule cases of the first release (t/unit/test_schema.c, t/errors.t
#    at 591626b) through ajv and through the engine: each schema file means
#    what the C rules meant, case by case, path by path;
# 2. for each built-in schema, documents generated from a fixed seed: valid
#    payouts of every documented shape, then mutations (members dropped,
#    renamed, added; wrong types; boundary numbers, spellings and lengths;
#    typos such as ammount_details, Card for card; two mutations at once).
#    ajv (t/lib/ajv_sg.js) and build/schema_driver -b NAME must agree on
#    accept or refuse for every one, on the canonical form of every accepted
#    one, and on the failing path.
#
# Paths.  ajv runs with allErrors: true.  With allErrors: false it reports
# the first error in its own keyword order (required before properties,
# properties in schema order), which says nothing about which problem comes
# first in the document; the engine reports the first in document order.
# With every error listed, a refused document has one failing location or
# several: with one, the engine must name exactly that path; with several,
# its path must be one of them.
#
# Number spellings.  ajv sees parsed numbers; t/lib/ajv_sg.js parses each
# line itself and gives x-sg-integer-literal the number's literal text, so
# 10000.0 and 1e4 are compared as written (see there).
#
# Before the engine exists (no t/unit/schema_driver.c), only ajv runs.
#
#   SG_AJV_SEED=N   another seed      SG_AJV_DOCS=N   documents per schema
#   SG_AJV_DUMP=F   write every generated document and ajv's verdict to F

use strict;
use warnings;

use Encode qw(encode_utf8);
use File::Temp qw(tempfile);
use FindBin;
use JSON::PP;
use Test::More;

my $ROOT = "$FindBin::Bin/..";
my $NODE = $ENV{NODE} || 'node';
my $SEED = $ENV{SG_AJV_SEED} || 2019;
my $DOCS = $ENV{SG_AJV_DOCS} || 3000;
my $MAX_DIAG = 15;

$ENV{NODE_PATH} = join ':', grep { defined && length }
    $ENV{NODE_PATH}, '/usr/share/nodejs';

chdir $ROOT or die "chdir $ROOT: $!";

plan skip_all => 'node (Node.js) is not installed'
    unless system("$NODE --version >/dev/null 2>&1") == 0;
plan skip_all => 'ajv is not installed (apt-get install node-ajv)'
    unless system("$NODE -e 'require(\"ajv\")' >/dev/null 2>&1") == 0;

my $DRIVER = 'build/schema_driver';
my $ENGINE = -e 't/unit/schema_driver.c';

if ($ENGINE) {
    ok -x $DRIVER, "$DRIVER is built (make)"
        or BAIL_OUT("no $DRIVER: run make");
} else {
    diag 'no schema engine yet (t/unit/schema_driver.c): ajv only';
}

my $json = JSON::PP->new->utf8->canonical;

my @NAMES = sort map { s{^schemas/}{}r =~ s{\.json$}{}r }
    grep { $_ ne 'schemas/common.json' }
    split /\n/, `find schemas -name '*.json'`;

ok scalar(grep { $_ eq 'session/start/payout' } @NAMES)
    && scalar(grep { $_ eq 'object' } @NAMES),
    'the built-in schemas include session/start/payout and object: '
    . join ', ', @NAMES;


# --------------------------------------------------- typed documents
#
# Objects keep their members' order; numbers and literals keep their
# spelling: O(name => value, ...), A(...), N('1e4'), TRUE, FALSE, NULL;
# a plain Perl scalar is a string.

sub O { my @kv = @_; bless [ map { [ $kv[2 * $_], $kv[2 * $_ + 1] ] }
                                 0 .. @kv / 2 - 1 ], 'O' }
sub A { bless [@_], 'A' }
sub N { my $t = shift; bless \$t, 'N' }
sub TRUE  { my $t = 'true'; bless \$t, 'L' }
sub FALSE { my $t = 'false'; bless \$t, 'L' }
sub NUL   { my $t = 'null'; bless \$t, 'L' }

sub kind {
    my ($v) = @_;
    my $r = ref $v;
    return $r eq 'O' ? 'object' : $r eq 'A' ? 'array' : $r eq 'N' ? 'number'
         : $r eq 'L' ? ($$v eq 'null' ? 'null' : 'boolean') : 'string';
}

sub enc_str {
    my ($s) = @_;
    $s =~ s/([\\"])/\\$1/g;
    $s =~ s/([\x00-\x1f])/sprintf '\\u%04x', ord $1/ge;
    return qq("$s");
}

sub enc {
    my ($v) = @_;
    my $r = ref $v;
    return '{' . join(',', map { enc_str($_->[0]) . ':' . enc($_->[1]) } @$v)
        . '}' if $r eq 'O';
    return '[' . join(',', map { enc($_) } @$v) . ']' if $r eq 'A';
    return $$v if $r eq 'N' || $r eq 'L';
    return enc_str($v);
}

sub clone {
    my ($v) = @_;
    my $r = ref $v;
    return bless [ map { [ $_->[0], clone($_->[1]) ] } @$v ], 'O'
        if $r eq 'O';
    return bless [ map { clone($_) } @$v ], 'A' if $r eq 'A';
    return $v;      # scalars and N/L are never changed in place
}

# every value in the document: [ [steps...], value ]
sub nodes {
    my ($v, @steps) = @_;
    my @out = ([ [@steps], $v ]);
    if (ref $v eq 'O') {
        push @out, nodes($_->[1], @steps, $_->[0]) for @$v;
    } elsif (ref $v eq 'A') {
        push @out, nodes($v->[$_], @steps, $_) for 0 .. $#$v;
    }
    return @out;
}

sub member_index {
    my ($obj, $name) = @_;
    for my $i (0 .. $#$obj) {
        return $i if $obj->[$i][0] eq $name;
    }
    return undef;
}

sub get {
    my ($v, @steps) = @_;
    for my $s (@steps) {
        if (ref $v eq 'O') {
            my $i = member_index($v, $s);
            return undef unless defined $i;
            $v = $v->[$i][1];
        } elsif (ref $v eq 'A') {
            $v = $v->[$s];
        } else {
            return undef;
        }
    }
    return $v;
}

# sets the value at member path steps in an object; objects on the way are
# created at the end of their parent, a non-object on the way is replaced by
# an empty one
sub put {
    my ($doc, $steps, $value) = @_;
    my @steps = @$steps;
    my $last = pop @steps;
    my $v = $doc;

    for my $s (@steps) {
        my $i = member_index($v, $s);
        if (!defined $i) {
            push @$v, [ $s, O() ];
            $i = $#$v;
        }
        $v->[$i][1] = O() unless ref $v->[$i][1] eq 'O';
        $v = $v->[$i][1];
    }

    my $i = member_index($v, $last);
    if (defined $i) {
        $v->[$i][1] = $value;
    } else {
        push @$v, [ $last, $value ];
    }
}


# --------------------------------------------------- random pieces

srand $SEED;

sub pick { $_[int rand @_] }
sub chance { rand() < $_[0] }

sub shuffled {
    my @a = @_;
    for (my $i = $#a; $i > 0; $i--) {
        my $j = int rand($i + 1);
        @a[$i, $j] = @a[$j, $i];
    }
    return @a;
}

sub shuffle_members { bless [ shuffled(@{ $_[0] }) ], 'O' }

sub luhn_complete {
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

sub digits { join '', map { int rand 10 } 1 .. $_[0] }

sub card_number {
    my ($len) = @_;
    return luhn_complete(pick(qw(4 5 2 6 3)) . digits($len - 2));
}

sub word {
    my $n = 1 + int rand 8;
    join '', map { pick('a' .. 'z', 'A' .. 'Z', '0' .. '9', '_', ' ', '-') }
        1 .. $n;
}

sub text_value {
    pick(word(), word() . ' ' . word(), "\x{e9}t\x{e9}", "\x{4e2d}\x{6587}",
         "\x{1f600}", 'a"b\\c', "line\nbreak", '4111111111111111', 'x');
}

sub number_value {
    pick(N(int rand 1000), N('-' . (1 + int rand 99)), N('0'), N('-0'),
         N('1.5'), N('4.50'), N('1E30'), N('1e-7'), N('10000.0'),
         N('9007199254740991'), N('0.1'), N('123456789012'));
}

sub any_value {
    my ($depth) = @_;
    $depth //= 0;
    my $k = int rand($depth > 3 ? 5 : 7);
    return NUL if $k == 0;
    return pick(TRUE, FALSE) if $k == 1;
    return number_value() if $k == 2;
    return text_value() if $k <= 4;
    if ($k == 5) {
        return A(map { any_value($depth + 1) } 1 .. int rand 4);
    }
    my %seen;
    return O(map { my $n = pick(qw(a b c id x note extra tag), word());
                   $seen{$n}++ ? () : ($n, any_value($depth + 1)) }
             1 .. int rand 4);
}

# a value of another JSON type than $v's
sub other_type {
    my ($v) = @_;
    my $kind = kind($v);
    my @pool = grep { kind($_) ne $kind }
        (NUL, TRUE, FALSE, N('1'), N('10000'), N('-1'), N('1.5'), '', 'x',
         'card', '10000', A(), A(O()), O(), O(x => N('1')));
    return pick(@pool);
}


# --------------------------------------------------- valid payouts

sub amount_value {
    pick(N('1'), N('9007199254740991'), N('10000'), N(1 + int rand 1e9),
         N('9' x (1 + int rand 15)), N('1' . digits(int rand 15)));
}

sub currency_value {
    join '', map { pick('a' .. 'z', 'A' .. 'Z') } 1 .. 3;
}

sub extras {
    my ($obj) = @_;
    my @names = grep { !defined member_index($obj, $_) }
        qw(extra note fee id holder x);
    push @$obj, [ pick(@names), any_value(2) ] if chance(0.3) && @names;
    return shuffle_members($obj);
}

sub payment_method {
    my $k = int rand 6;

    if ($k <= 2) {
        my $card = ($k == 0 || chance(0.5))
            ? O(type => 'bank_card',
                bank_card => extras(O(number =>
                    card_number(12 + int rand 8))))
            : O(type => 'encrypted_card',
                encrypted_card => extras(O(number_hash =>
                    pick('h', 'abc', word(), 'a' x 64))));
        return extras(O(type => 'card', card => extras($card)));
    }

    # other payment method types pass through, whatever they carry
    return extras(O(type => pick('sbp', 'qiwi', 'wallet', 'bank_account',
                                 'Card', 'CARD', ' card', '', 'cards'),
                    (chance(0.5) ? (card => any_value(1)) : ()),
                    (chance(0.5) ? (details => any_value(1)) : ())));
}

sub participant_details {
    my @m;
    push @m, sender => extras(O(chance(0.5) ? (full_name => 'S N') : ()))
        if chance(0.6);
    push @m, recipient => extras(O(chance(0.7)
        ? (full_name => pick('A B', 'x', "\x{e9}", word())) : ()))
        if chance(0.7);
    return extras(O(@m));
}

sub customer {
    my @m;
    push @m, reference => pick('r', 'ref-1', word()) if chance(0.6);
    push @m, contacts => A(map { extras(O(pick(
        [ email => 'a@b.c' ], [ phone => '+100' ], [])->@*)) }
        1 .. int rand 4) if chance(0.6);
    return extras(O(@m));
}

sub valid_payout {
    my @m = (session_id => pick('s', '3230', 's-' . int(rand 1e6), 'a b',
                                "\x{e9}t\x{e9}", 'x' x (1 + int rand 128)));
    push @m, amount_details => extras(O(amount => amount_value(),
                                        currency => currency_value()))
        if chance(0.7);
    push @m, payment_method => payment_method() if chance(0.6);
    push @m, participant_details => participant_details() if chance(0.4);
    push @m, customer => customer() if chance(0.4);
    push @m, metadata => any_value() if chance(0.4);
    return shuffle_members(O(@m));
}


# --------------------------------------------------- mutations

my %TYPO = (
    session_id => [qw(sessionId session-id Session_id session_ID sesion_id)],
    amount_details => [qw(ammount_details amount_detail amountDetails
                          Amount_details amount)],
    payment_method => [qw(payment_methods paymentMethod payout_details
                          Payment_method method)],
    participant_details => [qw(participants participant_detail
                               Participant_details)],
    customer => [qw(customers Customer client)],
    metadata => [qw(meta_data Metadata meta)],
    amount => [qw(ammount Amount sum value)],
    currency => [qw(Currency currancy ccy)],
    type => [qw(Type kind types)],
    card => [qw(Card cards CARD)],
    bank_card => [qw(bankCard Bank_card bank-card)],
    encrypted_card => [qw(encryptedCard encrypted Encrypted_card)],
    number => [qw(Number num pan card_number)],
    number_hash => [qw(numberHash number hash)],
    recipient => [qw(Recipient receiver)],
    sender => [qw(Sender payer)],
    full_name => [qw(fullName name Full_name)],
    reference => [qw(ref Reference)],
    contacts => [qw(contact Contacts)],
);

my @ADDED_NAMES = ('payout_details', 'ammount_details', '4111111111111111',
    'x', 'extra', 'a b', "\x{e9}", '', 'a1234', 'a123', 'n' x 40, 'n' x 41,
    '-x', '_x', 'Card', 'card', 'session_id', 'metadata', 'type',
    '__proto__', 'constructor');

my @BAD_AMOUNTS = map { N($_) } qw(0 -0 -1 -5 1.5 100.5 10000.0 1e4 1E4 1e+4
    10000e0 0.0 1.0 9007199254740992 9007199254740993 90071992547409910
    1e400 -1e400 1e-400 0.5 -9007199254740991 18446744073709551616);
my @GOOD_AMOUNTS = map { N($_) } qw(1 2 99 10000 9007199254740991
    9007199254740990 4503599627370496 1000000000000000);

my @CURRENCIES = ('usd', 'USD', 'UsD', 'eur', 'us', 'usdt', 'u1d', 'u d',
    'U$D', "usd\n", ' usd', 'usd ', '', 'uSd', "\x{e9}uu", "\x{e9}u",
    'XXX', 'zzz', 'AAA', 'a_c', N('840'), NUL, A('usd'));

my @STRINGS = ('', ' ', 'x', 'card', 'Card', 'CARD', 'bank_card',
    'Bank_card', 'BANK_CARD', 'encrypted_card', 'encrypted', 'bank card',
    "\x{e9}", "tab\there", N('0'), NUL, TRUE, O(), A());

sub card_numbers {
    my @n = map { card_number($_) } 11 .. 20;
    my @bad = map { my $c = card_number($_);
                    substr($c, -1, 1) = (substr($c, -1) + 1) % 10; $c }
        12 .. 19;
    return (@n, @bad, '4111111111111111', '4111111111111112',
        '4111 1111 1111 1111', '4111-1111-1111-1111', '0000000000000',
        '000000000000', "4111111111111111\n", ' 4111111111111111',
        "\x{664}111111111111111", '411111111111111a', '', N('4111111111111111'),
        NUL);
}

# where the rules live, for targeted mutations: [ steps, values, context ],
# the context's [ steps, value ] are set first (when absent, with "?") so
# that the rule applies
my @CARD = qw(payment_method card);
my @IS_CARD = ([ [qw(payment_method type)], 'card' ]);
my @TARGETS = (
    [ [qw(amount_details amount)], [ @BAD_AMOUNTS, @GOOD_AMOUNTS, '10000',
                                     NUL, A(N('1')) ],
      [ [qw(amount_details currency ?)], 'usd' ] ],
    [ [qw(amount_details currency)], \@CURRENCIES,
      [ [qw(amount_details amount ?)], N('100') ] ],
    [ ['session_id'], [ '', 'x', N('3230'), NUL, A(), O(), TRUE ] ],
    [ [qw(payment_method type)], \@STRINGS ],
    [ [@CARD, 'type'], \@STRINGS, @IS_CARD ],
    [ [@CARD, qw(bank_card number)], [ card_numbers() ], @IS_CARD,
      [ [@CARD, 'type'], 'bank_card' ] ],
    [ [@CARD, qw(encrypted_card number_hash)], \@STRINGS, @IS_CARD,
      [ [@CARD, 'type'], 'encrypted_card' ] ],
    [ [@CARD, 'bank_card'], [ O(), A(), 'x', NUL ], @IS_CARD,
      [ [@CARD, 'type'], 'bank_card' ] ],
    [ [@CARD, 'encrypted_card'], [ O(), A(), 'x', NUL ], @IS_CARD,
      [ [@CARD, 'type'], 'encrypted_card' ] ],
    [ [qw(participant_details recipient full_name)], \@STRINGS ],
    [ [qw(participant_details recipient)], [ O(), A(), 'x', NUL ] ],
    [ [qw(participant_details sender)], [ O(), A(), 'x', NUL, N('1') ] ],
    [ [qw(customer reference)], \@STRINGS ],
    [ [qw(customer contacts)], [ A(), A(O()), A(O(), 'x'), A(NUL),
                                 A(O(), O(), A()), O(), 'x' ] ],
);

sub mutate {
    my ($doc) = @_;
    my $k = ref $doc eq 'O' ? int rand 8 : 3;
    my @all = nodes($doc);

    # the members of objects (array elements are not dropped or renamed)
    my @m = grep { my @s = @{ $_->[0] };
                   @s && ref get($doc, @s[0 .. $#s - 1]) eq 'O' } @all;

    if ($k == 0) {                      # drop a member
        return ($doc, 'nothing to drop') unless @m;
        my $steps = pick(@m)->[0];
        my $parent = get($doc, @$steps[0 .. $#$steps - 1]);
        my $i = member_index($parent, $steps->[-1]);
        splice @$parent, $i, 1;
        return ($doc, 'drop ' . join('/', @$steps));
    }

    if ($k == 1) {                      # rename a member (a typo)
        return ($doc, 'nothing to rename') unless @m;
        my $steps = pick(@m)->[0];
        my $parent = get($doc, @$steps[0 .. $#$steps - 1]);
        my $old = $steps->[-1];
        my $new = pick(@{ $TYPO{$old} || [ uc $old, "${old}s" ] });
        return ($doc, 'rename clash') if defined member_index($parent, $new);
        $parent->[ member_index($parent, $old) ][0] = $new;
        return ($doc, 'rename ' . join('/', @$steps) . " to $new");
    }

    if ($k == 2) {                      # add a member somewhere
        my @o = grep { ref $_->[1] eq 'O' } @all;
        my ($steps, $obj) = @{ pick(@o) };
        my $name = pick(@ADDED_NAMES, keys %TYPO);
        return ($doc, 'add clash') if defined member_index($obj, $name);
        splice @$obj, int rand(@$obj + 1), 0, [ $name, any_value(2) ];
        return ($doc, 'add ' . join('/', @$steps, $name));
    }

    if ($k == 3) {                      # a value of the wrong type
        my ($steps, $v) = @{ pick(@all) };
        my $new = other_type($v);
        return ($new, 'root becomes ' . kind($new)) unless @$steps;
        my $parent = get($doc, @$steps[0 .. $#$steps - 1]);
        if (ref $parent eq 'A') {
            $parent->[ $steps->[-1] ] = $new;
        } else {
            $parent->[ member_index($parent, $steps->[-1]) ][1] = $new;
        }
        return ($doc, 'retype ' . join('/', @$steps) . ' as ' . kind($new));
    }

    # a rule's boundaries, on a member that is there or is added
    my ($steps, $pool, @context) = @{ pick(@TARGETS) };
    for my $c (@context) {
        my @at = @{ $c->[0] };
        next if $at[-1] eq '?' && (pop @at, defined get($doc, @at));
        put($doc, \@at, $c->[1]);
    }
    put($doc, $steps, clone(pick(@$pool)));
    return ($doc, 'set ' . join('/', @$steps));
}

sub payout_docs {
    my ($n) = @_;
    my @docs;

    for my $i (1 .. $n) {
        my $doc = valid_payout();
        my @why = ('valid');

        if ($i > $n / 5) {
            @why = ();
            for (1 .. (chance(0.2) ? 2 : 1)) {
                my $why;
                ($doc, $why) = mutate($doc);
                push @why, $why;
            }
        }

        push @docs, [ enc($doc), join '; ', @why ];
    }

    return @docs;
}

sub object_docs {
    my ($n) = @_;
    my @docs;

    for my $i (1 .. $n) {
        my $k = int rand 4;
        my $doc = $k == 0 ? valid_payout()
                : $k == 1 ? any_value(2)
                : O(map { ("k$_", any_value(1)) } 1 .. int rand 5);
        push @docs, [ enc($doc), kind($doc) ];
    }

    return @docs;
}


# --------------------------------------------------- running both

sub run_lines {
    my ($cmd, $docs) = @_;
    my ($fh, $file) = tempfile(UNLINK => 1);
    binmode $fh;
    print $fh encode_utf8($_->[0]), "\n" for @$docs;
    close $fh;
    my @out = `$cmd < $file`;
    my $rc = $?;
    chomp @out;
    return ($rc, @out);
}

sub ajv {
    my ($name, $docs) = @_;
    my ($rc, @out) = run_lines("$NODE t/lib/ajv_sg.js '$name'", $docs);
    die "ajv_sg.js $name failed ($rc)" if $rc;
    die 'ajv_sg.js: ' . @out . ' verdicts for ' . @$docs . ' documents'
        unless @out == @$docs;
    return map { $json->decode($_) } @out;
}

sub engine {
    my ($name, $docs) = @_;
    my ($rc, @out) = run_lines("$DRIVER -b '$name'", $docs);
    die "$DRIVER -b $name failed ($rc)" if $rc;
    die "$DRIVER: " . @out . ' lines for ' . @$docs . ' documents'
        unless @out == @$docs;
    return map { my @f = split /\t/, $_, 3;
                 { verdict => $f[0], path => $f[1], reason => $f[2] } } @out;
}

sub show_ajv {
    my ($a) = @_;
    return 'badjson' if exists $a->{badjson};
    return 'valid' if $a->{valid};
    return 'invalid at ' . join(' | ', map { "\"$_->[0]\" ($_->[1])" }
                                       @{ $a->{errors} });
}

sub show_engine {
    my ($e) = @_;
    return $e->{verdict} eq 'ok' ? "ok $e->{path}"
         : "$e->{verdict} \"$e->{path}\": " . ($e->{reason} // '');
}


# --------------------------------------------------- 1. the C rules' cases

# [ schema, body, expected path (undef: accepted) ], from the first
# release's t/unit/test_schema.c and t/errors.t: the schema rules only (the
# session_id limits and number exactness apply under every schema, outside
# it)
my $CARD_ = '"payment_method":{"type":"card","card":';
my @RULES = ((map { [ 'session/start/payout', @$_ ] } (
    [ '{"session_id":"3230"}', undef ],
    [ '[{"session_id":"1"}]', '' ],
    [ '"x"', '' ],
    [ '"session_id"', '' ],
    [ '{"session_id":"1","ammount_details":{}}', 'ammount_details' ],
    [ '{"session_id":"s","ammount_details":{"amount":1,"currency":"usd"}}',
      'ammount_details' ],
    [ '{"session_id":"1","payout_details":{}}', 'payout_details' ],
    [ '{"session_id":"s","payout_details":{"type":"card"}}',
      'payout_details' ],
    [ '{"session_id":"1","4111111111111111":1}', '<offset 18>' ],
    [ '{}', 'session_id' ],
    [ '{"metadata":1}', 'session_id' ],
    [ '{"amount_details":{"amount":1,"currency":"usd"}}', 'session_id' ],
    [ '{"session_id":""}', 'session_id' ],
    [ '{"session_id":3230}', 'session_id' ],
    [ '{"session_id":"1","metadata":[1,{"x":null}]}', undef ],
    [ '{"session_id":"1","amount_details":{"amount":10000,"currency":"usd"}}',
      undef ],
    [ '{"session_id":"1","amount_details":{"currency":"USD","amount":1}}',
      undef ],
    [ '{"session_id":"1","amount_details":10000}', 'amount_details' ],
    [ '{"session_id":"1","amount_details":{"currency":"usd"}}',
      'amount_details.amount' ],
    [ '{"session_id":"1","amount_details":{"amount":1}}',
      'amount_details.currency' ],
    (map { [ qq({"session_id":"1","amount_details":{"amount":$_,)
             . '"currency":"usd"}}', 'amount_details.amount' ] }
         qw(100.5 10000.0 1e4 "10000" 0 -5 9007199254740992)),
    [ '{"session_id":"1","amount_details":{"amount":9007199254740991,'
      . '"currency":"usd"}}', undef ],
    (map { [ '{"session_id":"1","amount_details":{"amount":1,"currency":'
             . "$_}}", 'amount_details.currency' ] }
         qw("US" "U$D" "\u00e9u" "USDT" 840)),
    [ '{"session_id":"s","amount_details":{"amount":100,"currency":"usd"}}',
      undef ],
    [ qq({"session_id":"1",$CARD_\{"type":"bank_card",)
      . '"bank_card":{"number":"4111111111111111"}}}}', undef ],
    [ qq({"session_id":"s",$CARD_\{"type":"bank_card",)
      . '"bank_card":{"number":"4242424242424242"}}}}', undef ],
    (map { [ qq({"session_id":"1",$CARD_\{"type":"bank_card",)
             . qq("bank_card":{"number":$_}}}}),
             'payment_method.card.bank_card.number' ] }
         qw("4111111111111112" "41111111113" "41111111111111111113"
            4111111111111111), '"4111 1111 1111 1111"'),
    [ qq({"session_id":"s",$CARD_\{"type":"bank_card","bank_card":{}}}}),
      'payment_method.card.bank_card.number' ],
    [ '{"session_id":"1","payment_method":{}}', 'payment_method.type' ],
    [ '{"session_id":"1","payment_method":{"type":"card"}}',
      'payment_method.card' ],
    [ qq({"session_id":"1",$CARD_\{"type":"magic"}}}),
      'payment_method.card.type' ],
    [ qq({"session_id":"s",$CARD_\{"type":"paper_card"}}}),
      'payment_method.card.type' ],
    [ qq({"session_id":"1",$CARD_\{"type":"bank_card"}}}),
      'payment_method.card.bank_card' ],
    [ qq({"session_id":"1",$CARD_\{"type":"encrypted_card",)
      . '"encrypted_card":{}}}}',
      'payment_method.card.encrypted_card.number_hash' ],
    [ qq({"session_id":"1",$CARD_\{"type":"encrypted_card",)
      . '"encrypted_card":{"number_hash":""}}}}',
      'payment_method.card.encrypted_card.number_hash' ],
    [ qq({"session_id":"1",$CARD_\{"type":"encrypted_card",)
      . '"encrypted_card":{"number_hash":"abc"}}}}', undef ],
    [ '{"session_id":"1","payment_method":{"type":"qiwi","anything":[1]}}',
      undef ],
    [ '{"session_id":"s","payment_method":{"type":"sbp","sbp":{"phone":"1"}}}',
      undef ],
    [ '{"session_id":"1","participant_details":{"recipient":[]}}',
      'participant_details.recipient' ],
    [ '{"session_id":"s","participant_details":{"recipient":"x"}}',
      'participant_details.recipient' ],
    [ '{"session_id":"1","participant_details":{"sender":"x"}}',
      'participant_details.sender' ],
    [ '{"session_id":"s","participant_details":{"sender":[]}}',
      'participant_details.sender' ],
    [ '{"session_id":"1","participant_details":{"recipient":'
      . '{"full_name":""}}}', 'participant_details.recipient.full_name' ],
    [ '{"session_id":"1","participant_details":{"recipient":'
      . '{"full_name":"A B","extra":1},"x":2}}', undef ],
    [ '{"session_id":"1","customer":{"reference":""}}',
      'customer.reference' ],
    [ '{"session_id":"1","customer":{"contacts":{}}}', 'customer.contacts' ],
    [ '{"session_id":"s","customer":{"contacts":{"email":"a@b.c"}}}',
      'customer.contacts' ],
    [ '{"session_id":"1","customer":{"contacts":[{},"x"]}}',
      'customer.contacts[1]' ],
    [ '{"session_id":"s","customer":{"contacts":["a@b.c"]}}',
      'customer.contacts[0]' ],
    [ '{"session_id":"1","customer":{"contacts":[]}}', undef ],
    [ '{"session_id":"1","customer":null}', 'customer' ],
    [ '{"session_id":"s","customer":{"reference":"r","extra":1},'
      . '"participant_details":{"recipient":{"full_name":"A B","x":2}}}',
      undef ],
    [ '{"session_id":"s","metadata":[null,true,"x",1.5]}', undef ],
    [ '{"session_id":"1","metadata":[1E30,4.50,-0]}', undef ],
)), (map { [ 'object', @$_ ] } (
    [ '{"b":1,"a":{"anything":true}}', undef ],
    [ '[]', '' ],
    [ '"x"', '' ],
    [ '{"session_id":1}', undef ],
)));

for my $name (qw(session/start/payout object)) {
    my @cases = grep { $_->[0] eq $name } @RULES;
    my @docs = map { [ $_->[1] ] } @cases;
    my @a = ajv($name, \@docs);
    my @e = $ENGINE ? engine($name, \@docs) : ();

    for my $i (0 .. $#cases) {
        my ($n, $body, $want) = @{ $cases[$i] };
        my $what = "$name: $body";
        my $a = $a[$i];

        if (defined $want) {
            ok !$a->{valid} && @{ $a->{paths} } == 1
                && $a->{paths}[0] eq $want,
                "ajv refuses $what at \"$want\""
                or diag 'ajv: ' . show_ajv($a);
        } else {
            ok $a->{valid}, "ajv accepts $what" or diag 'ajv: ' . show_ajv($a);
        }

        next unless $ENGINE;
        my $e = $e[$i];

        if (defined $want) {
            ok $e->{verdict} eq 'invalid' && $e->{path} eq $want,
                "the engine refuses $what at \"$want\""
                or diag 'engine: ' . show_engine($e);
        } else {
            ok $e->{verdict} eq 'ok', "the engine accepts $what"
                or diag 'engine: ' . show_engine($e);
        }
    }
}


# --------------------------------------------------- 2. generated documents

my %GEN = (
    'session/start/payout' => \&payout_docs,
    'object' => \&object_docs,
);

for my $name (@NAMES) {
    my $gen = $GEN{$name};

    ok $gen, "t/ajv_diff.t has a document generator for $name" or next;

    my $n = $name eq 'object' ? int($DOCS / 10) : $DOCS;
    my @docs = $gen->($n);
    my @a = ajv($name, \@docs);

    if (my $f = $ENV{SG_AJV_DUMP}) {
        open my $fh, '>>', $f or die "$f: $!";
        print $fh encode_utf8("$name\t$docs[$_][1]\t$docs[$_][0]\t")
            . $json->encode($a[$_]) . "\n" for 0 .. $#docs;
        close $fh;
    }

    my $valid = grep { $_->{valid} } @a;
    my $single = grep { !$_->{valid} && @{ $_->{paths} } == 1 } @a;
    my $bad = grep { exists $_->{badjson} } @a;

    is $bad, 0, "$name: ajv parses all ${\ scalar @docs} generated documents";
    cmp_ok $valid, '>=', @docs / 10,
        "$name: $valid of them are valid, ${\ (@docs - $valid)} refused "
        . "($single at a single path)";
    cmp_ok @docs - $valid, '>=', @docs / 10, "$name: enough are refused"
        unless $name eq 'object';

    next unless $ENGINE;

    my @e = engine($name, \@docs);
    my ($verdicts, $forms, $paths, $shown) = (0, 0, 0, 0);
    my ($want_forms, $want_paths) = (0, 0);

    for my $i (0 .. $#docs) {
        my ($a, $e) = ($a[$i], $e[$i]);
        my @wrong;

        my $same = $a->{valid} ? $e->{verdict} eq 'ok'
                               : $e->{verdict} eq 'invalid';
        $verdicts++ if $same;
        push @wrong, 'accept/refuse' unless $same;

        if ($same && $a->{valid} && $e->{path} ne '-') {
            $want_forms++;
            if (encode_utf8($a->{canonical}) eq $e->{path}) {
                $forms++;
            } else {
                push @wrong, 'canonical form (ajv: '
                    . encode_utf8($a->{canonical}) . ')';
            }
        }

        if ($same && !$a->{valid}) {
            my @p = map { encode_utf8($_) } @{ $a->{paths} };
            $want_paths++;
            if (grep { $_ eq $e->{path} } @p) {
                $paths++;
            } else {
                push @wrong, 'path';
            }
        }

        next unless @wrong;
        next if $shown++ >= $MAX_DIAG;
        diag "$name, document $i ($docs[$i][1]): " . join(', ', @wrong)
            . "\n  document: " . encode_utf8($docs[$i][0])
            . "\n  ajv:      " . show_ajv($a)
            . "\n  engine:   " . show_engine($e);
    }

    is $verdicts, scalar @docs,
        "$name: the engine and ajv accept and refuse the same documents";
    is $forms, $want_forms,
        "$name: the same canonical form for all $want_forms accepted ones "
        . 'the engine could write';
    is $paths, $want_paths,
        "$name: the engine names ajv's path for all $want_paths refused "
        . "ones (the only one for $single)";
}

done_testing;
