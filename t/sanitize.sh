#!/usr/bin/env bash
# The whole t/*.t suite against the module built with AddressSanitizer and
# UBSan, loaded into Debian's (non-instrumented) /usr/sbin/nginx.
#
#   bash t/sanitize.sh [prove args / test files]     (default: t/*.t)
#
# Builds build/asan/ngx_http_sg_sign_module.so from a copy of nginx-dev's
# tree, then runs the tests with the harness pointed at it
# (SG_SIGN_MODULE) and every nginx started as
#   env LD_PRELOAD=libasan.so:libubsan.so ASAN_OPTIONS=... nginx ...
# (SG_SIGN_NGINX_PREFIX). Reports go to files, one per process, in
# build/asan/logs/. Exit status: 0 when the tests pass and no ASan/LSan/UBSan
# report mentions the module's code (ngx_sg_sign_*.c, src/sg_*);
# 1 otherwise (the offending reports are printed).
#
# ASan cannot see overflows inside an nginx pool block (ngx_palloc carves
# malloc'd blocks): the module's pool allocations are checked only at the
# block's edges. Heap memory the core or OpenSSL mallocs is fully checked.

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B="$ROOT/build/asan"
NGX_SRC=${NGX_SRC:-/usr/share/nginx/src}
NGINX=${NGINX:-/usr/sbin/nginx}
SAN='-fsanitize=address,undefined -fsanitize=float-cast-overflow'
SAN="$SAN -fno-omit-frame-pointer"

mkdir -p "$B"

# ---------------------------------------------------------------- build

# with the fault hooks too (inert without their request headers), so that
# t/alloc_faults.t walks every allocation failure under the sanitizers
CC_OPT="-g -O1 -fPIC $SAN -DNGX_SG_SIGN_FAULTS=1"

if [ ! -f "$B/nginx/objs/Makefile" ] || [ "$ROOT/config" -nt "$B/nginx/objs/Makefile" ] \
    || [ "$(cat "$B/cc-opt" 2>/dev/null)" != "$CC_OPT" ]
then
    echo "sanitize: configuring $B/nginx (log: $B/configure.log)"
    rm -rf "$B/nginx"
    cp -r "$NGX_SRC" "$B/nginx"
    ( cd "$B/nginx" && . ./conf_flags &&
      ./configure "${NGX_CONF_FLAGS[@]}" \
          --with-cc-opt="$CC_OPT" \
          --with-ld-opt='-fsanitize=address,undefined' \
          --add-dynamic-module="$ROOT" ) >"$B/configure.log" 2>&1 || {
        tail -20 "$B/configure.log"; echo "sanitize: configure failed"; exit 2; }
    echo "$CC_OPT" >"$B/cc-opt"
fi

echo "sanitize: building the module with ASan+UBSan (log: $B/make.log)"
( cd "$B/nginx" && make -f objs/Makefile modules ) >"$B/make.log" 2>&1 || {
    tail -30 "$B/make.log"; echo "sanitize: build failed"; exit 2; }
cp "$B/nginx/objs/ngx_http_sg_sign_module.so" "$B/ngx_http_sg_sign_module.so"

for sym in __asan_ __ubsan_; do
    if ! nm -D "$B/ngx_http_sg_sign_module.so" | grep "$sym" >/dev/null; then
        echo "sanitize: the module is not instrumented ($sym)"; exit 2
    fi
done

# ---------------------------------------------------------------- run

LIBASAN=$(gcc -print-file-name=libasan.so)
LIBUBSAN=$(gcc -print-file-name=libubsan.so)
for l in "$LIBASAN" "$LIBUBSAN"; do
    [ -f "$l" ] || { echo "sanitize: $l not found (gcc's sanitizer runtimes)"; exit 2; }
done

LOGS="$B/logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"
chmod 1777 "$LOGS"          # workers run as nobody when the tests run as root

