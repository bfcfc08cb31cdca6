/*
 * libFuzzer target: the gateway's whole "body in, canonical body out" path
 * (sg_body_canonicalize) under both schemas, cross-checked with each other
 * and with sg_json_parse + sg_jcs_write on the same bytes.
 */

#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "fuzz_pool.h"
#include "sg_body.h"
#include "sg_jcs.h"
#include "sg_json.h"


/* what sg_json_parse + sg_jcs_write make of the input */
typedef struct {
    sg_code_t    parse_rc;
    sg_error_t   parse_err;
    int          object;        /* the root is an object */
    int          bad_session;   /* its session_id breaks the header rule */
    sg_code_t    write_rc;
    char        *out;
    size_t       out_len;
} fuzz_body_ref_t;


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_body_run(sg_schema_t schema, const char *in, size_t len,
    const fuzz_body_ref_t *ref, int object_ok);
static void fuzz_body_payout(const char *in, size_t len, const sg_body_t *body,
    const sg_json_t *doc);
static void fuzz_body_nomem(sg_schema_t schema, const char *in, size_t len,
    size_t allocs);
static int fuzz_body_bad_session(const sg_json_t *doc);


static fuzz_pool_t  pool;
static sg_alloc_t   alloc;
static int          ready;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_json_t        doc;
    const char      *in;
    fuzz_body_ref_t  ref;

    if (!ready) {
        fuzz_pool_init(&pool, &alloc);
        ready = 1;
    }

    in = (const char *) data;

    memset(&ref, 0, sizeof(ref));
    ref.write_rc = SG_ERR_INVALID_REQUEST;

    ref.parse_rc = sg_json_parse(&doc, in, size, &alloc, &ref.parse_err);

    if (ref.parse_rc == SG_OK && doc.nodes[0].type == SG_JSON_OBJECT) {
        ref.object = 1;
        ref.bad_session = fuzz_body_bad_session(&doc);
        ref.write_rc = sg_jcs_write(&doc, &alloc, &ref.out, &ref.out_len,
                                    &ref.parse_err);
    }

    /* ref stays valid: the pool is reset only after both schemas ran */
    fuzz_body_run(SG_SCHEMA_OBJECT, in, size, &ref, 0);
    fuzz_body_run(SG_SCHEMA_PAYOUT, in, size, &ref, ref.write_rc == SG_OK);

    fuzz_pool_reset(&pool);

    return 0;
}


static void
fuzz_body_run(sg_schema_t schema, const char *in, size_t len,
    const fuzz_body_ref_t *ref, int object_ok)
{
    size_t       mark, allocs;
    sg_code_t    rc;
    sg_body_t    body, again;
    sg_json_t    doc;
    sg_error_t   err;
    const char  *why, *name;

    name = sg_schema_name(schema);
    mark = pool.count;

    rc = sg_body_canonicalize(schema, in, len, &alloc, &body, &err);

    allocs = pool.count - mark;

    if (rc != SG_OK) {
        why = fuzz_error_check(rc, &err, len);
        if (why != NULL) {
            fuzz_fail(name, why, in, len);
        }

        if (ref->parse_rc != SG_OK) {
            if (rc != SG_ERR_INVALID_JSON
                || err.offset != ref->parse_err.offset)
            {
                fuzz_fail(name, "invalid JSON not refused as sg_json_parse "
                          "does", in, len);
            }

            return;
        }

        if (rc == SG_ERR_INVALID_JSON) {
            fuzz_fail(name, "invalid_json for what sg_json_parse accepts",
                      in, len);
        }

        if (ref->bad_session
            && (rc != SG_ERR_INVALID_REQUEST
                || strcmp(err.path, "session_id") != 0)
            && schema == SG_SCHEMA_OBJECT)
        {
            fuzz_fail(name, "a bad session_id not refused as session_id", in,
                      len);
        }

        if (schema == SG_SCHEMA_OBJECT && ref->write_rc == SG_OK
            && !ref->bad_session)
        {
            fuzz_fail(name, "refused an object sg_jcs_write can write", in,
                      len);
        }

        return;
    }

    if (ref->bad_session) {
        fuzz_fail(name, "accepted a session_id with a control character or "
                  "over 128 bytes", in, len);
    }

    if (ref->parse_rc != SG_OK || !ref->object) {
        fuzz_fail(name, "accepted what is not a JSON object", in, len);
    }

    if (schema == SG_SCHEMA_OBJECT
        && (ref->write_rc != SG_OK || body.len != ref->out_len
            || memcmp(body.data, ref->out, body.len) != 0))
    {
        fuzz_fail(name, "differs from sg_json_parse + sg_jcs_write", in, len);
    }

    if (schema == SG_SCHEMA_PAYOUT && !object_ok) {
        fuzz_fail(name, "accepted a body the object schema refuses", in,
                  len);
    }

    why = fuzz_canonical_check(body.data, body.len, &alloc, &doc);
    if (why != NULL) {
        fuzz_fail(name, why, in, len);
    }

    /* the schema's normalizations are idempotent too */
    rc = sg_body_canonicalize(schema, body.data, body.len, &alloc, &again,
                              &err);

    if (rc != SG_OK || again.len != body.len
        || memcmp(again.data, body.data, body.len) != 0)
    {
        fuzz_fail(name, "the canonical body does not canonicalize to itself",
                  in, len);
    }

    if (schema == SG_SCHEMA_PAYOUT) {
        fuzz_body_payout(in, len, &body, &doc);
    }

    fuzz_body_nomem(schema, in, len, allocs);
}


