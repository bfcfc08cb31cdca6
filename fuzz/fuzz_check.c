/*
 * The fuzz targets' oracles.  Nothing here calls the code under test to
 * decide what is right, except sg_json_parse to read the core's own output
 * and error bodies back.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "fuzz_pool.h"
#include "sg_jcs.h"


/* a decimal value: (-1)^neg * digits * 10^exp, digits without leading or
   trailing zeros; zero has ndigits == 0 and no sign */
typedef struct {
    int         neg;
    const char *digits;
    size_t      ndigits;
    long long   exp;
} fuzz_decimal_t;


static size_t fuzz_utf16_unit(const unsigned char *s, size_t len, size_t *i,
    unsigned *pending);
static int fuzz_utf16_cmp(const char *a, size_t alen, const char *b,
    size_t blen);
static void fuzz_decimal(const char *num, size_t len, char *buf,
    fuzz_decimal_t *d);
static int fuzz_decimal_eq(const fuzz_decimal_t *a, const fuzz_decimal_t *b);
static int fuzz_shortest(double v, char *digits, long long *exp);
static int fuzz_step(char *digits, size_t *n, long long *exp, int up);
static double fuzz_strtod(const char *digits, size_t n, long long exp);
static size_t fuzz_ecma_format(const fuzz_decimal_t *d, char *out);
static int fuzz_printable(const char *s, size_t len);


void
fuzz_fail(const char *what, const char *detail, const char *data, size_t len)
{
    size_t  i;

    fprintf(stderr, "\nPROPERTY FAILED: %s", what);

    if (detail != NULL) {
        fprintf(stderr, ": %s", detail);
    }

    fprintf(stderr, "\ninput (%zu bytes):", len);

    for (i = 0; i < len && i < 512; i++) {
        fprintf(stderr, "%s%02x", i % 32 ? " " : "\n  ",
                (unsigned char) data[i]);
    }

    fprintf(stderr, "\n");

    abort();
}


int
fuzz_utf8_valid(const char *s, size_t len)
{
    size_t          i, n, k;
    unsigned        cp, min;
    unsigned char   c;

    for (i = 0; i < len; i += n) {
        c = (unsigned char) s[i];

        if (c < 0x80) {
            n = 1;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            cp = c & 0x1f;
            min = 0x80;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            cp = c & 0x0f;
            min = 0x800;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            cp = c & 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if (len - i < n) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            c = (unsigned char) s[i + k];

            if ((c & 0xc0) != 0x80) {
                return 0;
            }

            cp = (cp << 6) | (c & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
    }

    return 1;
}


/*
 * RFC 8785 section 3.2: no whitespace between tokens, numbers with a lower
 * case 'e', strings escaped only where section 3.2.2.2 says: \" \\ \b \f
 * \n \r \t, other controls as \u00xx in lower case hex, nothing else.
 */

const char *
fuzz_jcs_lexical(const char *s, size_t len)
{
    int            in_string;
    size_t         i, k;
    unsigned       v;
    unsigned char  c;

    in_string = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (!in_string) {
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                return "whitespace between tokens";
            }

            if (c == 'E') {
                return "upper case exponent";
            }

            if (c == '"') {
                in_string = 1;
            }

            continue;
        }

        if (c < 0x20) {
            return "raw control character in a string";
        }

        if (c == '"') {
            in_string = 0;
            continue;
        }

        if (c != '\\') {
            continue;
        }

        if (++i == len) {
            return "backslash at the end";
        }

        switch (s[i]) {

        case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
            continue;

        case 'u':
            break;

        default:
            return "escape RFC 8785 does not use";
        }

        if (len - i < 5 || s[i + 1] != '0' || s[i + 2] != '0') {
            return "\\u escape of a non-control character";
        }

        v = 0;

        for (k = i + 3; k < i + 5; k++) {
            if (s[k] >= '0' && s[k] <= '9') {
                v = v * 16 + (unsigned) (s[k] - '0');

            } else if (s[k] >= 'a' && s[k] <= 'f') {
                v = v * 16 + (unsigned) (s[k] - 'a' + 10);

            } else {
                return "\\u escape not in lower case hex";
            }
        }

        if (v >= 0x20 || v == 0x08 || v == 0x09 || v == 0x0a || v == 0x0c
            || v == 0x0d)
        {
            return "\\u escape where RFC 8785 wants a short one or none";
        }

        i += 4;
    }

    return in_string ? "unterminated string" : NULL;
}


