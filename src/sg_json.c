/*
 * Strict RFC 8259 JSON: a validator that finds the first offending byte,
 * jsmn to tokenize what passed, and the node tree built from its tokens.
 */

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * Not JSMN_STRICT: jsmn only ever sees input sg_json_validate() accepted,
 * where both modes give the same tokens, and strict mode's checks of its
 * own cost a sixth of its time.  JSMN_PARENT_LINKS keeps jsmn linear.
 */
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "sg_json.h"


/*
 * jsmn only splits the input: it accepts "[1,]", "{\"a\":1,}", "[\"a\" \"b\"]",
 * "{\"a\"}", "1 2", "[tru]", "[01]", "[1.2.3]", "[-]", raw control bytes and
 * any byte sequence in strings, lone surrogate escapes, duplicate names, any
 * depth, and it stops silently at a NUL byte.  So every byte is checked here
 * first, with an explicit stack (no recursion); jsmn then runs only on input
 * known to be valid, where its tokens are exact.
 */

/* byte classes inside a string (RFC 8259 section 7) */
#define SG_JSON_PLAIN    0
#define SG_JSON_QUOTE    1
#define SG_JSON_ESCAPE   2
#define SG_JSON_CONTROL  3
#define SG_JSON_UTF8     4

#define C  SG_JSON_CONTROL
#define U  SG_JSON_UTF8

static const unsigned char  sg_json_class[256] = {
    C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C,
    C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U
};

#undef C
#undef U


#define sg_json_ws(c)                                                        \
    ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')

#define sg_json_digit(c)  ((c) >= '0' && (c) <= '9')


typedef const unsigned char  sg_u_char;


/* what the validator learns for the build, so each allocation is sized once */
typedef struct {
    uint32_t   ntok;        /* tokens jsmn will produce */
    size_t     decoded;     /* bytes of the strings with escapes, decoded */
    size_t     escaped;     /* where the last string with escapes ends */
    size_t     jcs_max;     /* bound on the RFC 8785 form's length */
} sg_json_count_t;


/* an open container while the tree is built or an error's path found */
typedef struct {
    uint32_t   node;
    uint32_t   left;        /* children still to come; an object has two
                               per member, name and value */
    uint32_t   cur;         /* object: current name; array: elements seen */
    uint32_t   odd;         /* object: 1, only names (even left) are linked */
    uint32_t  *link;        /* the first or next where a child is linked */
} sg_json_level_t;


/* jsmn's tokens are laid over the node array, see sg_json_build() */
typedef char  sg_json_token_fits[(sizeof(sg_json_node_t) >= sizeof(jsmntok_t))
                                 ? 1 : -1];

/* sorted by insertion in a local array up to this many members */
#define SG_JSON_SMALL_OBJECT  16


/*
 * "inline" on the few called per token or per comparison from the hot
 * loops: the call costs more than their usual work (a short string, a
 * small number, names that differ in their first byte).
 */
static sg_code_t sg_json_fail(sg_error_t *err, size_t offset,
    const char *reason);
static size_t sg_json_skip_ws(sg_u_char *p, size_t len, size_t i);
static sg_code_t sg_json_validate(sg_u_char *p, size_t len,
    sg_json_count_t *cnt, sg_error_t *err);
static inline sg_code_t sg_json_scan_string(sg_u_char *p, size_t len,
    size_t *pos, size_t *saved, sg_error_t *err);
static size_t sg_json_plain_run(sg_u_char *p, size_t len, size_t i);
static sg_code_t sg_json_scan_hex4(sg_u_char *p, size_t len, size_t i,
    unsigned *cp, sg_error_t *err);
static sg_code_t sg_json_scan_utf8(sg_u_char *p, size_t len, size_t *pos,
    sg_error_t *err);
static inline sg_code_t sg_json_scan_number(sg_u_char *p, size_t len,
    size_t *pos, size_t *grow, sg_error_t *err);
static sg_code_t sg_json_scan_literal(sg_u_char *p, size_t len, size_t *pos,
    sg_error_t *err);
static sg_code_t sg_json_build(sg_json_t *doc, const sg_json_count_t *cnt,
    sg_alloc_t *a, sg_error_t *err);
static void sg_json_finish(sg_json_node_t *nodes, sg_json_level_t *lvl,
    uint32_t *dup);
static void sg_json_scalar(sg_json_node_t *node, sg_u_char *p, size_t start,
    size_t end);
static inline void sg_json_string(sg_json_node_t *node, sg_u_char *p,
    size_t start, size_t end, size_t escaped, char **buf);
static size_t sg_json_decode(sg_u_char *s, size_t len, unsigned char *out);
static uint32_t sg_json_sort_small(sg_json_node_t *nodes, uint32_t list,
    uint32_t m, uint32_t *dup);
