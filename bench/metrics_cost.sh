#!/usr/bin/env bash
# What counting costs next to a signature: the gateway with and without
# sg_sign_metrics_zone, one worker pinned to GW_CPU, the same 300 B payout,
# rounds alternating which goes first; signed/s and the worker's CPU time
# per request (utime + stime from /proc, less sensitive to other load on
# the machine than the rate), then the zone's counts against what wrk got.
# Then, load-independent: the instructions the counting adds per payout,
# from callgrind (one nginx process under valgrind, METRICS_CG_REQUESTS
# payouts, 200), next to the instructions of the whole request.
#
# Env: METRICS_SECONDS (5, per wrk run), METRICS_ROUNDS (3),
#      METRICS_CONNECTIONS (32); GW_CPU / LOAD_CPU as bench/lib.sh.
# Prints RESULT: PASS when the zone counted every request wrk saw answered.

set -euo pipefail

. "$(dirname "$0")/lib.sh"

DUR=${METRICS_SECONDS:-5}
ROUNDS=${METRICS_ROUNDS:-3}
CONNS=${METRICS_CONNECTIONS:-32}
PAYOUT=/api/v1/session/start/payout

trap bench_cleanup EXIT
bench_init metrics
cp "$SG_SIGN_MODULE" "$BENCH_TMP/module.so"
rsa_key a
perl "$BENCH_DIR/gen_payout.pl" 300 bench-metrics >"$BENCH_TMP/bodies/300.json"

upstream_start
GW_PORT=$(free_port)
mkdir -p "$BENCH_TMP/gw"