/* the next UTF-16 code unit of UTF-8 s (already valid), 0 at the end */

static size_t
fuzz_utf16_unit(const unsigned char *s, size_t len, size_t *i,
    unsigned *pending)
{
    unsigned  cp;

    if (*pending) {
        cp = *pending;
        *pending = 0;
        return cp;
    }

    if (*i >= len) {
        return 0;
    }

    if (s[*i] < 0x80) {
        cp = s[*i];
        *i += 1;

    } else if (s[*i] < 0xe0) {
        cp = ((s[*i] & 0x1fu) << 6) | (s[*i + 1] & 0x3fu);
        *i += 2;

    } else if (s[*i] < 0xf0) {
        cp = ((s[*i] & 0x0fu) << 12) | ((s[*i + 1] & 0x3fu) << 6)
             | (s[*i + 2] & 0x3fu);
        *i += 3;

    } else {
        cp = ((s[*i] & 0x07u) << 18) | ((s[*i + 1] & 0x3fu) << 12)
             | ((s[*i + 2] & 0x3fu) << 6) | (s[*i + 3] & 0x3fu);
        *i += 4;
    }

    if (cp < 0x10000) {
        return cp + 1;
    }

    cp -= 0x10000;
    *pending = 0xdc00 + (cp & 0x3ff) + 1;

    return 0xd800 + (cp >> 10) + 1;
}


static int
fuzz_utf16_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t    i, j, ua, ub;
    unsigned  pa, pb;

    i = 0;
    j = 0;
    pa = 0;
    pb = 0;

    for ( ;; ) {
        /* units are returned plus one, so 0 means the end */
        ua = fuzz_utf16_unit((const unsigned char *) a, alen, &i, &pa);
        ub = fuzz_utf16_unit((const unsigned char *) b, blen, &j, &pb);

        if (ua != ub) {
            return ua < ub ? -1 : 1;
        }

        if (ua == 0) {
            return 0;
        }
    }
}


const char *
fuzz_jcs_sorted(const sg_json_t *doc)
{
    uint32_t         i, name, prev;
    sg_json_node_t  *nodes;

    nodes = doc->nodes;

    for (i = 0; i < doc->n; i++) {
        if (nodes[i].type != SG_JSON_OBJECT) {
            continue;
        }

        prev = SG_JSON_NONE;

        for (name = nodes[i].first; name != SG_JSON_NONE;
             name = nodes[name].next)
        {
            if (name <= prev) {
                return "members not written in sorted order";
            }

            if (prev != SG_JSON_NONE
                && fuzz_utf16_cmp(nodes[prev].str, nodes[prev].len,
                                  nodes[name].str, nodes[name].len) >= 0)
            {
                return "members not sorted by UTF-16 code units";
            }

            prev = name;
        }
    }

    return NULL;
}


/* RFC 8259 number text (valid) to its exact decimal value; buf: len bytes */

static void
fuzz_decimal(const char *num, size_t len, char *buf, fuzz_decimal_t *d)
{
    int        eneg;
    size_t     i, n, frac;
    long long  e;

    i = 0;
    n = 0;
    frac = 0;
    d->neg = 0;

    if (i < len && num[i] == '-') {
        d->neg = 1;
        i++;
    }

    for ( /* void */ ; i < len && num[i] >= '0' && num[i] <= '9'; i++) {
        if (n || num[i] != '0') {
            buf[n++] = num[i];
        }
    }

    if (i < len && num[i] == '.') {
        for (i++; i < len && num[i] >= '0' && num[i] <= '9'; i++) {
            if (n || num[i] != '0') {
                buf[n++] = num[i];
            }

            frac++;
        }
    }

    e = 0;

    if (i < len && (num[i] == 'e' || num[i] == 'E')) {
        i++;
        eneg = 0;

        if (num[i] == '-' || num[i] == '+') {
            eneg = num[i] == '-';
            i++;
        }

        for ( /* void */ ; i < len; i++) {
            /* saturate: no finite double is near 10^(+-10^12) */
            if (e < 1000000000000LL) {
                e = e * 10 + (num[i] - '0');
            }
        }

        if (eneg) {
            e = -e;
        }
    }

    /* leading zeros of the fraction were not counted in n */
    d->exp = e - (long long) frac;

    while (n && buf[n - 1] == '0') {
        n--;
        d->exp++;
    }

    d->digits = buf;
    d->ndigits = n;

    if (n == 0) {
        d->neg = 0;
        d->exp = 0;
    }
}