static uint32_t sg_json_sort_list(sg_json_node_t *nodes, uint32_t list);
static inline int sg_json_name_cmp(const sg_json_node_t *a,
    const sg_json_node_t *b);
static int sg_json_is_ident(const char *s, size_t len);
static void sg_json_put(char *buf, size_t size, size_t *pos, const char *s,
    size_t n);


sg_code_t
sg_json_parse(sg_json_t *doc, const char *input, size_t len, sg_alloc_t *a,
    sg_error_t *err)
{
    sg_code_t        rc;
    sg_json_count_t  cnt;

    doc->nodes = NULL;
    doc->n = 0;
    doc->input = input;
    doc->input_len = len;
    doc->jcs_max = 0;

    /* jsmn counts in int, nodes in uint32_t */
    if (len > INT_MAX) {
        return sg_json_fail(err, INT_MAX, "document too large");
    }

    if (input == NULL) {
        input = "";
        len = 0;
        doc->input = input;
        doc->input_len = 0;
    }

    rc = sg_json_validate((sg_u_char *) input, len, &cnt, err);
    if (rc != SG_OK) {
        return rc;
    }

    return sg_json_build(doc, &cnt, a, err);
}


static sg_code_t
sg_json_fail(sg_error_t *err, size_t offset, const char *reason)
{
    sg_error_set(err, SG_ERR_INVALID_JSON, offset, reason);
    return SG_ERR_INVALID_JSON;
}


/* RFC 8259 section 2: ws = space, tab, line feed, carriage return */

static size_t
sg_json_skip_ws(sg_u_char *p, size_t len, size_t i)
{
    while (i < len && sg_json_ws(p[i])) {
        i++;
    }

    return i;
}


/*
 * The RFC 8259 grammar as a state machine over bytes; offsets are those of
 * the first byte no valid document could have there (len when truncated).
 * Counts the tokens jsmn will produce and what the strings and the output
 * need, so that each is allocated once and exactly or nearly so.
 */

static sg_code_t
sg_json_validate(sg_u_char *p, size_t len, sg_json_count_t *cnt,
    sg_error_t *err)
{
    size_t         i, start, saved, grow;
    unsigned       depth;
    uint32_t       n;
    sg_code_t      rc;
    unsigned char  close, stack[SG_JSON_MAX_DEPTH];
    enum {
        sw_value = 0,
        sw_after_value,
        sw_first_name,
        sw_name
    } state;

    i = sg_json_skip_ws(p, len, 0);
    depth = 0;
    n = 0;
    state = sw_value;

    /*
     * The RFC 8785 form is no longer than the input but where a number's
     * ECMAScript spelling is longer than its text (1e20): whitespace goes,
     * structural characters stay one for one, literals are unchanged and
     * a string's form is never longer than its text (an escape is written
     * back at most as long as it was, a raw byte as itself).
     */
    cnt->decoded = 0;
    cnt->escaped = 0;
    cnt->jcs_max = len;

    for ( ;; ) {

        switch (state) {

        case sw_value:
            if (i == len) {
                return sg_json_fail(err, len, "expected a JSON value");
            }

            switch (p[i]) {

            case '{':
            case '[':
                /* the outermost container is depth 1 */
                if (SG_JSON_MAX_DEPTH == depth) {
                    return sg_json_fail(err, i, "nesting deeper than 32");
                }

                close = (p[i] == '{') ? '}' : ']';
                stack[depth++] = close;
                n++;
                i = sg_json_skip_ws(p, len, i + 1);

                if (i < len && p[i] == close) {
                    i++;
                    depth--;
                    state = sw_after_value;

                } else {
                    state = (close == '}') ? sw_first_name : sw_value;
                }

                continue;

            case '"':
                start = i;
                saved = 0;
                rc = sg_json_scan_string(p, len, &i, &saved, err);

                if (saved != 0) {
                    cnt->decoded += i - start - 2 - saved;
                    cnt->escaped = i;
                }

                break;

            case '-': case '0': case '1': case '2': case '3': case '4':
            case '5': case '6': case '7': case '8': case '9':
                grow = 0;
                rc = sg_json_scan_number(p, len, &i, &grow, err);
                cnt->jcs_max += grow;
                break;

            case 't':
            case 'f':
            case 'n':
                rc = sg_json_scan_literal(p, len, &i, err);
                break;

            default:
                return sg_json_fail(err, i, "expected a JSON value");
            }

            if (rc != SG_OK) {
                return rc;
            }

            n++;
            state = sw_after_value;
            continue;

        case sw_after_value:
            i = sg_json_skip_ws(p, len, i);

            /* RFC 8259 section 2: a JSON text is exactly one value */
            if (0 == depth) {
                if (i != len) {
                    return sg_json_fail(err, i,
                                        "unexpected data after the JSON value");
                }

                cnt->ntok = n;
                return SG_OK;
            }

            close = stack[depth - 1];

            if (i < len && p[i] == ',') {
                i = sg_json_skip_ws(p, len, i + 1);
                state = (close == '}') ? sw_name : sw_value;
                continue;
            }

            if (i < len && p[i] == close) {
                i++;
                depth--;
                continue;
            }

            return sg_json_fail(err, i, (close == '}') ? "expected ',' or '}'"
                                                       : "expected ',' or ']'");

        case sw_first_name:
        case sw_name:
            if (i == len || p[i] != '"') {
                return sg_json_fail(err, i,
                                    (state == sw_first_name)
                                    ? "expected a member name or '}'"
                                    : "expected a member name");
            }

            start = i;
            saved = 0;

            rc = sg_json_scan_string(p, len, &i, &saved, err);
            if (rc != SG_OK) {
                return rc;
            }

            if (saved != 0) {
                cnt->decoded += i - start - 2 - saved;
                cnt->escaped = i;
            }

            n++;
            i = sg_json_skip_ws(p, len, i);

            if (i == len || p[i] != ':') {
                return sg_json_fail(err, i, "expected ':'");
            }

            i = sg_json_skip_ws(p, len, i + 1);
            state = sw_value;
            continue;
        }
    }
}


