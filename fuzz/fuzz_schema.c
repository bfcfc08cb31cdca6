/*
 * libFuzzer target: the schema engine.  The input is a schema text and a
 * document split at the first NUL byte (no NUL: the schema alone).  The text
 * is compiled as an operator's file is (against the built-in sg:common); if
 * it compiles, the document is parsed and validated, twice, and once more
 * with an allocation failing.
 *
 * Properties: no crash, leak or overread (the text is compiled from a copy
 * of its exact size, freed before validating); a compile error has a
 * message, a JSON pointer that resolves in the text and a line in it; a
 * validation is deterministic; a refusal is invalid_request with a reason
 * and a path made only of the document's member names, array indices,
 * "<offset N>" and the schema's own strings, and never holds a value of the
 * document; any failed allocation is SG_ERR_NOMEM.
 *
 * Allocations: the check's come from the sg_alloc_t (fuzz_pool), but the
 * engine also calls malloc() and PCRE2 for itself, at compile time and
 * per check.  run.sh links this target with -Wl,--wrap= for those, so any
 * one of them can fail too: compile must then fail (never a schema with a
 * piece missing), and a check must say SG_ERR_NOMEM.
 */

#define _GNU_SOURCE              /* memmem */

#define PCRE2_CODE_UNIT_WIDTH  8

#include <pcre2.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "fuzz_pool.h"
#include "sg_jcs.h"
#include "sg_json.h"
#include "sg_schema.h"


/* what a refusal may mention: the document's names, the schema's strings */
typedef struct {
    const char  *text;          /* the schema text (raw) */
    size_t       text_len;
    sg_json_t    schema;        /* the schema text parsed, if it parses */
    int          schema_ok;
    sg_json_t    doc;
    const char  *in;            /* the whole input, for fuzz_fail */
    size_t       in_len;
} fuzz_schema_case_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the link's --wrap: the real functions, and this file's stand-ins */
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
pcre2_code *__real_pcre2_compile_8(PCRE2_SPTR pattern, PCRE2_SIZE len,
    uint32_t options, int *errorcode, PCRE2_SIZE *erroroffset,
    pcre2_compile_context *ccontext);
pcre2_match_data *__real_pcre2_match_data_create_8(uint32_t n,
    pcre2_general_context *gcontext);
pcre2_match_context *__real_pcre2_match_context_create_8(
    pcre2_general_context *gcontext);
pcre2_jit_stack *__real_pcre2_jit_stack_create_8(PCRE2_SIZE start,
    PCRE2_SIZE max, pcre2_general_context *gcontext);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
pcre2_code *__wrap_pcre2_compile_8(PCRE2_SPTR pattern, PCRE2_SIZE len,
    uint32_t options, int *errorcode, PCRE2_SIZE *erroroffset,
    pcre2_compile_context *ccontext);
pcre2_match_data *__wrap_pcre2_match_data_create_8(uint32_t n,
    pcre2_general_context *gcontext);
pcre2_match_context *__wrap_pcre2_match_context_create_8(
    pcre2_general_context *gcontext);
pcre2_jit_stack *__wrap_pcre2_jit_stack_create_8(PCRE2_SIZE start,
    PCRE2_SIZE max, pcre2_general_context *gcontext);

static void fuzz_schema_faults(size_t fail_at);
static size_t fuzz_schema_faults_off(void);
static int fuzz_schema_fault(void);
static void fuzz_schema_compile_nomem(const char *text, size_t len,
    size_t calls, const char *in, size_t in_len);

static void fuzz_schema_init(void);
static void fuzz_schema_compile_error(const char *text, size_t len,
    const sg_schema_error_t *err, const char *in, size_t in_len);
static void fuzz_schema_validate(const sg_schema_t *schema,
    fuzz_schema_case_t *c, const char *doc, size_t doc_len);
static void fuzz_schema_refusal(fuzz_schema_case_t *c, const sg_error_t *err,
    size_t doc_len);
static void fuzz_schema_path(fuzz_schema_case_t *c, const char *path);
static void fuzz_schema_reason(fuzz_schema_case_t *c, const char *reason);
static int fuzz_schema_resolve(const sg_json_t *doc, const char *pointer,
    uint32_t *name, uint32_t *value);
