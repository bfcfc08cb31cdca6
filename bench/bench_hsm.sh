#!/bin/bash
# Signing throughput with an HSM key next to a key file: one RSA-2048 key,
# imported into a SoftHSM2 token made here, signed with through
# src/sg_pkcs11.c (PKCS#11, p11-kit) and as the key file (OpenSSL), on one
# and two threads.  SoftHSM2 is OpenSSL in software behind PKCS#11: what
# this measures is the PKCS#11 path's overhead, not a hardware HSM's speed.
#
#   bench/bench_hsm.sh            # ~10 s
#
# Env: SG_BENCH_SECONDS (default 2: per line), CC (default cc).
# Works in a temp dir (0700; key 0600), removed on exit.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cc=${CC:-cc}
seconds=${SG_BENCH_SECONDS:-2}
softhsm=/usr/lib/softhsm/libsofthsm2.so

for c in softhsm2-util pkcs11-tool openssl pkg-config "$cc"; do
    command -v "$c" >/dev/null || { echo "bench_hsm.sh: $c is missing" >&2; exit 2; }
done
[ -f "$softhsm" ] || { echo "bench_hsm.sh: $softhsm is missing (softhsm2)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/sg-bench-hsm.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"

(cd "$root" && sh schemas/embed.sh "$tmp/sg_sign_schemas.c" schemas)

$cc -O2 -g -Wall -Wextra -I"$root/src" -o "$tmp/hsm_bench" \
    "$here/hsm_bench.c" "$root"/src/*.c "$tmp/sg_sign_schemas.c" \
    $(pkg-config --cflags --libs p11-kit-1) \
    -lpcre2-8 -lcrypto -lm -ldl -pthread

mkdir "$tmp/tokens"
cat >"$tmp/softhsm2.conf" <<CONF
directories.tokendir = $tmp/tokens
objectstore.backend = file
log.level = ERROR
CONF
export SOFTHSM2_CONF=$tmp/softhsm2.conf

pin=246810
softhsm2-util --init-token --free --label bench --pin $pin \
    --so-pin 13579111 >/dev/null
(umask 077 && echo $pin >"$tmp/pin" \
    && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$tmp/key.pem" 2>/dev/null \
    && openssl pkey -in "$tmp/key.pem" -outform DER -out "$tmp/key.der")

p11() {
    pkcs11-tool --module "$softhsm" --token-label bench --login --pin $pin \
        "$@" >/dev/null 2>&1
}
p11 --write-object "$tmp/key.der" --type privkey --label bench --id 01
rm -f "$tmp/key.der"

"$tmp/hsm_bench" "$tmp/key.pem" "pkcs11:token=bench;object=bench" \
    "$softhsm" "$tmp/pin" "$seconds"