/*
 * RFC 8259 section 7: unescaped bytes from 0x20 up, the eight short escapes
 * and \uXXXX; section 8.1: UTF-8.  A \u surrogate must be a high one followed
 * by a \u low one (RFC 8259 section 8.2 allows lone ones; CONTRACT step 3
 * does not, since they cannot be turned into UTF-8).  Adds to *saved how
 * much shorter decoding makes the string: nonzero if it has an escape.
 */

static sg_code_t
sg_json_scan_string(sg_u_char *p, size_t len, size_t *pos, size_t *saved,
    sg_error_t *err)
{
    size_t     i;
    unsigned   cp;
    sg_code_t  rc;

    i = *pos + 1;

    for ( ;; ) {

        i = sg_json_plain_run(p, len, i);

        if (i == len) {
            return sg_json_fail(err, len, "unterminated string");
        }

        /* the usual end of a run: a direct test predicts better */
        if (p[i] == '"') {
            *pos = i + 1;
            return SG_OK;
        }

        switch (sg_json_class[p[i]]) {

        case SG_JSON_QUOTE:
            *pos = i + 1;
            return SG_OK;

        case SG_JSON_CONTROL:
            return sg_json_fail(err, i,
                                "control character in string must be escaped");

        case SG_JSON_UTF8:
            /* two-byte characters (Latin, Cyrillic) without a call */
            while (len - i > 1 && p[i] >= 0xC2 && p[i] <= 0xDF
                   && (p[i + 1] & 0xC0) == 0x80)
            {
                i += 2;
            }

            if (i == len || sg_json_class[p[i]] != SG_JSON_UTF8) {
                continue;
            }

            rc = sg_json_scan_utf8(p, len, &i, err);
            if (rc != SG_OK) {
                return rc;
            }

            continue;
        }

        /* a backslash */

        if (i + 1 == len) {
            return sg_json_fail(err, len, "unterminated string");
        }

        switch (p[i + 1]) {

        case '"': case '\\': case '/': case 'b':
        case 'f': case 'n': case 'r': case 't':
            i += 2;
            *saved += 1;
            continue;

        case 'u':
            break;

        default:
            return sg_json_fail(err, i + 1, "invalid escape in string");
        }

        rc = sg_json_scan_hex4(p, len, i + 2, &cp, err);
        if (rc != SG_OK) {
            return rc;
        }

        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return sg_json_fail(err, i, "lone surrogate in \\u escape");
        }

        i += 6;

        if (cp < 0xD800 || cp > 0xDBFF) {
            /* six bytes become the code point's one to three in UTF-8 */
            *saved += (cp < 0x80) ? 5 : (cp < 0x800) ? 4 : 3;
            continue;
        }

        /* a high surrogate: only "\u" and a low one may follow */

        if (i == len || (p[i] == '\\' && i + 1 == len)) {
            return sg_json_fail(err, len, "unterminated string");
        }

        if (p[i] != '\\' || p[i + 1] != 'u') {
            return sg_json_fail(err, i, "lone surrogate in \\u escape");
        }

        rc = sg_json_scan_hex4(p, len, i + 2, &cp, err);
        if (rc != SG_OK) {
            return rc;
        }

        if (cp < 0xDC00 || cp > 0xDFFF) {
            return sg_json_fail(err, i, "lone surrogate in \\u escape");
        }

        /* a pair, twelve bytes, is one four-byte character */
        i += 6;
        *saved += 8;
    }
}


