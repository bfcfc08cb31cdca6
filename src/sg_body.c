/*
 * One body through the gateway's rules: strict JSON, then the schema (with
 * its normalizations), then RFC 8785.  Shared by the glue and the fuzzers.
 */

#include <string.h>

#include "sg_body.h"
#include "sg_jcs.h"
#include "sg_json.h"


static int sg_body_session_id_ok(const char *s, size_t len);


sg_code_t
sg_body_canonicalize(const sg_schema_t *schema, const char *input, size_t len,
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

        if (!sg_body_session_id_ok(doc.nodes[id].str, doc.nodes[id].len)) {
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
sg_body_session_id_ok(const char *s, size_t len)
{
    size_t  i;

    if (len > SG_BODY_SESSION_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}
