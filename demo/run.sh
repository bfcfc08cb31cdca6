#!/bin/bash
# The demo: the signing gateway on 127.0.0.1:8080 in front of a mock Smart
# Glocal provider on 127.0.0.1:8081 that verifies every signature.
# `make run` builds the module and calls this; Ctrl-C stops both.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
module=${SG_SIGN_MODULE:-$root/build/ngx_http_sg_sign_module.so}
nginx=${NGINX:-/usr/sbin/nginx}
keys=$here/keys
run=$here/run

if [ ! -f "$module" ]; then
    echo "demo: $module is missing; run 'make module' first" >&2
    exit 1
fi

# the partner key pair: generated once, never committed (demo/keys/ is
# git-ignored); the key must be 0600, the module refuses anything looser
mkdir -p "$keys"
chmod 700 "$keys"
if [ ! -s "$keys/partner.key" ]; then
    echo "demo: generating an RSA-2048 key in $keys"
    (umask 077 &&
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
            -out "$keys/partner.key.tmp" 2>/dev/null)
    mv "$keys/partner.key.tmp" "$keys/partner.key"
    rm -f "$keys/partner.pub"
fi
chmod 600 "$keys/partner.key"
if [ ! -s "$keys/partner.pub" ]; then
    openssl pkey -in "$keys/partner.key" -pubout -out "$keys/partner.pub"
fi

# the runtime dir: config, pid, logs, temp files (git-ignored); workers
# must be able to reach it when the master runs as root
mkdir -p "$run/logs"
chmod 755 "$run"
sed -e "s|@MODULE@|$module|g" \
    -e "s|@RUN@|$run|g" \
    -e "s|@KEY@|$keys/partner.key|g" \
    "$here/nginx.conf.in" >"$run/nginx.conf"

nginx_args="-p $run/ -c $run/nginx.conf -e $run/logs/error.log"
if ! out=$("$nginx" $nginx_args -t 2>&1); then
    echo "$out" >&2
    exit 1
fi

mock_pid=
nginx_pid=
stopped=
stop() {
    [ -n "$stopped" ] && return
    stopped=1
    [ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null || true
    [ -n "$mock_pid" ] && kill -TERM "$mock_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    echo
    echo "demo: stopped"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# waits up to 5 s for a started process to write its pid file
wait_started() {
    local pid=$1 pid_file=$2 what=$3
    for _ in $(seq 1 100); do
        [ -s "$pid_file" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "demo: $what did not start" >&2
    exit 1
}

rm -f "$run/provider.pid"
perl "$root/t/lib/mock_provider.pl" --listen 127.0.0.1:8081 \
    --public-key "$keys/partner.pub" --pid-file "$run/provider.pid" &
mock_pid=$!
wait_started "$mock_pid" "$run/provider.pid" \
    "the mock provider (is 127.0.0.1:8081 free?)"

"$nginx" $nginx_args &
nginx_pid=$!
wait_started "$nginx_pid" "$run/nginx.pid" \
    "nginx (see $run/logs/error.log; is 127.0.0.1:8080 free?)"

fpr=$(openssl pkey -in "$keys/partner.key" -pubout -outform DER | sha256sum)
cat <<MSG

demo: gateway  http://127.0.0.1:8080/api/v1/session/start/payout (nginx $nginx_pid)
demo: provider http://127.0.0.1:8081 (mock, verifies with $keys/partner.pub)
demo: key      sha256:${fpr%% *}
demo: logs     $run/logs/error.log

Post an unsigned payout; the gateway signs it and the provider verifies it:

curl -i http://127.0.0.1:8080/api/v1/session/start/payout -H 'Content-Type: application/json' -d '{"session_id":"demo-1","amount_details":{"amount":10000,"currency":"USD"}}'

And one the gateway refuses (amount in major units):

curl -i http://127.0.0.1:8080/api/v1/session/start/payout -H 'Content-Type: application/json' -d '{"session_id":"demo-2","amount_details":{"amount":100.5,"currency":"USD"}}'

What the gateway counted (Prometheus text):

curl -s http://127.0.0.1:8080/metrics | grep -v '^#' | grep -v ' 0$'

Ctrl-C stops both.

MSG

# returns when either process ends (or on Ctrl-C, through the traps)
while kill -0 "$nginx_pid" 2>/dev/null && kill -0 "$mock_pid" 2>/dev/null; do
    sleep 0.5
done
exit 1
