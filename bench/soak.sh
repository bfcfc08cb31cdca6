#!/bin/bash
# Soak with key rotation and reloads (issue 3).
#
#   bench/soak.sh                    # 5 minutes (+ ~1 minute of set-up/checks)
#   SOAK_SECONDS=60 bench/soak.sh    # a short one
#
# The gateway (worker_processes 1, pinned to GW_CPU) signs payouts for an
# upstream nginx (pinned with wrk to LOAD_CPU) that logs the project, the
# signature and the exact body of every request it receives.  wrk runs for
# SOAK_SECONDS at SOAK_CONNECTIONS (64) connections, cycling through 16
# valid payouts (330 B .. 60 KB) and 16 invalid bodies (not JSON, not a
# payout, inexact numbers), while every SOAK_RELOAD_EVERY (10) seconds the
# key file is swapped between two keys, A and B (both "registered": the
# upstream check accepts either), and the master gets HUP.
#
# Reports, and exits 1 unless all hold:
#   - responses by status: only 200 and 400, no 5xx; as many 200s as valid
#     bodies were sent and as many 400s as invalid ones (give or take the
#     requests in flight / cut by a reload);
#   - requests the upstream received that verify with neither key: 0;
#   - bodies the upstream received that are not the exact RFC 8785 form
#     (computed by node) of one of the valid payouts: 0 (so no invalid body,
#     all marked INVALID-*, ever reached it);
#   - both keys signed, and every reload loaded the new key (error log);
#   - no alert/crit/emerg, no "signing failed", no worker crash in the log;
#   - gateway worker RSS: after a warm-up of SOAK_WARMUP (10) seconds at
#     start, and at the end on the final generation of workers after the
#     same warm-up (reload replaces the workers; the master, which survives
#     every reload and which workers are forked from, is checked too, from
#     after its first reload, which adds a one-time ~4 MB step):
#     growth under SOAK_MAX_GROWTH_KB (5120).
#
# Env: SOAK_SECONDS (300), SOAK_CONNECTIONS (64), SOAK_RELOAD_EVERY (10),
#      SOAK_WARMUP (10), SOAK_THREAD_POOL=1 (sign in a thread pool, if the
#      build has sg_sign_thread_pool), GW_CPU (0), LOAD_CPU (1),
#      SG_SIGN_MODULE, NGINX, BENCH_KEEP=1.

set -uo pipefail

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

SECS=${SOAK_SECONDS:-300}
CONNS=${SOAK_CONNECTIONS:-64}
EVERY=${SOAK_RELOAD_EVERY:-10}
WARMUP=${SOAK_WARMUP:-10}
MAX_GROWTH_KB=${SOAK_MAX_GROWTH_KB:-5120}
PAYOUT=/api/v1/session/start/payout

for v in SECS CONNS EVERY WARMUP MAX_GROWTH_KB; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "$v must be a positive integer"
done
[ "$SECS" -le 3600 ] || die "SOAK_SECONDS is at most 3600"
[ "$SECS" -ge "$((2 * EVERY))" ] || die "SOAK_SECONDS must cover at least two reloads"
need node

[ -f "$SG_SIGN_MODULE" ] || die "$SG_SIGN_MODULE is missing: run 'make module' first"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_init soak
cp "$SG_SIGN_MODULE" "$BENCH_TMP/module.so"
rsa_key a
rsa_key b
LIVE=$BENCH_TMP/keys/live.key
cp "$BENCH_TMP/keys/a.key" "$LIVE"
chmod 600 "$LIVE"

fp() {
    openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1
}
FP_A=$(fp "$BENCH_TMP/keys/a.key")
FP_B=$(fp "$BENCH_TMP/keys/b.key")

FAIL=0
fail() {
    echo "FAIL: $*"
    FAIL=1
}

kv() {
    local v
    v=$(grep -o "\b$2=[0-9.]*" <<<"$1" | head -1)
    echo "${v#*=}"
}

perl "$BENCH_DIR/gen_soak_bodies.pl" "$BENCH_TMP/bodies" >/dev/null ||
    die "cannot generate the bodies"
canon_bodies "$BENCH_TMP"/bodies/valid-*.json || die "node failed"

upstream_start
: >"$UP_LOG"

POOL_MAIN=
POOL_LOC=
if [ -n "${SOAK_THREAD_POOL:-}" ]; then
    POOL_MAIN="thread_pool sgpool threads=2;"
    POOL_LOC="sg_sign_thread_pool sgpool;"
fi

GW_PORT=$(free_port)
mkdir -p "$BENCH_TMP/gw"
cat >"$BENCH_TMP/gw/nginx.conf" <<EOF
load_module $BENCH_TMP/module.so;
worker_processes 1;
$POOL_MAIN
$(conf_head gw notice)

    upstream up {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
    }

    server {
        listen 127.0.0.1:$GW_PORT backlog=4096;

        location = $PAYOUT {
            sg_sign on;
            sg_sign_project soak;
            sg_sign_key $LIVE;
            $POOL_LOC
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream off;
        }
    }
}
EOF
if ! out=$("$NGINX" -t -p "$BENCH_TMP/gw/" -c "$BENCH_TMP/gw/nginx.conf" -e "$BENCH_TMP/gw/error.log" 2>&1); then
    die "nginx -t refused the gateway config: $out"