static uint32_t fuzz_schema_last(const sg_json_t *doc, uint32_t node);
static int fuzz_schema_is_name(const sg_json_t *doc, uint32_t node);
static int fuzz_schema_in_schema(const fuzz_schema_case_t *c, const char *s,
    size_t len);
static unsigned fuzz_schema_line(const char *text, size_t offset);
static int fuzz_schema_same_error(const sg_error_t *a, const sg_error_t *b);


static fuzz_pool_t   pool;
static sg_alloc_t    alloc;
static sg_schema_t  *common;
static int           ready;

/* the wrapped allocators: counting while armed, failing call fault_at */
static int           fault_armed;
static size_t        fault_calls;
static size_t        fault_at;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                *text;
    size_t               text_len, calls;
    const char          *in, *nul;
    sg_error_t           perr;
    sg_schema_t         *schema, *again;
    sg_schema_error_t    err, err2;
    fuzz_schema_case_t   c;

    if (!ready) {
        fuzz_schema_init();
        ready = 1;
    }

    in = (const char *) data;
    nul = memchr(in, '\0', size);
    text_len = nul ? (size_t) (nul - in) : size;

    /* its own block of its exact size: ASan sees any read past the text */
    text = malloc(text_len ? text_len : 1);
    if (text == NULL) {
        abort();
    }

    memcpy(text, in, text_len);

    /* garbage, not zeros, so an unterminated field shows */
    memset(&err, 0xa5, sizeof(err));

    fuzz_schema_faults(0);

    schema = sg_schema_compile(text, text_len, common, &err);

    calls = fuzz_schema_faults_off();

    if (schema == NULL) {
        fuzz_schema_compile_error(text, text_len, &err, in, size);

        memset(&err2, 0x5a, sizeof(err2));

        again = sg_schema_compile(text, text_len, common, &err2);

        if (again != NULL || strcmp(err.message, err2.message) != 0
            || strcmp(err.pointer, err2.pointer) != 0 || err.line != err2.line)
        {
            fuzz_fail("sg_schema_compile", "compiling the same text twice "
                      "gives two answers", in, size);
        }

        free(text);
        fuzz_pool_reset(&pool);

        return 0;
    }

    fuzz_schema_compile_nomem(text, text_len, calls, in, size);

    /* a compiled schema stands alone: the glue frees the file it read */
    free(text);

    memset(&c, 0, sizeof(c));
    c.text = in;
    c.text_len = text_len;
    c.in = in;
    c.in_len = size;

    /* a refusal may name what the schema names: its strings, decoded */
    c.schema_ok = sg_json_parse(&c.schema, in, text_len, &alloc, &perr)
                  == SG_OK;

    if (nul != NULL) {
        fuzz_schema_validate(schema, &c, nul + 1, size - text_len - 1);
    }

    sg_schema_free(schema);

    fuzz_pool_reset(&pool);

    return 0;
}


/* sg:common, compiled once as the glue does at configuration time */

static void
fuzz_schema_init(void)
{
    size_t              len;
    const char         *text;
    sg_schema_error_t   err;

    fuzz_pool_init(&pool, &alloc);

    text = sg_schema_builtin("sg:common", sizeof("sg:common") - 1, &len);

    if (text == NULL) {
        fprintf(stderr, "fuzz_schema: no built-in sg:common: "
                "\"sg:common#...\" references will not resolve\n");
        return;
    }

    common = sg_schema_compile(text, len, NULL, &err);

    if (common == NULL) {
        fprintf(stderr, "fuzz_schema: the built-in sg:common does not "
                "compile: line %u, \"%s\": %s\n", err.line, err.pointer,
                err.message);
        abort();
    }
}


/*
 * What nginx -t prints: "file:line: pointer: message".  The pointer must
 * lead to the offending keyword and the line must be where that keyword is,
 * or the operator is sent to the wrong place.
 */

