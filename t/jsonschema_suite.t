#!/usr/bin/perl
# The JSON Schema Test Suite (Debian's json-schema-test-suite, tests/draft7)
# through build/schema_driver: every file of the draft7 directory, optional/
# included, is read; each test group's schema goes into a file, its cases'
# data, one JSON text a line, to the driver's stdin, and each answer (ok /
# invalid) is compared with the suite's "valid".
#
# Nothing is left out silently.  What does not run is in the two tables
# below, each entry with its reason, and each entry is checked:
#   %REFUSED  groups the engine refuses at load by design (format, remote
#             $ref, ...): the driver must refuse the schema (exit 2) at a
#             pointer that ends in the keyword named, so an entry that starts
#             to load, or is refused for another reason, fails the test;
#   @DIFFERS  single cases whose answer deliberately differs from the
#             suite's: the driver must give the answer the entry states, so
#             a case that starts passing fails the test (remove its entry).
# A group refused at load that no %REFUSED entry names fails, as does an
# entry that names nothing in the suite.
#
# Schemas and data are passed as the suite writes them (the raw text of
# each value, cut out of the file: a Perl round trip would respell numbers
# such as 1.0 or the bignums), data folded onto one line.
#
#   perl t/jsonschema_suite.t --skips-markdown
# prints the tables as the Markdown list schemas/README.md carries between
# its "suite-skips" markers; the test checks the README still says that.
#
# SG_SCHEMA_DRIVER overrides the driver, SG_JSON_SCHEMA_SUITE the directory.

use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use Test::More;

my $ROOT = "$FindBin::Bin/..";
my $DRIVER = $ENV{SG_SCHEMA_DRIVER} || "$ROOT/build/schema_driver";
my $README = "$ROOT/schemas/README.md";


# key => [the keyword the refusal's pointer ends in (alternatives with |),
# why].  A key is "FILE" (each group of the file), "DIR/" (each file under
# it) or "FILE / GROUP" (each group of that name in the file).
my %REFUSED = (
    'optional/format/' =>
        ['format', '`format` is not in the subset: it is refused, never'
         . ' silently ignored (draft-07 makes format assertions optional)'],
    'optional/ecmascript-regex.json' =>
        ['format', 'Its only group is `{"format": "regex"}`'],
    'optional/content.json' =>
        ['contentMediaType|contentEncoding', '`contentMediaType` and'
         . ' `contentEncoding` are not in the subset, and an unknown keyword'
         . ' is refused'],
    'refRemote.json' =>
        ['$ref', 'Remote `$ref` (`http://localhost:1234/...`, or a relative'
         . ' reference resolved against `$id`): only `#...` and'
         . ' `sg:common#...` resolve'],
    'definitions.json' =>
        ['$ref', 'Both groups `$ref` the draft-07 meta-schema by its URL, a'
         . ' remote `$ref`'],
    'ref.json / remote ref, containing refs itself' =>
        ['$ref', '`$ref` to the draft-07 meta-schema by its URL, a remote'
         . ' `$ref`'],
    'ref.json / Recursive references between schemas' =>
        ['$ref', '`"$ref": "node"` and `"tree"` resolve against `$id`'
         . ' (`http://localhost:1234/...`): `$id` is only an annotation here,'
         . ' and only `#...` and `sg:common#...` resolve'],
    'ref.json / escaped pointer ref' =>
        ['tilda~0field|slash~1field|percent%field', 'The `$ref` targets are'
         . ' unknown keywords at the root (`"tilda~field"`, `"slash/field"`,'
         . ' `"percent%field"`), refused at load; reusable schemas go under'
         . ' `definitions`, where `~0`, `~1` and `%25` in a `$ref` do'
         . ' resolve'],
    'ref.json / ref overrides any sibling keywords' =>
        ['$ref', 'draft-07 ignores the keywords beside `$ref`; the engine'
         . ' refuses them at load rather than let a rule there silently'
         . ' check nothing (put the `$ref` and the rule in `allOf`)'],
);

# [FILE, GROUP, CASE, what the driver answers (valid, invalid, badjson), why]
my @DIFFERS = (
);


my $SUITE = $ENV{SG_JSON_SCHEMA_SUITE} || suite_dir();
my @SUITE = defined $SUITE && -d $SUITE ? load_suite($SUITE) : ();

