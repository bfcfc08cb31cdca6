/*
 * RFC 8785 (JCS) writer: sorted members, no whitespace, minimal string
 * escapes, ECMAScript numbers; refuses numbers it could not keep exactly.
 */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_jcs.h"


/* significant digits of a double's shortest form: never more than 17 */
#define SG_JCS_DIGITS  17


/*
 * Every write checks the room left (BearSSL's habit): the bound comes from
 * sg_json.c, and a later rule that lengthens a value must fail closed, not
 * overrun the buffer.  A write that does not fit sets "full" and writes
 * nothing; sg_jcs_write then refuses the whole output.
 */
typedef struct {
    char    *p;
    char    *end;           /* what sg_json_t's jcs_max allows */
    int      full;
} sg_jcs_out_t;


static int sg_jcs_decimal(const char *num, size_t len, int *neg,
    char *digits, int *k, long long *n);
static int sg_jcs_digit(char *digits, int *nd, int *zeros, char c);
static int sg_jcs_is_shortest(const char *digits, int k, int n);
static int sg_jcs_nearest(double d, int k, char *digits, int *n);
static double sg_jcs_strtod(const char *digits, int k, int n);
static void sg_jcs_step(char *digits, int k, int *n, int up);
static size_t sg_jcs_layout(int neg, const char *digits, int k, int n,
    char *out);
static int sg_jcs_is_canonical(const char *num, size_t len);
static int sg_jcs_emit(const sg_json_t *doc, sg_jcs_out_t *w, uint32_t *bad);
static int sg_jcs_scalar(const sg_json_t *doc, const sg_json_node_t *node,
    sg_jcs_out_t *w);
static void sg_jcs_str(sg_jcs_out_t *w, const sg_json_t *doc,
    const sg_json_node_t *node);
static void sg_jcs_copy(sg_jcs_out_t *w, const sg_json_t *doc,
    const char *s, size_t len);
static size_t sg_jcs_plain_run(const unsigned char *u, size_t len, size_t i);
static void sg_jcs_put(sg_jcs_out_t *w, const char *s, size_t len);
static void sg_jcs_char(sg_jcs_out_t *w, char c);


/*
 * The number is the exact decimal value of its text.  Its canonical form
 * (RFC 8785 section 3.2.2.3: ECMAScript Number::toString of the double
 * nearest to it) keeps that value only when the text's significant digits
 * are themselves the double's shortest round-trip digits; then the output
 * is those digits laid out the ECMAScript way.  Anything else would round
 * a value on its way to the provider, and is refused.
 */

size_t
sg_jcs_number(const char *num, size_t len, char out[SG_JCS_NUMBER_MAX])
{
    int        neg, k;
    char       digits[SG_JCS_DIGITS + 1];
    long long  n;

    if (sg_jcs_is_canonical(num, len)) {
        memcpy(out, num, len);
        out[len] = '\0';
        return len;
    }

    if (!sg_jcs_decimal(num, len, &neg, digits, &k, &n)) {
        return 0;
    }

    if (0 == k) {
        /* ECMAScript: both zeros are "0" */
        out[0] = '0';
        out[1] = '\0';
        return 1;
    }

    /*
     * value = 0.d1d2..dk * 10^n; 10^309 > DBL_MAX overflows, below
     * 10^-324 (under half the least subnormal) it rounds to zero
     */
    if (n > 309 || n < -323) {
        return 0;
    }

    /*
     * Up to 15 digits in the normal range the text is the shortest form
     * of its double (DBL_DIG is 15: such decimals survive a round trip and
     * no two of them share a double), so no conversion is needed at all.
     */
    if (k > 15 || n > 300 || n < -300) {
        if (!sg_jcs_is_shortest(digits, k, (int) n)) {
            return 0;
        }
    }

    return sg_jcs_layout(neg, digits, k, (int) n, out);
}


/*
 * The usual amount, count or price: text without an exponent, with at
 * most 15 significant digits (so its own shortest form, see above), no
 * trailing zero in a fraction, no "-0", and fewer than six zeros after
 * "0." (ECMAScript writes 0.000001 as 1e-6).  Such text is its canonical
 * form byte for byte.
 */