fi
nginx_start gw "$GW_CPU" "$BENCH_TMP/gw/nginx.conf" "$GW_PORT"
MASTER=$(nginx_master gw)

# the workers of the current generation: old ones finishing after a reload
# are titled "worker process is shutting down"
current_workers() {
    ps -o pid=,args= --ppid "$MASTER" 2>/dev/null |
        awk '$NF == "process" && /worker process$/ { print $1 }'
}

# wrk_mix SECONDS OUTFILE [bg]
wrk_mix() {
    BODY_LINES=$BENCH_TMP/bodies/bodies.txt timeout -k 5 $(($1 + 60)) \
        taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${1}s" --timeout 10s \
        -s "$BENCH_DIR/wrk_post.lua" "http://127.0.0.1:$GW_PORT$PAYOUT" >"$2" 2>&1
}

# warm_rss LABEL: warm-up load, then the RSS of the current workers (kB)
warm_rss() {
    wrk_mix "$WARMUP" "$BENCH_TMP/warmup-$1.out"
    sleep 0.5
    local w
    w=$(current_workers)
    [ -n "$w" ] || die "no gateway workers"
    # shellcheck disable=SC2086
    echo "$(rss_kb $w) $(rss_kb "$MASTER") $(echo $w | tr ' ' ',')"
}

echo "sg_sign soak: ${SECS}s, wrk -c$CONNS, key A <-> B + HUP every ${EVERY}s, gateway on CPU $GW_CPU, wrk + upstream on CPU $LOAD_CPU${SOAK_THREAD_POOL:+, signing in a thread pool}"
echo "  key A sha256:$FP_A"
echo "  key B sha256:$FP_B"
echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine makes timings noisy)"

read -r RSS0 MRSS0 W0 <<<"$(warm_rss start)"
[[ ${RSS0:-} =~ ^[0-9]+$ ]] || die "cannot measure the workers' RSS"
echo "  warm-up ${WARMUP}s: worker RSS ${RSS0} kB (pids $W0), master ${MRSS0} kB"
# the warm-up's requests are checked with the rest: keep them in the log

# ------------------------------------------------------------ soak

wrk_mix "$SECS" "$BENCH_TMP/soak.out" &
WRK=$!
BENCH_BG+=("$WRK")

start=$(date +%s)
reloads=0
live=a
gen_rss=()
gen_mrss=()
rounds=$((SECS / EVERY))
for i in $(seq 1 "$rounds"); do
    # the last round would reload as wrk stops: leave the tail alone
    [ "$i" -eq "$rounds" ] && break
    sleep $((start + i * EVERY - $(date +%s) > 0 ? start + i * EVERY - $(date +%s) : 0))
    kill -0 "$WRK" 2>/dev/null || break
    # the RSS of this generation before it is replaced
    # shellcheck disable=SC2046
    gen_rss+=("$(rss_kb $(current_workers))")
    gen_mrss+=("$(rss_kb "$MASTER")")
    if [ "$live" = a ]; then live=b; else live=a; fi
    cp "$BENCH_TMP/keys/$live.key" "$LIVE.tmp"
    chmod 600 "$LIVE.tmp"
    mv -f "$LIVE.tmp" "$LIVE"
    kill -HUP "$MASTER" || { fail "cannot signal the master"; break; }
    reloads=$((reloads + 1))
done
wait "$WRK"
line=$(grep '^RESULT' "$BENCH_TMP/soak.out")
[ -n "$line" ] || die "wrk gave no result: $(tail -5 "$BENCH_TMP/soak.out")"

# let the last reload's old workers finish, then the same warm-up on the
# final generation
for i in $(seq 1 100); do
    n=$(ps -o pid= --ppid "$MASTER" | wc -l)
    [ "$n" -le 1 ] && break
    sleep 0.1
done
read -r RSS1 MRSS1 W1 <<<"$(warm_rss end)"
[[ ${RSS1:-} =~ ^[0-9]+$ ]] || die "cannot measure the workers' RSS at the end"

# ------------------------------------------------------------ checks

echo
echo "wrk: $(kv "$line" requests) responses in ${SECS}s ($(kv "$line" rps) req/s), $reloads reloads"
statuses=$(grep -o 'status_[0-9]*=[0-9]*' <<<"$line" | sed 's/status_//' | tr '\n' ' ')
echo "  responses by status: $statuses"
n200=$(kv "$line" status_200); n200=${n200:-0}
n400=$(kv "$line" status_400); n400=${n400:-0}
other=$(grep -o 'status_[0-9]*=[0-9]*' <<<"$line" | grep -v -E 'status_(200|400)=' | tr '\n' ' ')
[ -z "$other" ] || fail "statuses other than 200 and 400: $other"
[ "$n200" -gt 0 ] || fail "no 200s"
[ "$n400" -gt 0 ] || fail "no 400s"
errs=$(( $(kv "$line" err_connect) + $(kv "$line" err_read) + $(kv "$line" err_write) + $(kv "$line" err_timeout) ))
sv=$(kv "$line" sent_valid); si=$(kv "$line" sent_invalid)
echo "  sent: $sv valid, $si invalid; socket errors: $errs (connect $(kv "$line" err_connect), read $(kv "$line" err_read), write $(kv "$line" err_write), timeout $(kv "$line" err_timeout))"
slack=$((CONNS + errs))
[ "$n200" -le "$sv" ] && [ $((sv - n200)) -le "$slack" ] ||
    fail "valid bodies sent $sv but 200s $n200 (slack $slack): valid payouts were refused?"