/*
 * The end of the run of plain string bytes (0x20..0x7f but '"' and '\\')
 * from i: a word at a time, then byte by byte.  The lowest flagged byte of
 * a word is always a real match (a borrow only flags bytes above one), so
 * on a little-endian machine its index ends the run without a byte loop:
 * most strings are shorter than a word.
 */

static size_t
sg_json_plain_run(sg_u_char *p, size_t len, size_t i)
{
    uint64_t  w, m;

    while (len - i >= 8) {
        memcpy(&w, p + i, 8);

        m = sg_json_word_special(w) | (w & SG_JSON_HIGHS);

        if (m) {
#if (defined __GNUC__ && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
            return i + ((size_t) __builtin_ctzll(m) >> 3);
#else
            break;
#endif
        }

        i += 8;
    }

    while (i < len && sg_json_class[p[i]] == SG_JSON_PLAIN) {
        i++;
    }

    return i;
}


static sg_code_t
sg_json_scan_hex4(sg_u_char *p, size_t len, size_t i, unsigned *cp,
    sg_error_t *err)
{
    size_t    k;
    unsigned  c, v;

    v = 0;

    for (k = i; k < i + 4; k++) {
        if (k == len) {
            return sg_json_fail(err, len, "unterminated string");
        }

        c = p[k];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            c = (c | 0x20) - 'a' + 10;

        } else {
            return sg_json_fail(err, k, "invalid \\u escape in string");
        }

        v = (v << 4) | c;
    }

    *cp = v;

    return SG_OK;
}


/*
 * Well-formed UTF-8 per Unicode's table 3-7 (RFC 3629 section 4): the
 * second byte's range excludes overlongs (E0, F0), surrogates (ED) and
 * code points above U+10FFFF (F4); C0, C1 and F5..FF never start one.
 */

static sg_code_t
sg_json_scan_utf8(sg_u_char *p, size_t len, size_t *pos, sg_error_t *err)
{
    size_t    i, k, n;
    unsigned  c, lo, hi;

    i = *pos;
    c = p[i];
    lo = 0x80;
    hi = 0xBF;

    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;

    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;

        if (0xE0 == c) {
            lo = 0xA0;

        } else if (0xED == c) {
            hi = 0x9F;
        }

    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;

        if (0xF0 == c) {
            lo = 0x90;

        } else if (0xF4 == c) {
            hi = 0x8F;
        }

    } else {
        return sg_json_fail(err, i, "invalid UTF-8");
    }

    for (k = 1; k < n; k++) {
        if (i + k == len) {
            return sg_json_fail(err, len, "unterminated string");
        }

        c = p[i + k];

        if (c < lo || c > hi) {
            return sg_json_fail(err, i + k, "invalid UTF-8");
        }

        lo = 0x80;
        hi = 0xBF;
    }

    *pos = i + n;

    return SG_OK;
}


/*
 * RFC 8259 section 6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 *
 * *grow: how much longer than the text its ECMAScript form can be.  Only
 * an exponent lengthens a number.  With a integer digits, b fraction
 * digits and exponent x, the value is 0.d1..dk * 10^n, k <= a + b and
 * n <= a + x; its form is n digits when k <= n <= 21, else at most k
 * digits and 7 more bytes ("0.00000", or ".", "e+" and three digits),
 * and the sign.
 */

static sg_code_t
sg_json_scan_number(sg_u_char *p, size_t len, size_t *pos, size_t *grow,
    sg_error_t *err)
{
    size_t  i, start, a, b, up, x, max;

    i = *pos;
    start = i;

    if (p[i] == '-') {
        i++;
    }

    if (i == len || !sg_json_digit(p[i])) {
        return sg_json_fail(err, i, "expected a digit");
    }

    a = i;

    if (p[i] == '0') {
        i++;

        if (i < len && sg_json_digit(p[i])) {
            return sg_json_fail(err, i, "leading zeros are not allowed");
        }

    } else {
        while (i < len && sg_json_digit(p[i])) {
            i++;
        }
    }

    a = i - a;
    b = 0;

    if (i < len && p[i] == '.') {
        i++;

        if (i == len || !sg_json_digit(p[i])) {
            return sg_json_fail(err, i, "expected a digit after '.'");
        }

        b = i;

        while (i < len && sg_json_digit(p[i])) {
            i++;
        }

        b = i - b;
    }

    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        up = 1;

        if (i < len && (p[i] == '+' || p[i] == '-')) {
            up = (p[i] == '+');
            i++;
        }

        if (i == len || !sg_json_digit(p[i])) {
            return sg_json_fail(err, i, "expected a digit in the exponent");
        }

        /*
         * x: the exponent, saturated; a negative one never makes the
         * integer form longer, so it counts as 0
         */
        x = 0;

        while (i < len && sg_json_digit(p[i])) {
            if (up && x < 100) {
                x = x * 10 + (p[i] - '0');
            }

            i++;
        }

        max = (a + x < 21) ? a + x : 21;

        if (max < a + b + 7) {
            max = a + b + 7;
        }

        /* the sign */
        max += (p[start] == '-');

        if (max > i - start) {
            *grow = max - (i - start);
        }
    }

    *pos = i;

    return SG_OK;
}


