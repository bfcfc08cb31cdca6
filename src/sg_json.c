/*
 * Strict RFC 8259 JSON: a validator that finds the first offending byte,
 * jsmn to tokenize what passed, and the node tree built from its tokens.
 */

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
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


static sg_code_t sg_json_fail(sg_error_t *err, size_t offset,
    const char *reason);
static size_t sg_json_skip_ws(sg_u_char *p, size_t len, size_t i);
static sg_code_t sg_json_validate(sg_u_char *p, size_t len, uint32_t *ntok,
    sg_error_t *err);
static sg_code_t sg_json_scan_string(sg_u_char *p, size_t len, size_t *pos,
    sg_error_t *err);
static size_t sg_json_plain_run(sg_u_char *p, size_t len, size_t i);
static sg_code_t sg_json_scan_hex4(sg_u_char *p, size_t len, size_t i,
    unsigned *cp, sg_error_t *err);
static sg_code_t sg_json_scan_utf8(sg_u_char *p, size_t len, size_t *pos,
    sg_error_t *err);
static sg_code_t sg_json_scan_number(sg_u_char *p, size_t len, size_t *pos,
    sg_error_t *err);
static sg_code_t sg_json_scan_literal(sg_u_char *p, size_t len, size_t *pos,
    sg_error_t *err);
static sg_code_t sg_json_build(sg_json_t *doc, uint32_t ntok, sg_alloc_t *a,
    sg_error_t *err);
static void sg_json_scalar(sg_json_node_t *node, sg_u_char *p, size_t start,
    size_t end);
static sg_code_t sg_json_string(sg_json_t *doc, sg_json_node_t *node,
    size_t start, size_t end, char **buf, sg_alloc_t *a, sg_error_t *err);
static size_t sg_json_decode(sg_u_char *s, size_t len, unsigned char *out);
static void sg_json_link(sg_json_t *doc);
static sg_code_t sg_json_sort_objects(sg_json_t *doc, uint32_t *idx,
    uint32_t *tmp, sg_error_t *err);
static void sg_json_msort(const sg_json_node_t *nodes, uint32_t *idx,
    uint32_t *tmp, uint32_t m);
static int sg_json_name_cmp(const sg_json_node_t *a, const sg_json_node_t *b);
static int sg_json_is_ident(const char *s, size_t len);
static void sg_json_put(char *buf, size_t size, size_t *pos, const char *s,
    size_t n);


