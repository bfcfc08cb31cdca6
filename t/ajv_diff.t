#!/usr/bin/perl
# The schema engine against ajv 6 (Debian's node-ajv, draft-07), which shares
# no code with it, on the built-in schemas (schemas/**/*.json):
#
# 1. the rule cases of the first release (t/unit/test_schema.c, t/errors.t
#    at 591626b), as issue 10 changed them, through ajv and through the
#    engine: each schema file means what the rules say, case by case, path
#    by path;
# 2. the bank of t/api_bank.t (t/lib/api_bank/): the docs' and the SDK's
#    bodies, valid ones accepted by both with the same canonical form,
#    malformed ones refused by both, the engine naming the expected path;
# 3. for each built-in schema, documents generated from a fixed seed:
#    valid ones (from the bank, and built from the schema itself: each
#    built-in must have a generator, the generic one below or its own),
#    then mutations (members dropped, renamed, added; wrong types; each
#    rule's boundaries: near misses of every enum and discriminator value
#    such as Card for card, of every pattern, amount, currency and card
#    number; two mutations at once).  ajv (t/lib/ajv_sg.js) and
#    build/schema_driver -b NAME must agree on accept or refuse for every
#    one, on the canonical form of every accepted one, and on the failing
#    path;
# 4. the ISO 4217 list embedded at build time (schemas/embed.sh): every
#    three-letter code, in lower and upper case, against the list of
#    Debian's iso-codes read here as JSON; and embed.sh failing without it.
#
# Paths.  ajv runs with allErrors: true.  With allErrors: false it reports
# the first error in its own keyword order (required before properties,
# properties in schema order), which says nothing about which problem comes
# first in the document; the engine reports the first in document order.
# With every error listed, a refused document has one failing location or
# several: with one, the engine must name exactly that path; with several,
# its path must be one of them.  (x-sg-discriminator only picks which error
# the engine names: acceptance is plain oneOf's, so ajv, which knows no
# discriminator, lists every branch's failures.)
#
# Number spellings.  ajv sees parsed numbers; t/lib/ajv_sg.js parses each
# line itself and gives x-sg-integer-literal the number's literal text, so
# 10000.0 and 1e4 are compared as written (see there).
#
# Before the engine exists (no t/unit/schema_driver.c), only ajv runs.
#
#   SG_AJV_SEED=N   another seed      SG_AJV_DOCS=N   documents per payout
#                                                     schema (a tenth of
#                                                     that for the others)
#   SG_AJV_DUMP=F   write every generated document and ajv's verdict to F


use Encode qw(encode_utf8);
use File::Temp qw(tempfile);
use FindBin;
use JSON::PP;
use Scalar::Util ();
use Test::More;

my $ROOT = "$FindBin::Bin/..";
my $NODE = $ENV{NODE} || 'node';
my $SEED = $ENV{SG_AJV_SEED} || 2019;
my $DOCS = $ENV{SG_AJV_DOCS} || 2000;
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

# sets the value at member path steps; objects on the way are created at
# the end of their parent, a non-object on the way is replaced by an empty
# one; an array on the way is entered at an index it has (else false)
sub put {
    my ($doc, $steps, $value) = @_;
    my @steps = @$steps;
    my $last = pop @steps;
    my $v = $doc;

    for my $s (@steps) {
        if (ref $v eq 'A') {
            return 0 unless $s =~ /\A\d+\z/ && $s < @$v;
            $v->[$s] = O() unless ref $v->[$s] eq 'O' || ref $v->[$s] eq 'A';
            $v = $v->[$s];
            next;
        }
        my $i = member_index($v, $s);
        if (!defined $i) {
            push @$v, [ $s, O() ];
            $i = $#$v;
        }
        $v->[$i][1] = O()
            unless ref $v->[$i][1] eq 'O' || ref $v->[$i][1] eq 'A';
        $v = $v->[$i][1];
    }

    if (ref $v eq 'A') {
        return 0 unless $last =~ /\A\d+\z/ && $last < @$v;
        $v->[$last] = $value;
        return 1;
    }

    my $i = member_index($v, $last);
    if (defined $i) {
        $v->[$i][1] = $value;
    } else {
        push @$v, [ $last, $value ];
    }
    return 1;
}

# a JSON text (characters) as a typed document: members in order, numbers
# as written (the bank's bodies)
sub typed {
    my ($text) = @_;
    my $v = typed_value(\$text);
    $text =~ /\G\s*\z/gc or die "typed: trailing text";
    return $v;
}