/* RFC 8259 section 3: the literal names, lowercase, exactly */

static sg_code_t
sg_json_scan_literal(sg_u_char *p, size_t len, size_t *pos, sg_error_t *err)
{
    size_t       i, k, n;
    const char  *lit;

    i = *pos;

    switch (p[i]) {
    case 't':
        lit = "true";
        break;
    case 'f':
        lit = "false";
        break;
    default:
        lit = "null";
        break;
    }

    n = strlen(lit);

    for (k = 1; k < n; k++) {
        if (i + k == len || p[i + k] != (unsigned char) lit[k]) {
            return sg_json_fail(err, i + k,
                                "invalid literal (expected true, false "
                                "or null)");
        }
    }

    *pos = i + n;

    return SG_OK;
}


/*
 * Builds the tree from jsmn's tokens: node i is token i (preorder).
 *
 * jsmn writes its tokens into the tail of the node array and each node is
 * built over them in order: node k ends at 24 (k + 1), token k + 1 starts
 * at 4 n + 20 (k + 1), so node k only ever covers tokens already read.
 * One allocation, 24 bytes per token, serves jsmn and the tree.  jsmn's
 * parent links keep it linear (without them it looks for the open
 * container by scanning back over every token before); the tree takes
 * its shape from a stack of open containers and jsmn's child counts.
 */

static sg_code_t
sg_json_build(sg_json_t *doc, const sg_json_count_t *cnt, sg_alloc_t *a,
    sg_error_t *err)
{
    int               r;
    char             *buf;
    size_t            i, end;
    uint32_t          k, ntok, depth, dup;
    sg_u_char        *p;
    jsmntok_t        *tok, t;
    jsmn_parser       parser;
    sg_json_node_t   *nodes, *node;
    sg_json_level_t  *lvl, stack[SG_JSON_MAX_DEPTH];

    p = (sg_u_char *) doc->input;
    ntok = cnt->ntok;

    nodes = sg_alloc(a, ntok * sizeof(sg_json_node_t));
    if (nodes == NULL) {
        sg_error_set(err, SG_ERR_NOMEM, 0, "out of memory");
        return SG_ERR_NOMEM;
    }

    doc->nodes = nodes;
    doc->jcs_max = cnt->jcs_max;

    buf = NULL;

    if (cnt->decoded != 0) {
        /* decoded strings only: the others are used in place */
        buf = sg_alloc(a, cnt->decoded);
        if (buf == NULL) {
            sg_error_set(err, SG_ERR_NOMEM, 0, "out of memory");
            return SG_ERR_NOMEM;
        }
    }

    i = sg_json_skip_ws(p, doc->input_len, 0);

    if (p[i] != '{' && p[i] != '[') {
        /*
         * a scalar at the top: strict jsmn wants a delimiter after
         * a primitive and would report "1" as partial
         */
        end = doc->input_len;
        while (sg_json_ws(p[end - 1])) {
            end--;
        }

        memset(nodes, 0, sizeof(sg_json_node_t));

        if (p[i] == '"') {
            sg_json_string(&nodes[0], p, i + 1, end - 1, cnt->escaped, &buf);

        } else {
            sg_json_scalar(&nodes[0], p, i, end);
        }

        doc->n = 1;
        return SG_OK;
    }

    tok = (jsmntok_t *) ((char *) nodes
                         + ntok * (sizeof(sg_json_node_t) - sizeof(jsmntok_t)));

    jsmn_init(&parser);
    r = jsmn_parse(&parser, doc->input, doc->input_len, tok, ntok);

    if (r < 0 || (uint32_t) r != ntok) {
        /* cannot happen on validated input; refuse rather than guess */
        return sg_json_fail(err, parser.pos, "unsupported JSON");
    }

    depth = 0;
    dup = UINT32_MAX;

    for (k = 0; k < ntok; k++) {
        /* a copy: node k may cover token k */
        memcpy(&t, &tok[k], sizeof(jsmntok_t));
        node = &nodes[k];

        if (depth > 0) {
            lvl = &stack[depth - 1];

            /* an object links its names (even positions), not values */
            if ((lvl->left & lvl->odd) == 0) {
                *lvl->link = k;
                lvl->link = &node->next;
            }

            lvl->left--;
        }

        node->len = 0;
        node->next = SG_JSON_NONE;

        switch (t.type) {

        case JSMN_OBJECT:
        case JSMN_ARRAY:
            node->type = (t.type == JSMN_OBJECT) ? SG_JSON_OBJECT
                                                 : SG_JSON_ARRAY;
            node->offset = (uint32_t) t.start;
            node->count = (uint32_t) t.size;
            node->first = SG_JSON_NONE;

            if (t.size > 0) {
                lvl = &stack[depth++];
                lvl->node = k;
                lvl->odd = (t.type == JSMN_OBJECT);
                lvl->left = (uint32_t) t.size << lvl->odd;
                lvl->link = &node->first;
                continue;
            }

            break;

        case JSMN_STRING:
            sg_json_string(node, p, (size_t) t.start, (size_t) t.end,
                           cnt->escaped, &buf);
            break;

        default:
            sg_json_scalar(node, p, (size_t) t.start, (size_t) t.end);
            break;
        }

        /* a leaf: close every container it was the last of */
        while (depth > 0 && stack[depth - 1].left == 0) {
            sg_json_finish(nodes, &stack[--depth], &dup);
        }
    }

    doc->n = ntok;

    if (dup != UINT32_MAX) {
        return sg_json_fail(err, dup, "duplicate member name");
    }

    return SG_OK;
}


