/*
 * The gateway's pipeline on one body: strict JSON, the schema, RFC 8785.
 * What the glue, the unit tests and the fuzzers all call.
 */

#ifndef SG_BODY_H
#define SG_BODY_H

#include <stddef.h>

#include "sg_alloc.h"
#include "sg_error.h"
#include "sg_schema.h"


/*
 * session_id may end up in headers and logs through $sg_sign_session_id:
 * it is kept short and free of control characters whatever the schema.
 */
#define SG_BODY_SESSION_ID_MAX  128


typedef struct {
    char        *data;          /* the canonical body to sign and send */
    size_t       len;
    const char  *session_id;    /* decoded session_id, or NULL; at most
                                   SG_BODY_SESSION_ID_MAX bytes, no control
                                   character */
    size_t       session_id_len;
} sg_body_t;


sg_code_t sg_body_canonicalize(const sg_schema_t *schema, const char *input,
    size_t len, sg_alloc_t *a, sg_body_t *body, sg_error_t *err);


#endif /* SG_BODY_H */