# gw_conf on|off
gw_conf() {
    local zone='' page=''
    if [ "$1" = on ]; then
        zone='sg_sign_metrics_zone sg 1m;'
        page='location = /metrics { sg_sign_metrics; }'
    fi
    cat <<EOF
load_module $BENCH_TMP/module.so;
worker_processes 1;
$(conf_head gw notice)
    keepalive_requests 1000000;
    $zone

    upstream up {
        server 127.0.0.1:$UP_PORT;
        keepalive 32;
    }

    server {
        listen 127.0.0.1:$GW_PORT backlog=4096;
        $page
        location = $PAYOUT {
            sg_sign on;
            sg_sign_project bench;
            sg_sign_key $BENCH_TMP/keys/a.key;
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

kv() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

declare -A RPS CPU
CLK_TCK=$(getconf CLK_TCK)

# the worker's CPU time so far, in clock ticks
worker_ticks() {
    local w
    w=$(nginx_workers gw | head -1)
    awk '{ print $14 + $15 }' "/proc/$w/stat"
}
FAIL=0

echo "metrics cost: gateway on CPU $GW_CPU, wrk on CPU $LOAD_CPU, -c$CONNS -d${DUR}s, 300 B payouts, $ROUNDS rounds"
echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"

for round in $(seq 1 "$ROUNDS"); do
    order="off on"
    [ $((round % 2)) = 0 ] && order="on off"
    for mode in $order; do
        gw_conf "$mode" >"$BENCH_TMP/gw/nginx.conf"
        nginx_start gw "$GW_CPU" "$BENCH_TMP/gw/nginx.conf" "$GW_PORT"
        out=$BENCH_TMP/wrk-$mode-$round.out
        t0=$(worker_ticks)
        BODY_FILE=$BENCH_TMP/bodies/300.json timeout -k 5 $((DUR + 30)) \
            taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DUR}s" \
            --timeout 10s -s "$BENCH_DIR/wrk_post.lua" \
            "http://127.0.0.1:$GW_PORT$PAYOUT" >"$out" 2>&1
        t1=$(worker_ticks)
        line=$(grep '^RESULT' "$out") || die "wrk gave no result: $(tail -3 "$out")"
        RPS[$mode,$round]=$(kv "$line" rps)
        CPU[$mode,$round]=$(awk -v a="$t0" -v b="$t1" -v n="$(kv "$line" requests)" -v hz="$CLK_TCK" \
            'BEGIN { printf "%.0f", (b - a) * 1000000 / hz / n }')
        printf '  round %d, zone %-3s: %s signed/s, worker CPU %s us/request\n' \
            "$round" "$mode" "${RPS[$mode,$round]}" "${CPU[$mode,$round]}"
        if [ "$mode" = on ]; then
            # wrk stops with requests in flight: let them finish first
            sleep 1
            page=$(curl -s "http://127.0.0.1:$GW_PORT/metrics")
            counted=$(echo "$page" | awk '/^sg_sign_requests_total\{method="session\/start\/payout",outcome="signed"\}/ { print $2 }')
            ok=$(kv "$line" status_200)
            up=$(echo "$page" | awk '/^sg_sign_upstream_responses_total\{method="session\/start\/payout",/ { n += $2 } END { print n }')
            if [ "$counted" -lt "$ok" ] || [ "$up" != "$counted" ]; then
                echo "FAIL: round $round: the zone counted $counted signed ($up with an upstream class), wrk got $ok answers 200"
                FAIL=1
            else
                echo "    the zone counted $counted signed, $up with an upstream class; wrk saw $ok answers 200 (+ the ones it cut off)"
            fi
        fi
        nginx_stop gw
    done
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
off=$(median $(for r in $(seq 1 "$ROUNDS"); do echo "${RPS[off,$r]}"; done))
on=$(median $(for r in $(seq 1 "$ROUNDS"); do echo "${RPS[on,$r]}"; done))
echo "median: without the zone $off signed/s, with it $on signed/s ($(awk -v a="$on" -v b="$off" 'BEGIN { printf "%+.1f %%", (a - b) * 100 / b }'))"
coff=$(median $(for r in $(seq 1 "$ROUNDS"); do echo "${CPU[off,$r]}"; done))
con=$(median $(for r in $(seq 1 "$ROUNDS"); do echo "${CPU[on,$r]}"; done))
echo "median worker CPU per request: without the zone $coff us, with it $con us"

# ------------------------------------------------------------ callgrind

if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
    N=${METRICS_CG_REQUESTS:-200}
    gw_conf on | sed 's/^worker_processes 1;/daemon off; master_process off;/' \
        >"$BENCH_TMP/gw/cg.conf"
    valgrind --tool=callgrind --callgrind-out-file="$BENCH_TMP/cg.out" \
        "$NGINX" -p "$BENCH_TMP/gw/" -c "$BENCH_TMP/gw/cg.conf" \
        -e "$BENCH_TMP/gw/error.log" >"$BENCH_TMP/cg.log" 2>&1 &
    CG=$!
    BENCH_BG+=("$CG")
    for i in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT") 2>/dev/null && break
        sleep 0.1
    done
    for i in $(seq 1 "$N"); do
        curl -s -o /dev/null -H 'Content-Type: application/json' \
            --data-binary @"$BENCH_TMP/bodies/300.json" \
            "http://127.0.0.1:$GW_PORT$PAYOUT"
    done
    counted=$(curl -s "http://127.0.0.1:$GW_PORT/metrics" | awk '/^sg_sign_requests_total\{method="session\/start\/payout",outcome="signed"\}/ { print $2 }')
    kill -TERM "$CG"
    wait "$CG" 2>/dev/null || true
    [ "$counted" = "$N" ] || { echo "FAIL: callgrind run: the zone counted $counted of $N"; FAIL=1; }
    # inclusive instructions of the request-path hooks (the log phase, the
    # histogram, its clock), and of everything; callgrind_annotate lists a
    # function under several names (file:fn, ???:fn): its largest is the
    # inclusive cost
    callgrind_annotate --inclusive=yes --threshold=100 "$BENCH_TMP/cg.out" \
        2>/dev/null | tr -d , | awk -v n="$N" '
        /PROGRAM TOTALS/ { total = $1 }
        match($0, /ngx_http_sg_sign_metrics_(log_handler|signing|clock)/) {
            fn = substr($0, RSTART, RLENGTH)
            if ($1 > max[fn]) { max[fn] = $1 }
        }
        END {
            for (fn in max) { hooks += max[fn] }
            printf "callgrind: %.0f instructions per payout, of which counting %.0f (%.4f %%)\n",
                total / n, hooks / n, hooks * 100 / total
        }'
else
    echo "valgrind is missing: no instruction count"
fi

[ "$FAIL" = 0 ] && echo "RESULT: PASS" || { echo "RESULT: FAIL"; exit 1; }