static int
fuzz_decimal_eq(const fuzz_decimal_t *a, const fuzz_decimal_t *b)
{
    return a->neg == b->neg && a->ndigits == b->ndigits && a->exp == b->exp
           && memcmp(a->digits, b->digits, a->ndigits) == 0;
}


static double
fuzz_strtod(const char *digits, size_t n, long long exp)
{
    char  buf[64];

    snprintf(buf, sizeof(buf), "%.*se%lld", (int) n, digits, exp);

    return strtod(buf, NULL);
}


/* digits +- one unit in the last place; 0 if the result is zero */

static int
fuzz_step(char *digits, size_t *n, long long *exp, int up)
{
    size_t  i;

    i = *n;

    if (up) {
        while (i > 0 && digits[i - 1] == '9') {
            digits[--i] = '0';
        }

        if (i == 0) {
            memmove(digits + 1, digits, *n);
            digits[0] = '1';
            (*n)++;

        } else {
            digits[i - 1]++;
        }

    } else {
        while (i > 0 && digits[i - 1] == '0') {
            digits[--i] = '9';
        }

        digits[i - 1]--;

        while (*n && digits[0] == '0') {
            memmove(digits, digits + 1, --(*n));
        }
    }

    while (*n && digits[*n - 1] == '0') {
        (*n)--;
        (*exp)++;
    }

    return *n != 0;
}


/*
 * The shortest digits that read back as v (finite, not zero), and of those
 * the closest to v (ECMA-262 Number::toString).  "%.*e" rounds correctly,
 * so it gives the closest p-digit decimal; at a power of two the interval
 * that reads back as v is lopsided, so its neighbour on the wide side may
 * read back when it does not, and is then the only p-digit one that does.
 */

static int
fuzz_shortest(double v, char *digits, long long *exp)
{
    int        p;
    char       buf[64], cand[64], *e;
    size_t     n, i, cn;
    long long  x, cx;

    for (p = 1; p <= 17; p++) {
        snprintf(buf, sizeof(buf), "%.*e", p - 1, fabs(v));

        e = strchr(buf, 'e');
        x = strtoll(e + 1, NULL, 10) - (p - 1);

        n = 0;

        for (i = 0; buf + i < e; i++) {
            if (buf[i] != '.') {
                digits[n++] = buf[i];
            }
        }

        while (n && digits[n - 1] == '0') {
            n--;
            x++;
        }

        if (fuzz_strtod(digits, n, x) == fabs(v)) {
            *exp = x;
            return (int) n;
        }

        /* the neighbour on the other side of v */
        memcpy(cand, digits, n);
        cn = n;
        cx = x;

        /* put the p digits back, so the step is one unit in place p */
        while (cn < (size_t) p) {
            cand[cn++] = '0';
            cx--;
        }

        if (!fuzz_step(cand, &cn, &cx,
                       fuzz_strtod(digits, n, x) < fabs(v)))
        {
            continue;
        }

        if (fuzz_strtod(cand, cn, cx) == fabs(v)) {
            memcpy(digits, cand, cn);
            *exp = cx;
            return (int) cn;
        }
    }

    return 0;
}


/* ECMA-262 Number::toString for (s, k, n) of d */

static size_t
fuzz_ecma_format(const fuzz_decimal_t *d, char *out)
{
    char       *p;
    long long   k, n, i;

    p = out;

    if (d->ndigits == 0) {
        *p++ = '0';
        *p = '\0';
        return 1;
    }

    if (d->neg) {
        *p++ = '-';
    }

    k = (long long) d->ndigits;
    n = d->exp + k;

    if (k <= n && n <= 21) {
        memcpy(p, d->digits, k);
        p += k;

        for (i = 0; i < n - k; i++) {
            *p++ = '0';
        }

    } else if (0 < n && n <= 21) {
        memcpy(p, d->digits, n);
        p += n;
        *p++ = '.';
        memcpy(p, d->digits + n, k - n);
        p += k - n;

    } else if (-6 < n && n <= 0) {
        *p++ = '0';
        *p++ = '.';

        for (i = 0; i < -n; i++) {
            *p++ = '0';
        }

        memcpy(p, d->digits, k);
        p += k;

    } else {
        *p++ = d->digits[0];

        if (k > 1) {
            *p++ = '.';
            memcpy(p, d->digits + 1, k - 1);
            p += k - 1;
        }

        p += sprintf(p, "e%c%lld", n - 1 < 0 ? '-' : '+',
                     n - 1 < 0 ? 1 - n : n - 1);
    }

    *p = '\0';

    return (size_t) (p - out);
}


