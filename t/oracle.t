#!/usr/bin/perl
# The core's RFC 8785 output against an oracle that shares no code with it:
# t/lib/jcs_oracle.js generates documents from a fixed seed and spells their
# canonical form with ECMAScript itself (JSON.parse, keys sorted by UTF-16
# code units, JSON.stringify).  Byte for byte, through sg_json_parse +
# sg_jcs_write and through the object schema's whole pipeline.

use strict;
use warnings;

use File::Temp qw(tempfile);
use FindBin;
use JSON::PP;
use Test::More;

my $ROOT = "$FindBin::Bin/..";
my $NODE = $ENV{NODE} || 'node';
my $CC = $ENV{CC} || 'cc';
my $DOCS = $ENV{SG_ORACLE_DOCS} || 2500;
my $SEED = $ENV{SG_ORACLE_SEED} || 8785;
my $MAX_DIAG = 20;

plan skip_all => 'node (Node.js) is not installed'
    unless system("$NODE --version >/dev/null 2>&1") == 0;

chdir $ROOT or die "chdir $ROOT: $!";
mkdir 'build';

my $DRIVER = 'build/oracle_driver';
my @CORE = map { "src/$_.c" } qw(sg_error sg_json sg_jcs sg_schema sg_body);

# the built-in schemas, as `make schemas` generates them
is system('make', '-s', 'schemas'), 0, 'the built-in schemas are generated'
    or BAIL_OUT('cannot generate build/sg_sign_schemas.c');

is system($CC, qw(-O1 -g -Wall -Wextra -Werror -Isrc -Ifuzz -o), $DRIVER,
    'fuzz/oracle_driver.c', 'fuzz/fuzz_pool.c', @CORE,
    'build/sg_sign_schemas.c', '-lpcre2-8', '-lm'), 0,
    'the oracle driver builds with -Wall -Wextra -Werror'
    or BAIL_OUT('cannot build the oracle driver');


# --------------------------------------------------------- the cases

my $json = JSON::PP->new->utf8;
my @cases;

open my $gen, '-|', $NODE, 't/lib/jcs_oracle.js', $DOCS, $SEED
    or die "cannot run the oracle: $!";
while (my $line = <$gen>) {
    my $c = $json->decode($line);
    $c->{bytes} = encode_utf8($c->{input});
    $c->{expected} = encode_utf8($c->{expected}) if defined $c->{expected};
    push @cases, $c;
}
close $gen;

is $?, 0, 'the oracle ran';
cmp_ok scalar @cases, '>=', $DOCS, "the oracle wrote ${\ scalar @cases} cases";

my $refusals = grep { $_->{refuse} } @cases;
cmp_ok $refusals, '>', 0,
    "$refusals of them hold a number that must be refused";


# ------------------------------------------- parse + write, object schema

compare('sg_json_parse + sg_jcs_write', [], \@cases, 0);

# a schema also refuses a session_id the gateway cannot put in a header
compare('the object schema (sg_body_canonicalize)', ['-o'],
    [ grep { $_->{bytes} =~ /\A[ \t\r\n]*\{/ } @cases ], 1);

done_testing;


sub compare {
    my ($what, $args, $cases, $schema) = @_;

    my $results = run_driver($args, $cases);
    my ($same, $refused, $want_refused, $shown) = (0, 0, 0, 0);

    for my $i (0 .. $#$cases) {
        my $c = $cases->[$i];
        my $r = $results->[$i];
        my $ok;

        if ($c->{refuse} || ($schema && $c->{session_refuse})) {
            $want_refused++;
            $ok = $r->{err} && $r->{err} eq 'invalid_request';
            $refused++ if $ok;

        } else {
            $ok = defined $r->{out} && $r->{out} eq $c->{expected};
            $same++ if $ok;
        }

        next if $ok || $shown++ >= $MAX_DIAG;

        diag "case $c->{n} ($what):\n"
            . "  input:    " . show($c->{bytes}) . "\n"
            . "  expected: " . ($c->{refuse} || ($schema && $c->{session_refuse})
                                 ? 'refused (invalid_request)'
                                             : show($c->{expected})) . "\n"
            . "  got:      " . (defined $r->{out} ? show($r->{out})
                                : "error $r->{err} at offset $r->{offset}");
    }

    my $want_same = @$cases - $want_refused;

    is $same, $want_same,
        "$what: all $want_same canonical forms are ECMAScript's, "
        . 'byte for byte';
    is $refused, $want_refused,
        "$what: all $want_refused numbers whose value would change are "
        . 'refused with invalid_request';
}


# feeds the cases as "<length>\n<bytes>\n" records, reads one result each
sub run_driver {
    my ($args, $cases) = @_;

    my ($fh, $file) = tempfile(UNLINK => 1);
    binmode $fh;
    print $fh length($_->{bytes}), "\n", $_->{bytes}, "\n" for @$cases;
    close $fh;

    my $cmd = join ' ', $DRIVER, @$args, '<', $file;
    my $out = `$cmd`;
    die "oracle driver failed: $?" if $?;

    my @results;

    while (length $out) {
        if ($out =~ s/\Aok (\d+)\n//) {
            push @results, { out => substr($out, 0, $1) };
            substr($out, 0, $1 + 1) = '';

        } elsif ($out =~ s/\Aerr (\S+) (\d+)\n//) {
            push @results, { err => $1, offset => $2 };

        } else {
            die 'oracle driver: unexpected output: ' . substr($out, 0, 80);
        }
    }

    die 'oracle driver: ' . scalar(@results) . ' results for '
        . scalar(@$cases) . ' cases' unless @results == @$cases;

    return \@results;
}


# bytes as printable ASCII, long ones cut
sub show {
    my ($s) = @_;
    my $t = substr($s, 0, 240);
    $t =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    return $t . (length $s > 240 ? '...' : '');
}


sub encode_utf8 {
    my ($s) = @_;
    utf8::encode($s);
    return $s;
}
