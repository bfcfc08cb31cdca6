#!/usr/bin/perl
# Writes fuzz_schema's seed corpus into fuzz/corpus/fuzz_schema/: each seed
# is a schema text, a NUL byte and a document.  Small schemas per keyword
# and extension (most with a document that fails them, so the fuzzer starts
# inside the error paths), schemas the engine must refuse, and the built-in
# schemas of schemas/ with documents from fuzz_body's corpus.
#
#   fuzz/gen_schema_corpus.pl          # from the repository's root
#
# Rerun it when schemas/ changes; it removes the seeds it wrote before.

use strict;
use warnings;

use File::Find;

my $OUT = 'fuzz/corpus/fuzz_schema';

die "run from the repository's root\n" unless -d 'fuzz' && -d 'src';

# name => [schema text, document]
my @seeds = (
    # assertions
    type_string       => ['{"type":"string"}', '"abc"'],
    type_integer      => ['{"type":"integer"}', '1.0'],
    type_list         => ['{"type":["string","null"]}', '[]'],
    enum              => ['{"enum":["usd","eur",1,null,{"a":[1]}]}', '"USD"'],
    const_object      => ['{"const":{"a":[1,2]}}', '{"a":[1,2.0]}'],
    length            => ['{"minLength":2,"maxLength":3}',
                          "\"\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9\xc3\xa9\""],
    pattern_anchored  => ['{"pattern":"^[0-9]{16}$"}',
                          '"1234567812345678\n"'],
    pattern_unanchored => ['{"pattern":"[a-z]"}', '"123"'],
    pattern_unicode   => ['{"pattern":"^\\\\p{L}+$"}', "\"\xd0\xb6x1\""],
    min_max           => ['{"minimum":1,"maximum":9007199254740991}',
                          '9007199254740992'],
    exclusive         => ['{"exclusiveMinimum":0,"exclusiveMaximum":1e2}',
                          '100'],
    multiple_of       => ['{"multipleOf":0.01}', '19.999'],
    items_counts      => ['{"minItems":1,"maxItems":3,"uniqueItems":true}',
                          '[1,1.0]'],
    unique_objects    => ['{"uniqueItems":true}',
                          '[{"a":1,"b":2},{"b":2,"a":1}]'],
    required          => ['{"required":["a","b"]}', '{"a":1}'],
    prop_counts       => ['{"minProperties":1,"maxProperties":2}',
                          '{"a":1,"b":2,"c":3}'],
    property_names    => ['{"propertyNames":{"pattern":"^[a-z_]+$",'
                          . '"maxLength":8}}', '{"ok":1,"Bad name":2}'],

    # applicators
    properties        => ['{"properties":{"a":{"type":"string"},"b":{"type":'
                          . '"object","properties":{"c":false}}}}',
                          '{"b":{"c":1},"a":2}'],
    pattern_props     => ['{"patternProperties":{"^x-":{"type":"integer"}},'
                          . '"additionalProperties":false}',
                          '{"x-a":1,"y":2}'],
    additional_schema => ['{"properties":{"a":true},'
                          . '"additionalProperties":{"type":"string"}}',
                          '{"a":1,"b":2}'],
    items_schema      => ['{"items":{"type":"object","required":["email"]}}',
                          '[{"email":"a"},{}]'],
    items_array       => ['{"items":[{"type":"string"},{"type":"number"}],'
                          . '"additionalItems":false}', '["a",1,true]'],
    contains          => ['{"contains":{"const":"x"}}', '["a","b"]'],
    all_of            => ['{"allOf":[{"type":"object"},{"required":["a"]}]}',
                          '{}'],
    any_of            => ['{"anyOf":[{"type":"string"},{"type":"number",'
                          . '"minimum":0}]}', '-1'],
    one_of            => ['{"oneOf":[{"type":"integer"},{"multipleOf":2}]}',
                          '4'],
    not               => ['{"not":{"type":"null"}}', 'null'],
    if_then_else      => ['{"if":{"properties":{"t":{"const":"card"}}},'
                          . '"then":{"required":["card"]},'
                          . '"else":{"required":["bank"]}}', '{"t":"card"}'],
    dependencies      => ['{"dependencies":{"a":["b"],'
                          . '"c":{"required":["d"]}}}', '{"a":1,"c":2}'],
    nested_paths      => ['{"properties":{"customer":{"properties":{'
                          . '"contacts":{"items":{"properties":{"email":'
                          . '{"type":"string","minLength":3}}}}}}}}',
                          '{"customer":{"contacts":[{"email":"abc"},'
                          . '{"email":"x"}]}}'],
    odd_names         => ['{"properties":{"a b":{"type":"string"},'
                          . '"\u00e9":{"type":"string"}}}',
                          '{"a b":"ok","\u00e9":1}'],

    # $ref, definitions, booleans, annotations
    ref_local         => ['{"definitions":{"pos":{"type":"integer",'
                          . '"minimum":1}},"properties":{"n":'
                          . '{"$ref":"#/definitions/pos"}}}', '{"n":0}'],
    ref_root          => ['{"properties":{"next":{"$ref":"#"}},'
                          . '"additionalProperties":false}',
                          '{"next":{"next":{"x":1}}}'],
    ref_escaped       => ['{"definitions":{"a/b":{"type":"string"},'
                          . '"t~":true},"properties":{"x":'
                          . '{"$ref":"#/definitions/a~1b"},"y":'
                          . '{"$ref":"#/definitions/t~0"}}}', '{"x":1}'],
    ref_siblings      => ['{"definitions":{"s":{"type":"string"}},'
                          . '"$ref":"#/definitions/s","minLength":5}',
                          '"ab"'],
    ref_common        => ['{"properties":{"c":'
                          . '{"$ref":"sg:common#/definitions/currency"}}}',
                          '{"c":"USD"}'],
    ref_cycle         => ['{"definitions":{"a":{"$ref":"#/definitions/b"},'
                          . '"b":{"$ref":"#/definitions/a"}},'
                          . '"$ref":"#/definitions/a"}', '1'],
    ref_self          => ['{"$ref":"#"}', '1'],
    bool_false        => ['false', '{}'],
    bool_true         => ['true', '[]'],
    bool_subschemas   => ['{"properties":{"a":false,"b":true},'
                          . '"items":false}', '{"a":1}'],
    annotations       => ['{"$schema":"http://json-schema.org/draft-07/'
                          . 'schema#","$id":"x","$comment":"c","title":"t",'
                          . '"description":"d","default":1,"examples":[1],'
                          . '"readOnly":true,"writeOnly":false}', '1'],

    # the gateway's extensions
    x_integer_literal => ['{"type":"number","x-sg-integer-literal":true}',
                          '1e4'],
    x_luhn            => ['{"type":"string","x-sg-luhn":true}',
                          '"4111111111111112"'],
    x_lowercase       => ['{"properties":{"currency":{"type":"string",'
                          . '"pattern":"^[A-Za-z]{3}$",'
                          . '"x-sg-lowercase":true}}}', '{"currency":"USD"}'],
    x_discriminator   => ['{"type":"object","x-sg-discriminator":"type",'
                          . '"oneOf":[{"properties":{"type":{"const":"card"},'
                          . '"card":{"type":"object"}},"required":["card"]},'
                          . '{"properties":{"type":{"const":"wallet"}}}]}',
                          '{"type":"bank"}'],
    x_message         => ['{"type":"integer","minimum":1,'
                          . '"x-sg-message":"must be a positive integer"}',
                          '0'],
    x_message_utf8    => ['{"maxLength":1,"x-sg-message":"\u0434\u043b'
                          . '\u0438\u043d\u043d\u043e"}', '"ab"'],

    # refused at compile time
    bad_unknown       => ['{"typo":1}', '{}'],
    bad_format        => ['{"format":"email"}', '""'],
    bad_remote_ref    => ['{"$ref":"http://example.com/s.json"}', '1'],
    bad_ref_nowhere   => ['{"$ref":"#/definitions/nope"}', '1'],
    bad_pattern       => ['{"pattern":"(["}', '""'],
    bad_keyword_type  => ['{"minLength":"2"}', '""'],
    bad_lowercase     => ['{"anyOf":[{"x-sg-lowercase":true}]}', '"A"'],
    bad_discriminator => ['{"x-sg-discriminator":"type","oneOf":[{"properties"'
                          . ':{"type":{"const":"a"}}},{"type":"object"}]}',
                          '{"type":"a"}'],
    bad_not_json      => ["{\n  \"type\": \"string\",\n"
                          . "  \"minLength\": 1,\n}\n", '""'],
    bad_deep          => ["{\n  \"properties\": {\n    \"a\": {\n"
                          . "      \"type\": \"strin\"\n    }\n  }\n}\n",
                          '{"a":1}'],
);

