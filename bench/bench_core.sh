#!/bin/bash
# Micro-benchmark of the core (validate + canonicalize) and of one RSA-2048
# signature, for payout bodies of ~300 B, ~4 KB and ~60 KB.
#
#   bench/bench_core.sh            # ~1 s per body and per signature
#
# Env: SG_BENCH_SECONDS (default 1), BENCH_CPU (CPU to pin to, default 0;
# "none" to not pin), CC (default cc).
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

# the build line: -O2, the core's sources, libcrypto
$cc -O2 -g -Wall -Wextra -I"$root/src" -o "$tmp/core_bench" \
    "$here/core_bench.c" "$root"/src/*.c -lcrypto -pthread

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

"${pin[@]}" "$tmp/core_bench" "$tmp/key.pem" \
    "$tmp/body-300.json" "$tmp/body-4096.json" "$tmp/body-61440.json"
