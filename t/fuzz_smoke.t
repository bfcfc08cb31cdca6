#!/usr/bin/perl
# The libFuzzer targets (JSON, the body pipeline, the schema engine) build
# and hold their properties for a short run (10 s each) plus every input in
# fuzz/regressions/.  The real campaign is fuzz/run.sh with a longer time;
# this only keeps the targets from rotting.

use strict;
use warnings;

use File::Temp qw(tempdir);
use FindBin;
use Test::More;

my $ROOT = "$FindBin::Bin/..";
my $SECONDS = $ENV{SG_FUZZ_SECONDS} || 10;

plan skip_all => 'clang-14 is not installed'
    unless system('clang-14 --version >/dev/null 2>&1') == 0;

# clang without libclang-rt-14-dev cannot link -fsanitize=fuzzer
my $tmp = tempdir(CLEANUP => 1);
open my $fh, '>', "$tmp/probe.c" or die "$tmp/probe.c: $!";
print $fh "#include <stddef.h>\n#include <stdint.h>\n"
    . "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)"
    . " { (void) d; (void) n; return 0; }\n";
close $fh;

plan skip_all => 'clang-14 cannot link libFuzzer (libclang-rt-14-dev?)'
    unless system("clang-14 -fsanitize=fuzzer -o $tmp/probe $tmp/probe.c"
        . ' >/dev/null 2>&1') == 0;

# its own build directory: a long "make fuzz" may be using build/fuzz
$ENV{FUZZ_OUT} = "$tmp/fuzz";
# a smoke test repeats itself: the same seed and number of inputs on every
# run, so CI sees what the developer saw (make fuzz explores)
$ENV{FUZZ_SEED} //= 1;
$ENV{FUZZ_RUNS} //= 20000;

my $out = `'$ROOT/fuzz/run.sh' $SECONDS 2>&1`;
my $rc = $? >> 8;

is $rc, 0, "every fuzz target keeps its properties for ${SECONDS}s "
    . 'and on fuzz/regressions/'
    or diag $out;

for my $target (qw(fuzz_json fuzz_body fuzz_schema)) {
    like $out, qr/^$target: [1-9]\d* executions/m,
        "$target ran and reported its executions";
}

note $_ for grep { /executions/ } split /\n/, $out;

done_testing;
