/*
 * A frozen copy of the hard-coded rules the schema engine replaced: src/
 * sg_schema.c and sg_body_canonicalize() at commit 591626b, renamed to
 * sg_legacy_* so they link beside the engine.  For core_bench (the engine's
 * cost next to the C rules on the same bodies) and fuzz_body (the payout
 * schema must accept exactly what these accepted).  Do not fix or improve:
 * the point is that it does not change.
 */

#include <string.h>

#include "legacy_rules.h"
#include "sg_jcs.h"


#define SG_MAX_SAFE_INTEGER  "9007199254740991"   /* 2^53 - 1 */
#define SG_LEGACY_SESSION_ID_MAX  128


typedef struct {
    const char  *name;
    sg_legacy_t  schema;
} sg_legacy_name_t;


typedef struct {
    sg_json_t   *doc;
    sg_alloc_t  *alloc;
    sg_error_t  *err;
} sg_legacy_ctx_t;


static sg_code_t sg_legacy_payout(sg_legacy_ctx_t *ctx);
static sg_code_t sg_legacy_amount_details(sg_legacy_ctx_t *ctx, uint32_t obj);
static sg_code_t sg_legacy_payment_method(sg_legacy_ctx_t *ctx, uint32_t obj);
static sg_code_t sg_legacy_card(sg_legacy_ctx_t *ctx, uint32_t card);
static sg_code_t sg_legacy_participants(sg_legacy_ctx_t *ctx, uint32_t obj);
static sg_code_t sg_legacy_customer(sg_legacy_ctx_t *ctx, uint32_t obj);
static int sg_legacy_is_minor_units(const sg_json_node_t *node);
static int sg_legacy_luhn(const sg_json_node_t *node);
static sg_code_t sg_legacy_expect(sg_legacy_ctx_t *ctx, uint32_t obj,
    const char *name, sg_json_type_t type, int required, uint32_t *value);
static sg_code_t sg_legacy_fail(sg_legacy_ctx_t *ctx, uint32_t obj,
    const char *name, uint32_t node, const char *reason);
static int sg_legacy_session_id_ok(const char *s, size_t len);


typedef sg_code_t (*sg_legacy_object_pt)(sg_legacy_ctx_t *ctx, uint32_t obj);

typedef struct {
    const char           *name;
    sg_legacy_object_pt   check;
} sg_legacy_object_t;


static const sg_legacy_name_t  sg_legacy_names[] = {
    { "session/start/payout", SG_LEGACY_PAYOUT },
    { "object", SG_LEGACY_OBJECT }
};


static const sg_legacy_object_t  sg_payout_objects[] = {
    { "amount_details", sg_legacy_amount_details },
    { "payment_method", sg_legacy_payment_method },
    { "participant_details", sg_legacy_participants },
    { "customer", sg_legacy_customer }
};


/* the top level of a payout is closed: a typo must not pass silently */
static const char  *sg_payout_members[] = {
    "session_id", "payment_method", "amount_details", "participant_details",
    "customer", "metadata", NULL
};


int
sg_legacy_find(const char *name, size_t len, sg_legacy_t *schema)
{
    size_t  i;

    for (i = 0; i < sizeof(sg_legacy_names) / sizeof(sg_legacy_names[0]); i++)
    {
        if (strlen(sg_legacy_names[i].name) == len
            && memcmp(sg_legacy_names[i].name, name, len) == 0)
        {
            *schema = sg_legacy_names[i].schema;
            return 0;
        }
    }

    return -1;
}


const char *
sg_legacy_name(sg_legacy_t schema)
{
    size_t  i;

    for (i = 0; i < sizeof(sg_legacy_names) / sizeof(sg_legacy_names[0]); i++)
    {
        if (sg_legacy_names[i].schema == schema) {
            return sg_legacy_names[i].name;
        }
    }

    return "unknown";
}


sg_code_t
sg_legacy_check(sg_legacy_t schema, sg_json_t *doc, sg_alloc_t *a,
    sg_error_t *err)
{
    sg_legacy_ctx_t  ctx;

    ctx.doc = doc;
    ctx.alloc = a;
    ctx.err = err;

    if (doc->nodes[0].type != SG_JSON_OBJECT) {
        return sg_legacy_fail(&ctx, SG_JSON_NONE, NULL, 0,
                              "the body must be a JSON object");
    }

    if (schema == SG_LEGACY_OBJECT) {
        return SG_OK;
    }

    return sg_legacy_payout(&ctx);
}