static void
fuzz_schema_compile_error(const char *text, size_t len,
    const sg_schema_error_t *err, const char *in, size_t in_len)
{
    size_t       i, lines, plen;
    unsigned     first, last;
    uint32_t     name, value;
    sg_json_t    doc;
    sg_error_t   perr;
    const char  *p;

    if (memchr(err->message, '\0', sizeof(err->message)) == NULL
        || memchr(err->pointer, '\0', sizeof(err->pointer)) == NULL)
    {
        fuzz_fail("compile error", "message or pointer not terminated", in,
                  in_len);
    }

    if (err->message[0] == '\0') {
        fuzz_fail("compile error", "empty message", in, in_len);
    }

    if (err->pointer[0] != '\0' && err->pointer[0] != '/') {
        fuzz_fail("compile error", "pointer neither \"\" nor \"/...\"", in,
                  in_len);
    }

    /* RFC 6901: '~' only as "~0" or "~1" */
    for (p = err->pointer; *p; p++) {
        if (*p == '~' && p[1] != '0' && p[1] != '1') {
            fuzz_fail("compile error", "pointer with a bad '~' escape", in,
                      in_len);
        }
    }

    lines = 1;

    for (i = 0; i < len; i++) {
        if (text[i] == '\n') {
            lines++;
        }
    }

    if (err->line < 1 || err->line > lines) {
        fuzz_fail("compile error", "line outside the text", in, in_len);
    }

    plen = strlen(err->pointer);

    /*
     * A pointer that reached the end of its buffer was cut (the engine
     * stops a segment 3 bytes early, room for an escape) and cannot be
     * followed.
     */
    if (plen >= sizeof(err->pointer) - 4
        || sg_json_parse(&doc, text, len, &alloc, &perr) != SG_OK)
    {
        return;
    }

    /* a C string cannot hold a name's U+0000: the engine's pointer stops */
    for (i = 0; i < doc.n; i++) {
        if (doc.nodes[i].type == SG_JSON_STRING
            && memchr(doc.nodes[i].str, '\0', doc.nodes[i].len) != NULL)
        {
            return;
        }
    }

    if (!fuzz_schema_resolve(&doc, err->pointer, &name, &value)) {
        fuzz_fail("compile error", "the pointer leads nowhere in the schema",
                  in, in_len);
    }

    /* from the keyword's name to the last line of its value (an element
       of it may be what is wrong: a repeated "required" name) */
    first = fuzz_schema_line(text, name != SG_JSON_NONE
                                   ? doc.nodes[name].offset : 0);
    last = fuzz_schema_line(text,
                            doc.nodes[fuzz_schema_last(&doc, value)].offset);

    if (err->line < first || err->line > last) {
        fuzz_fail("compile error", "the line is not where the pointer leads",
                  in, in_len);
    }
}