/*
 * RFC 8785 section 3.2.3: an object's members sorted by their names'
 * UTF-16 code units, while its nodes are still in cache.  The sorts are
 * stable, so a duplicate (RFC 7493 section 2.3) is the later of two equal
 * neighbours; *dup keeps the earliest such in the document.
 */

static void
sg_json_finish(sg_json_node_t *nodes, sg_json_level_t *lvl, uint32_t *dup)
{
    uint32_t         k, m, c;
    sg_json_node_t  *obj;

    obj = &nodes[lvl->node];
    m = obj->count;

    if (obj->type != SG_JSON_OBJECT || m < 2) {
        return;
    }

    if (m <= SG_JSON_SMALL_OBJECT) {
        obj->first = sg_json_sort_small(nodes, obj->first, m, dup);
        return;
    }

    obj->first = sg_json_sort_list(nodes, obj->first);

    for (k = obj->first, c = nodes[k].next; c != SG_JSON_NONE;
         k = c, c = nodes[c].next)
    {
        if (nodes[k].len == nodes[c].len
            && sg_json_name_cmp(&nodes[k], &nodes[c]) == 0
            && nodes[c].offset < *dup)
        {
            *dup = nodes[c].offset;
        }
    }
}


/*
 * Insertion sort in a local array: the usual object has a few members.
 * A name stops at the last one not greater: if that one is equal, the
 * name is the later of two equal neighbours, a duplicate.
 */

static uint32_t
sg_json_sort_small(sg_json_node_t *nodes, uint32_t list, uint32_t m,
    uint32_t *dup)
{
    int       c;
    uint32_t  i, j, v, idx[SG_JSON_SMALL_OBJECT];

    for (i = 0; i < m; i++) {
        v = list;
        list = nodes[list].next;

        for (j = i; j > 0; j--) {
            c = sg_json_name_cmp(&nodes[idx[j - 1]], &nodes[v]);

            if (c <= 0) {
                if (c == 0 && nodes[v].offset < *dup) {
                    *dup = nodes[v].offset;
                }

                break;
            }

            idx[j] = idx[j - 1];
        }

        idx[j] = v;
    }

    for (i = 1; i < m; i++) {
        nodes[idx[i - 1]].next = idx[i];
    }

    nodes[idx[m - 1]].next = SG_JSON_NONE;

    return idx[0];
}


/*
 * Bottom-up merge sort of a linked list (S. Tatham's): O(n log n) whatever
 * the input, no recursion and no memory but the links themselves.
 */

static uint32_t
sg_json_sort_list(sg_json_node_t *nodes, uint32_t list)
{
    uint32_t  p, q, e, tail, insize, nmerges, psize, qsize;

    for (insize = 1; /* void */; insize *= 2) {
        p = list;
        list = SG_JSON_NONE;
        tail = SG_JSON_NONE;
        nmerges = 0;

        while (p != SG_JSON_NONE) {
            nmerges++;
            q = p;

            for (psize = 0; psize < insize && q != SG_JSON_NONE; psize++) {
                q = nodes[q].next;
            }

            qsize = insize;

            while (psize > 0 || (qsize > 0 && q != SG_JSON_NONE)) {
                if (psize == 0) {
                    e = q;
                    q = nodes[q].next;
                    qsize--;

                } else if (qsize == 0 || q == SG_JSON_NONE
                           || sg_json_name_cmp(&nodes[p], &nodes[q]) <= 0)
                {
                    e = p;
                    p = nodes[p].next;
                    psize--;

                } else {
                    e = q;
                    q = nodes[q].next;
                    qsize--;
                }

                if (tail == SG_JSON_NONE) {
                    list = e;

                } else {
                    nodes[tail].next = e;
                }

                tail = e;
            }

            p = q;
        }

        nodes[tail].next = SG_JSON_NONE;

        if (nmerges <= 1 || insize > UINT32_MAX / 4) {
            return list;
        }
    }
}