static sg_code_t
sg_legacy_payout(sg_legacy_ctx_t *ctx)
{
    size_t           i;
    uint32_t         name, value;
    sg_code_t        rc;
    sg_json_node_t  *nodes;

    nodes = ctx->doc->nodes;

    for (name = nodes[0].first; name != SG_JSON_NONE; name = nodes[name].next)
    {
        for (i = 0; sg_payout_members[i]; i++) {
            if (sg_json_str_eq(&nodes[name], sg_payout_members[i])) {
                break;
            }
        }

        if (sg_payout_members[i] != NULL) {
            continue;
        }

        if (sg_json_str_eq(&nodes[name], "payout_details")) {
            return sg_legacy_fail(ctx, 0, NULL, name + 1,
                                  "unknown member in API v1; "
                                  "send the payout data as payment_method");
        }

        return sg_legacy_fail(ctx, 0, NULL, name + 1,
                              "unknown member; allowed: session_id, "
                              "payment_method, amount_details, "
                              "participant_details, customer, metadata");
    }

    rc = sg_legacy_expect(ctx, 0, "session_id", SG_JSON_STRING, 1, &value);
    if (rc != SG_OK) {
        return rc;
    }

    if (nodes[value].len == 0) {
        return sg_legacy_fail(ctx, 0, NULL, value,
                              "must be a non-empty string");
    }

    /* the optional objects, each with its own rules, in this order */

    for (i = 0; i < sizeof(sg_payout_objects) / sizeof(sg_payout_objects[0]);
         i++)
    {
        rc = sg_legacy_expect(ctx, 0, sg_payout_objects[i].name,
                              SG_JSON_OBJECT, 0, &value);

        if (rc == SG_OK && value != SG_JSON_NONE) {
            rc = sg_payout_objects[i].check(ctx, value);
        }

        if (rc != SG_OK) {
            return rc;
        }
    }

    return SG_OK;
}


static sg_code_t
sg_legacy_amount_details(sg_legacy_ctx_t *ctx, uint32_t obj)
{
    char            *lower;
    size_t           i;
    uint32_t         amount, currency;
    sg_json_node_t  *node;

    amount = sg_json_member(ctx->doc, obj, "amount");

    if (amount == SG_JSON_NONE) {
        return sg_legacy_fail(ctx, obj, "amount", obj, "is required");
    }

    if (!sg_legacy_is_minor_units(&ctx->doc->nodes[amount])) {
        return sg_legacy_fail(ctx, obj, NULL, amount,
                              "must be a positive integer in minor units "
                              "(send 10000 for 100.00), at most "
                              SG_MAX_SAFE_INTEGER);
    }

    currency = sg_json_member(ctx->doc, obj, "currency");

    if (currency == SG_JSON_NONE) {
        return sg_legacy_fail(ctx, obj, "currency", obj, "is required");
    }

    node = &ctx->doc->nodes[currency];

    if (node->type != SG_JSON_STRING || node->len != 3) {
        goto invalid;
    }

    lower = sg_alloc(ctx->alloc, 3);
    if (lower == NULL) {
        ctx->err->code = SG_ERR_NOMEM;
        return SG_ERR_NOMEM;
    }

    for (i = 0; i < 3; i++) {
        if (node->str[i] >= 'A' && node->str[i] <= 'Z') {
            lower[i] = (char) (node->str[i] | 0x20);

        } else if (node->str[i] >= 'a' && node->str[i] <= 'z') {
            lower[i] = node->str[i];

        } else {
            goto invalid;
        }
    }

    /* ISO 4217 codes are case-insensitive; the provider's are lower case */
    node->str = lower;

    return SG_OK;

invalid:

    return sg_legacy_fail(ctx, obj, NULL, currency,
                          "must be a three-letter ISO 4217 code such as usd");
}


/*
 * An amount is minor units written as an integer: 100.5, 10000.0, 1e4 and
 * "10000" are refused rather than guessed at.
 */

static int
sg_legacy_is_minor_units(const sg_json_node_t *node)
{
    size_t  i, max;

    if (node->type != SG_JSON_NUMBER || node->len == 0 || node->str[0] == '0')
    {
        return 0;
    }

    for (i = 0; i < node->len; i++) {
        if (node->str[i] < '0' || node->str[i] > '9') {
            return 0;
        }
    }

    max = sizeof(SG_MAX_SAFE_INTEGER) - 1;

    if (node->len != max) {
        return node->len < max;
    }

    return memcmp(node->str, SG_MAX_SAFE_INTEGER, max) <= 0;
}