size_t
fuzz_number_expect(const char *num, size_t len, char out[FUZZ_NUMBER_MAX])
{
    int             n;
    char           *text, *buf, digits[64];
    double          v;
    long long       exp;
    fuzz_decimal_t  lit, canon;

    text = malloc(len + 1);
    buf = malloc(len + 1);

    if (text == NULL || buf == NULL) {
        abort();
    }

    memcpy(text, num, len);
    text[len] = '\0';

    v = strtod(text, NULL);

    fuzz_decimal(num, len, buf, &lit);

    free(text);

    if (isinf(v)) {
        free(buf);
        return 0;
    }

    canon.neg = 0;
    canon.digits = digits;
    canon.ndigits = 0;
    canon.exp = 0;

    if (v != 0) {
        n = fuzz_shortest(v, digits, &exp);
        if (n == 0) {
            abort();
        }

        canon.neg = v < 0;
        canon.ndigits = (size_t) n;
        canon.exp = exp;
    }

    if (!fuzz_decimal_eq(&lit, &canon)) {
        free(buf);
        return 0;
    }

    free(buf);

    return fuzz_ecma_format(&canon, out);
}


const char *
fuzz_same_value(const sg_json_t *a, uint32_t x, const sg_json_t *b,
    uint32_t y)
{
    char            *ba, *bb;
    uint32_t         i, j;
    const char      *rv;
    fuzz_decimal_t   da, db;
    sg_json_node_t  *na, *nb;

    na = &a->nodes[x];
    nb = &b->nodes[y];

    if (na->type != nb->type) {
        return "a value changed type";
    }

    switch (na->type) {

    case SG_JSON_STRING:
        if (na->len != nb->len || memcmp(na->str, nb->str, na->len) != 0) {
            return "a string changed";
        }

        return NULL;

    case SG_JSON_NUMBER:
        ba = malloc(na->len + 1);
        bb = malloc(nb->len + 1);

        if (ba == NULL || bb == NULL) {
            abort();
        }

        fuzz_decimal(na->str, na->len, ba, &da);
        fuzz_decimal(nb->str, nb->len, bb, &db);

        rv = fuzz_decimal_eq(&da, &db) ? NULL : "a number changed its value";

        free(ba);
        free(bb);

        return rv;

    case SG_JSON_OBJECT:
    case SG_JSON_ARRAY:
        if (na->count != nb->count) {
            return "a container changed its size";
        }

        for (i = na->first, j = nb->first;
             i != SG_JSON_NONE && j != SG_JSON_NONE;
             i = a->nodes[i].next, j = b->nodes[j].next)
        {
            rv = fuzz_same_value(a, i, b, j);
            if (rv != NULL) {
                return rv;
            }

            if (na->type == SG_JSON_OBJECT) {
                rv = fuzz_same_value(a, i + 1, b, j + 1);
                if (rv != NULL) {
                    return rv;
                }
            }
        }

        if (i != SG_JSON_NONE || j != SG_JSON_NONE) {
            return "a container's links disagree with its count";
        }

        return NULL;

    default:
        return NULL;
    }
}


static int
fuzz_printable(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return 0;
        }
    }

    return 1;
}