/*
 * A validated primitive's type by its first byte, from a table: numbers,
 * true, false and null mix in any order, a branch would mispredict.
 */

static const unsigned char  sg_json_literal[256] = {
    ['t'] = SG_JSON_TRUE - SG_JSON_NUMBER,
    ['f'] = SG_JSON_FALSE - SG_JSON_NUMBER,
    ['n'] = SG_JSON_NULL - SG_JSON_NUMBER
};


static void
sg_json_scalar(sg_json_node_t *node, sg_u_char *p, size_t start, size_t end)
{
    node->type = (sg_json_type_t) (SG_JSON_NUMBER + sg_json_literal[p[start]]);

    node->offset = (uint32_t) start;
    node->str = (const char *) p + start;
    node->len = (uint32_t) (end - start);
}


/*
 * A string without escapes is used in place; the others are decoded into
 * one buffer sized by the validator.  No string after the last one with
 * escapes (escaped: its end) is searched for a backslash.
 */

static void
sg_json_string(sg_json_node_t *node, sg_u_char *p, size_t start, size_t end,
    size_t escaped, char **buf)
{
    size_t      n;
    sg_u_char  *s;

    s = p + start;

    node->type = SG_JSON_STRING;
    node->offset = (uint32_t) (start - 1);
    node->str = (const char *) s;
    node->len = (uint32_t) (end - start);

    if (end >= escaped || memchr(s, '\\', end - start) == NULL) {
        return;
    }

    n = sg_json_decode(s, end - start, (unsigned char *) *buf);

    node->str = *buf;
    node->len = (uint32_t) n;
    *buf += n;
}


/* decodes a validated string body; returns the decoded length */

static size_t
sg_json_decode(sg_u_char *s, size_t len, unsigned char *out)
{
    size_t          i, k;
    unsigned        cp, lo, c;
    unsigned char  *o;

    o = out;
    i = 0;

    while (i < len) {
        if (s[i] != '\\') {
            *o++ = s[i++];
            continue;
        }

        switch (s[i + 1]) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u':
            break;
        default:
            /* '"', '\\', '/' stand for themselves */
            *o++ = s[i + 1];
            break;
        }

        if (s[i + 1] != 'u') {
            i += 2;
            continue;
        }

        cp = 0;
        for (k = i + 2; k < i + 6; k++) {
            c = s[k];
            cp = (cp << 4) | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }

        i += 6;

        if (cp >= 0xD800 && cp <= 0xDBFF) {
            lo = 0;
            for (k = i + 2; k < i + 6; k++) {
                c = s[k];
                lo = (lo << 4) | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
            }

            i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }

        if (cp < 0x80) {
            *o++ = (unsigned char) cp;

        } else if (cp < 0x800) {
            *o++ = (unsigned char) (0xC0 | (cp >> 6));
            *o++ = (unsigned char) (0x80 | (cp & 0x3F));

        } else if (cp < 0x10000) {
            *o++ = (unsigned char) (0xE0 | (cp >> 12));
            *o++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
            *o++ = (unsigned char) (0x80 | (cp & 0x3F));

        } else {
            *o++ = (unsigned char) (0xF0 | (cp >> 18));
            *o++ = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
            *o++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
            *o++ = (unsigned char) (0x80 | (cp & 0x3F));
        }
    }

    return (size_t) (o - out);
}


/*
 * UTF-16 code unit order on UTF-8 (RFC 8785 section 3.2.3).  UTF-8 byte
 * order is code point order, which differs from UTF-16 order only where
 * U+10000.. (surrogates D800..DFFF in UTF-16) meets U+E000..U+FFFF (lead
 * bytes EE, EF): there the four-byte character sorts first.  The first
 * differing byte decides; when it is a lead byte both characters start
 * there, when it is a continuation byte both share the lead byte.
 */

static int
sg_json_name_cmp(const sg_json_node_t *a, const sg_json_node_t *b)
{
    size_t          i, n;
    unsigned        x, y;
    sg_u_char      *s, *t;

    s = (sg_u_char *) a->str;
    t = (sg_u_char *) b->str;
    n = (a->len < b->len) ? a->len : b->len;

    for (i = 0; i < n; i++) {
        if (s[i] != t[i]) {
            break;
        }
    }

    if (i == n) {
        return (a->len > b->len) - (a->len < b->len);
    }

    x = s[i];
    y = t[i];

    if (x >= 0xF0 && (y == 0xEE || y == 0xEF)) {
        return -1;
    }

    if (y >= 0xF0 && (x == 0xEE || x == 0xEF)) {
        return 1;
    }

    return (x > y) - (x < y);
}