static sg_code_t
sg_legacy_payment_method(sg_legacy_ctx_t *ctx, uint32_t obj)
{
    uint32_t   type, card;
    sg_code_t  rc;

    rc = sg_legacy_expect(ctx, obj, "type", SG_JSON_STRING, 1, &type);
    if (rc != SG_OK) {
        return rc;
    }

    /* other payment method types pass through as objects */
    if (!sg_json_str_eq(&ctx->doc->nodes[type], "card")) {
        return SG_OK;
    }

    rc = sg_legacy_expect(ctx, obj, "card", SG_JSON_OBJECT, 1, &card);
    if (rc != SG_OK) {
        return rc;
    }

    return sg_legacy_card(ctx, card);
}


static sg_code_t
sg_legacy_card(sg_legacy_ctx_t *ctx, uint32_t card)
{
    uint32_t         type, obj, value;
    sg_code_t        rc;
    sg_json_node_t  *nodes;

    nodes = ctx->doc->nodes;

    rc = sg_legacy_expect(ctx, card, "type", SG_JSON_STRING, 1, &type);
    if (rc != SG_OK) {
        return rc;
    }

    if (sg_json_str_eq(&nodes[type], "bank_card")) {
        rc = sg_legacy_expect(ctx, card, "bank_card", SG_JSON_OBJECT, 1, &obj);
        if (rc != SG_OK) {
            return rc;
        }

        rc = sg_legacy_expect(ctx, obj, "number", SG_JSON_STRING, 1, &value);
        if (rc != SG_OK) {
            return rc;
        }

        if (!sg_legacy_luhn(&nodes[value])) {
            return sg_legacy_fail(ctx, obj, NULL, value,
                                  "must be 12 to 19 digits with a valid "
                                  "check digit");
        }

        return SG_OK;
    }

    if (sg_json_str_eq(&nodes[type], "encrypted_card")) {
        rc = sg_legacy_expect(ctx, card, "encrypted_card", SG_JSON_OBJECT, 1,
                              &obj);
        if (rc != SG_OK) {
            return rc;
        }

        rc = sg_legacy_expect(ctx, obj, "number_hash", SG_JSON_STRING, 1,
                              &value);
        if (rc != SG_OK) {
            return rc;
        }

        if (nodes[value].len == 0) {
            return sg_legacy_fail(ctx, obj, NULL, value,
                                  "must be a non-empty string");
        }

        return SG_OK;
    }

    return sg_legacy_fail(ctx, card, NULL, type,
                          "must be \"bank_card\" or \"encrypted_card\"");
}


/* ISO/IEC 7812: 12 to 19 digits, the last one a Luhn check digit */

static int
sg_legacy_luhn(const sg_json_node_t *node)
{
    int     sum, digit, twice;
    size_t  i;

    if (node->len < 12 || node->len > 19) {
        return 0;
    }

    sum = 0;
    twice = 0;

    for (i = node->len; i > 0; i--) {
        if (node->str[i - 1] < '0' || node->str[i - 1] > '9') {
            return 0;
        }

        digit = node->str[i - 1] - '0';

        if (twice) {
            digit *= 2;
            if (digit > 9) {
                digit -= 9;
            }
        }

        sum += digit;
        twice = !twice;
    }

    return sum % 10 == 0;
}


static sg_code_t
sg_legacy_participants(sg_legacy_ctx_t *ctx, uint32_t obj)
{
    uint32_t   recipient, sender, name;
    sg_code_t  rc;

    rc = sg_legacy_expect(ctx, obj, "sender", SG_JSON_OBJECT, 0, &sender);
    if (rc != SG_OK) {
        return rc;
    }

    rc = sg_legacy_expect(ctx, obj, "recipient", SG_JSON_OBJECT, 0,
                          &recipient);
    if (rc != SG_OK || recipient == SG_JSON_NONE) {
        return rc;
    }

    rc = sg_legacy_expect(ctx, recipient, "full_name", SG_JSON_STRING, 0,
                          &name);
    if (rc != SG_OK) {
        return rc;
    }

    if (name != SG_JSON_NONE && ctx->doc->nodes[name].len == 0) {
        return sg_legacy_fail(ctx, recipient, NULL, name,
                              "must be a non-empty string");
    }

    return SG_OK;
}