const char *
fuzz_error_check(sg_code_t rc, const sg_error_t *err, size_t len,
    int schema_text)
{
    char          desc[256], *small, *body;
    size_t        n, need;
    uint32_t      v, w;
    sg_json_t     doc;
    sg_alloc_t    a;
    sg_error_t    perr;
    const char   *code, *rv;
    fuzz_pool_t   pool;

    if (rc != SG_ERR_INVALID_JSON && rc != SG_ERR_INVALID_REQUEST) {
        return "refused with an undocumented code";
    }

    if (err->code != rc) {
        return "err->code differs from the returned code";
    }

    if (err->offset > len) {
        return "error offset past the end of the input";
    }

    if (err->reason == NULL) {
        return "error without a reason";
    }

    if (memchr(err->path, '\0', SG_PATH_MAX) == NULL) {
        return "error path not terminated";
    }

    if (schema_text) {
        if (!fuzz_utf8_valid(err->path, strlen(err->path))) {
            return "error path not valid UTF-8";
        }

    } else if (!fuzz_printable(err->path, strlen(err->path))) {
        return "error path not printable ASCII (caller data?)";
    }

    code = sg_error_code_name(rc);

    if (code == NULL
        || strcmp(code, rc == SG_ERR_INVALID_JSON ? "invalid_json"
                                                  : "invalid_request") != 0)
    {
        return "wrong provider code name";
    }

    /* truncation must stay inside the buffer; ASan watches the bounds */
    small = malloc(8);
    if (small == NULL) {
        abort();
    }

    sg_error_describe(err, small, 1);
    sg_error_describe(err, small, 8);

    if (memchr(small, '\0', 8) == NULL) {
        free(small);
        return "truncated description not terminated";
    }

    free(small);

    /* the glue's buffer: what the client gets */
    sg_error_describe(err, desc, sizeof(desc));

    if (memchr(desc, '\0', sizeof(desc)) == NULL) {
        return "description not terminated";
    }

    n = strlen(desc);

    if (n == 0) {
        return "empty description";
    }

    if (schema_text ? !fuzz_utf8_valid(desc, n) : !fuzz_printable(desc, n)) {
        return schema_text ? "description (as the glue cuts it) not valid "
                             "UTF-8"
                           : "description not printable ASCII";
    }

    /* asks for the length with a buffer too small for any error body */
    body = malloc(16);
    if (body == NULL) {
        abort();
    }

    need = sg_error_json(code, desc, body, 16);

    free(body);

    body = malloc(need + 1);
    if (body == NULL) {
        abort();
    }

    if (sg_error_json(code, desc, body, need + 1) != need) {
        free(body);
        return "sg_error_json's length changes with the buffer";
    }

    fuzz_pool_init(&pool, &a);

    rv = NULL;

    if (sg_json_parse(&doc, body, need, &a, &perr) != SG_OK) {
        rv = "the error body is not valid JSON";
        goto done;
    }

    if (doc.nodes[0].type != SG_JSON_OBJECT || doc.nodes[0].count != 2) {
        rv = "the error body is not {status, error}";
        goto done;
    }

    v = sg_json_member(&doc, 0, "status");

    if (v == SG_JSON_NONE || doc.nodes[v].type != SG_JSON_STRING
        || !sg_json_str_eq(&doc.nodes[v], "error"))
    {
        rv = "the error body's status is not \"error\"";
        goto done;
    }

    v = sg_json_member(&doc, 0, "error");

    if (v == SG_JSON_NONE || doc.nodes[v].type != SG_JSON_OBJECT
        || doc.nodes[v].count != 2)
    {
        rv = "the error body's error is not {code, description}";
        goto done;
    }

    w = sg_json_member(&doc, v, "code");

    if (w == SG_JSON_NONE || doc.nodes[w].type != SG_JSON_STRING
        || !sg_json_str_eq(&doc.nodes[w], code))
    {
        rv = "the error body's code is wrong";
        goto done;
    }

    v = sg_json_member(&doc, v, "description");

    if (v == SG_JSON_NONE || doc.nodes[v].type != SG_JSON_STRING
        || doc.nodes[v].len != n
        || memcmp(doc.nodes[v].str, desc, n) != 0)
    {
        rv = "the error body's description differs from sg_error_describe";
    }

done:

    fuzz_pool_free(&pool);
    free(body);

    return rv;
}


const char *
fuzz_canonical_check(const char *out, size_t len, sg_alloc_t *a,
    sg_json_t *doc)
{
    char        *again;
    size_t       again_len;
    sg_error_t   err;
    const char  *rv;

    if (!fuzz_utf8_valid(out, len)) {
        return "canonical output is not valid UTF-8";
    }

    rv = fuzz_jcs_lexical(out, len);
    if (rv != NULL) {
        return rv;
    }

    if (sg_json_parse(doc, out, len, a, &err) != SG_OK) {
        return "canonical output does not parse again";
    }

    rv = fuzz_jcs_sorted(doc);
    if (rv != NULL) {
        return rv;
    }

    if (sg_jcs_write(doc, a, &again, &again_len, &err) != SG_OK) {
        return "canonical output is refused by sg_jcs_write";
    }

    if (again_len != len || memcmp(again, out, len) != 0) {
        return "canonicalizing the canonical output changes it";
    }

    return NULL;
}


size_t
fuzz_hash(const char *data, size_t len)
{
    size_t  i, h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char) data[i]) * 16777619u;
    }

    return h;
}
