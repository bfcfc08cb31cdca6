# Shared by bench/bench.sh and bench/soak.sh (sourced, not run).
#
# A private temp dir, throw-away keys, free loopback ports, nginx instances
# started pinned with taskset and stopped on exit.  Everything started here
# is recorded and stopped by bench_cleanup (the callers trap EXIT).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
NGINX=${NGINX:-/usr/sbin/nginx}
SG_SIGN_MODULE=${SG_SIGN_MODULE:-$ROOT/build/ngx_http_sg_sign_module.so}

# CPU layout (2 cores): the gateway nginx (master, worker, any signing
# threads) on GW_CPU; wrk, the probe and the upstream nginx on LOAD_CPU;
# `openssl speed` on GW_CPU, so the RSA limit is for the gateway's one core.
GW_CPU=${GW_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

BENCH_TMP=
BENCH_MASTERS=()
BENCH_BG=()

die() {
    echo "$(basename "$0"): $*" >&2
    exit 2
}

need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "$c is missing (apt-get install -y ${c/taskset/util-linux})"
    done
}

bench_init() {
    need taskset wrk openssl perl curl timeout
    [ -x "$NGINX" ] || die "$NGINX is missing"
    BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sg-$1.XXXXXX")
    # nginx's workers run as nobody when the master runs as root: they must
    # reach their temp dirs; the keys stay 0600 in a 0700 dir (the master
    # reads them)
    chmod 755 "$BENCH_TMP"
    mkdir -p "$BENCH_TMP/keys" "$BENCH_TMP/bodies"
    chmod 700 "$BENCH_TMP/keys"
}

# stops every nginx master and background job started here, by pid
bench_cleanup() {
    local pid i child
    # background jobs are subshells running `timeout ... wrk`: TERM their
    # children first (timeout passes it on to wrk), then them
    for pid in "${BENCH_BG[@]}"; do
        for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
            kill -TERM "$child" 2>/dev/null || true
        done
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${BENCH_MASTERS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for i in $(seq 1 50); do
        local alive=
        for pid in "${BENCH_MASTERS[@]}" "${BENCH_BG[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ -z "$alive" ] && break
        sleep 0.1
    done
    for pid in "${BENCH_MASTERS[@]}" "${BENCH_BG[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    # workers of a master killed by KILL would be orphans: none expected,
    # but reap the ones whose parent was ours
    wait 2>/dev/null || true
    if [ -n "$BENCH_TMP" ] && [ -z "${BENCH_KEEP:-}" ]; then
        rm -rf "$BENCH_TMP"
    elif [ -n "$BENCH_TMP" ]; then
        echo "kept $BENCH_TMP"
    fi
}

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
            LocalPort => 0, Listen => 1, ReuseAddr => 1) or die "$!\n";
        print $s->sockport, "\n";'
}

# rsa_key NAME -> $BENCH_TMP/keys/NAME.key (0600) and NAME.pub
rsa_key() {
    local k=$BENCH_TMP/keys/$1
    (umask 077 && openssl genpkey -algorithm RSA \
        -pkeyopt rsa_keygen_bits:2048 -out "$k.key" 2>/dev/null) ||
        die "openssl genpkey failed"
    chmod 600 "$k.key"
    openssl pkey -in "$k.key" -pubout -out "$k.pub" 2>/dev/null
}

wait_port() {
    local port=$1 i
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# nginx_start NAME CPU CONF_FILE PORT: starts a daemonized nginx pinned to
# CPU, records its master, waits for PORT; prints nothing
nginx_start() {
    local name=$1 cpu=$2 conf=$3 port=$4 pidf i out
    pidf=$BENCH_TMP/$name/nginx.pid
    rm -f "$pidf"
    out=$(taskset -c "$cpu" "$NGINX" -p "$BENCH_TMP/$name/" -c "$conf" \
        -e "$BENCH_TMP/$name/error.log" 2>&1) ||
        die "nginx $name did not start: $out $(tail -5 "$BENCH_TMP/$name/error.log" 2>/dev/null)"
    for i in $(seq 1 100); do
        [ -s "$pidf" ] && break
        sleep 0.05
    done
    [ -s "$pidf" ] || die "nginx $name wrote no pid file"
    BENCH_MASTERS+=("$(cat "$pidf")")
    wait_port "$port" || die "nginx $name is not listening on $port"
}

nginx_master() {
    cat "$BENCH_TMP/$1/nginx.pid"
}

# nginx_stop NAME: TERM to the master, wait until it and its workers are gone
nginx_stop() {
    local pid i
    pid=$(nginx_master "$1" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$BENCH_TMP/$1/nginx.pid"
}

# worker pids of a master (direct children named nginx)
nginx_workers() {
    local m
    m=$(nginx_master "$1")
    ps -o pid= --ppid "$m" 2>/dev/null | tr -d ' '
}

# sum of VmRSS (kB) over the given pids
rss_kb() {
    local pid sum=0 v
    for pid in "$@"; do
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || v=0
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# The start of an nginx.conf for the instance in $BENCH_TMP/$1 (gw or up):
# pid, error log, temp paths and body buffers; the http block stays open.
conf_head() {
    local dir=$BENCH_TMP/$1 level=$2
    cat <<EOF
pid $dir/nginx.pid;
error_log $dir/error.log $level;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body_temp;
    proxy_temp_path $dir/proxy_temp;
    fastcgi_temp_path $dir/fastcgi_temp;
    uwsgi_temp_path $dir/uwsgi_temp;
    scgi_temp_path $dir/scgi_temp;
    client_max_body_size 1m;
    client_body_buffer_size 128k;
EOF
}

# the upstream (a second nginx, no module): logs every request that carries
# X-PARTNER-SIGN (project, signature, the exact body received) and answers
# {"status":"ok"}.  $request_body is filled because proxy_pass reads the body
# (into memory: client_body_buffer_size); proxy_pass_request_body off keeps
# the inner hop cheap.
upstream_conf() {
    local port=$1 inner=$2 log=$3
    cat <<EOF
worker_processes 1;
$(conf_head up warn)
    client_body_in_single_buffer on;
    keepalive_requests 1000000;

    log_format signed escape=none '\$http_x_partner_project \$http_x_partner_sign \$request_body';

    upstream inner {
        server 127.0.0.1:$inner;
        keepalive 32;
    }

    server {
        listen 127.0.0.1:$port backlog=4096;
        location / {
            access_log $log signed if=\$http_x_partner_sign;
            proxy_pass http://inner;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Content-Type "";
        }
    }

    server {
        listen 127.0.0.1:$inner backlog=4096;
        location / {
            default_type application/json;
            return 200 '{"status":"ok"}';
        }
    }
}
EOF
}

upstream_start() {
    UP_PORT=$(free_port)
    UP_INNER=$(free_port)
    UP_LOG=$BENCH_TMP/up/signed.log
    mkdir -p "$BENCH_TMP/up"
    upstream_conf "$UP_PORT" "$UP_INNER" "$UP_LOG" >"$BENCH_TMP/up/nginx.conf"
    nginx_start up "$LOAD_CPU" "$BENCH_TMP/up/nginx.conf" "$UP_PORT"
}

# the canonical (RFC 8785) form of each body file, by ECMAScript itself:
# jcs.js FILE -> FILE.canon
canon_bodies() {
    command -v node >/dev/null || { echo "node is missing: body check skipped" >&2; return 1; }
    node "$BENCH_DIR/jcs.js" "$@"
}
