/*
 * libFuzzer target: the gateway's whole "body in, canonical body out" path
 * (sg_body_canonicalize) under the built-in "object" and
 * "session/start/payout" schemas, cross-checked with each other and with
 * sg_json_parse + sg_jcs_write on the same bytes.  And the engine against
 * hand-written C doing the same job: the hard-coded rules it replaced
 * (bench/legacy_rules.c) against "object" and against those rules written
 * as a schema (bench/legacy_payout.json; issue 10 changed the built-in
 * payout on purpose): the same verdicts, the same bytes sent.
 *
 * FUZZ_LEGACY_PAYOUT names that schema file (default: the path from the
 * repository's root, where run.sh runs the targets).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "fuzz_pool.h"
#include "legacy_rules.h"
#include "sg_body.h"
#include "sg_jcs.h"
#include "sg_json.h"
#include "sg_schema.h"


/* a schema, compiled once, and the C rules that do the same, if any */
typedef struct {
    const char   *name;         /* a built-in, or a file */
    int           file;
    int           payout;       /* the payout rules' properties hold */
    int           compare;      /* compared with legacy */
    sg_legacy_t   legacy;
    sg_schema_t  *schema;
} fuzz_body_schema_t;


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

static void fuzz_body_init(void);
static char *fuzz_body_read(const char *path, size_t *len);
static void fuzz_body_run(const fuzz_body_schema_t *s, const char *in,
    size_t len, const fuzz_body_ref_t *ref, int object_ok);
static void fuzz_body_legacy(const fuzz_body_schema_t *s, const char *in,
    size_t len, sg_code_t rc, const sg_body_t *body);
static void fuzz_body_payout(const char *in, size_t len, const sg_body_t *body,
    const sg_json_t *doc);
static void fuzz_body_nomem(const fuzz_body_schema_t *s, const char *in,
    size_t len, size_t allocs);
static int fuzz_body_bad_session(const sg_json_t *doc);


static fuzz_body_schema_t  object = {
    "object", 0, 0, 1, SG_LEGACY_OBJECT, NULL
};

static fuzz_body_schema_t  payout = {
    "session/start/payout", 0, 1, 0, SG_LEGACY_PAYOUT, NULL
};

static fuzz_body_schema_t  legacy_payout = {
    "bench/legacy_payout.json", 1, 1, 1, SG_LEGACY_PAYOUT, NULL
};

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
        fuzz_body_init();
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

    /* ref stays valid: the pool is reset only after all schemas ran */
    fuzz_body_run(&object, in, size, &ref, 0);
    fuzz_body_run(&payout, in, size, &ref, ref.write_rc == SG_OK);
    fuzz_body_run(&legacy_payout, in, size, &ref, ref.write_rc == SG_OK);

    fuzz_pool_reset(&pool);

    return 0;
}


/* as the glue does at configuration time: each schema compiled once */

static void
fuzz_body_init(void)
{
    char                *text;
    size_t               i, len;
    const char          *env;
    sg_schema_error_t    err;
    fuzz_body_schema_t  *s, *all[] = { &object, &payout, &legacy_payout };

    fuzz_pool_init(&pool, &alloc);

    env = getenv("FUZZ_LEGACY_PAYOUT");
    if (env != NULL && env[0] != '\0') {
        legacy_payout.name = env;
    }

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        s = all[i];

        if (!s->file) {
            s->schema = sg_schema_compile_builtin(s->name, strlen(s->name),
                                                  &err);

        } else {
            /* self-contained: no "sg:common#" in it */
            text = fuzz_body_read(s->name, &len);
            s->schema = sg_schema_compile(text, len, NULL, &err);
            free(text);
        }

        if (s->schema == NULL) {
            fprintf(stderr, "fuzz_body: the schema \"%s\" does not compile: "
                    "line %u, \"%s\": %s\n", s->name, err.line, err.pointer,
                    err.message);
            abort();
        }
    }
}


static char *
fuzz_body_read(const char *path, size_t *len)
{
    char    *text;
    long     n;
    FILE    *f;

    f = fopen(path, "rb");

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fprintf(stderr, "fuzz_body: cannot read %s (run from the "
                "repository's root, or set FUZZ_LEGACY_PAYOUT)\n", path);
        abort();
    }

    text = malloc(n ? (size_t) n : 1);

    if (text == NULL || fread(text, 1, (size_t) n, f) != (size_t) n) {
        fprintf(stderr, "fuzz_body: cannot read %s\n", path);
        abort();
    }

    fclose(f);
    *len = (size_t) n;

    return text;
}


