#!/bin/bash
# The gateway against the floor and the RSA limit, side by side, pinned.
#
#   bench/bench.sh           # ~2.5 minutes with the defaults
#
# Measures, for payout bodies of ~300 B, ~4 KB and ~60 KB:
#   floor    nginx, plain proxy_pass to the local upstream, no module loaded
#   gateway  the same location with sg_sign on (RSA-2048, base64), and, when
#            the build has sg_sign_thread_pool, again signing in a thread pool
#   RSA      `openssl speed -seconds 3 rsa2048` sign/s on the gateway's core
# and, while the gateway is saturated with ~4 KB payouts, the latency of a
# cheap `return 200` location on the same worker (does signing stall the
# event loop?).
#
# Layout (2 cores): the gateway nginx (worker_processes 1, and its signing
# threads) on GW_CPU (0); wrk, the probe and the upstream nginx on LOAD_CPU
# (1); openssl speed on GW_CPU.  The upstream is a second nginx that logs
# the project, the signature and the exact body of every signed request;
# after each gateway run every logged request is verified (signature with
# the public key, body == RFC 8785 of what was sent, computed by node) and
# every response must have been 200.  Exit status 1 if any check fails.
#
# Env: BENCH_SECONDS (10, per wrk run), BENCH_CONNECTIONS (32),
#      BENCH_WRK_THREADS (1), BENCH_SIZES ("300 4096 61440"),
#      BENCH_POOL_THREADS (1: threads of the signing pool),
#      BENCH_STALL_SIZE (4096), PROBE_DELAY_MS (5), PROBE_CONNECTIONS (2),
#      GW_CPU (0), LOAD_CPU (1), SG_SIGN_MODULE, NGINX, BENCH_KEEP=1 (keep
#      the temp dir).

set -uo pipefail

. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

DUR=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-32}
WRK_THREADS=${BENCH_WRK_THREADS:-1}
SIZES=${BENCH_SIZES:-300 4096 61440}
POOL_THREADS=${BENCH_POOL_THREADS:-1}
STALL_SIZE=${BENCH_STALL_SIZE:-4096}
PROBE_CONNS=${PROBE_CONNECTIONS:-2}
PAYOUT=/api/v1/session/start/payout
CLK_TCK=$(getconf CLK_TCK)

for v in DUR CONNS WRK_THREADS POOL_THREADS PROBE_CONNS; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "$v must be a positive integer"
done
[ "$DUR" -le 600 ] || die "BENCH_SECONDS is at most 600"

[ -f "$SG_SIGN_MODULE" ] || die "$SG_SIGN_MODULE is missing: run 'make module' first"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_init bench
# a private copy: a rebuild of build/ during the run does not touch it
cp "$SG_SIGN_MODULE" "$BENCH_TMP/module.so"
rsa_key a

FAIL=0
fail() {
    echo "FAIL: $*"
    FAIL=1
}

for s in $(printf '%s\n' $SIZES "$STALL_SIZE" | sort -un); do
    [[ $s =~ ^[0-9]+$ ]] || die "body sizes are numbers of bytes: $s"
    perl "$BENCH_DIR/gen_payout.pl" "$s" "bench-$s" >"$BENCH_TMP/bodies/$s.json"