static void
fuzz_schema_validate(const sg_schema_t *schema, fuzz_schema_case_t *c,
    const char *doc, size_t doc_len)
{
    char        *out, *out2;
    size_t       mark, allocs, calls, at, out_len, out2_len;
    sg_code_t    rc, rc2;
    sg_json_t    doc2, canon;
    sg_error_t   err, err2;
    const char  *why;

    if (sg_json_parse(&c->doc, doc, doc_len, &alloc, &err) != SG_OK) {
        return;
    }

    memset(&err, 0xa5, sizeof(err));
    mark = pool.count;

    fuzz_schema_faults(0);

    rc = sg_schema_check(schema, &c->doc, &alloc, &err);

    calls = fuzz_schema_faults_off();
    allocs = pool.count - mark;

    if (rc == SG_ERR_INVALID_REQUEST) {
        fuzz_schema_refusal(c, &err, doc_len);

    } else if (rc != SG_OK) {
        fuzz_fail("sg_schema_check", "neither SG_OK nor invalid_request, "
                  "with no allocation failing", c->in, c->in_len);
    }

    /* the same document again: the same answer, the same normalized body */

    if (sg_json_parse(&doc2, doc, doc_len, &alloc, &err2) != SG_OK) {
        fuzz_fail("sg_json_parse", "parses a document once only", c->in,
                  c->in_len);
    }

    memset(&err2, 0x5a, sizeof(err2));

    rc2 = sg_schema_check(schema, &doc2, &alloc, &err2);

    if (rc2 != rc || (rc != SG_OK && !fuzz_schema_same_error(&err, &err2))) {
        fuzz_fail("sg_schema_check", "validating the same document twice "
                  "gives two answers", c->in, c->in_len);
    }

    if (rc == SG_OK) {
        if (sg_jcs_write(&c->doc, &alloc, &out, &out_len, &err) == SG_OK) {
            if (sg_jcs_write(&doc2, &alloc, &out2, &out2_len, &err2) != SG_OK
                || out_len != out2_len || memcmp(out, out2, out_len) != 0)
            {
                fuzz_fail("sg_schema_check", "two validations normalize the "
                          "same document differently", c->in, c->in_len);
            }

            why = fuzz_canonical_check(out, out_len, &alloc, &canon);
            if (why != NULL) {
                fuzz_fail("normalized document", why, c->in, c->in_len);
            }
        }
    }

    /*
     * Every allocation the check made may fail: one from the sg_alloc_t,
     * then one of the engine's own (malloc, PCRE2).  Either way the answer
     * is SG_ERR_NOMEM, never a verdict on a document half checked.
     */

    if (allocs != 0) {
        if (sg_json_parse(&doc2, doc, doc_len, &alloc, &err2) != SG_OK) {
            fuzz_fail("sg_json_parse", "parses a document once only", c->in,
                      c->in_len);
        }

        pool.fail_at = pool.count + 1 + fuzz_hash(c->in, c->in_len) % allocs;

        rc2 = sg_schema_check(schema, &doc2, &alloc, &err2);

        pool.fail_at = 0;

        if (rc2 != SG_ERR_NOMEM) {
            fuzz_fail("sg_schema_check", "an allocation failure is not "
                      "reported as SG_ERR_NOMEM", c->in, c->in_len);
        }
    }

    if (calls != 0) {
        if (sg_json_parse(&doc2, doc, doc_len, &alloc, &err2) != SG_OK) {
            fuzz_fail("sg_json_parse", "parses a document once only", c->in,
                      c->in_len);
        }

        at = 1 + fuzz_hash(doc, doc_len) % calls;

        fuzz_schema_faults(at);

        rc2 = sg_schema_check(schema, &doc2, &alloc, &err2);

        /*
         * The engine keeps its per-thread match block and JIT stack: a
         * later check may make fewer calls than the first, and only an
         * allocation that did fail must be reported.
         */
        if (fuzz_schema_faults_off() >= at && rc2 != SG_ERR_NOMEM) {
            fuzz_fail("sg_schema_check", "a failed malloc() or PCRE2 "
                      "allocation is not reported as SG_ERR_NOMEM", c->in,
                      c->in_len);
        }
    }
}


/* compiling again with one of its allocations failing: no schema */

static void
fuzz_schema_compile_nomem(const char *text, size_t len, size_t calls,
    const char *in, size_t in_len)
{
    sg_schema_t        *schema;
    sg_schema_error_t   err;

    if (calls == 0) {
        return;
    }

    memset(&err, 0xa5, sizeof(err));

    fuzz_schema_faults(1 + fuzz_hash(in, in_len) % calls);

    schema = sg_schema_compile(text, len, common, &err);

    (void) fuzz_schema_faults_off();

    if (schema != NULL) {
        sg_schema_free(schema);
        fuzz_fail("sg_schema_compile", "compiled although an allocation "
                  "failed", in, in_len);
    }

    if (memchr(err.message, '\0', sizeof(err.message)) == NULL
        || err.message[0] == '\0')
    {
        fuzz_fail("sg_schema_compile", "an allocation failure without a "
                  "message", in, in_len);
    }
}


static void
fuzz_schema_refusal(fuzz_schema_case_t *c, const sg_error_t *err,
    size_t doc_len)
{
    const char  *why;

    if (err->code != SG_ERR_INVALID_REQUEST) {
        fuzz_fail("refusal", "err->code is not SG_ERR_INVALID_REQUEST",
                  c->in, c->in_len);
    }

    if (err->reason == NULL || err->reason[0] == '\0') {
        fuzz_fail("refusal", "no reason", c->in, c->in_len);
    }

    if (memchr(err->path, '\0', sizeof(err->path)) == NULL) {
        fuzz_fail("refusal", "path not terminated", c->in, c->in_len);
    }

    if (err->offset > doc_len) {
        fuzz_fail("refusal", "offset past the end of the document", c->in,
                  c->in_len);
    }

    fuzz_schema_path(c, err->path);
    fuzz_schema_reason(c, err->reason);

    /* an x-sg-message is the operator's text: UTF-8, maybe not ASCII */
    why = fuzz_error_check(SG_ERR_INVALID_REQUEST, err, doc_len, 1);
    if (why != NULL) {
        fuzz_fail("refusal", why, c->in, c->in_len);
    }
}


