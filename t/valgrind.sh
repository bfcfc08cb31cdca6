#!/usr/bin/env bash
# The integration tests with nginx under valgrind (memcheck), one process:
# master_process off; daemon off (the harness's SG_SIGN_VALGRIND mode starts
# it in the background and stops it with SIGTERM, so nginx leaves through its
# own exit path, destroying its cycle pool, and valgrind writes its summary).
#
#   bash t/valgrind.sh [test files]
#       default: t/sign.t t/errors.t t/privacy.t t/faults.t t/abuse.t
#                t/threads.t (those present)
#
# One log per nginx process in build/valgrind/logs/vg.<pid>.log. Exit status
# 0 when the tests pass and valgrind reports no invalid read/write/free (in
# any code: nginx, OpenSSL or the module), and no "definitely lost" block and
# no use of uninitialised memory whose stack includes the module (sg_*,
# ngx_http_sg_sign_*, ngx_sg_sign_*.c); 1 otherwise, with the reports.
#
# Memory the module takes from nginx pools is checked at the pool block's
# edges only (ngx_palloc carves malloc'd blocks); what the core and OpenSSL
# malloc is fully checked, and leaks of it are seen at exit.
# Left out: config.t checks the workers' uid (this mode has none); reload.t
# reloads, which nginx does not support with master_process off (even
# without the module, a plain nginx answers garbage after SIGHUP there).

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B="$ROOT/build/valgrind"
LOGS="$B/logs"
MODULE=${SG_SIGN_MODULE:-$ROOT/build/ngx_http_sg_sign_module.so}

command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)"; exit 2; }

if [ ! -f "$MODULE" ]; then
    make -C "$ROOT" module || { echo "valgrind: cannot build the module"; exit 2; }
fi

rm -rf "$LOGS"
mkdir -p "$LOGS"
chmod 1777 "$LOGS"

export SG_SIGN_MODULE="$MODULE"
export SG_SIGN_VALGRIND=1
export SG_SIGN_SLOW=${SG_SIGN_SLOW:-10}
export SG_SIGN_NGINX_PREFIX="valgrind --tool=memcheck --leak-check=full \
--show-leak-kinds=definite --errors-for-leak-kinds=definite \
--error-exitcode=97 --num-callers=40 --log-file=$LOGS/vg.%p.log"

cd "$ROOT"
if [ $# -gt 0 ]; then
    tests=("$@")
else
    tests=()
    for f in t/sign.t t/errors.t t/privacy.t t/faults.t t/abuse.t t/threads.t; do
        [ -f "$f" ] && tests+=("$f")
    done
fi
echo "valgrind: prove ${tests[*]} (nginx under valgrind, logs in $LOGS)"
prove -e '' "${tests[@]}"
prove_rc=$?

# ---------------------------------------------------------------- verdict

perl -e '
    use strict;
    use warnings;
    my $module = qr/\((?:ngx_sg_sign_\w+|sg_\w+)\.[ch]:\d+\)|ngx_http_sg_sign_|\bsg_(?:json|jcs|schema|body|signer|verify|verifier|error)_\w+|ngx_http_sg_sign_module\.so/;
    my ($files, $summaries, @fail, %info) = (0, 0);
    for my $f (sort @ARGV) {
        open my $fh, "<", $f or next;
        local $/;
        my $log = <$fh>;
        $files++;
        $summaries++ if $log =~ /HEAP SUMMARY/;
        print "valgrind: $f has no HEAP SUMMARY (the process did not exit normally)\n"
            unless $log =~ /HEAP SUMMARY/;
        # blocks are separated by "==PID== " blank lines
        my @blocks = split /^==\d+==\s*\n/m, $log;
        for my $b (@blocks) {
            my ($first) = $b =~ /^==\d+== (\S.*)$/m or next;
            my $ours = $b =~ $module;
            my $kind =
                $first =~ /^(Invalid (?:read|write|free)|Mismatched free|Source and destination overlap)/ ? "memory error"
              : $first =~ /uninitialised/ ? "uninitialised"
              : $first =~ /definitely lost/ ? "definitely lost"
              : $first =~ /(indirectly|possibly) lost|still reachable/ ? "other leak"
              : next;
            my $bad = $kind eq "memory error"
                || ($ours && ($kind eq "uninitialised" || $kind eq "definitely lost"));
            if ($bad) {
                push @fail, "---- $f: $kind" . ($ours ? " (module in the stack)" : "") . "\n$b";
            } else {
                $info{$kind . ($ours ? " with the module in the stack" : " outside the module")}++;
            }
        }
    }
    print "valgrind: $files log file(s), $summaries with a heap summary\n";
    print "valgrind: not failing on: $_ x$info{$_}\n" for sort keys %info;
    print "\n$_\n" for @fail;
    print "valgrind: ", scalar(@fail), " report(s) that fail the run\n";
    exit(@fail || !$summaries ? 1 : 0);
' "$LOGS"/vg.*.log
scan_rc=$?

grep -h "ERROR SUMMARY" "$LOGS"/vg.*.log | sort | uniq -c | sed 's/^/valgrind: /'

rc=0
if [ $prove_rc -ne 0 ]; then
    echo "valgrind: FAIL: tests failed under valgrind (prove exit $prove_rc)"
    rc=1
fi
if [ $scan_rc -ne 0 ]; then
    echo "valgrind: FAIL: valgrind reports (above)"
    rc=1
fi
[ $rc -eq 0 ] && echo "valgrind: OK (tests pass; no invalid access, nothing definitely lost from the module)"
exit $rc
