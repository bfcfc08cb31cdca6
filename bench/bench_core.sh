#!/bin/bash
# Micro-benchmark of the core (validate + canonicalize) with the schema
# engine, on the same rules as the C code it replaced (bench/legacy_rules.c
# and bench/legacy_payout.json) and on the built-in payout schema, next to
# that C code, and of one RSA-2048 signature, for payout bodies of ~300 B,
# ~4 KB and ~60 KB.
#
#   bench/bench_core.sh            # ~7 s per body, ~1 s per signature
#
# Env: SG_BENCH_SECONDS (default 1: per path and body), SG_BENCH_ROUNDS
# (30), BENCH_CPU (CPU to pin to, default 0; "none" to not pin), CC
# (default cc).
# Builds into a temp dir, generates a throw-away key there (0600), removes
# everything on exit.  See bench/README.md for what the columns mean.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cc=${CC:-cc}
cpu=${BENCH_CPU:-0}

tmp=$(mktemp -d /tmp/sg-bench-core.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"

# the built-in schemas, embedded as the module's build embeds them
if [ ! -f "$root/schemas/embed.sh" ]; then
    echo "bench_core.sh: schemas/embed.sh is missing: the core needs the" \
         "built-in schemas it generates" >&2
    exit 1
fi

(cd "$root" && sh schemas/embed.sh "$tmp/sg_sign_schemas.c" schemas)

# the build line: -O2, the core's sources, the legacy rules, the core's
# libraries (PCRE2, libcrypto, libm)
$cc -O2 -g -Wall -Wextra -I"$root/src" -I"$here" -o "$tmp/core_bench" \
    "$here/core_bench.c" "$here/legacy_rules.c" "$root"/src/*.c \
    "$tmp/sg_sign_schemas.c" $(pkg-config --cflags --libs p11-kit-1) \
    -lpcre2-8 -lcrypto -lm -ldl -pthread

(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$tmp/key.pem" 2>/dev/null)
chmod 600 "$tmp/key.pem"

for size in 300 4096 61440; do
    perl "$here/gen_payout.pl" "$size" "bench-core-$size" >"$tmp/body-$size.json"
done

pin=()
if [ "$cpu" != none ] && command -v taskset >/dev/null; then
    pin=(taskset -c "$cpu")
    echo "pinned to CPU $cpu"
fi

"${pin[@]}" "$tmp/core_bench" "$tmp/key.pem" "$here/legacy_payout.json" \
    "$tmp/body-300.json" "$tmp/body-4096.json" "$tmp/body-61440.json"