/*
 * The path is made of segments separated by '.', each a name followed by
 * array indices "[N]".  A name is a member name of the document (written
 * as sg_json_path writes it: a short identifier, else "<offset N>" with N
 * the offset of a member name), or something the schema says (a required
 * member, a discriminator): a substring of one of its strings.  So no value
 * of the document can be in it unless the schema has it too.
 */

static void
fuzz_schema_path(fuzz_schema_case_t *c, const char *path)
{
    int             cut, found;
    size_t          len, n;
    uint32_t        i;
    const char     *p, *q, *end, *seg, *name_end;
    unsigned long   off;

    len = strlen(path);
    end = path + len;

    /* sg_json_path stops at SG_PATH_MAX - 1: the last segment may be cut */
    cut = len == SG_PATH_MAX - 1;

    for (p = path; p < end; p = seg + 1) {
        seg = p;

        /* a name from the schema may hold '.', "<offset" cannot */
        if (*p == '<') {
            seg = memchr(p, '>', (size_t) (end - p));
            seg = seg ? seg : end;
        }

        seg = memchr(seg, '.', (size_t) (end - seg));
        seg = seg ? seg : end;

        if (cut && seg == end) {
            return;
        }

        /* the name is what comes before the indices */
        name_end = seg;

        /* "[N]" takes 3 bytes at least */
        while (name_end - p >= 3 && name_end[-1] == ']') {
            for (q = name_end - 2; q > p && *q >= '0' && *q <= '9'; q--) {
                /* void */
            }

            if (q == name_end - 2 || *q != '[') {
                break;
            }

            name_end = q;
        }

        n = (size_t) (name_end - p);

        if (n == 0) {
            /* only the root array's elements have no name */
            if (p != path) {
                goto bad;
            }

            continue;
        }

        if (fuzz_schema_in_schema(c, p, n)) {
            continue;
        }

        if (*p == '<') {
            if (n < sizeof("<offset 0>") - 1
                || memcmp(p, "<offset ", sizeof("<offset ") - 1) != 0
                || p[n - 1] != '>')
            {
                goto bad;
            }

            off = strtoul(p + sizeof("<offset ") - 1, NULL, 10);

            for (i = 1; i < c->doc.n; i++) {
                if (c->doc.nodes[i].offset == off
                    && fuzz_schema_is_name(&c->doc, i))
                {
                    break;
                }
            }

            if (i == c->doc.n) {
                goto bad;
            }

            continue;
        }

        found = 0;

        for (i = 1; i < c->doc.n && !found; i++) {
            found = c->doc.nodes[i].len == n
                    && memcmp(c->doc.nodes[i].str, p, n) == 0
                    && fuzz_schema_is_name(&c->doc, i);
        }

        if (!found) {
            goto bad;
        }
    }

    return;

bad:

    fprintf(stderr, "path: \"%s\"\n", path);
    fuzz_fail("refusal", "the path names something neither the document's "
              "member names nor the schema hold (a value?)", c->in,
              c->in_len);
}


/*
 * A reason is a constant of the engine, text of the compiled schema, or
 * written at check time (err->detail: a rule with the schema's values in
 * it).  One that points into the input is wrong; one written at check time
 * (in err, or in memory the check allocated) must not hold a string value
 * of the document that the schema does not have.
 */