sub typed_value {
    my ($t) = @_;
    $$t =~ /\G\s*/gc;
    if ($$t =~ /\G\{/gc) {
        my @m;
        $$t =~ /\G\s*/gc;
        return O() if $$t =~ /\G\}/gc;
        while (1) {
            my $name = typed_value($t);
            $$t =~ /\G\s*:/gc or die 'typed: expected :';
            push @m, $name, typed_value($t);
            $$t =~ /\G\s*/gc;
            next if $$t =~ /\G,/gc;
            $$t =~ /\G\}/gc or die 'typed: expected }';
            return O(@m);
        }
    }
    if ($$t =~ /\G\[/gc) {
        my @a;
        $$t =~ /\G\s*/gc;
        return A() if $$t =~ /\G\]/gc;
        while (1) {
            push @a, typed_value($t);
            $$t =~ /\G\s*/gc;
            next if $$t =~ /\G,/gc;
            $$t =~ /\G\]/gc or die 'typed: expected ]';
            return A(@a);
        }
    }
    if ($$t =~ /\G("(?:[^"\\]|\\.)*")/gc) {
        return JSON::PP->new->allow_nonref->decode($1);
    }
    return N($1)
        if $$t =~ /\G(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)/gc;
    return TRUE if $$t =~ /\Gtrue/gc;
    return FALSE if $$t =~ /\Gfalse/gc;
    return NUL if $$t =~ /\Gnull/gc;
    die 'typed: unexpected text at ' . pos($$t);
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

my @WORD = ('a' .. 'z', 'A' .. 'Z', '0' .. '9', '_', ' ', '-');

sub word {
    my $n = 1 + int rand 8;
    join '', map { $WORD[int rand @WORD] } 1 .. $n;
}

my @TEXTS = ("\x{e9}t\x{e9}", "\x{4e2d}\x{6587}", "\x{1f600}", 'a"b\\c',
             "line\nbreak", '4111111111111111', 'x');

