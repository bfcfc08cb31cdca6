#!/bin/sh
# Embeds the built-in schemas into the module: writes OUT.c defining
# sg_schema_builtin() and sg_schema_builtin_names[] (src/sg_schema.h).
#
#   sh schemas/embed.sh OUT.c SCHEMA_DIR
#
# Run by nginx's configure (the config file) and by the Makefile, so plain
# POSIX sh and od: no xxd, no project Makefile needed.  SCHEMA_DIR/a/b.json
# is the built-in "a/b"; SCHEMA_DIR/common.json is "sg:common", the shared
# definitions, which is not a location's schema and so is not listed in
# sg_schema_builtin_names[].  Files and directories whose names start with
# a dot are skipped (editors' leftovers).
#
# ISO 4217.  Where common.json holds the string "@ISO_4217@" (the currency
# rule's pattern), the embedded text holds instead a pattern of the codes
# of Debian's iso-codes (/usr/share/iso-codes/json/iso_4217.json, or the
# file SG_ISO_4217 names), each in any ASCII case: "^(?:[Aa][Ee][Dd]|...)$".
# The placeholder sits on one line and is replaced on that line, so the
# schema's line numbers (in compile errors) stay the file's.  Without a
# readable list, or with one that does not look like the list, this script
# fails: a build never embeds a currency rule without its codes.  (Left
# as is, the placeholder would refuse every currency, not accept them.)
#
# The output depends only on the files' names and bytes, and the list's:
# the same tree gives the same file, byte for byte.

set -eu
set -f      # no globbing of the names below