uint32_t
sg_json_member(const sg_json_t *doc, uint32_t obj, const char *name)
{
    size_t                 len;
    uint32_t               k;
    const sg_json_node_t  *nodes;

    if (doc == NULL || obj >= doc->n || name == NULL) {
        return SG_JSON_NONE;
    }

    nodes = doc->nodes;

    if (nodes[obj].type != SG_JSON_OBJECT) {
        return SG_JSON_NONE;
    }

    len = strlen(name);

    for (k = nodes[obj].first; k != SG_JSON_NONE; k = nodes[k].next) {
        if (nodes[k].len == len && memcmp(nodes[k].str, name, len) == 0) {
            return k + 1;
        }
    }

    return SG_JSON_NONE;
}


int
sg_json_str_eq(const sg_json_node_t *node, const char *s)
{
    size_t  len;

    if (node == NULL || s == NULL || node->type != SG_JSON_STRING) {
        return 0;
    }

    len = strlen(s);

    return node->len == len && memcmp(node->str, s, len) == 0;
}


/*
 * A name is echoed only when it looks like a schema's member name: a short
 * identifier with few digits cannot carry a card number or a token.
 */

static int
sg_json_is_ident(const char *s, size_t len)
{
    size_t    i, digits;
    unsigned  c;

    if (0 == len || len > 40) {
        return 0;
    }

    digits = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') {
            continue;
        }

        if (0 == i) {
            return 0;
        }

        if (c >= '0' && c <= '9') {
            digits++;
            continue;
        }

        if (c != '-') {
            return 0;
        }
    }

    return digits <= 3;
}


static void
sg_json_put(char *buf, size_t size, size_t *pos, const char *s, size_t n)
{
    if (*pos + 1 >= size) {
        return;
    }

    if (n > size - 1 - *pos) {
        n = size - 1 - *pos;
    }

    memcpy(buf + *pos, s, n);
    *pos += n;
    buf[*pos] = '\0';
}


/*
 * Nodes have no parent links: the ancestors of node are found again by a
 * preorder scan up to it, with the stack the build had.  Only an error
 * pays for it.
 */

void
sg_json_path(const sg_json_t *doc, uint32_t node, char *buf, size_t size)
{
    char                   num[32];
    size_t                 pos, n;
    uint32_t               k, d, depth;
    sg_json_level_t       *lvl, stack[SG_JSON_MAX_DEPTH];
    const sg_json_node_t  *nodes, *seg;

    if (buf == NULL || 0 == size) {
        return;
    }

    buf[0] = '\0';

    if (doc == NULL || node >= doc->n) {
        return;
    }

    nodes = doc->nodes;
    depth = 0;

    for (k = 0; k < node; k++) {
        if (depth > 0) {
            stack[depth - 1].left--;
        }

        if ((nodes[k].type == SG_JSON_OBJECT || nodes[k].type == SG_JSON_ARRAY)
            && nodes[k].count > 0 && depth < SG_JSON_MAX_DEPTH)
        {
            lvl = &stack[depth++];
            lvl->node = k;
            lvl->left = (nodes[k].type == SG_JSON_OBJECT) ? 2 * nodes[k].count
                                                          : nodes[k].count;
            lvl->cur = 0;
            continue;
        }

        while (depth > 0 && stack[depth - 1].left == 0) {
            depth--;
        }
    }

    /* node is a child of the top: where in it? */

    for (d = 0; d < depth; d++) {
        lvl = &stack[d];
        k = (d + 1 < depth) ? stack[d + 1].node : node;

        if (nodes[lvl->node].type == SG_JSON_ARRAY) {
            lvl->cur = nodes[lvl->node].first;
            n = 0;

            while (lvl->cur != k && lvl->cur != SG_JSON_NONE) {
                lvl->cur = nodes[lvl->cur].next;
                n++;
            }

            lvl->cur = (uint32_t) n;

        } else {
            /*
             * a container on the way is a member's value, its name right
             * before it; node itself may be a name: names are at even
             * positions from the object's end
             */
            lvl->cur = (d + 1 < depth || (lvl->left & 1)) ? k - 1 : k;
        }
    }

    pos = 0;

    for (d = 0; d < depth; d++) {
        lvl = &stack[d];

        if (nodes[lvl->node].type == SG_JSON_ARRAY) {
            n = (size_t) snprintf(num, sizeof(num), "[%u]",
                                  (unsigned) lvl->cur);
            sg_json_put(buf, size, &pos, num, n);
            continue;
        }

        if (pos > 0) {
            sg_json_put(buf, size, &pos, ".", 1);
        }

        seg = &nodes[lvl->cur];

        if (sg_json_is_ident(seg->str, seg->len)) {
            sg_json_put(buf, size, &pos, seg->str, seg->len);

        } else {
            n = (size_t) snprintf(num, sizeof(num), "<offset %u>",
                                  (unsigned) seg->offset);
            sg_json_put(buf, size, &pos, num, n);
        }
    }
}
