#!/usr/bin/env bash
# make deb-install-test: installs the package on this machine with apt-get,
# checks that nginx -t with Debian's own /etc/nginx/nginx.conf loads the
# module (through /etc/nginx/modules-enabled), then purges it, and checks
# that the machine is as it was: the same packages, the same files under
# /etc/nginx and nginx's module directories.  A trap purges it on any
# failure too.
#
#   bash t/deb_install_test.sh path/to/libnginx-mod-http-sg-sign_*.deb
#
# Root only.  It never starts or stops nginx; the package's maintainer
# scripts fire nginx's "nginx-reload" trigger, which reloads the nginx
# service only if it is running (as any module package does).

set -euo pipefail

PKG=libnginx-mod-http-sg-sign
SO=/usr/lib/nginx/modules/ngx_http_sg_sign_module.so
LINK=/etc/nginx/modules-enabled/50-mod-http-sg-sign.conf
SNIPPET=/usr/share/nginx/modules-available/mod-http-sg-sign.conf

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
    echo "usage: $0 PACKAGE.deb" >&2
    exit 2
fi
deb=$(readlink -f "$1")

if [ "$(id -u)" -ne 0 ]; then
    echo "$0: installs a package: run as root" >&2
    exit 2
fi

# installed already (by hand): purging it afterwards would not leave the
# machine as it was
if dpkg-query -W -f '${db:Status-Status}' "$PKG" 2>/dev/null \
    | grep -qvx 'not-installed'
then
    echo "$0: $PKG is installed already; remove it first" >&2
    exit 1
fi

tmp=$(mktemp -d)
installed=""
failed=0

# what "as it was" means here
state() {
    dpkg-query -W -f '${binary:Package} ${Version} ${db:Status-Abbrev}\n' \
        | sort
    local d
    for d in /etc/nginx /usr/lib/nginx /usr/share/nginx; do
        if [ -e "$d" ]; then
            find "$d" -path /usr/share/nginx/src -prune \
                -o -printf '%p %y %m %l\n'
        else
            echo "$d absent"
        fi
    done | sort
    find /etc/nginx -type f -exec md5sum {} + | sort
}

purge() {
    if [ -n "$installed" ]; then
        echo "purging:$installed"
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q \
            -o DPkg::Lock::Timeout=120 $installed >"$tmp/purge.log" 2>&1 \
            || { cat "$tmp/purge.log"; return 1; }
        installed=""
    fi
}

cleanup() {
    local rc=$?
    purge || rc=1
    rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=1; }
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# the names of the packages that are on the machine (installed or not
# purged)
packages() {
    dpkg-query -W -f '${binary:Package} ${db:Status-Status}\n' \
        | awk '$2 != "not-installed" { print $1 }' | sort
}

state >"$tmp/before"
packages >"$tmp/pkgs.before"

echo "installing $deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=120 "$deb" >"$tmp/install.log" 2>&1 \
    || { cat "$tmp/install.log"; exit 1; }

# the package and whatever apt pulled in with it: all of it goes at the end
packages >"$tmp/pkgs.after"
installed=$(comm -13 "$tmp/pkgs.before" "$tmp/pkgs.after" | tr '\n' ' ')
installed=" ${installed% }"
echo "installed:$installed"

check "$PKG is installed" \
    test "$(dpkg-query -W -f '${db:Status-Status}' "$PKG")" = installed
check "$SO is installed" test -f "$SO"
check "$LINK links to $SNIPPET" \
    test "$(readlink "$LINK")" = "$SNIPPET"

# Debian's own configuration, as the service would read it
if nginx -t >"$tmp/t.out" 2>&1; then
    ok "nginx -t with /etc/nginx/nginx.conf"
else
    not_ok "nginx -t with /etc/nginx/nginx.conf"
    cat "$tmp/t.out"
fi
check "nginx -T shows the module's load_module (through modules-enabled)" \
    grep -qx 'load_module modules/ngx_http_sg_sign_module.so;' \
        <(nginx -T 2>/dev/null)

# the module is really loaded: its directives are known to a configuration
# that loads modules as Debian's does (modules-enabled) and nothing else
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$tmp/partner.key" 2>/dev/null
chmod 600 "$tmp/partner.key"
cat >"$tmp/nginx.conf" <<EOF
include /etc/nginx/modules-enabled/*.conf;
pid $tmp/nginx.pid;
error_log $tmp/error.log notice;
events {}
http {
    server {
        listen 127.0.0.1:1;
        location /api/v1/ {
            sg_sign on;
            sg_sign_project p;
            sg_sign_key $tmp/partner.key;
            sg_sign_schema auto;
            proxy_pass http://127.0.0.1:9/api/v1/\$sg_sign_method;
        }
    }
}
EOF
if nginx -t -c "$tmp/nginx.conf" -e "$tmp/error.log" >"$tmp/sg.out" 2>&1
then
    ok "nginx -t: a gateway configuration with sg_sign directives"
else
    not_ok "nginx -t: a gateway configuration with sg_sign directives"
    cat "$tmp/sg.out"
fi
check "... and the module loaded its key (the notice)" \
    grep -q 'sg_sign: loaded RSA-2048 key' "$tmp/error.log" "$tmp/sg.out"

purge

check "$PKG is purged" \
    test "$(dpkg-query -W -f '${db:Status-Status}' "$PKG" 2>/dev/null \
            || echo not-installed)" = not-installed
check "$LINK is gone" test ! -e "$LINK" -a ! -L "$LINK"
# the gateway configuration fails now: the checks above did need the package
if nginx -t -c "$tmp/nginx.conf" -e "$tmp/error.log" >"$tmp/sg.out" 2>&1
then
    not_ok "without the package nginx -t refuses the gateway configuration"
else
    ok "without the package nginx -t refuses the gateway configuration"
fi

state >"$tmp/after"
if diff -u "$tmp/before" "$tmp/after" >"$tmp/diff"; then
    ok "the machine is as it was (packages, /etc/nginx, nginx's modules)"
else
    not_ok "the machine is as it was (packages, /etc/nginx, nginx's modules)"
    cat "$tmp/diff"
fi

if [ "$failed" -ne 0 ]; then
    echo "FAIL"
    exit 1
fi
echo "PASS"