static void
fuzz_schema_reason(fuzz_schema_case_t *c, const char *reason)
{
    char         name[64];
    void        *region;
    size_t       size, i;
    uint32_t     k;
    const char  *kind;
    sg_json_node_t  *node;

    if (reason >= c->in && reason < c->in + c->in_len) {
        fuzz_fail("refusal", "the reason points into the input", c->in,
                  c->in_len);
    }

    kind = __asan_locate_address((void *) reason, name, sizeof(name),
                                 &region, &size);

    /* string literals and static buffers hold no request */
    if (kind != NULL && strcmp(kind, "global") == 0) {
        return;
    }

    if (kind != NULL && strcmp(kind, "heap") == 0) {
        for (i = 0; i < pool.n; i++) {
            if (pool.ptrs[i] == region) {
                break;
            }
        }

        /* the compiled schema's memory: written before any request */
        if (i == pool.n) {
            return;
        }
    }

    for (k = 1; k < c->doc.n; k++) {
        node = &c->doc.nodes[k];

        if (node->type != SG_JSON_STRING || node->len < 4
            || fuzz_schema_is_name(&c->doc, k)
            || fuzz_schema_in_schema(c, node->str, node->len))
        {
            continue;
        }

        if (strlen(reason) >= node->len
            && memmem(reason, strlen(reason), node->str, node->len) != NULL)
        {
            fuzz_fail("refusal", "the reason holds a value of the document",
                      c->in, c->in_len);
        }
    }
}


/*
 * Follows an RFC 6901 pointer; value is where it leads, name the member
 * name before it (SG_JSON_NONE for the root or an array element).
 */

static int
fuzz_schema_resolve(const sg_json_t *doc, const char *pointer,
    uint32_t *name, uint32_t *value)
{
    char            tok[256];
    size_t          n;
    uint32_t        cur, k;
    unsigned long   index;
    const char     *p;
    sg_json_node_t  *nodes;

    nodes = doc->nodes;
    cur = 0;
    *name = SG_JSON_NONE;
    p = pointer;

    while (*p == '/') {
        p++;
        n = 0;

        while (*p && *p != '/') {
            if (*p == '~') {
                tok[n++] = p[1] == '1' ? '/' : '~';
                p += 2;

            } else {
                tok[n++] = *p++;
            }
        }

        if (nodes[cur].type == SG_JSON_OBJECT) {
            for (k = nodes[cur].first; k != SG_JSON_NONE; k = nodes[k].next) {
                if (nodes[k].len == n && memcmp(nodes[k].str, tok, n) == 0) {
                    break;
                }
            }

            if (k == SG_JSON_NONE) {
                return 0;
            }

            *name = k;
            cur = k + 1;
            continue;
        }

        if (nodes[cur].type != SG_JSON_ARRAY || n == 0
            || (n > 1 && tok[0] == '0'))
        {
            return 0;
        }

        index = 0;

        for (k = 0; k < n; k++) {
            if (tok[k] < '0' || tok[k] > '9' || index > 1000000) {
                return 0;
            }

            index = index * 10 + (unsigned long) (tok[k] - '0');
        }

        for (k = nodes[cur].first; k != SG_JSON_NONE && index > 0;
             k = nodes[k].next)
        {
            index--;
        }

        if (k == SG_JSON_NONE) {
            return 0;
        }

        *name = SG_JSON_NONE;
        cur = k;
    }

    *value = cur;

    return *p == '\0';
}


/* the last node of node's subtree in document order */

static uint32_t
fuzz_schema_last(const sg_json_t *doc, uint32_t node)
{
    uint32_t         k, last;
    sg_json_node_t  *nodes;

    nodes = doc->nodes;

    if (nodes[node].type != SG_JSON_OBJECT
        && nodes[node].type != SG_JSON_ARRAY)
    {
        return node;
    }

    /* an object's members are linked sorted: the last in the document is
       the one with the highest index; an array's are in order */
    last = SG_JSON_NONE;

    for (k = nodes[node].first; k != SG_JSON_NONE; k = nodes[k].next) {
        if (k > last) {
            last = k;
        }
    }

    if (last == SG_JSON_NONE) {
        return node;
    }

    return fuzz_schema_last(doc, nodes[node].type == SG_JSON_OBJECT
                                 ? last + 1 : last);
}


/* 1 if node is a member name: some object links it from first/next */