sg_code_t
sg_json_parse(sg_json_t *doc, const char *input, size_t len, sg_alloc_t *a,
    sg_error_t *err)
{
    uint32_t   ntok;
    sg_code_t  rc;

    doc->nodes = NULL;
    doc->n = 0;
    doc->input = input;
    doc->input_len = len;

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

    rc = sg_json_validate((sg_u_char *) input, len, &ntok, err);
    if (rc != SG_OK) {
        return rc;
    }

    return sg_json_build(doc, ntok, a, err);
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
 * Counts the tokens jsmn will produce, so they can be allocated exactly.
 */

static sg_code_t
sg_json_validate(sg_u_char *p, size_t len, uint32_t *ntok, sg_error_t *err)
{
    size_t         i;
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
                rc = sg_json_scan_string(p, len, &i, err);
                break;

            case '-': case '0': case '1': case '2': case '3': case '4':
            case '5': case '6': case '7': case '8': case '9':
                rc = sg_json_scan_number(p, len, &i, err);
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

                *ntok = n;
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

            rc = sg_json_scan_string(p, len, &i, err);
            if (rc != SG_OK) {
                return rc;
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
 * does not, since they cannot be turned into UTF-8).
 */

static sg_code_t
sg_json_scan_string(sg_u_char *p, size_t len, size_t *pos, sg_error_t *err)
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

        switch (sg_json_class[p[i]]) {

        case SG_JSON_QUOTE:
            *pos = i + 1;
            return SG_OK;

        case SG_JSON_CONTROL:
            return sg_json_fail(err, i,
                                "control character in string must be escaped");

        case SG_JSON_UTF8:
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

        i += 6;
    }
}


/*
 * The end of the run of plain string bytes (0x20..0x7f but '"' and '\\')
 * from i: a word at a time, then byte by byte.
 */

static size_t
sg_json_plain_run(sg_u_char *p, size_t len, size_t i)
{
    uint64_t  w;

    while (len - i >= 8) {
        memcpy(&w, p + i, 8);

        if (sg_json_word_special(w) | (w & SG_JSON_HIGHS)) {
            break;
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


/* RFC 8259 section 6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */

static sg_code_t
sg_json_scan_number(sg_u_char *p, size_t len, size_t *pos, sg_error_t *err)
{
    size_t  i;

    i = *pos;

    if (p[i] == '-') {
        i++;
    }

    if (i == len || !sg_json_digit(p[i])) {
        return sg_json_fail(err, i, "expected a digit");
    }

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

    if (i < len && p[i] == '.') {
        i++;

        if (i == len || !sg_json_digit(p[i])) {
            return sg_json_fail(err, i, "expected a digit after '.'");
        }

        while (i < len && sg_json_digit(p[i])) {
            i++;
        }
    }

    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        i++;

        if (i < len && (p[i] == '+' || p[i] == '-')) {
            i++;
        }

        if (i == len || !sg_json_digit(p[i])) {
            return sg_json_fail(err, i, "expected a digit in the exponent");
        }

        while (i < len && sg_json_digit(p[i])) {
            i++;
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
 * Builds the tree from jsmn's tokens: node i is token i (preorder); jsmn's
 * parent links already say "a value's parent is its member name".
 */

static sg_code_t
sg_json_build(sg_json_t *doc, uint32_t ntok, sg_alloc_t *a, sg_error_t *err)
{
    int              r;
    char            *buf;
    size_t           i, start, end;
    uint32_t         k;
    sg_code_t        rc;
    sg_u_char       *p;
    jsmntok_t       *tok, *t;
    jsmn_parser      parser;
    sg_json_node_t  *nodes, *node;

    p = (sg_u_char *) doc->input;

    nodes = sg_alloc(a, ntok * sizeof(sg_json_node_t));
    if (nodes == NULL) {
        sg_error_set(err, SG_ERR_NOMEM, 0, "out of memory");
        return SG_ERR_NOMEM;
    }

    memset(nodes, 0, ntok * sizeof(sg_json_node_t));
    doc->nodes = nodes;

    i = sg_json_skip_ws(p, doc->input_len, 0);

    if (p[i] != '{' && p[i] != '[' && p[i] != '"') {
        /*
         * a scalar at the top: strict jsmn wants a delimiter after
         * a primitive and would report "1" as partial
         */
        end = doc->input_len;
        while (sg_json_ws(p[end - 1])) {
            end--;
        }

        sg_json_scalar(&nodes[0], p, i, end);
        doc->n = 1;
        return SG_OK;
    }

    /*
     * Scratch sized for jsmn and, once the nodes are built, reused for
     * the sort: two uint32_t per token fit in one jsmntok_t.
     */
    tok = sg_alloc(a, ntok * sizeof(jsmntok_t));
    if (tok == NULL) {
        sg_error_set(err, SG_ERR_NOMEM, 0, "out of memory");
        return SG_ERR_NOMEM;
    }

    jsmn_init(&parser);
    r = jsmn_parse(&parser, doc->input, doc->input_len, tok, ntok);

    if (r < 0 || (uint32_t) r != ntok) {
        /* cannot happen on validated input; refuse rather than guess */
        return sg_json_fail(err, parser.pos, "unsupported JSON");
    }

    buf = NULL;

    for (k = 0; k < ntok; k++) {
        t = &tok[k];
        node = &nodes[k];
        start = (size_t) t->start;
        end = (size_t) t->end;

        node->parent = (t->parent < 0) ? SG_JSON_NONE : (uint32_t) t->parent;

        switch (t->type) {

        case JSMN_OBJECT:
        case JSMN_ARRAY:
            node->type = (t->type == JSMN_OBJECT) ? SG_JSON_OBJECT
                                                  : SG_JSON_ARRAY;
            node->offset = (uint32_t) start;
            break;

        case JSMN_STRING:
            rc = sg_json_string(doc, node, start, end, &buf, a, err);
            if (rc != SG_OK) {
                return rc;
            }

            break;

        default:
            sg_json_scalar(node, p, start, end);
            break;
        }
    }

    doc->n = ntok;

    sg_json_link(doc);

    return sg_json_sort_objects(doc, (uint32_t *) tok,
                                (uint32_t *) tok + ntok, err);
}


static void
sg_json_scalar(sg_json_node_t *node, sg_u_char *p, size_t start, size_t end)
{
    switch (p[start]) {
    case 't':
        node->type = SG_JSON_TRUE;
        break;
    case 'f':
        node->type = SG_JSON_FALSE;
        break;
    case 'n':
        node->type = SG_JSON_NULL;
        break;
    default:
        node->type = SG_JSON_NUMBER;
        break;
    }

    node->offset = (uint32_t) start;
    node->str = (const char *) p + start;
    node->len = end - start;
}


/*
 * A string without escapes is used in place; others are decoded into one
 * buffer the size of the input, taken on the first escape: decoding never
 * lengthens a string, so all of them fit.
 */

static sg_code_t
sg_json_string(sg_json_t *doc, sg_json_node_t *node, size_t start,
    size_t end, char **buf, sg_alloc_t *a, sg_error_t *err)
{
    size_t      n;
    sg_u_char  *s;

    s = (sg_u_char *) doc->input + start;

    node->type = SG_JSON_STRING;
    node->offset = (uint32_t) (start - 1);
    node->str = (const char *) s;
    node->len = end - start;

    if (memchr(s, '\\', end - start) == NULL) {
        return SG_OK;
    }

    if (*buf == NULL) {
        *buf = sg_alloc(a, doc->input_len);
        if (*buf == NULL) {
            sg_error_set(err, SG_ERR_NOMEM, 0, "out of memory");
            return SG_ERR_NOMEM;
        }
    }

    n = sg_json_decode(s, end - start, (unsigned char *) *buf);

    node->str = *buf;
    node->len = n;
    *buf += n;

    return SG_OK;
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
 * Links each container's children in document order: walking backwards and
 * prepending needs no tail pointers.  Values in objects are not linked;
 * their member names are.
 */

static void
sg_json_link(sg_json_t *doc)
{
    uint32_t         k, p;
    sg_json_node_t  *nodes;

    nodes = doc->nodes;

    for (k = doc->n - 1; k > 0; k--) {
        p = nodes[k].parent;

        if (nodes[p].type != SG_JSON_OBJECT && nodes[p].type != SG_JSON_ARRAY)
        {
            continue;
        }

        nodes[k].next = nodes[p].first;
        nodes[p].first = k;
        nodes[p].count++;
    }
}


/*
 * RFC 8785 section 3.2.3: members sorted by their names' UTF-16 code units.
 * A stable merge sort keeps equal names in document order, so a duplicate
 * (RFC 7493 section 2.3) is the later of two neighbours; the earliest such
 * in the document is reported.
 */

static sg_code_t
sg_json_sort_objects(sg_json_t *doc, uint32_t *idx, uint32_t *tmp,
    sg_error_t *err)
{
    uint32_t         k, j, m, c, dup;
    sg_json_node_t  *nodes;

    nodes = doc->nodes;
    dup = UINT32_MAX;

    for (k = 0; k < doc->n; k++) {
        if (nodes[k].type != SG_JSON_OBJECT || nodes[k].count < 2) {
            continue;
        }

        m = 0;
        for (c = nodes[k].first; c != SG_JSON_NONE; c = nodes[c].next) {
            idx[m++] = c;
        }

        sg_json_msort(nodes, idx, tmp, m);

        nodes[k].first = idx[0];

        for (j = 1; j < m; j++) {
            nodes[idx[j - 1]].next = idx[j];

            if (sg_json_name_cmp(&nodes[idx[j - 1]], &nodes[idx[j]]) == 0
                && nodes[idx[j]].offset < dup)
            {
                dup = nodes[idx[j]].offset;
            }
        }

        nodes[idx[m - 1]].next = SG_JSON_NONE;
    }

    if (dup != UINT32_MAX) {
        return sg_json_fail(err, dup, "duplicate member name");
    }

    return SG_OK;
}


/* bottom-up merge sort: O(n log n) whatever the input, no recursion */

static void
sg_json_msort(const sg_json_node_t *nodes, uint32_t *idx, uint32_t *tmp,
    uint32_t m)
{
    uint32_t   w, lo, mid, hi, i, j, k, v;
    uint32_t  *src, *dst, *t;

    /* insertion sort of runs of 8: fewer passes for the usual small object */
    for (lo = 0; lo < m; lo += 8) {
        hi = (m - lo < 8) ? m : lo + 8;

        for (i = lo + 1; i < hi; i++) {
            v = idx[i];

            for (j = i; j > lo
                 && sg_json_name_cmp(&nodes[idx[j - 1]], &nodes[v]) > 0; j--)
            {
                idx[j] = idx[j - 1];
            }

            idx[j] = v;
        }
    }

    src = idx;
    dst = tmp;

    for (w = 8; w < m; w *= 2) {
        for (lo = 0; lo < m; lo += 2 * w) {
            mid = (m - lo < w) ? m : lo + w;
            hi = (m - mid < w) ? m : mid + w;
            i = lo;
            j = mid;

            for (k = lo; k < hi; k++) {
                if (i < mid
                    && (j == hi
                        || sg_json_name_cmp(&nodes[src[i]], &nodes[src[j]])
                           <= 0))
                {
                    dst[k] = src[i++];

                } else {
                    dst[k] = src[j++];
                }
            }
        }

        t = src;
        src = dst;
        dst = t;

        if (w > UINT32_MAX / 4) {
            break;
        }
    }

    if (src != idx) {
        memcpy(idx, src, m * sizeof(uint32_t));
    }
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


void
sg_json_path(const sg_json_t *doc, uint32_t node, char *buf, size_t size)
{
    char                   num[32];
    size_t                 pos, n;
    uint32_t               chain[SG_JSON_MAX_DEPTH + 1], cur, p, k, i, nseg;
    const sg_json_node_t  *nodes, *seg;

    if (buf == NULL || 0 == size) {
        return;
    }

    buf[0] = '\0';

    if (doc == NULL || node >= doc->n) {
        return;
    }

    nodes = doc->nodes;

    /* up to the root: one segment per enclosing container */
    nseg = 0;
    cur = node;

    while (cur != 0 && nseg < SG_JSON_MAX_DEPTH + 1) {
        p = nodes[cur].parent;

        if (p >= cur) {
            break;
        }

        if (nodes[p].type == SG_JSON_OBJECT || nodes[p].type == SG_JSON_ARRAY) {
            chain[nseg++] = cur;
        }

        cur = p;
    }

    pos = 0;

    while (nseg > 0) {
        cur = chain[--nseg];
        seg = &nodes[cur];
        p = seg->parent;

        if (nodes[p].type == SG_JSON_ARRAY) {
            i = 0;
            for (k = nodes[p].first; k != cur && k != SG_JSON_NONE;
                 k = nodes[k].next)
            {
                i++;
            }

            n = (size_t) snprintf(num, sizeof(num), "[%u]", (unsigned) i);
            sg_json_put(buf, size, &pos, num, n);
            continue;
        }

        if (pos > 0) {
            sg_json_put(buf, size, &pos, ".", 1);
        }

        if (sg_json_is_ident(seg->str, seg->len)) {
            sg_json_put(buf, size, &pos, seg->str, seg->len);

        } else {
            n = (size_t) snprintf(num, sizeof(num), "<offset %u>",
                                  (unsigned) seg->offset);
            sg_json_put(buf, size, &pos, num, n);
        }
    }
}