# LSan runs when each process exits: the workers and the master at
# nginx -s stop / TERM (nginx destroys its cycle pool on that path), `nginx
# -t`, and the parent that ngx_daemon() leaves. Memory nginx keeps reachable
# through its globals is not a leak; anything unreachable is reported.
ASAN_OPTIONS="log_path=$LOGS/asan:detect_leaks=1:malloc_context_size=30"
ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0:detect_odr_violation=0"
ASAN_OPTIONS="$ASAN_OPTIONS:handle_abort=1:print_suppressions=0"
UBSAN_OPTIONS="log_path=$LOGS/ubsan:print_stacktrace=1:halt_on_error=0"
# a leak report must not change an exit status (the parent ngx_daemon()
# leaves exits with nginx's own PCRE2 context unfreed): the reports are read
# from the logs below
LSAN_OPTIONS="exitcode=0"

export SG_SIGN_MODULE="$B/ngx_http_sg_sign_module.so"
export SG_SIGN_FAULT_MODULE="$SG_SIGN_MODULE"
export SG_SIGN_NGINX_PREFIX="env LD_PRELOAD=$LIBASAN:$LIBUBSAN ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS LSAN_OPTIONS=$LSAN_OPTIONS"
export SG_SIGN_SANITIZER=1
export SG_SIGN_SLOW=${SG_SIGN_SLOW:-3}
export NGINX     # the harness reads it and keeps it from nginx

cd "$ROOT"

# the recipe works: master and worker run with the ASan/UBSan runtimes and
# the instrumented module mapped, and sign a payout
perl -It/lib -MSgSign::Test -e '
    my $t = SgSign::Test->new;
    my $k = $t->rsa_key("p");
    $t->start_provider;
    $t->start($t->gateway("sg_sign on; sg_sign_project p; sg_sign_key $k->{key};"));
    my $r = $t->post(q({"session_id":"probe"}));
    my @bad;
    push @bad, "payout answered " . ($r->status // "nothing") if ($r->status // 0) != 200;
    for my $p ($t->master_pid, $t->worker_pids) {
        my $m = SgSign::Test::read_file("/proc/$p/maps") // "";
        for my $want (qw(libasan libubsan asan/ngx_http_sg_sign_module)) {
            push @bad, "pid $p: no $want mapped" if index($m, $want) < 0;
        }
    }
    die "sanitize: the recipe does not work: @bad\n" if @bad;
    print "sanitize: master and worker run with libasan, libubsan and the instrumented module\n";
' || exit 2

if [ $# -gt 0 ]; then tests=("$@"); else tests=(t/*.t); fi
echo "sanitize: prove ${tests[*]}"
prove -e '' "${tests[@]}"
prove_rc=$?

# ---------------------------------------------------------------- verdict

shopt -s nullglob
reports=("$LOGS"/asan.* "$LOGS"/ubsan.*)
ours=()
for f in "${reports[@]}"; do
    if grep -qE 'ngx_sg_sign_[a-z_]+\.c|/src/sg_[a-z_]+\.[ch]|ngx_http_sg_sign_|\bsg_(json|jcs|schema|body|signer|verify|verifier|error)_' "$f"; then
        ours+=("$f")
    fi
done

echo
echo "sanitize: ${#reports[@]} sanitizer report file(s) in $LOGS," \
     "${#ours[@]} mentioning the module"
for f in "${reports[@]}"; do
    echo "  $(basename "$f"): $(grep -m1 -E 'ERROR|runtime error|SUMMARY' "$f" | cut -c1-160)"
done
for f in "${ours[@]}"; do
    echo
    echo "==================== $f"
    cat "$f"
done

rc=0
if [ $prove_rc -ne 0 ]; then
    echo "sanitize: FAIL: tests failed under the sanitizers (prove exit $prove_rc)"
    rc=1
fi
if [ ${#ours[@]} -gt 0 ]; then
    echo "sanitize: FAIL: sanitizer reports in the module's code (above)"
    rc=1
fi
[ $rc -eq 0 ] && echo "sanitize: OK (tests pass, no sanitizer report in the module)"
exit $rc