static int
sg_jcs_is_canonical(const char *num, size_t len)
{
    size_t  i, sig, zeros;

    i = (len > 0 && num[0] == '-');

    if (i == len) {
        return 0;
    }

    if (num[i] == '0') {
        i++;

        if (i == len) {
            /* "0", not "-0" */
            return len == 1;
        }

        if (num[i] != '.') {
            return 0;
        }

        for (zeros = 0, i++; i < len && num[i] == '0'; i++) {
            zeros++;
        }

        if (zeros > 5 || i == len) {
            return 0;
        }

        sig = 0;

    } else {
        for (sig = 0; i < len && num[i] >= '0' && num[i] <= '9'; i++) {
            sig++;
        }

        if (i == len) {
            return sig <= 15;
        }

        if (num[i] != '.') {
            return 0;
        }

        i++;
    }

    for ( /* void */ ; i < len && num[i] >= '0' && num[i] <= '9'; i++) {
        sig++;
    }

    return i == len && sig <= 15 && num[len - 1] != '0';
}


/*
 * Normalizes RFC 8259 number text to sign, significant digits without
 * leading or trailing zeros (k of them, 0 for zero) and the exponent n of
 * value = 0.d1..dk * 10^n.  More than 17 digits fail: no double needs
 * more, so such text is never its own canonical form.  Exponents saturate,
 * so "1e99999999999999999999" cannot overflow.
 */

static int
sg_jcs_decimal(const char *num, size_t len, int *neg, char *digits, int *k,
    long long *n)
{
    int        nd, zeros, eneg;
    size_t     i, start;
    long long  exp, pos;

    i = 0;
    *neg = 0;

    if (i < len && num[i] == '-') {
        *neg = 1;
        i++;
    }

    nd = 0;         /* significant digits kept */
    zeros = 0;      /* zeros seen after them, kept only if a digit follows */
    pos = 0;        /* the n of the digits seen so far */

    /* the integer part: 0 or [1-9][0-9]* (RFC 8259 section 6) */

    start = i;

    for ( ; i < len && num[i] >= '0' && num[i] <= '9'; i++) {
        if (nd == 0 && num[i] == '0') {
            continue;
        }

        pos++;

        if (!sg_jcs_digit(digits, &nd, &zeros, num[i])) {
            return 0;
        }
    }

    if (i == start || (num[start] == '0' && i - start > 1)) {
        return 0;
    }

    if (i < len && num[i] == '.') {
        start = ++i;

        for ( ; i < len && num[i] >= '0' && num[i] <= '9'; i++) {
            if (nd == 0 && num[i] == '0') {
                pos--;
                continue;
            }

            if (!sg_jcs_digit(digits, &nd, &zeros, num[i])) {
                return 0;
            }
        }

        if (i == start) {
            return 0;
        }
    }

    exp = 0;

    if (i < len && (num[i] == 'e' || num[i] == 'E')) {
        i++;
        eneg = 0;

        if (i < len && (num[i] == '+' || num[i] == '-')) {
            eneg = (num[i] == '-');
            i++;
        }

        start = i;

        for ( ; i < len && num[i] >= '0' && num[i] <= '9'; i++) {
            if (exp < 1000000000) {
                exp = exp * 10 + (num[i] - '0');
            }
        }

        if (i == start) {
            return 0;
        }

        if (eneg) {
            exp = -exp;
        }
    }

    if (i != len) {
        return 0;
    }

    digits[nd] = '\0';
    *k = nd;
    *n = (nd == 0) ? 0 : pos + exp;

    return 1;
}


/* appends a significant digit; zeros wait until a nonzero digit follows */

static int
sg_jcs_digit(char *digits, int *nd, int *zeros, char c)
{
    if (c == '0') {
        (*zeros)++;
        return 1;
    }

    if (*nd + *zeros + 1 > SG_JCS_DIGITS) {
        return 0;
    }

    while (*zeros > 0) {
        digits[(*nd)++] = '0';
        (*zeros)--;
    }

    digits[(*nd)++] = c;

    return 1;
}


/*
 * Slow path, for 16 and 17 digits and outside the normal range: are
 * digits (k of them) the ECMAScript digits of their double d?  They are
 * if no k-1 digit decimal rounds to d (then none shorter does either) and
 * the k digit decimal closest to d is them.
 */

static int
sg_jcs_is_shortest(const char *digits, int k, int n)
{
    int     m;
    char    best[SG_JCS_DIGITS + 2];
    double  d;

    d = sg_jcs_strtod(digits, k, n);

    if (d == 0 || isinf(d) || isnan(d)) {
        return 0;
    }

    if (k > 1 && sg_jcs_nearest(d, k - 1, best, &m)) {
        return 0;
    }

    if (!sg_jcs_nearest(d, k, best, &m)) {
        return 0;
    }

    return m == n && memcmp(best, digits, (size_t) k) == 0;
}


