#!/usr/bin/env bash
# What counting costs next to a signature: the gateway with and without
# sg_sign_metrics_zone, one worker pinned to GW_CPU, the same 300 B payout,
# rounds alternating the two, then the zone's counts against what wrk got.
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

declare -A RPS
FAIL=0

echo "metrics cost: gateway on CPU $GW_CPU, wrk on CPU $LOAD_CPU, -c$CONNS -d${DUR}s, 300 B payouts, $ROUNDS rounds"
echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"

for round in $(seq 1 "$ROUNDS"); do
    for mode in off on; do
        gw_conf "$mode" >"$BENCH_TMP/gw/nginx.conf"
        nginx_start gw "$GW_CPU" "$BENCH_TMP/gw/nginx.conf" "$GW_PORT"
        out=$BENCH_TMP/wrk-$mode-$round.out
        BODY_FILE=$BENCH_TMP/bodies/300.json timeout -k 5 $((DUR + 30)) \
            taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DUR}s" \
            --timeout 10s -s "$BENCH_DIR/wrk_post.lua" \
            "http://127.0.0.1:$GW_PORT$PAYOUT" >"$out" 2>&1
        line=$(grep '^RESULT' "$out") || die "wrk gave no result: $(tail -3 "$out")"
        RPS[$mode,$round]=$(kv "$line" rps)
        printf '  round %d, zone %-3s: %s signed/s\n' "$round" "$mode" "${RPS[$mode,$round]}"
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

[ "$FAIL" = 0 ] && echo "RESULT: PASS" || { echo "RESULT: FAIL"; exit 1; }