if (@ARGV && $ARGV[0] eq '--skips-markdown') {
    die "json-schema-test-suite is not installed\n" unless @SUITE;
    print skips_markdown();
    exit 0;
}

plan skip_all => 'json-schema-test-suite is not installed' unless @SUITE;

# not a skip: the driver is part of the build ("make")
BAIL_OUT("$DRIVER is missing: run make") unless -x $DRIVER;


my $tmp = tempdir(CLEANUP => 1);
my (%used, %n);

for my $f (@SUITE) {
    my $file = $f->{file};
    my $ran = 0;

    $n{files}++;

    for my $g (@{ $f->{groups} }) {
        my $group = $g->{name};
        my @cases = @{ $g->{cases} };
        my $where = "$file / $group";

        $n{groups}++;
        $n{cases} += @cases;

        my ($rc, $out) = run_driver($g->{schema}, map { $_->{data} } @cases);
        my $refused = refused_entry($file, $group);

        if ($rc == 2 || $refused) {
            check_refused($where, $refused, $rc, $out);
            $n{refused_groups}++;
            $n{skipped} += @cases;
            next;
        }

        my @answers = split /\n/, $out;

        unless ($rc == 0 && @answers == @cases) {
            fail("$where: driver exit $rc, " . @answers . ' answers for '
                . @cases . ' cases');
            diag($out);
            next;
        }

        $ran++;
        $n{groups_run}++;

        for my $i (0 .. $#cases) {
            check_case($file, $group, $cases[$i], $answers[$i]);
        }
    }

    $n{files_run}++ if $ran;
}

# an entry that names nothing is stale: the suite changed under it
for my $key (sort keys %REFUSED) {
    ok $used{"refused:$key"}, "refused-at-load entry '$key' names a group";
}
for my $d (@DIFFERS) {
    my $key = join ' / ', @$d[0 .. 2];
    ok $used{"differs:$key"}, "differs entry '$key' names a case";
}

readme_in_step();