/*
 * The k digit decimal closest to d that still rounds to d, if there is
 * one.  printf is exact in glibc, so "%.*e" gives the closest k digit
 * decimal; if that misses d's rounding interval (lopsided at a power of
 * two), only its neighbour on d's other side can be in it.
 */

static int
sg_jcs_nearest(double d, int k, char *digits, int *n)
{
    int     i, e;
    char    buf[64], *p;
    double  back;

    snprintf(buf, sizeof(buf), "%.*e", k - 1, d);

    /* "d.ddde+XX"; the point is locale dependent, so skip any non-digit */
    p = buf;
    i = 0;

    while (*p != '\0' && *p != 'e' && i < k) {
        if (*p >= '0' && *p <= '9') {
            digits[i++] = *p;
        }

        p++;
    }

    while (*p != '\0' && *p != 'e') {
        p++;
    }

    if (i != k || *p != 'e') {
        return 0;
    }

    e = atoi(p + 1);
    *n = e + 1;

    back = sg_jcs_strtod(digits, k, *n);
    if (back == d) {
        return 1;
    }

    sg_jcs_step(digits, k, n, back < d);

    return sg_jcs_strtod(digits, k, *n) == d;
}


/* the double nearest to 0.d1..dk * 10^n, written without a decimal point */

static double
sg_jcs_strtod(const char *digits, int k, int n)
{
    char  buf[SG_JCS_DIGITS + 16];

    snprintf(buf, sizeof(buf), "%.*se%d", k, digits, n - k);

    return strtod(buf, NULL);
}


/* the next k digit decimal up or down */

static void
sg_jcs_step(char *digits, int k, int *n, int up)
{
    int  i;

    if (up) {
        for (i = k - 1; i >= 0 && digits[i] == '9'; i--) {
            digits[i] = '0';
        }

        if (i >= 0) {
            digits[i]++;
            return;
        }

        /* 9.99 -> 10.0 */
        digits[0] = '1';
        (*n)++;
        return;
    }

    for (i = k - 1; i >= 0 && digits[i] == '0'; i--) {
        digits[i] = '9';
    }

    if (i < 0) {
        return;
    }

    digits[i]--;

    if (digits[0] == '0') {
        /* 1.00 -> 0.999: the grid below a power of ten is finer */
        memset(digits, '9', (size_t) k);
        (*n)--;
    }
}


/* ECMAScript Number::toString (ECMA-262, Number::toString, steps 5-10) */

static size_t
sg_jcs_layout(int neg, const char *digits, int k, int n, char *out)
{
    int    e, i;
    char  *p;

    p = out;

    if (neg) {
        *p++ = '-';
    }

    if (k <= n && n <= 21) {
        memcpy(p, digits, (size_t) k);
        p += k;

        for (i = k; i < n; i++) {
            *p++ = '0';
        }

    } else if (0 < n && n <= 21) {
        memcpy(p, digits, (size_t) n);
        p += n;
        *p++ = '.';
        memcpy(p, digits + n, (size_t) (k - n));
        p += k - n;

    } else if (-6 < n && n <= 0) {
        *p++ = '0';
        *p++ = '.';

        for (i = n; i < 0; i++) {
            *p++ = '0';
        }

        memcpy(p, digits, (size_t) k);
        p += k;

    } else {
        *p++ = digits[0];

        if (k > 1) {
            *p++ = '.';
            memcpy(p, digits + 1, (size_t) (k - 1));
            p += k - 1;
        }

        e = n - 1;
        *p++ = 'e';
        *p++ = (e < 0) ? '-' : '+';
        p += sprintf(p, "%d", (e < 0) ? -e : e);
    }

    *p = '\0';

    return (size_t) (p - out);
}


/*
 * RFC 8785 section 3.2.2.2: escape '"', '\\' and the controls below 0x20,
 * the five with a short form as such, the others as \u00xx lowercase;
 * everything else is written as is.
 */

#define U  'u'

static const char  sg_jcs_escape[256] = {
    U,  U,  U,  U,  U,  U,  U,  U, 'b','t','n', U, 'f','r', U,  U,
    U,  U,  U,  U,  U,  U,  U,  U,  U,  U,  U,  U,  U,  U,  U,  U,
    0,  0, '"', 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0, '\\', 0, 0,  0
    /* the rest, DEL and all of UTF-8 included, is written as is */
};

#undef U


