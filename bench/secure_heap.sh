#!/bin/bash
# Issue 11: RSA-2048 signatures per second through the core's signer with
# and without sg_sign_secure_heap's heap, and with and without OpenSSL's
# cache of the private Montgomery contexts (the copies of p and q that
# remain in a worker's memory).  Rounds alternate the four setups.
#
#   bench/secure_heap.sh           # ~4 x ROUNDS x SECONDS s
#
# Env: SG_BENCH_SECONDS (2), SG_BENCH_ROUNDS (3), BENCH_CPU (0; "none"),
# CC (cc).

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cc=${CC:-cc}
cpu=${BENCH_CPU:-0}
seconds=${SG_BENCH_SECONDS:-2}
rounds=${SG_BENCH_ROUNDS:-3}

tmp=$(mktemp -d /tmp/sg-bench-heap.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"

$cc -O2 -g -Wall -Wextra -I"$root/src" -o "$tmp/secure_heap_bench" \
    "$here/secure_heap_bench.c" "$root/src/sg_signer.c" \
    "$root/src/sg_file.c" "$root/src/sg_error.c" "$root/src/sg_jcs.c" \
    "$root/src/sg_json.c" "$root/src/sg_pkcs11.c" \
    $(pkg-config --cflags --libs p11-kit-1) -lcrypto -lm -ldl -pthread

(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$tmp/key.pem" 2>/dev/null)

pin=()
if [ "$cpu" != none ] && command -v taskset >/dev/null; then
    pin=(taskset -c "$cpu")
fi

for round in $(seq "$rounds"); do
    echo "round $round"
    for heap in 0 1; do
        for cache in 1 0; do
            # the signer's self-test signs with a copy of the key, and
            # OpenSSL copies no key with another RSA_METHOD (the bench's
            # way to drop the cache): with a heap it refuses such a key
            # rather than cache p and q in the master
            if [ "$heap" = 1 ] && [ "$cache" = 0 ]; then
                echo "secure heap on   private cache off    n/a: the signer refuses a key it cannot copy"
                continue
            fi
            "${pin[@]}" "$tmp/secure_heap_bench" "$tmp/key.pem" "$heap" \
                "$cache" "$seconds"
        done
    done
done