static void
fuzz_body_run(const fuzz_body_schema_t *s, const char *in, size_t len,
    const fuzz_body_ref_t *ref, int object_ok)
{
    size_t       mark, allocs;
    sg_code_t    rc;
    sg_body_t    body, again;
    sg_json_t    doc;
    sg_error_t   err;
    const char  *why, *name;

    name = s->name;
    mark = pool.count;

    rc = sg_body_canonicalize(s->schema, in, len, &alloc, &body, &err);

    allocs = pool.count - mark;

    /*
     * issue 10 rewrote the built-in payout rules from the provider's API on
     * purpose (tokenized cards, payout_details, wallets...): the first
     * release's rules are compared with their own schema, frozen
     */
    if (s->compare) {
        fuzz_body_legacy(s, in, len, rc, &body);
    }

    if (rc != SG_OK) {
        why = fuzz_error_check(rc, &err, len, 0);
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
            && s == &object)
        {
            fuzz_fail(name, "a bad session_id not refused as session_id", in,
                      len);
        }

        if (s == &object && ref->write_rc == SG_OK
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

    if (s == &object
        && (ref->write_rc != SG_OK || body.len != ref->out_len
            || memcmp(body.data, ref->out, body.len) != 0))
    {
        fuzz_fail(name, "differs from sg_json_parse + sg_jcs_write", in, len);
    }

    if (s->payout && !object_ok) {
        fuzz_fail(name, "accepted a body the object schema refuses", in,
                  len);
    }

    why = fuzz_canonical_check(body.data, body.len, &alloc, &doc);
    if (why != NULL) {
        fuzz_fail(name, why, in, len);
    }

    /* the schema's normalizations are idempotent too */
    rc = sg_body_canonicalize(s->schema, body.data, body.len, &alloc, &again,
                              &err);

    if (rc != SG_OK || again.len != body.len
        || memcmp(again.data, body.data, body.len) != 0)
    {
        fuzz_fail(name, "the canonical body does not canonicalize to itself",
                  in, len);
    }

    if (s->payout) {
        fuzz_body_payout(in, len, &body, &doc);
    }

    fuzz_body_nomem(s, in, len, allocs);
}


/*
 * The rules before the engine, on the same bytes: the same verdict, and the
 * same canonical body and session_id.  Not the same error: they checked in
 * their own order, the engine reports the first error in document order.
 */

static void
fuzz_body_legacy(const fuzz_body_schema_t *s, const char *in, size_t len,
    sg_code_t rc, const sg_body_t *body)
{
    sg_code_t   lrc;
    sg_body_t   lbody;
    sg_error_t  lerr;

    lrc = sg_legacy_canonicalize(s->legacy, in, len, &alloc, &lbody, &lerr);

    if (lrc == SG_ERR_NOMEM || rc == SG_ERR_NOMEM) {
        fuzz_fail(s->name, "out of memory with no allocation failing", in,
                  len);
    }

    if ((rc == SG_OK) != (lrc == SG_OK)) {
        fuzz_fail(s->name, rc == SG_OK ? "accepts what the hard-coded rules "
                  "refused" : "refuses what the hard-coded rules accepted",
                  in, len);
    }

    if (rc != SG_OK) {
        if (rc != lrc) {
            fuzz_fail(s->name, "refused with another code than the "
                      "hard-coded rules", in, len);
        }

        return;
    }

    if (body->len != lbody.len
        || memcmp(body->data, lbody.data, body->len) != 0)
    {
        fuzz_fail(s->name, "a canonical body other than the hard-coded "
                  "rules'", in, len);
    }

    if (body->session_id_len != lbody.session_id_len
        || (body->session_id == NULL) != (lbody.session_id == NULL)
        || (body->session_id != NULL
            && memcmp(body->session_id, lbody.session_id,
                      body->session_id_len) != 0))
    {
        fuzz_fail(s->name, "a session_id other than the hard-coded rules'",
                  in, len);
    }
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
fuzz_body_nomem(const fuzz_body_schema_t *s, const char *in, size_t len,
    size_t allocs)
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

    rc = sg_body_canonicalize(s->schema, in, len, &alloc, &body, &err);

    pool.fail_at = 0;

    if (rc != SG_ERR_NOMEM) {
        fuzz_fail(s->name, "an allocation failure is not reported as "
                  "SG_ERR_NOMEM", in, len);
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