static sg_code_t
sg_legacy_customer(sg_legacy_ctx_t *ctx, uint32_t obj)
{
    uint32_t         reference, contacts, contact;
    sg_code_t        rc;
    sg_json_node_t  *nodes;

    nodes = ctx->doc->nodes;

    rc = sg_legacy_expect(ctx, obj, "reference", SG_JSON_STRING, 0,
                          &reference);
    if (rc != SG_OK) {
        return rc;
    }

    if (reference != SG_JSON_NONE && nodes[reference].len == 0) {
        return sg_legacy_fail(ctx, obj, NULL, reference,
                              "must be a non-empty string");
    }

    rc = sg_legacy_expect(ctx, obj, "contacts", SG_JSON_ARRAY, 0, &contacts);
    if (rc != SG_OK || contacts == SG_JSON_NONE) {
        return rc;
    }

    for (contact = nodes[contacts].first;
         contact != SG_JSON_NONE;
         contact = nodes[contact].next)
    {
        if (nodes[contact].type != SG_JSON_OBJECT) {
            return sg_legacy_fail(ctx, contacts, NULL, contact,
                                  "must be an object");
        }
    }

    return SG_OK;
}


/*
 * Finds member name of obj and checks its type.  A missing optional member
 * gives *value = SG_JSON_NONE.
 */

static sg_code_t
sg_legacy_expect(sg_legacy_ctx_t *ctx, uint32_t obj, const char *name,
    sg_json_type_t type, int required, uint32_t *value)
{
    static const char  *reasons[] = {
        NULL,
        "must be an object",
        "must be an array",
        "must be a string",
        "must be a number"
    };

    *value = sg_json_member(ctx->doc, obj, name);

    if (*value == SG_JSON_NONE) {
        if (required) {
            return sg_legacy_fail(ctx, obj, name, obj, "is required");
        }

        return SG_OK;
    }

    if (ctx->doc->nodes[*value].type != type) {
        return sg_legacy_fail(ctx, obj, NULL, *value, reasons[type]);
    }

    return SG_OK;
}


/*
 * Fails with the path of node, or, for a missing member, the path of obj
 * followed by name (a constant of these rules, never input).
 */

static sg_code_t
sg_legacy_fail(sg_legacy_ctx_t *ctx, uint32_t obj, const char *name,
    uint32_t node, const char *reason)
{
    size_t       len;
    sg_error_t  *err;

    err = ctx->err;

    err->code = SG_ERR_INVALID_REQUEST;
    err->offset = ctx->doc->nodes[node].offset;
    err->reason = reason;

    if (name == NULL) {
        sg_json_path(ctx->doc, node, err->path, sizeof(err->path));
        return SG_ERR_INVALID_REQUEST;
    }

    sg_json_path(ctx->doc, obj, err->path, sizeof(err->path));

    len = strlen(err->path);

    if (len + 1 + strlen(name) + 1 <= sizeof(err->path)) {
        if (len) {
            err->path[len++] = '.';
        }

        strcpy(err->path + len, name);
    }

    return SG_ERR_INVALID_REQUEST;
}


/* sg_body_canonicalize() at 591626b */

sg_code_t
sg_legacy_canonicalize(sg_legacy_t schema, const char *input, size_t len,
    sg_alloc_t *a, sg_body_t *body, sg_error_t *err)
{
    uint32_t   id;
    sg_code_t  rc;
    sg_json_t  doc;

    body->data = NULL;
    body->len = 0;
    body->session_id = NULL;
    body->session_id_len = 0;

    rc = sg_json_parse(&doc, input, len, a, err);
    if (rc != SG_OK) {
        return rc;
    }

    rc = sg_legacy_check(schema, &doc, a, err);
    if (rc != SG_OK) {
        return rc;
    }

    id = sg_json_member(&doc, 0, "session_id");

    if (id != SG_JSON_NONE && doc.nodes[id].type == SG_JSON_STRING) {

        if (!sg_legacy_session_id_ok(doc.nodes[id].str, doc.nodes[id].len)) {
            sg_error_set(err, SG_ERR_INVALID_REQUEST, doc.nodes[id].offset,
                         "must be at most 128 bytes without control "
                         "characters");
            strcpy(err->path, "session_id");
            return SG_ERR_INVALID_REQUEST;
        }

        body->session_id = doc.nodes[id].str;
        body->session_id_len = doc.nodes[id].len;
    }

    return sg_jcs_write(&doc, a, &body->data, &body->len, err);
}


/* U+0000-U+001F and U+007F: CR/LF in a header value splits it */

static int
sg_legacy_session_id_ok(const char *s, size_t len)
{
    size_t  i;

    if (len > SG_LEGACY_SESSION_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}
