#!/bin/bash
# Signing throughput with an HSM key next to a key file: one RSA-2048 key,
# imported into a SoftHSM2 token made here, signed with through
# src/sg_pkcs11.c (PKCS#11, p11-kit) and as the key file (OpenSSL): first
# the core alone on one and two threads, then the gateway (one worker, both
# keys signing in the default thread pool, a `return 200` upstream) under
# wrk.  SoftHSM2 is OpenSSL in software behind PKCS#11: what this measures
# is the PKCS#11 path's cost, not a hardware HSM's speed.
#
#   bench/bench_hsm.sh            # ~30 s
#
# Env: SG_BENCH_SECONDS (default 2: per core line; 5 per wrk run), CC
# (default cc), SG_SIGN_MODULE (default build/ngx_http_sg_sign_module.so).
# Works in a temp dir (key and PIN 0600), removed on exit; stops the nginx
# it started.

set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cc=${CC:-cc}
seconds=${SG_BENCH_SECONDS:-2}
softhsm=/usr/lib/softhsm/libsofthsm2.so

die() { echo "bench_hsm.sh: $*" >&2; exit 2; }

for c in softhsm2-util pkcs11-tool openssl pkg-config "$cc"; do
    command -v "$c" >/dev/null || die "$c is missing"
done
[ -f "$softhsm" ] || die "$softhsm is missing (softhsm2)"

tmp=$(mktemp -d /tmp/sg-bench-hsm.XXXXXX)
master=
cleanup() {
    if [ -n "$master" ]; then
        kill "$master" 2>/dev/null
        sleep 0.5
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
# the workers (nobody, when run as root) open the token themselves
chmod 711 "$tmp"

(cd "$root" && sh schemas/embed.sh "$tmp/sg_sign_schemas.c" schemas)

$cc -O2 -g -Wall -Wextra -I"$root/src" -o "$tmp/hsm_bench" \
    "$here/hsm_bench.c" "$root"/src/*.c "$tmp/sg_sign_schemas.c" \
    $(pkg-config --cflags --libs p11-kit-1) \
    -lpcre2-8 -lcrypto -lm -ldl -pthread

mkdir "$tmp/tokens"
(umask 022 && cat >"$tmp/softhsm2.conf") <<CONF
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

# ---------------------------------------------------------------- gateway

module=${SG_SIGN_MODULE:-$root/build/ngx_http_sg_sign_module.so}
nginx=${NGINX:-/usr/sbin/nginx}
wrk_seconds=$(( seconds > 2 ? seconds : 5 ))

if [ ! -f "$module" ] || ! command -v wrk >/dev/null; then
    echo "gateway: skipped (needs $module and wrk)"
    exit 0
fi

[ "$(id -u)" = 0 ] && chown -R nobody: "$tmp/tokens"

port() {
    perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1,
        LocalAddr => "127.0.0.1")->sockport'
}
gw=$(port)
up=$(port)

perl "$here/gen_payout.pl" 300 bench-hsm >"$tmp/body.json"

cat >"$tmp/nginx.conf" <<CONF
load_module $module;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log notice;
env SOFTHSM2_CONF;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $tmp/client_body_temp;
    proxy_temp_path $tmp/proxy_temp;
    fastcgi_temp_path $tmp/fastcgi_temp;
    uwsgi_temp_path $tmp/uwsgi_temp;
    scgi_temp_path $tmp/scgi_temp;
    sg_sign_pkcs11_module $softhsm;
    upstream up { server 127.0.0.1:$up; keepalive 16; }
    server {
        listen 127.0.0.1:$up;
        location / { return 200 '{"status":"ok"}'; }
    }
    server {
        listen 127.0.0.1:$gw;
        sg_sign_project bench;
        sg_sign_thread_pool default;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location = /file/payout {
            sg_sign on;
            sg_sign_key $tmp/key.pem;
            proxy_pass http://up;
        }
        location = /hsm/payout {
            sg_sign on;
            sg_sign_key "pkcs11:token=bench;object=bench";
            sg_sign_key_passphrase_file $tmp/pin;
            proxy_pass http://up;
        }
    }
}
CONF

"$nginx" -p "$tmp/" -c "$tmp/nginx.conf" -e "$tmp/error.log" \
    || { cat "$tmp/error.log"; exit 1; }
sleep 0.5
master=$(cat "$tmp/nginx.pid")

echo "gateway: one worker, both keys in the default thread pool, 300 B" \
    "payouts, wrk -t1 -c8 -d${wrk_seconds}s"

fail=0
for key in file hsm; do
    line=$(BODY_FILE="$tmp/body.json" wrk -t1 -c8 -d"${wrk_seconds}s" \
        -s "$here/wrk_post.lua" "http://127.0.0.1:$gw/$key/payout" \
        | grep '^RESULT')
    rps=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50_us=\([0-9]*\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")
    non200=$(sed -n 's/.* non200=\([0-9]*\).*/\1/p' <<<"$line")
    printf '%-10s %8s payouts/s  p50 %6s us  p99 %6s us  non-200 %s\n' \
        "$([ $key = file ] && echo 'key file' || echo 'PKCS#11')" \
        "$rps" "$p50" "$p99" "$non200"
    [ "${non200:-1}" = 0 ] || fail=1
done

[ $fail = 0 ] && echo "RESULT: PASS" || { echo "RESULT: FAIL"; exit 1; }