size_t
sg_jcs_string(const char *s, size_t len, char *out)
{
    char                 *p, e;
    size_t                i, n, run;
    const unsigned char  *u;
    static const char     hex[] = "0123456789abcdef";

    u = (const unsigned char *) s;

    if (out == NULL) {
        n = len + 2;
        i = 0;

        while (i < len) {
            i = sg_jcs_plain_run(u, len, i);

            if (i == len) {
                break;
            }

            /* no branch: an escape adds 1 byte, a \u00xx one adds 5 */
            e = sg_jcs_escape[u[i++]];
            n += (size_t) (e != 0) + ((size_t) (e == 'u') << 2);
        }

        return n;
    }

    p = out;
    *p++ = '"';
    i = 0;

    while (i < len) {
        run = i;
        i = sg_jcs_plain_run(u, len, i);

        memcpy(p, s + run, i - run);
        p += i - run;

        if (i == len) {
            break;
        }

        e = sg_jcs_escape[u[i]];
        *p++ = '\\';

        if (e == 'u') {
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[u[i] >> 4];
            *p++ = hex[u[i] & 0xf];

        } else {
            *p++ = e;
        }

        i++;
    }

    *p++ = '"';

    return (size_t) (p - out);
}


/* the end of the run of bytes written as is, from i: a word at a time */

static size_t
sg_jcs_plain_run(const unsigned char *u, size_t len, size_t i)
{
    uint64_t  w;

    while (len - i >= 8) {
        memcpy(&w, u + i, 8);

        if (sg_json_word_special(w)) {
            break;
        }

        i += 8;
    }

    while (i < len && sg_jcs_escape[u[i]] == 0) {
        i++;
    }

    return i;
}


sg_code_t
sg_jcs_write(const sg_json_t *doc, sg_alloc_t *a, char **out,
    size_t *out_len, sg_error_t *err)
{
    char          *buf;
    uint32_t       bad;
    sg_jcs_out_t   w;

    *out = NULL;
    *out_len = 0;

    if (doc == NULL || 0 == doc->n) {
        sg_error_set(err, SG_ERR_INVALID_JSON, 0, "expected a JSON value");
        return SG_ERR_INVALID_JSON;
    }

    /*
     * One pass into a buffer of the validator's bound: the count of a
     * second pass would format every number twice.
     */

    buf = sg_alloc(a, doc->jcs_max + 1);
    if (buf == NULL) {
        sg_error_set(err, SG_ERR_NOMEM, 0, "out of memory");
        return SG_ERR_NOMEM;
    }

    w.p = buf;
    w.end = buf + doc->jcs_max;
    w.full = 0;

    if (sg_jcs_emit(doc, &w, &bad) != 0 && !w.full) {
        sg_error_set(err, SG_ERR_INVALID_REQUEST, doc->nodes[bad].offset,
                     "number cannot be represented exactly; "
                     "send it as a string or in minor units");
        if (err != NULL) {
            sg_json_path(doc, bad, err->path, sizeof(err->path));
        }

        return SG_ERR_INVALID_REQUEST;
    }

    if (w.full) {
        /* the bound was wrong: never send a truncated body */
        sg_error_set(err, SG_ERR_NOMEM, 0,
                     "internal error: the canonical form outgrew its bound");
        return SG_ERR_NOMEM;
    }

    *w.p = '\0';

    *out = buf;
    *out_len = (size_t) (w.p - buf);

    return SG_OK;
}


/*
 * Writes the document: an explicit walk over first/next with a stack of
 * the open containers' current child, so depth costs no call stack.
 * Returns -1 if a number cannot be kept, with in *bad the one that comes
 * first in the document (the walk itself is in canonical order); the
 * output is then incomplete.
 */

static int
sg_jcs_emit(const sg_json_t *doc, sg_jcs_out_t *w, uint32_t *bad)
{
    int                    rc;
    uint32_t               v, c, depth, cur[SG_JSON_MAX_DEPTH];
    unsigned char          obj[SG_JSON_MAX_DEPTH];
    const sg_json_node_t  *nodes, *node;

    nodes = doc->nodes;
    rc = 0;
    v = 0;
    depth = 0;

    for ( ;; ) {
        node = &nodes[v];

        /* sg_json_parse never nests deeper; the test only guards cur[] */
        if ((node->type == SG_JSON_OBJECT || node->type == SG_JSON_ARRAY)
            && node->first != SG_JSON_NONE && depth < SG_JSON_MAX_DEPTH)
        {
            c = node->first;
            cur[depth] = c;

            if (node->type == SG_JSON_OBJECT) {
                obj[depth++] = 1;
                sg_jcs_char(w, '{');
                sg_jcs_str(w, doc, &nodes[c]);
                sg_jcs_char(w, ':');
                v = c + 1;

            } else {
                obj[depth++] = 0;
                sg_jcs_char(w, '[');
                v = c;
            }

            continue;
        }

        if (sg_jcs_scalar(doc, node, w) != 0
            && (rc == 0 || node->offset < nodes[*bad].offset))
        {
            *bad = v;
            rc = -1;
        }

        /* close what v ends, up to the next sibling */

        for ( ;; ) {
            if (0 == depth) {
                return rc;
            }

            c = nodes[cur[depth - 1]].next;

            if (c != SG_JSON_NONE) {
                cur[depth - 1] = c;
                sg_jcs_char(w, ',');

                if (obj[depth - 1]) {
                    sg_jcs_str(w, doc, &nodes[c]);
                    sg_jcs_char(w, ':');
                    v = c + 1;

                } else {
                    v = c;
                }

                break;
            }

            sg_jcs_char(w, obj[--depth] ? '}' : ']');
        }
    }
}