done
EXPECT=1
canon_bodies "$BENCH_TMP"/bodies/*.json || EXPECT=0

echo "sg_sign bench: $(nproc) CPUs; gateway on CPU $GW_CPU, wrk + upstream on CPU $LOAD_CPU;"
echo "  wrk -t$WRK_THREADS -c$CONNS -d${DUR}s per run; bodies:$(for s in $SIZES; do printf ' %s B' "$(wc -c <"$BENCH_TMP/bodies/$s.json")"; done)"
echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine makes the figures noisy)"

# ------------------------------------------------------------ RSA limit

echo
echo "openssl speed -seconds 3 rsa2048 (pinned to CPU $GW_CPU)..."
RSA_OUT=$(timeout 60 taskset -c "$GW_CPU" openssl speed -seconds 3 rsa2048 2>/dev/null)
RSA_SIGNS=$(echo "$RSA_OUT" | awk '/^rsa 2048 bits/ { print $(NF-1) }')
[ -n "$RSA_SIGNS" ] || die "cannot parse openssl speed output: $RSA_OUT"
echo "  RSA-2048 limit: $RSA_SIGNS sign/s on one core"

upstream_start
: >"$UP_LOG"

# ------------------------------------------------------------ the gateway

GW_PORT=$(free_port)

# gw_conf MODE: floor | off | pool
gw_conf() {
    local mode=$1 sign=
    [ "$mode" != floor ] && echo "load_module $BENCH_TMP/module.so;"
    [ "$mode" = pool ] && echo "thread_pool sgpool threads=$POOL_THREADS;"
    if [ "$mode" != floor ]; then
        sign="sg_sign on;
            sg_sign_project bench;
            sg_sign_key $BENCH_TMP/keys/a.key;
            sg_sign_encoding base64;"
        [ "$mode" = pool ] && sign="$sign
            sg_sign_thread_pool sgpool;"
    fi
    cat <<EOF
worker_processes 1;
$(conf_head gw notice)
    keepalive_requests 1000000;

    upstream up {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
    }

    server {
        listen 127.0.0.1:$GW_PORT backlog=4096;

        location = $PAYOUT {
            $sign
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream off;
        }

        location = /ping {
            return 200 "pong\n";
        }
    }
}
EOF
}

gw_start() {
    mkdir -p "$BENCH_TMP/gw"
    gw_conf "$1" >"$BENCH_TMP/gw/nginx.conf"
    nginx_start gw "$GW_CPU" "$BENCH_TMP/gw/nginx.conf" "$GW_PORT"
}

# calc EXPR -> its value (awk, so no bc needed)
calc() {
    awk "BEGIN { printf \"%.6f\", $1 }"
}

ms() {
    awk "BEGIN { printf \"%.2f\", ${1:-0} / 1000 }"
}

# kv LINE KEY -> value
kv() {
    local v
    v=$(grep -o "\b$2=[0-9.]*" <<<"$1" | head -1)
    echo "${v#*=}"
}

declare -A R    # R[mode,size,field]

# cpu_sample: "WORKER_TICKS CPU_BUSY CPU_TOTAL": the gateway workers' CPU
# time (all their threads) and GW_CPU's busy/total time, in clock ticks
cpu_sample() {
    local w t=0 pid
    w=$(nginx_workers gw)
    for pid in $w; do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    awk -v t="$t" -v c="cpu$GW_CPU" '$1 == c {
        busy = $2 + $3 + $4 + $7 + $8 + $9; print t, busy, busy + $5 + $6 }' /proc/stat
}

# run_wrk MODE SIZE [probe]: one wrk run against the payout location
run_wrk() {
    local mode=$1 size=$2 probe=${3:-} out line ppid='' pline
    out=$BENCH_TMP/wrk-$mode-$size${probe:+-stall}.out
    if [ -n "$probe" ]; then
        local pdur=$((DUR > 4 ? DUR - 2 : 2))
        (sleep 1; PROBE_DELAY_MS=${PROBE_DELAY_MS:-5} timeout -k 5 $((pdur + 30)) \
            taskset -c "$LOAD_CPU" wrk -t1 -c"$PROBE_CONNS" -d"${pdur}s" \
            --timeout 10s -s "$BENCH_DIR/wrk_probe.lua" \
            "http://127.0.0.1:$GW_PORT/ping") >"$out.probe" 2>&1 &
        ppid=$!
        BENCH_BG+=("$ppid")
    fi
    local c0 c1
    c0=$(cpu_sample)
    BODY_FILE=$BENCH_TMP/bodies/$size.json timeout -k 5 $((DUR + 30)) \
        taskset -c "$LOAD_CPU" wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DUR}s" \
        --timeout 10s -s "$BENCH_DIR/wrk_post.lua" \
        "http://127.0.0.1:$GW_PORT$PAYOUT" >"$out" 2>&1
    c1=$(cpu_sample)
    [ -n "$ppid" ] && wait "$ppid"
    line=$(grep '^RESULT' "$out")
    if [ -z "$line" ]; then
        fail "$mode $size: wrk gave no result: $(tail -3 "$out")"
        return
    fi
    local key=$mode,$size${probe:+,stall}
    R[$key,rps]=$(kv "$line" rps)
    # the worker's CPU per request, its share of GW_CPU, and what else ran there
    read -r R[$key,cpu_us] R[$key,worker_pct] R[$key,other_pct] <<<"$(awk \
        -v a="$c0" -v b="$c1" -v n="$(kv "$line" requests)" -v hz="$CLK_TCK" 'BEGIN {
        split(a, x, " "); split(b, y, " "); dt = y[3] - x[3]; dw = y[1] - x[1];
        if (dt <= 0) dt = 1; if (n <= 0) n = 1;
        printf "%.1f %.0f %.0f", dw / hz * 1e6 / n, 100 * dw / dt,
            100 * ((y[2] - x[2]) - dw) / dt }')"
    R[$key,p50]=$(kv "$line" p50_us)
    R[$key,p99]=$(kv "$line" p99_us)
    R[$key,requests]=$(kv "$line" requests)
    local non200 errs
    non200=$(kv "$line" non200)
    errs=$(( $(kv "$line" err_connect) + $(kv "$line" err_read) + $(kv "$line" err_write) + $(kv "$line" err_timeout) ))
    [ "$non200" = 0 ] || fail "$mode $size: $non200 responses were not 200 ($(grep -o 'status_[0-9]*=[0-9]*' <<<"$line" | tr '\n' ' '))"
    [ "$errs" = 0 ] || fail "$mode $size: $errs socket errors"
    [ "${R[$key,requests]}" -gt 0 ] || fail "$mode $size: no requests completed"
    if [ -n "$probe" ]; then
        pline=$(grep '^PROBE' "$out.probe")
        if [ -z "$pline" ]; then
            fail "$mode probe gave no result: $(tail -3 "$out.probe")"
        else
            R[$key,probe_p50]=$(kv "$pline" p50_us)
            R[$key,probe_p99]=$(kv "$pline" p99_us)
            R[$key,probe_max]=$(kv "$pline" max_us)
            R[$key,probe_n]=$(kv "$pline" requests)
            [ "$(kv "$pline" non200)" = 0 ] && [ "$(kv "$pline" errors)" = 0 ] ||
                fail "$mode probe: non-200 or errors: $pline"
        fi
    fi
    printf '  %-6s %6s B%s: %8s req/s  p50 %s ms  p99 %s ms  worker CPU %s us/req (%s%% of CPU %s, others %s%%)\n' \
        "$mode" "$size" "${probe:+ +probe}" "${R[$key,rps]}" "$(ms "${R[$key,p50]}")" \
        "$(ms "${R[$key,p99]}")" "${R[$key,cpu_us]}" "${R[$key,worker_pct]}" "$GW_CPU" "${R[$key,other_pct]}"
    if [ -n "$probe" ]; then
        printf '         probe /ping: p50 %s ms  p99 %s ms  max %s ms (%s probes)\n' \
            "$(ms "${R[$key,probe_p50]:-0}")" "$(ms "${R[$key,probe_p99]:-0}")" \
            "$(ms "${R[$key,probe_max]:-0}")" "${R[$key,probe_n]:-0}"
    fi
}

# verify_log MODE SIZE: every request the upstream got in the last run
verify_log() {
    local mode=$1 size=$2 line lines args
    sleep 0.3
    args=(--log "$UP_LOG" --pub "$BENCH_TMP/keys/a.pub" --project bench)
    [ "$EXPECT" = 1 ] && args+=(--expect "$BENCH_TMP/bodies/$size.json.canon")
    line=$(perl "$BENCH_DIR/verify_upstream.pl" "${args[@]}" 2>&1)
    local rc=$?
    echo "         upstream: $(grep '^VERIFY' <<<"$line" | sed 's/^VERIFY //')"
    [ $rc = 0 ] || fail "$mode $size: upstream check: $line"
    lines=$(kv "$line" lines)
    local key=$mode,$size$3
    # wrk counts completed responses; the upstream may also have seen the
    # requests still in flight when wrk stopped
    if [ -z "$lines" ] || [ "$lines" -lt "${R[$key,requests]:-0}" ] ||
       [ "$lines" -gt $(( ${R[$key,requests]:-0} + CONNS )) ]; then
        fail "$mode $size: upstream logged ${lines:-?} signed requests, wrk completed ${R[$key,requests]:-?}"
    fi
    : >"$UP_LOG"
}

# ------------------------------------------------------------ thread pool?

mkdir -p "$BENCH_TMP/gw"
gw_conf pool >"$BENCH_TMP/gw/pool-test.conf"
POOL=0
if pool_out=$("$NGINX" -t -p "$BENCH_TMP/gw/" -c "$BENCH_TMP/gw/pool-test.conf" \
        -e "$BENCH_TMP/gw/error.log" 2>&1); then
    POOL=1
elif grep -q 'unknown directive "sg_sign_thread_pool"' <<<"$pool_out"; then
    POOL=0
else
    echo "thread pool config refused by nginx -t: $(grep -m1 emerg <<<"$pool_out")"
fi
MODES="floor off"
[ "$POOL" = 1 ] && MODES="$MODES pool"

# ------------------------------------------------------------ runs

for mode in $MODES; do
    echo
    case $mode in
    floor) echo "floor: proxy_pass only, no module loaded";;
    off)   echo "gateway: sg_sign on, signing on the event loop";;
    pool)  echo "gateway: sg_sign on, sg_sign_thread_pool (thread_pool threads=$POOL_THREADS)";;
    esac
    gw_start "$mode"
    : >"$UP_LOG"
    for size in $SIZES; do
        run_wrk "$mode" "$size"
        [ "$mode" != floor ] && verify_log "$mode" "$size" ""
    done
    run_wrk "$mode" "$STALL_SIZE" probe
    [ "$mode" != floor ] && verify_log "$mode" "$STALL_SIZE" ",stall"
    if grep -E '\[(alert|emerg|crit)\]|signing failed' "$BENCH_TMP/gw/error.log" >/dev/null; then
        fail "$mode: gateway error log: $(grep -m3 -E '\[(alert|emerg|crit)\]|signing failed' "$BENCH_TMP/gw/error.log")"
    fi
    nginx_stop gw
    rm -f "$BENCH_TMP/gw/error.log"
done

# ------------------------------------------------------------ table


echo
echo "RSA-2048 limit (openssl speed, 1 core): $RSA_SIGNS sign/s"
echo "ideal = 1 / (1/RSA + 1/floor): proxying plus one signature per request"
echo
for mode in $MODES; do
    [ "$mode" = floor ] && continue
    [ "$mode" = off ] && title="gateway, signing on the event loop" ||
        title="gateway, signing in a thread pool (threads=$POOL_THREADS)"
    echo "$title:"
    printf '%8s | %10s %7s %7s | %10s %7s %7s | %7s | %7s %7s\n' \
        size "floor r/s" p50ms p99ms "gw r/s" p50ms p99ms "gw/flr" ideal "gw/idl"
    for size in $SIZES; do
        f=${R[floor,$size,rps]:-0}; g=${R[$mode,$size,rps]:-0}
        if [ "${f%.*}" -gt 0 ] 2>/dev/null; then
            ideal=$(calc "1 / (1 / $RSA_SIGNS + 1 / $f)")
            printf '%8s | %10.0f %7s %7s | %10.0f %7s %7s | %7.3f | %7.0f %7.3f\n' \
                "$(wc -c <"$BENCH_TMP/bodies/$size.json")" "$f" \
                "$(ms "${R[floor,$size,p50]}")" "$(ms "${R[floor,$size,p99]}")" \
                "$g" "$(ms "${R[$mode,$size,p50]:-0}")" "$(ms "${R[$mode,$size,p99]:-0}")" \
                "$(calc "$g / $f")" "$ideal" "$(calc "$g / $ideal")"
        fi
    done
    echo
done

RSA_US=$(calc "1e6 / $RSA_SIGNS")
echo "CPU per request on the gateway's core (worker process, all threads),"
echo "against one signature = 1e6 / RSA = $(printf '%.0f' "$RSA_US") us:"
printf '%8s | %9s | %-6s %9s %9s %11s %11s\n' size "floor us" mode "gw us" "added us" "added-RSA" "cpu ideal"
for size in $SIZES; do
    for mode in $MODES; do
        [ "$mode" = floor ] && continue
        f=${R[floor,$size,cpu_us]:-0}; g=${R[$mode,$size,cpu_us]:-0}
        printf '%8s | %9.1f | %-6s %9.1f %9.1f %11.1f %9.0f/s\n' \
            "$(wc -c <"$BENCH_TMP/bodies/$size.json")" "$f" "$mode" "$g" \
            "$(calc "$g - $f")" "$(calc "$g - $f - $RSA_US")" "$(calc "1e6 / ($f + $RSA_US)")"
    done
done
echo "  (added-RSA: what the module costs beyond the signature: body read, validate,"
echo "   canonicalize, hash, headers; cpu ideal: 1e6 / (floor us + RSA us), the rate"
echo "   if the gateway core did nothing but proxy and sign)"
echo

echo "signing vs the event loop: /ping (return 200) on the same worker while"
echo "wrk -c$CONNS saturates the payout location with $STALL_SIZE B bodies;"
echo "probe: $PROBE_CONNS connections, one request each per ${PROBE_DELAY_MS:-5} ms:"
printf '  %-28s %10s %10s %10s %10s\n' mode "load r/s" "probe p50" "probe p99" "probe max"
for mode in $MODES; do
    k=$mode,$STALL_SIZE,stall
    case $mode in
    floor) title="floor (no signing)";;
    off)   title="sg_sign, event loop";;
    pool)  title="sg_sign, thread pool";;
    esac
    printf '  %-28s %10.0f %8s ms %8s ms %8s ms\n' "$title" "${R[$k,rps]:-0}" \
        "$(ms "${R[$k,probe_p50]:-0}")" "$(ms "${R[$k,probe_p99]:-0}")" "$(ms "${R[$k,probe_max]:-0}")"
done
[ "$POOL" = 1 ] || echo "  thread pool: not available in this build (sg_sign_thread_pool unknown to nginx -t)"

echo
if [ "$EXPECT" = 1 ]; then
    echo "checks: every response 200, every upstream request verified with the key and equal to RFC 8785 of the body sent (node)"
else
    echo "checks: every response 200, every upstream request verified with the key (node missing: bodies not compared)"
fi
if [ "$FAIL" = 0 ]; then
    echo "RESULT: PASS"
else
    echo "RESULT: FAIL"
fi
exit "$FAIL"