static int
fuzz_schema_is_name(const sg_json_t *doc, uint32_t node)
{
    uint32_t  i, k;

    for (i = 0; i < node; i++) {
        if (doc->nodes[i].type != SG_JSON_OBJECT) {
            continue;
        }

        for (k = doc->nodes[i].first; k != SG_JSON_NONE;
             k = doc->nodes[k].next)
        {
            if (k == node) {
                return 1;
            }
        }
    }

    return 0;
}


/* 1 if s is part of the schema: of one of its strings, or of its text */

static int
fuzz_schema_in_schema(const fuzz_schema_case_t *c, const char *s, size_t len)
{
    uint32_t         i;
    sg_json_node_t  *node;

    if (c->text_len >= len && memmem(c->text, c->text_len, s, len) != NULL) {
        return 1;
    }

    if (!c->schema_ok) {
        return 0;
    }

    for (i = 0; i < c->schema.n; i++) {
        node = &c->schema.nodes[i];

        if (node->type == SG_JSON_STRING && node->len >= len
            && memmem(node->str, node->len, s, len) != NULL)
        {
            return 1;
        }
    }

    return 0;
}


static unsigned
fuzz_schema_line(const char *text, size_t offset)
{
    size_t    i;
    unsigned  line;

    line = 1;

    for (i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            line++;
        }
    }

    return line;
}


static int
fuzz_schema_same_error(const sg_error_t *a, const sg_error_t *b)
{
    return a->code == b->code && a->offset == b->offset
           && strcmp(a->path, b->path) == 0
           && a->reason != NULL && b->reason != NULL
           && strcmp(a->reason, b->reason) == 0;
}


static void
fuzz_schema_faults(size_t fail_at)
{
    fault_calls = 0;
    fault_at = fail_at;
    fault_armed = 1;
}


static size_t
fuzz_schema_faults_off(void)
{
    fault_armed = 0;
    fault_at = 0;

    return fault_calls;
}


static int
fuzz_schema_fault(void)
{
    if (!fault_armed) {
        return 0;
    }

    fault_calls++;

    if (fault_calls != fault_at) {
        return 0;
    }

    /* to see which allocation a failing input makes fail */
    if (getenv("FUZZ_FAULT_TRACE") != NULL) {
        fprintf(stderr, "fuzz_schema: failing allocation %zu here:\n",
                fault_calls);
        __sanitizer_print_stack_trace();
    }

    return 1;
}


void *
__wrap_malloc(size_t size)
{
    return fuzz_schema_fault() ? NULL : __real_malloc(size);
}


void *
__wrap_calloc(size_t n, size_t size)
{
    return fuzz_schema_fault() ? NULL : __real_calloc(n, size);
}


void *
__wrap_realloc(void *p, size_t size)
{
    return fuzz_schema_fault() ? NULL : __real_realloc(p, size);
}


/* PCRE2 allocates with its own malloc(), which the link cannot wrap */

pcre2_code *
__wrap_pcre2_compile_8(PCRE2_SPTR pattern, PCRE2_SIZE len, uint32_t options,
    int *errorcode, PCRE2_SIZE *erroroffset, pcre2_compile_context *ccontext)
{
    if (fuzz_schema_fault()) {
        *errorcode = PCRE2_ERROR_HEAP_FAILED;
        *erroroffset = 0;
        return NULL;
    }

    return __real_pcre2_compile_8(pattern, len, options, errorcode,
                                  erroroffset, ccontext);
}


pcre2_match_data *
__wrap_pcre2_match_data_create_8(uint32_t n, pcre2_general_context *gcontext)
{
    return fuzz_schema_fault() ? NULL
                               : __real_pcre2_match_data_create_8(n, gcontext);
}


pcre2_match_context *
__wrap_pcre2_match_context_create_8(pcre2_general_context *gcontext)
{
    return fuzz_schema_fault() ? NULL
                               : __real_pcre2_match_context_create_8(gcontext);
}


pcre2_jit_stack *
__wrap_pcre2_jit_stack_create_8(PCRE2_SIZE start, PCRE2_SIZE max,
    pcre2_general_context *gcontext)
{
    return fuzz_schema_fault() ? NULL
                               : __real_pcre2_jit_stack_create_8(start, max,
                                                                 gcontext);
}