if [ $# -ne 2 ]; then
    echo "usage: $0 OUT.c SCHEMA_DIR" >&2
    exit 2
fi

out=$1
dir=$2

LC_ALL=C
export LC_ALL

if [ ! -d "$dir" ]; then
    echo "$0: $dir is not a directory" >&2
    exit 1
fi

# the schema files, as paths under $dir
list() {
    (cd "$dir" && find . -name '.?*' -prune -o -type f -name '*.json' -print)
}

# the names, sorted; a name is written into C strings and comments as is,
# so it is kept to characters that need no escaping
names=$(list | sed -e 's|^\./||' -e 's|\.json$||' | sort)

for name in $names; do
    case $name in
        *[!A-Za-z0-9_./-]* | */ | /* | *//*)
            echo "$0: $dir/$name.json: a schema's path may hold only" \
                 "letters, digits and _ . / -" >&2
            exit 1
            ;;
    esac
done

# a name with a space would have been split above: count to be sure
count=$(list | wc -l)

set -- $names

if [ "$count" -ne $# ]; then
    echo "$0: a schema's path under $dir holds a space or a newline" >&2
    exit 1
fi

tmp="$out.tmp.$$"
common="$out.common.$$"
trap 'rm -f "$tmp" "$common"' EXIT

ISO_MARK='"@ISO_4217@"'
iso=${SG_ISO_4217:-/usr/share/iso-codes/json/iso_4217.json}

# the codes of $iso, one a line, sorted; fails with a message
iso_codes() {
    if [ ! -r "$iso" ] || [ ! -f "$iso" ]; then
        echo "$0: cannot read the ISO 4217 currency list $iso: install" \
             "Debian's iso-codes package (make deps), or set SG_ISO_4217" \
             "to its iso_4217.json" >&2
        return 1
    fi

    # one member a line, whatever the file's layout
    members=$(tr '{},' '\n\n\n' < "$iso")
    all=$(printf '%s\n' "$members" | grep -c '"alpha_3"' || true)
    sp='[[:space:]]*'
    codes=$(printf '%s\n' "$members" \
        | sed -n "s/^$sp\"alpha_3\"$sp:$sp\"\\([^\"]*\\)\"$sp\$/\\1/p" | sort)
    n=$(printf '%s\n' "$codes" | grep -c '^[A-Z][A-Z][A-Z]$' || true)
    uniq=$(printf '%s\n' "$codes" | sort -u | grep -c . || true)

    if ! grep -q '"4217"' "$iso" || [ "$n" -ne "$all" ] \
       || [ "$uniq" -ne "$n" ] || [ "$n" -lt 150 ]
    then
        echo "$0: $iso does not look like iso-codes' ISO 4217 list" \
             "(a \"4217\" array of at least 150 entries, each with a" \
             "distinct \"alpha_3\" of three capital letters): found $n" \
             "such codes in $all \"alpha_3\" members" >&2
        return 1
    fi

    for c in USD EUR RUB; do
        if ! printf '%s\n' "$codes" | grep -qx "$c"; then
            echo "$0: $iso: the ISO 4217 list lacks $c" >&2
            return 1
        fi
    done

    printf '%s\n' "$codes"
}

# common.json with its placeholder replaced by the codes' pattern, into
# $common; fails unless the placeholder is there exactly once
iso_embed() {
    codes=$(iso_codes) || return 1

    SG_ISO_MARK=$ISO_MARK
    SG_ISO_PATTERN=$(printf '%s\n' "$codes" | awk '
        { s = ""
          for (i = 1; i <= 3; i++) {
              c = substr($0, i, 1)
              s = s "[" c tolower(c) "]"
          }
          out = out (NR > 1 ? "|" : "") s }
        END { printf "\"^(?:%s)$\"", out }')
    export SG_ISO_MARK SG_ISO_PATTERN

    awk '
        BEGIN { mark = ENVIRON["SG_ISO_MARK"]; rep = ENVIRON["SG_ISO_PATTERN"] }
        { line = $0; done = ""
          while ((i = index(line, mark)) > 0) {
              done = done substr(line, 1, i - 1) rep
              line = substr(line, i + length(mark))
              n++
          }
          print done line }
        END { exit n == 1 ? 0 : 3 }' "$dir/common.json" > "$common" || {
        echo "$0: $dir/common.json: the placeholder $ISO_MARK must appear" \
             "exactly once" >&2
        return 1
    }
}

# the bytes a name embeds
source_of() {
    if [ "$1" = common ] && [ -f "$common" ]; then
        printf '%s\n' "$common"
    else
        printf '%s\n' "$dir/$1.json"
    fi
}

if [ -f "$dir/common.json" ] && grep -qF "$ISO_MARK" "$dir/common.json"
then
    iso_embed || exit 1
fi

{
    cat <<'EOF'
/*
 * Generated by schemas/embed.sh from the schemas directory: do not edit.
 * The built-in schemas, each file's bytes followed by a NUL.
 */

#include <stddef.h>
#include <string.h>

#include "sg_schema.h"


typedef struct {
    const char           *name;
    size_t                name_len;
    const unsigned char  *text;
    size_t                len;
} sg_schema_builtin_t;

EOF

    i=0
    for name in $names; do
        bytes=$(od -An -v -tx1 "$(source_of "$name")")
        printf '\n/* schemas/%s.json */\n' "$name"
        printf 'static const unsigned char  sg_schema_text_%d[] = {\n' "$i"
        printf '%s\n' "$bytes" | awk '
            { for (f = 1; f <= NF; f++) {
                  line = line (n % 12 ? " " : "    ") "0x" $f ","
                  if (++n % 12 == 0) { print line; line = "" }
              } }
            END { if (n % 12) print line; print "    0x00" }'
        printf '};\n'
        i=$((i + 1))
    done

    printf '\n\nstatic const sg_schema_builtin_t  sg_schema_builtins[] = {\n'
    i=0
    for name in $names; do
        len=$(wc -c < "$(source_of "$name")")
        len=$((len + 0))
        if [ "$name" = common ]; then
            name=sg:common
        fi
        printf '    { "%s", %d, sg_schema_text_%d, %d },\n' \
               "$name" "${#name}" "$i" "$len"
        i=$((i + 1))
    done
    printf '    { NULL, 0, NULL, 0 }\n};\n'

    printf '\n\nconst char  *sg_schema_builtin_names[] = {\n'
    for name in $names; do
        if [ "$name" != common ]; then
            printf '    "%s",\n' "$name"
        fi
    done
    printf '    NULL\n};\n'

    cat <<'EOF'


const char *
sg_schema_builtin(const char *name, size_t name_len, size_t *text_len)
{
    const sg_schema_builtin_t  *b;

    for (b = sg_schema_builtins; b->name != NULL; b++) {
        if (b->name_len == name_len
            && memcmp(b->name, name, name_len) == 0)
        {
            if (text_len != NULL) {
                *text_len = b->len;
            }

            return (const char *) b->text;
        }
    }

    return NULL;
}
EOF
} > "$tmp"

mv -f "$tmp" "$out"
rm -f "$common"
trap - EXIT