/* a leaf, an empty object or an empty array */

static int
sg_jcs_scalar(const sg_json_t *doc, const sg_json_node_t *node,
    sg_jcs_out_t *w)
{
    size_t  n;
    char    num[SG_JCS_NUMBER_MAX];

    switch (node->type) {

    case SG_JSON_OBJECT:
        sg_jcs_put(w, "{}", 2);
        return 0;

    case SG_JSON_ARRAY:
        sg_jcs_put(w, "[]", 2);
        return 0;

    case SG_JSON_STRING:
        sg_jcs_str(w, doc, node);
        return 0;

    case SG_JSON_NUMBER:
        if (sg_jcs_is_canonical(node->str, node->len)) {
            /* no copy through num: the text is the output */
            sg_jcs_copy(w, doc, node->str, node->len);
            return 0;
        }

        n = sg_jcs_number(node->str, node->len, num);

        /*
         * The bound holds by construction (sg_json_scan_number); should
         * it not, refusing the number is the one safe answer.
         */
        if (0 == n || n > (size_t) (w->end - w->p)) {
            return -1;
        }

        sg_jcs_put(w, num, n);
        return 0;

    case SG_JSON_TRUE:
        sg_jcs_put(w, "true", 4);
        return 0;

    case SG_JSON_FALSE:
        sg_jcs_put(w, "false", 5);
        return 0;

    default:
        sg_jcs_put(w, "null", 4);
        return 0;
    }
}


/*
 * A string still in the input had no escape there, so it has nothing JCS
 * escapes either (RFC 8259 forbids raw controls, '"' and '\\' in strings):
 * its text, quotes included, is its canonical form.  Only decoded strings
 * (and what a schema rewrote) are escaped again.
 */

static void
sg_jcs_str(sg_jcs_out_t *w, const sg_json_t *doc, const sg_json_node_t *node)
{
    uintptr_t  s, in;

    s = (uintptr_t) node->str;
    in = (uintptr_t) doc->input;

    if (s > in && s - in < doc->input_len) {
        sg_jcs_copy(w, doc, node->str - 1, node->len + 2);
        return;
    }

    if (sg_jcs_string(node->str, node->len, NULL)
        > (size_t) (w->end - w->p))
    {
        w->full = 1;
        return;
    }

    w->p += sg_jcs_string(node->str, node->len, w->p);
}


/*
 * Copies len bytes of the input from s.  Most names, values and numbers
 * are short: a fixed 16 bytes, which the compiler inlines, where both
 * buffers have them; what is past the text is overwritten by what
 * follows it.
 */

static void
sg_jcs_copy(sg_jcs_out_t *w, const sg_json_t *doc, const char *s, size_t len)
{
    size_t  at;

    /* s is in the input: a number's text or a string's, quotes included */
    at = (size_t) ((uintptr_t) s - (uintptr_t) doc->input);

    if (len > (size_t) (w->end - w->p)) {
        w->full = 1;
        return;
    }

    if (len <= 16 && (size_t) (w->end - w->p) >= 16
        && at < doc->input_len && doc->input_len - at >= 16)
    {
        memcpy(w->p, s, 16);

    } else {
        memcpy(w->p, s, len);
    }

    w->p += len;
}


static void
sg_jcs_put(sg_jcs_out_t *w, const char *s, size_t len)
{
    if (len > (size_t) (w->end - w->p)) {
        w->full = 1;
        return;
    }

    memcpy(w->p, s, len);
    w->p += len;
}


static void
sg_jcs_char(sg_jcs_out_t *w, char c)
{
    if (w->p == w->end) {
        w->full = 1;
        return;
    }

    *w->p++ = c;
}