[ "$n400" -le "$si" ] && [ $((si - n400)) -le "$slack" ] ||
    fail "invalid bodies sent $si but 400s $n400 (slack $slack)"
[ "$(kv "$line" err_timeout)" = 0 ] || fail "wrk timeouts (a stalled worker?)"

# warm-up responses are checked the same way
for w in start end; do
    wl=$(grep '^RESULT' "$BENCH_TMP/warmup-$w.out")
    wo=$(grep -o 'status_[0-9]*=[0-9]*' <<<"$wl" | grep -v -E 'status_(200|400)=' | tr '\n' ' ')
    [ -z "$wo" ] || fail "warm-up ($w): statuses other than 200/400: $wo"
    wl200=$(kv "$wl" status_200)
    n200=$((n200 + ${wl200:-0}))
done

sleep 0.5
echo
echo "upstream (every request it received, warm-ups included):"
vline=$(perl "$BENCH_DIR/verify_upstream.pl" --log "$UP_LOG" \
    --pub "$BENCH_TMP/keys/a.pub" --pub "$BENCH_TMP/keys/b.pub" \
    --project soak $(for f in "$BENCH_TMP"/bodies/valid-*.json.canon; do printf -- '--expect %s ' "$f"; done) 2>&1)
vrc=$?
echo "  $(grep '^VERIFY' <<<"$vline" | sed 's/^VERIFY //')"
[ $vrc = 0 ] || fail "upstream check: $vline"
ulines=$(kv "$vline" lines); ulines=${ulines:-0}
bad_sig=$(kv "$vline" bad_sig)
unexpected=$(kv "$vline" unexpected_body)
marked=$(grep -c 'INVALID-' "$UP_LOG")
echo "  not verifying with A or B: ${bad_sig:-?}; not a canonical valid payout: ${unexpected:-?}; bodies marked INVALID-*: $marked"
[ "$marked" = 0 ] || fail "$marked invalid bodies reached the upstream"
[ "$ulines" -ge "$n200" ] || fail "upstream logged $ulines requests but wrk got $n200 200s"
[ "$(kv "$vline" key_a)" -gt 0 ] && [ "$(kv "$vline" key_b)" -gt 0 ] ||
    fail "not both keys signed"

echo
echo "reloads and the error log:"
loaded_a=$(grep -c "loaded RSA-2048 key sha256:$FP_A" "$BENCH_TMP/gw/error.log")
loaded_b=$(grep -c "loaded RSA-2048 key sha256:$FP_B" "$BENCH_TMP/gw/error.log")
echo "  key loads logged: A $loaded_a, B $loaded_b (start + $reloads reloads = $((reloads + 1)))"
[ $((loaded_a + loaded_b)) -ge $((reloads + 1)) ] || fail "fewer key loads than reloads"
bad_log=$(grep -E '\[(alert|crit|emerg)\]|signing failed|exited on signal' "$BENCH_TMP/gw/error.log" | head -5)
[ -z "$bad_log" ] || fail "gateway error log: $bad_log"
echo "  alert/crit/emerg, signing failed, worker crashes: $( [ -z "$bad_log" ] && echo none || echo "$bad_log")"

echo
echo "memory (VmRSS, after a ${WARMUP}s warm-up on a fresh generation of workers):"
growth=$((RSS1 - RSS0))
echo "  workers: start ${RSS0} kB (pids $W0), end ${RSS1} kB (pids $W1): growth ${growth} kB (limit ${MAX_GROWTH_KB} kB)"
# observed: the master's RSS steps up once, at its first reload (~4 MB
# here), and stays flat after that; a leak would show as growth after it
MBASE=${gen_mrss[1]:-$MRSS0}
echo "  master:  start ${MRSS0} kB, after the first reload ${MBASE} kB, end ${MRSS1} kB: growth since the first reload $((MRSS1 - MBASE)) kB"
if [ ${#gen_rss[@]} -gt 0 ]; then
    echo "  workers of each generation just before its reload (kB): ${gen_rss[*]}"
    echo "  master just before each reload (kB): ${gen_mrss[*]}"
fi
[ "$growth" -lt "$MAX_GROWTH_KB" ] || fail "worker RSS grew ${growth} kB"
[ $((MRSS1 - MBASE)) -lt "$MAX_GROWTH_KB" ] || fail "master RSS grew $((MRSS1 - MBASE)) kB after the first reload"

echo
if [ "$FAIL" = 0 ]; then
    echo "RESULT: PASS"
else
    echo "RESULT: FAIL"
fi
exit "$FAIL"