mkdir $OUT or die "$OUT: $!\n" unless -d $OUT;

unlink glob "$OUT/*";

while (my ($name, $seed) = splice @seeds, 0, 2) {
    write_seed($name, @$seed);
}

# the built-in schemas, each with the documents it is for

my %docs = (
    'session/start/payout' => [qw(payout_full payout_minimal payout_encrypted
                                  payout_contacts payout_bad_luhn
                                  payout_amount_decimal payout_typo)],
    'object'               => [qw(rfc8785_example nul_byte)],
);

my @builtins;

find({ wanted => sub { push @builtins, $File::Find::name if /\.json\z/ },
       no_chdir => 1 }, 'schemas') if -d 'schemas';

for my $file (sort @builtins) {
    (my $name = $file) =~ s{^schemas/|\.json\z}{}g;
    my $text = slurp($file);
    my @with = @{ $docs{$name} || [] };

    (my $base = $name) =~ s{/}{_}g;
    write_seed("builtin_$base", $text, '{}');

    for my $doc (@with) {
        write_seed("builtin_${base}_$doc", $text,
                   slurp("fuzz/corpus/fuzz_body/$doc"));
    }
}

printf "%d seeds in %s (%d built-in schemas)\n", scalar(() = glob "$OUT/*"),
    $OUT, scalar @builtins;


sub write_seed {
    my ($name, $schema, $doc) = @_;

    open my $fh, '>:raw', "$OUT/$name" or die "$OUT/$name: $!\n";
    print $fh $schema, "\0", $doc;
    close $fh or die "$OUT/$name: $!\n";
}


sub slurp {
    my ($file) = @_;

    open my $fh, '<:raw', $file or die "$file: $!\n";
    local $/;
    my $text = <$fh>;
    close $fh;

    return $text;
}