sub text_value {
    my $k = int rand(@TEXTS + 2);
    return $k == 0 ? word() : $k == 1 ? word() . ' ' . word()
         : $TEXTS[$k - 2];
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



# --------------------------------------------------- values and pools

sub amount_value {
    pick(N('1'), N('9007199254740991'), N('10000'), N(1 + int rand 1e9),
         N('9' x (1 + int rand 15)), N('1' . digits(int rand 15)));
}

# an open object may carry members no schema names
sub extras {
    my ($obj) = @_;
    my @names = grep { !defined member_index($obj, $_) }
        qw(extra note fee id holder x);
    push @$obj, [ pick(@names), any_value(2) ] if chance(0.3) && @names;
    return shuffle_members($obj);
}

my %TYPO = (
    session_id => [qw(sessionId session-id Session_id session_ID sesion_id)],
    amount_details => [qw(ammount_details amount_detail amountDetails
                          Amount_details amount)],
    payment_method => [qw(payment_methods paymentMethod payment_details
                          Payment_method method)],
    payout_details => [qw(payout_detail payoutDetails Payout_details
                          payment_details)],
    participant_details => [qw(participants participant_detail
                               Participant_details)],
    customer => [qw(customers Customer client)],
    metadata => [qw(meta_data Metadata meta)],
    amount => [qw(ammount Amount sum value)],
    currency => [qw(Currency currancy ccy)],
    type => [qw(Type kind types)],
    system_type => [qw(systemType system System_type type)],
    card => [qw(Card cards CARD)],
    bank_account => [qw(bank_acount bankAccount Bank_account account)],
    wallet => [qw(Wallet wallets)],
    bank_card => [qw(bankCard Bank_card bank-card)],
    encrypted_card => [qw(encryptedCard encrypted Encrypted_card)],
    tokenized_card => [qw(tokenizedCard tokenised_card token)],
    number => [qw(Number num pan card_number)],
    number_hash => [qw(numberHash number hash)],
    token => [qw(Token tokens)],
    recipient => [qw(Recipient receiver recipent)],
    sender => [qw(Sender payer)],
    full_name => [qw(fullName name Full_name)],
    reference => [qw(ref Reference)],
    contacts => [qw(contact Contacts)],
    request_datetime => [qw(requestDatetime request_date_time datetime)],
);

my @ADDED_NAMES = ('payout_details', 'payment_method', 'ammount_details',
    'recipent', 'fiscalization_details', 'custom_routing', '4111111111111111',
    'x', 'extra', 'a b', "\x{e9}", '', 'a1234', 'a123', 'n' x 40, 'n' x 41,
    '-x', '_x', 'Card', 'card', 'session_id', 'metadata', 'type',
    'system_type', '__proto__', 'constructor');

my @BAD_AMOUNTS = map { N($_) } qw(0 -0 -1 -5 1.5 100.5 10000.0 1e4 1E4 1e+4
    10000e0 0.0 1.0 9007199254740992 9007199254740993 90071992547409910
    1e400 -1e400 1e-400 0.5 -9007199254740991 18446744073709551616);
my @GOOD_AMOUNTS = map { N($_) } qw(1 2 99 10000 9007199254740991
    9007199254740990 4503599627370496 1000000000000000);

my @CURRENCIES = ('usd', 'USD', 'UsD', 'eur', 'us', 'usdt', 'u1d', 'u d',
    'U$D', "usd\n", ' usd', 'usd ', '', 'uSd', "\x{e9}uu", "\x{e9}u",
    'XXX', 'zzz', 'AAA', 'a_c', N('840'), NUL, A('usd'));

sub card_numbers {
    my @n = map { card_number($_) } 11 .. 20;
    my @bad = map { my $c = card_number($_);
                    substr($c, -1, 1) = (substr($c, -1) + 1) % 10; $c }
        12 .. 19;
    return (@n, @bad, '4111111111111111', '4111111111111112',
        '4111 1111 1111 1111', '4111-1111-1111-1111', '0000000000000',
        '000000000000', "4111111111111111\n", ' 4111111111111111',
        "\x{664}111111111111111", '411111111111111a', '', N('4111111111111111'),
        '2200********4940', NUL);
}


# --------------------------------------------------- the bank

# t/lib/api_bank/*.txt as t/api_bank.t reads them (see there)
sub bank {
    my ($file) = @_;
    my (@entries, $e);

    for my $line (split /\n/, Encode::decode_utf8(slurp($file))) {
        if ($line =~ /\A=== (\S+) (\S+)\s*\z/) {
            push @entries, $e = { id => $1, method => $2, body => '' };
            next;
        }
        next if !$e || $line =~ /\A#/;
        if ($e->{body} eq '' && $line =~ /\A(source|expect): (.*)\z/) {
            push @{ $e->{$1} }, $2;
            next;
        }
        next if $e->{body} eq '' && $line =~ /\A\s*\z/;
        $e->{body} .= ($e->{body} eq '' ? '' : "\n") . $line;
    }
    s/\s+\z// for map { $_->{body} } @entries;
    return @entries;
}

my @VALID = bank('t/lib/api_bank/valid.txt');
my @MALFORMED = bank('t/lib/api_bank/malformed.txt');

# --------------------------------------------------- documents from a schema
#
# The generic generator: a valid document built from a built-in schema
# itself (following $ref into sg:common, allOf, x-sg-discriminator's oneOf,
# the if/then/else forms the schemas use), with the sites of its rules
# noted for the targeted mutations below.  It knows the keywords and the
# patterns the built-ins use and dies on any other, so that a new rule
# cannot go unexercised: teach it the new pattern.  Acceptance is decided
# by ajv and the engine, never here.

my %SCHEMA = ('sg:common' => $json->decode(slurp('schemas/common.json')));
$SCHEMA{$_} = $json->decode(slurp("schemas/$_.json")) for @NAMES;

sub slurp {
    my ($f) = @_;
    open my $fh, '<:raw', $f or die "$f: $!";
    local $/;
    return scalar <$fh>;
}

my @ISO = sort map { $_->{alpha_3} } @{ $json->decode(slurp(
    $ENV{SG_ISO_4217} || '/usr/share/iso-codes/json/iso_4217.json'))->{4217} };
my %ISO = map { $_ => 1 } @ISO;

my $NON_BLANK = '[^ \t\n\x0b\f\r]';

sub is_bool_schema { ref $_[0] && ref($_[0]) =~ /Boolean/ }

# follows $ref: (document name, schema)
sub deref {
    my ($doc, $s) = @_;
    for (1 .. 64) {
        return ($doc, $s) unless ref $s eq 'HASH' && exists $s->{'$ref'};
        my ($c, $ptr) = $s->{'$ref'} =~ /\A(sg:common)?#(.*)\z/
            or die "ajv_diff: unsupported \$ref $s->{'$ref'}";
        $doc = 'sg:common' if $c;
        $s = $SCHEMA{$doc};
        for my $seg (grep { length } split m{/}, $ptr) {
            $seg =~ s/~1/\//g;
            $seg =~ s/~0/~/g;
            $s = $s->{$seg} // die "ajv_diff: \$ref $ptr resolves nowhere";
        }
    }
    die 'ajv_diff: $ref loop';
}

# a schema with its allOf, flattened: [document, schema object] ...
# (the schemas never change: computed once for each)
my %PARTS;

sub parts {
    my ($doc, $s) = @_;
    my $key = ref $s ? "$doc\0" . Scalar::Util::refaddr($s) : undef;
    return @{ $PARTS{$key} } if defined $key && $PARTS{$key};
    my ($d, $t) = deref($doc, $s);
    my @p;
    if (!is_bool_schema($t)) {
        @p = ([ $d, $t ]);
        push @p, parts($d, $_) for @{ $t->{allOf} // [] };
    }
    $PARTS{$key} = \@p if defined $key;
    return @p;
}

# the first value of a keyword among the parts, or all of them
sub kw {
    my ($p, $k) = @_;
    for (@$p) {
        return $_->[1]{$k} if exists $_->[1]{$k};
    }
    return undef;
}

sub kws {
    my ($p, $k) = @_;
    return map { exists $_->[1]{$k} ? $_->[1]{$k} : () } @$p;
}

# a schema value (JSON::PP) as a typed value
sub typed_const {
    my ($v) = @_;
    return NUL unless defined $v;
    return $v ? TRUE : FALSE if is_bool_schema($v);
    die 'ajv_diff: only scalar consts are generated' if ref $v;
    return "$v";
}

# near misses of a string the schema fixes (enum, const): other cases,
# spaces, a plural, a letter lost, the other allowed values
sub near_misses {
    my ($v, @others) = @_;
    my @m = (ucfirst $v, uc $v, "$v ", " $v", "${v}s", substr($v, 0, -1),
             $v =~ s/_//gr, $v =~ s/_/-/gr, '', N('1'), NUL, O(), @others);
    return grep { ref || $_ ne $v } @m;
}

my @BLANKS = ('', ' ', '   ', "\t", "\n", "\r\n", "\x0b", "\f", "\x{a0}",
              "\x{2028}", 'x', ' x ', "\x{e9}", N('0'), NUL, TRUE, O(), A());

sub datetime_value {
    sprintf '%04d-%02d-%02dT%02d:%02d:%02d%s%s', 1970 + int rand 80,
        1 + int rand 12, 1 + int rand 28, int rand 24, int rand 60,
        int rand 60, pick('', '.5', '.123456'),
        pick('', 'Z', '+03:00', '-05:30', '+0300', '+03');
}

my @DATETIMES = ('2024-04-10T19:53:00+03:00', '2024-04-10T19:53:00Z',
    '2024-04-10T19:53:00', '2024-04-10', '19:53:00', '2024-04-10 19:53:00',
    '2024-13-10T19:53:00Z', '2024-04-32T19:53:00Z', '2024-04-10T24:00:00Z',
    '2024-04-10T19:60:00Z', '2024-04-10T19:53:60Z', '2024-04-10t19:53:00z',
    '20240410T195300+0300', '2024-04-10T19:53:00+3:00', '', N('1712768000'),
    "2024-04-10T19:53:00Z\n", ' 2024-04-10T19:53:00Z');

# a string for the parts' keywords, and (a function giving) the pool of
# its boundaries
sub gen_string {
    my ($p) = @_;
    my @pat = kws($p, 'pattern');
    my $min = kw($p, 'minLength') // 0;
    my $max = kw($p, 'maxLength');
    my ($v, $pool);

    if (grep { $_ } kws($p, 'x-sg-luhn')) {
        return (card_number(12 + int rand 8), \&card_numbers);
    }

    for my $pat (@pat) {
        if ($pat eq '@ISO_4217@') {
            my $c = pick(@ISO);
            $v = pick(lc $c, $c, join '', map { pick(lc $_, $_) } split //, $c);
            $pool = sub { (@CURRENCIES, (map { lc } pick(@ISO), pick(@ISO)),
                           pick(@ISO) . ' ', 'zzz', 'ZZZ', 'xts', 'XXX',
                           'rur') };
        } elsif ($pat =~ /\A\^\[0-9\]\{(\d+)(?:,(\d+))?\}\$\z/) {
            my ($a, $b) = ($1, $2 // $1);
            $v = digits($a + int rand($b - $a + 1));
            $pool = sub { ((map { digits($_) } grep { $_ >= 0 } $a - 1, $a,
                            $b, $b + 1), '+' . digits($a), digits($a) . 'a',
                           ' ' . digits($a), digits($a) . "\n",
                           N('1' . digits($a - 1))) };
        } elsif ($pat =~ /\A\^\[A-Za-z\]\{(\d+)\}\$\z/) {
            my $n = $1;
            $v = join '', map { pick('A' .. 'Z', 'a' .. 'z') } 1 .. $n;
            $pool = sub { ((map { 'A' x $_ } grep { $_ } $n - 1, $n, $n + 1),
                           'A1' . ('A' x ($n - 2)), "\x{c9}" x $n, '') };
        } elsif ($pat =~ /\A\^\[0-9\]\{4\}-/) {
            $v = datetime_value();
            $pool = sub { (@DATETIMES, datetime_value()) };
        } elsif ($pat eq $NON_BLANK) {
            $v = text_value() while !defined $v || $v !~ /[^ \t\n\x0b\f\r]/;
            $pool = sub { @BLANKS };
        } else {
            die "ajv_diff: no generator for the pattern $pat";
        }
    }

    $v //= text_value();
    $pool //= sub { ('', 'x', N('1'), NUL, A()) };
    if (defined $max) {
        $v = substr($v, 0, $max);
        $v = 'x' unless length $v >= $min && $v =~ /[^ \t\n\x0b\f\r]/;
        my $inner = $pool;
        $pool = sub { ($inner->(), 'x' x $max, 'x' x ($max + 1),
                       "\x{1f600}" x $max, "\x{1f600}" x ($max + 1)) };
    }
    return ($v, $pool);
}

# a value for the parts (a schema flattened), noting [steps, pool] sites
sub gen {
    my ($p, $steps, $sites, $depth) = @_;

    return any_value($depth) unless @$p;

    my $const = kw($p, 'const');
    my $enum = kw($p, 'enum');
    if (grep { exists $_->[1]{const} } @$p) {
        my $v = typed_const($const);
        push @$sites, [ [@$steps], sub { near_misses($v) } ] unless ref $v;
        return $v;
    }
    if ($enum) {
        my @v = map { typed_const($_) } @$enum;
        my $v = pick(@v);
        push @$sites, [ [@$steps], sub { near_misses($v, @v) } ];
        return $v;
    }

    my $type = kw($p, 'type');
    die 'ajv_diff: a type list is not generated' if ref $type;

    if (!defined $type) {
        return any_value($depth)
            unless grep { $_->[1]{properties} || $_->[1]{oneOf} } @$p;
        $type = 'object';
    }

    if ($type eq 'object') {
        push @$sites, [ [@$steps], sub { (O(), A(), 'x', NUL, N('1')) } ]
            if @$steps;
        return gen_object($p, $steps, $sites, $depth);
    }

    if ($type eq 'array') {
        my $items = kw($p, 'items');
        my $n = (kw($p, 'minItems') // 0) + int rand 3;
        push @$sites, [ [@$steps], sub { (A(), O(), 'x', NUL, A(NUL),
                                          A('x')) } ];
        return A(map { gen($items ? [ parts(member_doc($p, 'items'),
                                             $items) ] : [],
                           [ @$steps, $_ - 1 ], $sites, $depth + 1) }
                 1 .. $n);
    }

    if ($type eq 'string') {
        my ($v, $pool) = gen_string($p);
        push @$sites, [ [@$steps], $pool ];
        return $v;
    }

    if ($type eq 'integer') {
        if ((kw($p, 'maximum') // 0) == 9007199254740991) {
            push @$sites, [ [@$steps], sub { (@BAD_AMOUNTS, @GOOD_AMOUNTS,
                                              '10000', NUL, A(N('1'))) } ];
            return amount_value();
        }
        push @$sites, [ [@$steps], sub { map { N($_) } qw(0 -1 1 2 1.0 1e0
                                                          1.5 1000000) } ];
        return N(1 + int rand 5);
    }

    if ($type eq 'boolean') {
        push @$sites, [ [@$steps], sub { ('true', 'false', N('1'), N('0'),
                                          NUL, TRUE, FALSE) } ];
        return pick(TRUE, FALSE);
    }

    die "ajv_diff: no generator for type $type";
}

# the document a part's keyword was written in ("items" of which part)
sub member_doc {
    my ($p, $k) = @_;
    for (@$p) { return $_->[0] if exists $_->[1]{$k} }
    return 'sg:common';
}

# whether an object (typed) satisfies an "if" of the forms the built-ins
# use: required, and properties with const
sub holds {
    my ($obj, $doc, $cond) = @_;
    ($doc, $cond) = deref($doc, $cond);
    for my $r (@{ $cond->{required} // [] }) {
        return 0 unless defined member_index($obj, $r);
    }
    for my $n (keys %{ $cond->{properties} // {} }) {
        my $i = member_index($obj, $n);
        next unless defined $i;
        my (undef, $c) = deref($doc, $cond->{properties}{$n});
        die 'ajv_diff: an if tests only const' unless exists $c->{const};
        my $v = $obj->[$i][1];
        return 0 if ref $v || $v ne $c->{const};
    }
    for my $k (keys %$cond) {
        die "ajv_diff: an if with $k is not generated"
            unless $k eq 'required' || $k eq 'properties';
    }
    return 1;
}

# what an object of these parts holds: its properties' parts, required
# members, if/then/else, closed or not (computed once for each)
my %PLAN;

sub object_plan {
    my (@all) = @_;
    my $key = join ',', map { Scalar::Util::refaddr($_->[1]) } @all;
    return $PLAN{$key} if $PLAN{$key};
    my %plan = (props => {}, required => [], ifs => []);

    for my $part (@all) {
        my ($doc, $s) = @$part;
        for my $n (keys %{ $s->{properties} // {} }) {
            $plan{props}{$n} //= [];
            push @{ $plan{props}{$n} }, parts($doc, $s->{properties}{$n});
        }
        push @{ $plan{required} }, @{ $s->{required} // [] };
        push @{ $plan{ifs} }, [ $doc, $s ] if $s->{if};
        $plan{closed} = 1 if exists $s->{additionalProperties}
            && !(is_bool_schema($s->{additionalProperties})
                 && $s->{additionalProperties});
        $plan{min} = $s->{minProperties} if defined $s->{minProperties};
    }
    $plan{names} = [ sort keys %{ $plan{props} } ];
    return $PLAN{$key} = \%plan;
}

sub gen_object {
    my ($p, $steps, $sites, $depth) = @_;
    my @all = @$p;

    # x-sg-discriminator: one branch, merged in
    for my $part (@$p) {
        my ($doc, $s) = @$part;
        next unless $s->{oneOf};
        die 'ajv_diff: oneOf without x-sg-discriminator is not generated'
            unless $s->{'x-sg-discriminator'};
        push @all, parts($doc, pick(@{ $s->{oneOf} }));
    }

    my $plan = object_plan(@all);
    my %props = %{ $plan->{props} };
    my @required = @{ $plan->{required} };
    my @ifs = @{ $plan->{ifs} };
    my ($closed, $min) = @$plan{qw(closed min)};

    my %want = map { $_ => 1 } @required;
    for my $n (@{ $plan->{names} }) {
        $want{$n} = 1 if chance(0.5);
    }
    my @names = grep { $want{$_} } @{ $plan->{names} };
    push @names, pick(@{ $plan->{names} }) while @names < ($min // 0);

    my $obj = O();
    my $add = sub {
        my ($n) = @_;
        return if defined member_index($obj, $n);
        push @$obj, [ $n, gen($props{$n} // [], [ @$steps, $n ], $sites,
                              $depth + 1) ];
    };
    $add->($_) for @names;

    # then and else: members they require are added, members they forbid
    # ({"not": {}}) removed
    for my $if (@ifs) {
        my ($doc, $s) = @$if;
        my $then = holds($obj, $doc, $s->{if}) ? $s->{then} : $s->{else};
        next unless $then;
        (my $d, $then) = deref($doc, $then);
        $add->($_) for @{ $then->{required} // [] };
        for my $n (keys %{ $then->{properties} // {} }) {
            my (undef, $f) = deref($d, $then->{properties}{$n});
            next unless ref $f eq 'HASH' && exists $f->{not};
            my $i = member_index($obj, $n);
            splice @$obj, $i, 1 if defined $i;
        }
    }

    return $closed ? shuffle_members($obj) : extras($obj);
}

# documents for a built-in: its bank bodies and documents built from the
# schema, the first fifth as they are, the others mutated once or twice
sub schema_docs {
    my ($name, $n) = @_;
    my @seeds = map { typed($_->{body}) }
        grep { $_->{method} eq $name } @VALID;
    my @docs;

    for my $i (1 .. $n) {
        my @sites;
        my $doc;
        if (@seeds && chance(0.3)) {
            $doc = clone(pick(@seeds));
            # the bank's bodies have their sites too: regenerate them from
            # a generated document of the same schema, and use the paths
            # the seed has
            gen([ parts($name, $SCHEMA{$name}) ], [], \@sites, 0);
        } else {
            $doc = gen([ parts($name, $SCHEMA{$name}) ], [], \@sites, 0);
        }
        my @why = ('valid');

        if ($i > $n / 5) {
            @why = ();
            for (1 .. (chance(0.2) ? 2 : 1)) {
                my $why;
                ($doc, $why) = mutate($doc, \@sites);
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
        my $doc = $k == 0
            ? gen([ parts('session/start/payout',
                          $SCHEMA{'session/start/payout'}) ], [], [], 0)
            : $k == 1 ? any_value(2)
            : O(map { ("k$_", any_value(1)) } 1 .. int rand 5);
        push @docs, [ enc($doc), kind($doc) ];
    }

    return @docs;
}

# --------------------------------------------------- mutations

sub mutate {
    my ($doc, $sites) = @_;
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

    # a rule's boundaries, at a site the generator noted (the member is
    # set, or added where it was not)
    return ($doc, 'no site') unless @$sites;
    my ($steps, $pool) = @{ pick(@$sites) };
    my @pool = $pool->();
    return ($doc, 'no site') unless @$steps && @pool;
    put($doc, $steps, clone(pick(@pool)))
        or return ($doc, 'site in a missing item');
    return ($doc, 'set ' . join('/', @$steps));
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

# several schemas' documents in one node: ([name, docs], ...) -> verdict
# lists, in order
sub ajv_many {
    my (@jobs) = @_;
    my @lines = map { my $n = $_->[0]; map { [ "$n\t$_->[0]" ] } @{ $_->[1] } }
        @jobs;
    my ($rc, @out) = run_lines("$NODE t/lib/ajv_sg.js --each", \@lines);
    die "ajv_sg.js --each failed ($rc)" if $rc;
    die 'ajv_sg.js: ' . @out . ' verdicts for ' . @lines . ' documents'
        unless @out == @lines;
    my @v = map { $json->decode($_) } @out;
    return map { [ splice @v, 0, scalar @{ $_->[1] } ] } @jobs;
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
# it), as issue 10 changed them: payout_details is payment_method's other
# name, with its rules; a payment_method type outside the docs is refused
my $CARD_ = '"payment_method":{"type":"card","card":';
my @RULES = ((map { [ 'session/start/payout', @$_ ] } (
    [ '{"session_id":"3230"}', undef ],
    [ '[{"session_id":"1"}]', '' ],
    [ '"x"', '' ],
    [ '"session_id"', '' ],
    [ '{"session_id":"1","ammount_details":{}}', 'ammount_details' ],
    [ '{"session_id":"s","ammount_details":{"amount":1,"currency":"usd"}}',
      'ammount_details' ],
    [ '{"session_id":"1","payout_details":{}}', 'payout_details.type' ],
    [ '{"session_id":"s","payout_details":{"type":"card"}}',
      'payout_details.card' ],
    [ '{"session_id":"s","payout_details":{"type":"recurrent","recurrent":'
      . '{"token":"t"}},"payment_method":{"type":"recurrent","recurrent":'
      . '{"token":"t"}}}', 'payout_details' ],
    [ '{"session_id":"s","payout_details":{"type":"recurrent","recurrent":'
      . '{"token":"t"}}}', undef ],
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
      'payment_method.type' ],
    [ '{"session_id":"s","payment_method":{"type":"sbp","sbp":{"phone":"1"}}}',
      'payment_method.type' ],
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
      . '{"full_name":"A B","extra":1},"x":2}}', 'participant_details.x' ],
    [ '{"session_id":"1","participant_details":{"recipient":'
      . '{"full_name":"A B","extra":1}}}', undef ],
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

my @RULE_NAMES = qw(session/start/payout object);
my %RULE_AJV;
@RULE_AJV{@RULE_NAMES} = ajv_many(map { my $n = $_;
    [ $n, [ map { [ $_->[1] ] } grep { $_->[0] eq $n } @RULES ] ] }
    @RULE_NAMES);

for my $name (@RULE_NAMES) {
    my @cases = grep { $_->[0] eq $name } @RULES;
    my @docs = map { [ $_->[1] ] } @cases;
    my @a = @{ $RULE_AJV{$name} };
    my @e = $ENGINE ? engine($name, \@docs) : ();

    for my $i (0 .. $#cases) {
        my ($n, $body, $want) = @{ $cases[$i] };
        my $what = "$name: $body";
        my $a = $a[$i];

        # a discriminated object fails every oneOf branch for ajv: the
        # path must be among its failing ones
        if (defined $want) {
            ok !$a->{valid} && grep({ $_ eq $want } @{ $a->{paths} }),
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



# --------------------------------------------------- 2. the bank

my %BANK_AJV;
{
    my @jobs = map { my $n = $_;
        [ $n, [ map { [ $_->{body} =~ s/\n/ /gr ] }
                (grep { $_->{method} eq $n } @VALID),
                grep { $_->{method} eq $n
                       && $_->{expect}[0] =~ /\Ainvalid_request / }
                @MALFORMED ] ] } @NAMES;
    @BANK_AJV{@NAMES} = ajv_many(@jobs);
}

for my $name (@NAMES) {
    my @v = grep { $_->{method} eq $name } @VALID;
    my @m = grep { $_->{method} eq $name
                   && $_->{expect}[0] =~ /\Ainvalid_request / } @MALFORMED;
    next unless @v || @m;

    my @docs = map { [ $_->{body} =~ s/\n/ /gr ] } @v, @m;
    my @a = @{ $BANK_AJV{$name} };
    my @e = $ENGINE ? engine($name, \@docs) : ();

    for my $i (0 .. $#docs) {
        my $entry = $i < @v ? $v[$i] : $m[$i - @v];
        my $what = "$name: bank $entry->{id}";
        my ($a, $e) = ($a[$i], $e[$i]);

        if ($i < @v) {
            ok $a->{valid}, "ajv accepts $what" or diag 'ajv: ' . show_ajv($a);
            next unless $ENGINE;
            ok $e->{verdict} eq 'ok'
                && $e->{path} eq encode_utf8($a->{canonical} // ''),
                "the engine accepts $what, in ajv's canonical form"
                or diag 'engine: ' . show_engine($e) . "\najv: "
                    . encode_utf8($a->{canonical} // '');
            next;
        }

        my (undef, $want) = split / /, $entry->{expect}[0];
        $want = '' if $want eq '-';
        ok !$a->{valid} && grep({ $_ eq $want } @{ $a->{paths} }),
            "ajv refuses $what at \"$want\"" or diag 'ajv: ' . show_ajv($a);
        next unless $ENGINE;
        ok $e->{verdict} eq 'invalid' && $e->{path} eq $want,
            "the engine refuses $what at \"$want\""
            or diag 'engine: ' . show_engine($e);
    }
}


# --------------------------------------------------- 3. generated documents

# every built-in needs its entry: a new schema is not left out unnoticed
my $FEW = int($DOCS / 10);
my %GEN = (
    'session/start/payout' => sub { schema_docs('session/start/payout', @_) },
    'session/start/payout/fiscalization' =>
        sub { schema_docs('session/start/payout/fiscalization', @_) },
    'session/init/payout' => sub { schema_docs('session/init/payout', @_) },
    'session/init/payout/fiscalization' =>
        sub { schema_docs('session/init/payout/fiscalization', @_) },
    'session/create' => sub { schema_docs('session/create', @_) },
    'fiscalization' => sub { schema_docs('fiscalization', @_) },
    'session/confirm' => sub { schema_docs('session/confirm', @_) },
    'session/cancel' => sub { schema_docs('session/cancel', @_) },
    'session/status' => sub { schema_docs('session/status', @_) },
    'session/refund' => sub { schema_docs('session/refund', @_) },
    'session/capture' => sub { schema_docs('session/capture', @_) },
    'wallet/balance' => sub { schema_docs('wallet/balance', @_) },
    'token' => sub { schema_docs('token', @_) },
    'object' => \&object_docs,
);

# how many: session/start/payout $DOCS, the other schemas of the payout
# data (which share its definitions) a third, the small ones a tenth
my %COUNT = ('session/start/payout' => $DOCS, map { $_ => int($DOCS / 3) }
    qw(session/start/payout/fiscalization session/init/payout
       session/init/payout/fiscalization session/create fiscalization));

my (%DOCS, %GEN_AJV);
for my $name (@NAMES) {
    my $gen = $GEN{$name};

    ok $gen, "t/ajv_diff.t has a document generator for $name" or next;
    $DOCS{$name} = [ $gen->($COUNT{$name} // $FEW) ];
}
{
    my @names = grep { $DOCS{$_} } @NAMES;
    @GEN_AJV{@names} = ajv_many(map { [ $_, $DOCS{$_} ] } @names);
}

for my $name (grep { $DOCS{$_} } @NAMES) {
    my @docs = @{ $DOCS{$name} };
    my @a = @{ $GEN_AJV{$name} };

    if (my $f = $ENV{SG_AJV_DUMP}) {
        open my $fh, '>>', $f or die "$f: $!";
        print $fh encode_utf8("$name\t$docs[$_][1]\t$docs[$_][0]\t")
            . $json->encode($a[$_]) . "\n" for 0 .. $#docs;
        close $fh;
    }

    my $valid = grep { $_->{valid} } @a;
    my $single = grep { !$_->{valid} && @{ $_->{paths} } == 1 } @a;
    my $bad = grep { exists $_->{badjson} } @a;
    my @unmutated = grep { $docs[$_][1] eq 'valid' } 0 .. $#docs;
    my @refused = grep { !$a[$_]{valid} } @unmutated;

    is $bad, 0, "$name: ajv parses all ${\ scalar @docs} generated documents";
    is scalar @refused, 0, "$name: ajv accepts all ${\ scalar @unmutated} "
        . 'documents the generator meant to be valid'
        or diag "$name: $docs[$refused[0]][0]\n  ajv: "
            . show_ajv($a[$refused[0]]);
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


# --------------------------------------------------- 4. ISO 4217

# every three-letter string in lower case, and each code in upper and in
# mixed case, in a currency: accepted exactly when iso-codes lists it
{
    my @three = ('aaa' .. 'zzz');
    my @cases = ((map { [ $_, $ISO{ uc $_ } ] } @three),
                 (map { [ $_, 1 ] } @ISO),
                 (map { [ join('', map { pick(lc $_, $_) } split //, $_), 1 ] }
                  @ISO),
                 (map { [ uc $_, 0 ] } grep { !$ISO{ uc $_ } }
                  map { pick(@three) } 1 .. 300));
    my @docs = map { [ qq({"session_id":"s","amount_details":{"amount":1,)
                       . qq("currency":"$_->[0]"}}) ] } @cases;
    my $name = 'session/refund';

    cmp_ok scalar @ISO, '>=', 150, 'iso-codes lists ' . @ISO . ' codes';

    my @a = ajv($name, \@docs);
    my @wrong = grep { !$a[$_]{valid} != !$cases[$_][1] } 0 .. $#cases;
    is scalar @wrong, 0, 'ajv, with the list read as JSON, accepts exactly '
        . 'the ' . @ISO . ' codes among ' . @cases . ' currencies'
        or diag "first: $cases[$wrong[0]][0]";

    if ($ENGINE) {
        my @e = engine($name, \@docs);
        @wrong = grep { ($e[$_]{verdict} eq 'ok') != !!$cases[$_][1] }
            0 .. $#cases;
        is scalar @wrong, 0, 'the engine, with the list schemas/embed.sh '
            . 'embedded, accepts exactly the same '
            . (grep { $_->[1] } @cases) . ' currencies'
            or diag "first: $cases[$wrong[0]][0] ("
                . show_engine($e[$wrong[0]]) . ')';
        my @lower = grep { $e[$_]{verdict} eq 'ok'
                           && $e[$_]{path} !~ /"currency":"[a-z]{3}"/ }
            0 .. $#cases;
        is scalar @lower, 0, 'and sends every accepted one in lower case';
    }
}

# without the list, or with another file, embed.sh fails: never a build
# that embeds no list
{
    my $dir = File::Temp->newdir('sg-ajv-XXXXXX', TMPDIR => 1);
    my $out = "$dir/schemas.c";

    for my $case (
        [ 'a missing list', "$dir/none.json",
          qr/cannot read the ISO 4217 currency list/ ],
        [ 'a list of another shape', "$dir/other.json",
          qr/does not look like iso-codes' ISO 4217 list/,
          '{"4217": [{"alpha_3": "usd"}, {"alpha_3": "EUR"}]}' ],
        [ 'an empty list', "$dir/empty.json",
          qr/does not look like iso-codes' ISO 4217 list/, '{"4217": []}' ],
    ) {
        my ($what, $file, $re, $text) = @$case;
        if (defined $text) {
            open my $fh, '>', $file or die "$file: $!";
            print $fh $text;
            close $fh;
        }
        my $msg = `SG_ISO_4217='$file' sh schemas/embed.sh '$out' schemas 2>&1`;
        isnt $?, 0, "schemas/embed.sh fails with $what";
        like $msg, $re, "schemas/embed.sh says why ($what)";
        ok !-e $out, "schemas/embed.sh writes no output with $what";
    }

    my $msg = `sh schemas/embed.sh '$out' schemas 2>&1`;
    is $?, 0, 'schemas/embed.sh succeeds with the list' or diag $msg;
    my $bytes = join '', map { chr hex } (-e $out ? slurp($out) : '')
        =~ /0x([0-9a-f]{2})/g;
    ok index($bytes, '"@ISO_4217@"') < 0
        && index($bytes, '"^(?:[Aa][Ee][Dd]|') >= 0
        && index($bytes, '|[Zz][Ww][Ll])$"') >= 0,
        'the embedded sg:common holds the pattern of the codes, not the '
        . 'placeholder';
}

done_testing;
