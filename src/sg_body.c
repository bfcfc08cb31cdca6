/*
 * One body through the gateway's rules: strict JSON, then the schema (with
 * its normalizations), then RFC 8785.  Shared by the glue and the fuzzers.
 */

#include "sg_body.h"
#include "sg_jcs.h"
#include "sg_json.h"


sg_code_t
sg_body_canonicalize(sg_schema_t schema, const char *input, size_t len,
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

    rc = sg_schema_check(schema, &doc, a, err);
    if (rc != SG_OK) {
        return rc;
    }

    id = sg_json_member(&doc, 0, "session_id");

    if (id != SG_JSON_NONE && doc.nodes[id].type == SG_JSON_STRING) {
        body->session_id = doc.nodes[id].str;
        body->session_id_len = doc.nodes[id].len;
    }

    return sg_jcs_write(&doc, a, &body->data, &body->len, err);
}