/* what the payout rules promise about a body they let through */

static void
fuzz_body_payout(const char *in, size_t len, const sg_body_t *body,
    const sg_json_t *doc)
{
    size_t           i;
    uint32_t         id, amount, currency;
    sg_json_node_t  *node;

    id = sg_json_member(doc, 0, "session_id");

    if (id == SG_JSON_NONE || doc->nodes[id].type != SG_JSON_STRING
        || doc->nodes[id].len == 0)
    {
        fuzz_fail("payout", "accepted without a non-empty session_id", in,
                  len);
    }

    if (body->session_id == NULL || body->session_id_len != doc->nodes[id].len
        || memcmp(body->session_id, doc->nodes[id].str, body->session_id_len)
           != 0)
    {
        fuzz_fail("payout", "body->session_id is not the session_id sent",
                  in, len);
    }

    amount = sg_json_member(doc, 0, "amount_details");

    if (amount == SG_JSON_NONE) {
        return;
    }

    currency = sg_json_member(doc, amount, "currency");

    if (currency == SG_JSON_NONE) {
        fuzz_fail("payout", "accepted amount_details without currency", in,
                  len);
    }

    node = &doc->nodes[currency];

    if (node->type != SG_JSON_STRING || node->len != 3) {
        fuzz_fail("payout", "accepted a currency that is not 3 letters", in,
                  len);
    }

    for (i = 0; i < 3; i++) {
        if (node->str[i] < 'a' || node->str[i] > 'z') {
            fuzz_fail("payout", "currency not normalized to lower case", in,
                      len);
        }
    }
}


/* every allocation the run made may fail: the answer is then SG_ERR_NOMEM */

static void
fuzz_body_nomem(sg_schema_t schema, const char *in, size_t len, size_t allocs)
{
    size_t       mark;
    sg_code_t    rc;
    sg_body_t    body;
    sg_error_t   err;

    if (allocs == 0) {
        return;
    }

    mark = pool.count;
    pool.fail_at = mark + 1 + fuzz_hash(in, len) % allocs;

    rc = sg_body_canonicalize(schema, in, len, &alloc, &body, &err);

    pool.fail_at = 0;

    if (rc != SG_ERR_NOMEM) {
        fuzz_fail(sg_schema_name(schema), "an allocation failure is not "
                  "reported as SG_ERR_NOMEM", in, len);
    }
}


/* sg_body.c's rule, written again from its definition */

static int
fuzz_body_bad_session(const sg_json_t *doc)
{
    uint32_t  i, id;

    id = sg_json_member(doc, 0, "session_id");

    if (id == SG_JSON_NONE || doc->nodes[id].type != SG_JSON_STRING) {
        return 0;
    }

    if (doc->nodes[id].len > 128) {
        return 1;
    }

    for (i = 0; i < doc->nodes[id].len; i++) {
        if ((unsigned char) doc->nodes[id].str[i] < 0x20
            || doc->nodes[id].str[i] == 0x7f)
        {
            return 1;
        }
    }

    return 0;
}
