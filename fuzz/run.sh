#!/bin/bash
# Builds the libFuzzer targets into build/fuzz/ and runs each for SECONDS
# (default 60) on a copy of its seed corpus, after replaying
# fuzz/regressions/.  The core is built with the built-in schemas that
# schemas/embed.sh generates, and PCRE2.
#
#   fuzz/run.sh [SECONDS]
#
# Exits non-zero on any crash, sanitizer report or property failure; the
# failing input is left in build/fuzz/artifacts-<target>/ (copy it to
# fuzz/regressions/ once the bug is understood).  Generated inputs never go
# into the repository: the fuzzers write to build/fuzz/corpus-<target>.
# FUZZ_OUT=DIR puts binaries, corpora and logs in DIR instead of build/fuzz
# (t/fuzz_smoke.t does, so it never disturbs a long run).

set -u

SECONDS_EACH=${1:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${FUZZ_OUT:-$ROOT/build/fuzz}
CC=${FUZZ_CC:-clang-14}
TARGETS="fuzz_json fuzz_body fuzz_schema"
# fuzz_body compares the payout schema with the rules it replaced
HELPERS="fuzz/fuzz_check.c fuzz/fuzz_pool.c bench/legacy_rules.c"
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined"
CFLAGS="$CFLAGS -fno-sanitize-recover=undefined -Wall -Wextra"
CFLAGS="$CFLAGS -Isrc -Ifuzz -Ibench"
LIBS="-lpcre2-8 -lm"
# fuzz_schema fails the engine's own allocations too (see its top comment)
WRAP="-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc"
WRAP="$WRAP,--wrap=pcre2_compile_8,--wrap=pcre2_match_data_create_8"
WRAP="$WRAP,--wrap=pcre2_match_context_create_8"
WRAP="$WRAP,--wrap=pcre2_jit_stack_create_8"

case $SECONDS_EACH in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 2
cd "$ROOT" || exit 2

# the core without the signers and the verifier (no OpenSSL or p11-kit in
# the fuzzers), and the built-in schemas embedded as the module's build
# embeds them
CORE=$(ls src/*.c | grep -v '^src/sg_\(signer\|verify\|pkcs11\)\.c$' | tr '\n' ' ')

if [ ! -f schemas/embed.sh ]; then
    echo "FAIL: schemas/embed.sh is missing: the core needs the built-in" \
         "schemas it generates" >&2
    exit 1
fi

if ! sh schemas/embed.sh "$OUT/sg_sign_schemas.c" schemas; then
    echo "FAIL: schemas/embed.sh could not embed schemas/" >&2
    exit 1
fi

CORE="$CORE $OUT/sg_sign_schemas.c"

# libFuzzer takes one dictionary: fuzz_schema's is JSON's plus its own
cat fuzz/json.dict fuzz/schema.dict >"$OUT/fuzz_schema.dict" || exit 2

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
summary=""

for t in $TARGETS; do
    echo "== build $t"
    ldflags=
    if [ "$t" = fuzz_schema ]; then
        ldflags=$WRAP
    fi
    # shellcheck disable=SC2086
    if ! $CC $CFLAGS -o "$OUT/$t" "fuzz/$t.c" $HELPERS $CORE $LIBS $ldflags
    then
        echo "FAIL: $t does not build" >&2
        exit 1
    fi
done

for t in $TARGETS; do
    log=$OUT/$t.log
    corpus=$OUT/corpus-$t
    artifacts=$OUT/artifacts-$t

    rm -rf "$corpus"
    mkdir -p "$artifacts"
    cp -r "fuzz/corpus/$t" "$corpus"

    regressions=$(find fuzz/regressions -type f ! -name '.*' ! -name '*.md' \
                  2>/dev/null | sort)

    if [ -n "$regressions" ]; then
        echo "== $t: replaying fuzz/regressions/"
        : >"$OUT/$t.regressions.log"

        # one at a time: libFuzzer stops at the first failing input
        for r in $regressions; do
            if ! "$OUT/$t" -runs=1 "$r" >"$OUT/$t.regression.log" 2>&1; then
                echo "FAIL: $t fails on $r" >&2
                grep -E 'PROPERTY FAILED|ERROR:|runtime error' \
                    "$OUT/$t.regression.log" | head -2 >&2
                status=1
            fi

            cat "$OUT/$t.regression.log" >>"$OUT/$t.regressions.log"
        done

        rm -f "$OUT/$t.regression.log"
    fi

    dict=fuzz/json.dict

    if [ -f "$OUT/$t.dict" ]; then
        dict=$OUT/$t.dict
    fi

    echo "== $t: fuzzing for ${SECONDS_EACH}s (log: $log)"

    # FUZZ_SEED=N and FUZZ_RUNS=N: libFuzzer's -seed and -runs, for a run
    # that repeats itself exactly (the smoke in make test)
    "$OUT/$t" -max_len=4096 -timeout=10 -max_total_time="$SECONDS_EACH" \
        ${FUZZ_SEED:+-seed="$FUZZ_SEED"} ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} \
        -print_final_stats=1 -dict="$dict" \
        -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
    rc=$?

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)

    if [ $rc -ne 0 ]; then
        echo "FAIL: $t exited with $rc" >&2
        grep -E 'PROPERTY FAILED|ERROR:|runtime error|SUMMARY|artifact' \
            "$log" | head -10 >&2
        status=1
        summary="$summary$t: FAILED after ${execs:-?} executions\n"
    else
        summary="$summary$t: ${execs:-?} executions in ${SECONDS_EACH}s\n"
    fi
done

echo "== executions per target"
printf "%b" "$summary"

exit $status
