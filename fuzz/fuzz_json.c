/*
 * libFuzzer target: strict JSON (sg_json_parse) and the RFC 8785 writer
 * (sg_jcs_write) on any bytes, checked against fuzz_check.c's oracles.
 */

#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "fuzz_pool.h"
#include "sg_jcs.h"
#include "sg_json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_json_numbers(const sg_json_t *doc, const char *in,
    size_t len);
static void fuzz_json_nomem(const char *in, size_t len, size_t allocs);


static fuzz_pool_t  pool;
static sg_alloc_t   alloc;
static int          ready;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          refuse;
    char        *out;
    size_t       out_len, allocs;
    uint32_t     i;
    sg_code_t    rc;
    sg_json_t    doc, again;
    sg_error_t   err;
    const char  *in, *why;

    if (!ready) {
        fuzz_pool_init(&pool, &alloc);
        ready = 1;
    }

    in = (const char *) data;

    rc = sg_json_parse(&doc, in, size, &alloc, &err);

    if (rc != SG_OK) {
        if (rc != SG_ERR_INVALID_JSON) {
            fuzz_fail("sg_json_parse refused with a code other than "
                      "invalid_json", NULL, in, size);
        }

        why = fuzz_error_check(rc, &err, size, 0);
        if (why != NULL) {
            fuzz_fail("sg_json_parse's error", why, in, size);
        }

        fuzz_pool_reset(&pool);
        return 0;
    }

    if (doc.n == 0 || doc.input != in || doc.input_len != size) {
        fuzz_fail("sg_json_parse's tree", "empty or not of this input",
                  in, size);
    }

    for (i = 0; i < doc.n; i++) {
        if (doc.nodes[i].offset >= size) {
            fuzz_fail("sg_json_parse's tree", "node offset past the input",
                      in, size);
        }

        if (doc.nodes[i].type == SG_JSON_STRING
            && !fuzz_utf8_valid(doc.nodes[i].str, doc.nodes[i].len))
        {
            fuzz_fail("sg_json_parse's tree", "a decoded string is not "
                      "valid UTF-8", in, size);
        }
    }

    refuse = fuzz_json_numbers(&doc, in, size);

    rc = sg_jcs_write(&doc, &alloc, &out, &out_len, &err);

    allocs = pool.count;

    if (refuse) {
        if (rc != SG_ERR_INVALID_REQUEST) {
            fuzz_fail("sg_jcs_write", "kept a number it cannot keep exactly",
                      in, size);
        }

        why = fuzz_error_check(rc, &err, size, 0);
        if (why != NULL) {
            fuzz_fail("sg_jcs_write's error", why, in, size);
        }

        fuzz_pool_reset(&pool);
        return 0;
    }

    if (rc != SG_OK) {
        fuzz_fail("sg_jcs_write", "refused a document it can write", in,
                  size);
    }

    why = fuzz_canonical_check(out, out_len, &alloc, &again);
    if (why != NULL) {
        fuzz_fail("canonical output", why, in, size);
    }

    why = fuzz_same_value(&doc, 0, &again, 0);
    if (why != NULL) {
        fuzz_fail("canonical output has another value", why, in, size);
    }

    fuzz_pool_reset(&pool);

    fuzz_json_nomem(in, size, allocs);

    return 0;
}


/*
 * Each number against the independent ECMAScript formatter; returns 1 if
 * some number must be refused (its value would change).
 */

static int
fuzz_json_numbers(const sg_json_t *doc, const char *in, size_t len)
{
    int              refuse;
    char             want[FUZZ_NUMBER_MAX], got[SG_JCS_NUMBER_MAX + 32];
    size_t           want_len, got_len;
    uint32_t         i;
    sg_json_node_t  *node;

    refuse = 0;

    for (i = 0; i < doc->n; i++) {
        node = &doc->nodes[i];

        if (node->type != SG_JSON_NUMBER) {
            continue;
        }

        want_len = fuzz_number_expect(node->str, node->len, want);

        memset(got, 0, sizeof(got));
        got_len = sg_jcs_number(node->str, node->len, got);

        if (got_len >= SG_JCS_NUMBER_MAX) {
            fuzz_fail("sg_jcs_number", "longer than SG_JCS_NUMBER_MAX", in,
                      len);
        }

        if (want_len == 0) {
            if (got_len != 0) {
                fuzz_fail("sg_jcs_number", "kept a number whose exact value "
                          "differs from its canonical form", in, len);
            }

            refuse = 1;
            continue;
        }

        if (got_len != want_len || memcmp(got, want, want_len + 1) != 0) {
            fuzz_fail("sg_jcs_number", got_len ? "not ECMAScript's "
                      "Number::toString" : "refused an exact number", in,
                      len);
        }
    }

    return refuse;
}


/* every allocation the run made may fail: the answer is then SG_ERR_NOMEM */

static void
fuzz_json_nomem(const char *in, size_t len, size_t allocs)
{
    char        *out;
    size_t       out_len;
    sg_code_t    rc;
    sg_json_t    doc;
    sg_error_t   err;

    if (allocs == 0) {
        return;
    }

    pool.fail_at = 1 + fuzz_hash(in, len) % allocs;

    rc = sg_json_parse(&doc, in, len, &alloc, &err);

    if (rc == SG_OK) {
        rc = sg_jcs_write(&doc, &alloc, &out, &out_len, &err);
    }

    if (rc != SG_ERR_NOMEM) {
        fuzz_fail("allocation failure", "not reported as SG_ERR_NOMEM", in,
                  len);
    }

    fuzz_pool_reset(&pool);
}