diag(sprintf "suite: %d files (%d run, %d refused whole at load), "
    . "%d groups (%d run, %d refused at load), %d cases: %d run, %d passed, "
    . "%d skipped (%d in refused groups, %d listed as differing)",
    $n{files}, $n{files_run} // 0, $n{files} - ($n{files_run} // 0),
    $n{groups}, $n{groups_run} // 0, $n{refused_groups} // 0,
    $n{cases}, $n{run} // 0, $n{passed} // 0,
    ($n{skipped} // 0) + ($n{differs} // 0), $n{skipped} // 0,
    $n{differs} // 0);

done_testing();


sub check_refused {
    my ($where, $refused, $rc, $out) = @_;

    unless ($refused) {
        fail("$where: refused at load, and no entry of %REFUSED says why");
        diag($out);
        return;
    }

    my ($keyword, $reason, $key) = @$refused;
    $used{"refused:$key"} = 1;

    # schema-error<TAB>line<TAB>pointer<TAB>message
    my ($tag, undef, $pointer) = split /\t/, (split /\n/, $out)[0] // '';

    my $at = join '|', map { quotemeta } split /\|/, $keyword;

    ok $rc == 2 && ($tag // '') eq 'schema-error'
        && ($pointer // '') =~ m{/(?:$at)$},
        "$where: refused at load at .../$keyword ($reason)"
        or diag("driver exit $rc: $out");
}

sub check_case {
    my ($file, $group, $case, $answer) = @_;
    my $where = "$file / $group / $case->{name}";
    my $tag = (split /\t/, $answer)[0] // '';
    my $got = $tag eq 'ok' ? 'valid' : $tag;
    my $want = $case->{valid} eq 'true' ? 'valid' : 'invalid';

    my ($d) = grep {
        $_->[0] eq $file && $_->[1] eq $group && $_->[2] eq $case->{name}
    } @DIFFERS;

    if ($d) {
        $used{'differs:' . join ' / ', @$d[0 .. 2]} = 1;
        $n{differs}++;
        is $got, $d->[3], "$where: $d->[3] by design, the suite says"
            . " $want ($d->[4])"
            or diag("the case no longer answers as listed: update"
                . " \@DIFFERS (and schemas/README.md)");
        return;
    }

    $n{run}++;

    if (is $got, $want, $where) {
        $n{passed}++;
    } else {
        diag("  data: $case->{data}\n  driver: $answer");
    }
}

sub refused_entry {
    my ($file, $group) = @_;

    for my $key ("$file / $group", $file) {
        return [@{ $REFUSED{$key} }, $key] if $REFUSED{$key};
    }

    for my $key (grep { m{/$} } keys %REFUSED) {
        return [@{ $REFUSED{$key} }, $key] if index($file, $key) == 0;
    }

    return undef;
}

# (exit code, stdout); the schema in a file, the data on stdin
sub run_driver {
    my ($schema, @data) = @_;

    write_text("$tmp/schema.json", "$schema\n");
    write_text("$tmp/data", join '', map { "$_\n" } @data);

    my $out = `'$DRIVER' '$tmp/schema.json' <'$tmp/data' 2>'$tmp/stderr'`;
    my $rc = $? == -1 ? -1 : $? & 127 ? 128 + ($? & 127) : $? >> 8;

    if ($rc != 0 && $rc != 2) {
        $out .= read_text("$tmp/stderr");
    }

    return ($rc, $out);
}

# [{ file, groups => [{ name, schema (raw), cases => [{ name, data (raw,
# one line), valid }] }] }], files sorted
sub load_suite {
    my ($dir) = @_;
    my @files;

    for my $file (suite_files($dir)) {
        my $top = parse_json(read_text("$dir/$file"), "$dir/$file");
        my @groups;

        die "$file: not an array of groups\n" unless $top->{type} eq 'array';

        for my $g (@{ $top->{items} }) {
            push @groups, {
                name => string_of(member($g, 'description')),
                schema => member($g, 'schema')->{raw},
                cases => [ map {
                    +{ name => string_of(member($_, 'description')),
                       data => one_line(member($_, 'data')->{raw}),
                       valid => member($_, 'valid')->{raw} }
                } @{ member($g, 'tests')->{items} } ],
            };
        }

        push @files, { file => $file, groups => \@groups };
    }

    return @files;
}

sub suite_dir {
    my @files = `dpkg -L json-schema-test-suite 2>/dev/null`;
    my ($dir) = grep { m{/tests/draft7$} } map { chomp; $_ } @files;

    return $dir;
}

# every *.json under dir, relative, sorted: optional/ and optional/format/
# too, the tables say what of them does not run
sub suite_files {
    my ($dir, $sub) = @_;
    my @files;

    $sub //= '';
    opendir my $dh, "$dir/$sub" or die "$dir/$sub: $!";
    my @names = sort grep { !/^\./ } readdir $dh;
    closedir $dh;

    for my $name (@names) {
        if (-d "$dir/$sub$name") {
            push @files, suite_files($dir, "$sub$name/");
        } elsif ($name =~ /\.json$/) {
            push @files, "$sub$name";
        }
    }

    return @files;
}

sub readme_in_step {
    my $text = -f $README ? read_text($README) : '';
    my ($section) =
        $text =~ m{<!-- suite-skips -->\n(.*?)<!-- /suite-skips -->}s;

    ok defined $section && $section eq skips_markdown(),
        'schemas/README.md lists the skipped cases as the tables here do'
        or diag("regenerate the section: perl t/jsonschema_suite.t"
            . " --skips-markdown");
}

# the README's list: each %REFUSED entry with the groups it covers in the
# installed suite and their case counts, then each @DIFFERS case
sub skips_markdown {
    my (%groups, %cases, $md);

    for my $f (@SUITE) {
        for my $g (@{ $f->{groups} }) {
            my $e = refused_entry($f->{file}, $g->{name}) or next;
            my $n = @{ $g->{cases} };

            push @{ $groups{$e->[2]} }, "`$f->{file}` / $g->{name} ($n case"
                . ($n == 1 ? '' : 's') . ')';
            $cases{$e->[2]} += $n;
        }
    }

    $md = '';

    for my $key (sort keys %REFUSED) {
        my ($keyword, $reason) = @{ $REFUSED{$key} };
        my $what = $key =~ m{/$} ? "every file under `$key`"
                 : $key =~ m{ / } ? "`$key`" : "`$key`, the whole file";
        my $n = $cases{$key} // 0;

        $md .= "- $what: refused at load ($n case" . ($n == 1 ? '' : 's')
            . "). $reason.\n";

        # a one-group entry names its group already
        next if $key =~ m{ / };

        $md .= "  - $_\n" for @{ $groups{$key} // [] };
    }

    for my $d (@DIFFERS) {
        $md .= "- `" . join(' / ', @$d[0 .. 2]) . "`: the engine answers"
            . " $d->[3], the suite expects otherwise. $d->[4].\n";
    }

    $md .= "- No single case of a group that loads is skipped: each gives"
        . " the suite's answer.\n" unless @DIFFERS;

    return $md;
}


# --- a JSON reader that keeps each value's raw text ------------------------
#
# Returns nodes { type, raw, value (strings, literals), members / items }.
# The suite's files are trusted input; this only has to be right on JSON.

sub parse_json {
    my ($text, $name) = @_;
    my $pos = 0;
    my $node = parse_value(\$text, \$pos, $name);

    skip_ws(\$text, \$pos);
    die "$name: trailing text at $pos\n" if $pos != length $text;

    return $node;
}

sub parse_value {
    my ($t, $p, $name) = @_;

    skip_ws($t, $p);

    my $start = $$p;
    my $c = substr $$t, $start, 1;
    my $node;

    if ($c eq '{' || $c eq '[') {
        my $close = $c eq '{' ? '}' : ']';
        my @kids;

        $$p++;
        skip_ws($t, $p);

        if (substr($$t, $$p, 1) eq $close) {
            $$p++;
        } else {
            while (1) {
                if ($c eq '{') {
                    my $k = parse_value($t, $p, $name);
                    die "$name: name expected at $start\n"
                        unless $k->{type} eq 'string';
                    skip_ws($t, $p);
                    die "$name: ':' expected at $$p\n"
                        unless substr($$t, $$p++, 1) eq ':';
                    push @kids, [$k->{value}, parse_value($t, $p, $name)];
                } else {
                    push @kids, parse_value($t, $p, $name);
                }

                skip_ws($t, $p);
                my $sep = substr $$t, $$p++, 1;
                last if $sep eq $close;
                die "$name: ',' expected at " . ($$p - 1) . "\n"
                    unless $sep eq ',';
            }
        }

        $node = $c eq '{' ? { type => 'object', members => \@kids }
                          : { type => 'array', items => \@kids };

    } elsif ($c eq '"') {
        pos($$t) = $start;
        $$t =~ /\G"((?:[^"\\]|\\.)*)"/gc
            or die "$name: bad string at $start\n";
        $$p = pos $$t;
        $node = { type => 'string', value => unescape($1) };

    } else {
        pos($$t) = $start;
        $$t =~ /\G(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?
                  |true|false|null)/gcx
            or die "$name: bad value at $start\n";
        $$p = pos $$t;
        $node = { type => 'scalar', value => $1 };
    }

    $node->{raw} = substr $$t, $start, $$p - $start;

    return $node;
}

sub skip_ws {
    my ($t, $p) = @_;

    pos($$t) = $$p;
    $$t =~ /\G[ \t\r\n]*/gc;
    $$p = pos $$t;
}

sub unescape {
    my ($s) = @_;
    my %simple = ('"' => '"', '\\' => '\\', '/' => '/', b => "\b",
                  f => "\f", n => "\n", r => "\r", t => "\t");

    $s =~ s{\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})
           |\\u([0-9a-fA-F]{4})
           |\\(.)}
           {defined $1 ? chr(0x10000 + ((hex($1) - 0xD800) << 10)
                             + hex($2) - 0xDC00)
            : defined $3 ? chr(hex $3) : $simple{$4}}gex;

    return $s;
}

sub member {
    my ($node, $name) = @_;

    die "member '$name' of a non-object\n" unless $node->{type} eq 'object';

    for my $m (@{ $node->{members} }) {
        return $m->[1] if $m->[0] eq $name;
    }

    die "no member '$name' in $node->{raw}\n";
}

sub string_of {
    my ($node) = @_;

    die "a string expected: $node->{raw}\n" unless $node->{type} eq 'string';

    # printable in TAP whatever the description holds
    (my $s = $node->{value}) =~ s/([^\x20-\x7e])/sprintf '\\x{%x}', ord $1/ge;

    return $s;
}

# a raw newline can only be whitespace between tokens in strict JSON
sub one_line {
    my ($raw) = @_;

    $raw =~ s/[\r\n]+/ /g;

    return $raw;
}

sub read_text {
    my ($path) = @_;

    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    my $text = <$fh>;
    close $fh;

    return $text;
}

sub write_text {
    my ($path, $text) = @_;

    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
}
