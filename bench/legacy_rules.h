/*
 * The hard-coded rules of commit 591626b (bench/legacy_rules.c), kept as a
 * yardstick for the schema engine: its cost and what it accepts.
 */

#ifndef LEGACY_RULES_H
#define LEGACY_RULES_H

#include <stddef.h>

#include "sg_alloc.h"
#include "sg_body.h"
#include "sg_error.h"
#include "sg_json.h"


typedef enum {
    SG_LEGACY_PAYOUT = 0,       /* session/start/payout */
    SG_LEGACY_OBJECT            /* any JSON object */
} sg_legacy_t;


int sg_legacy_find(const char *name, size_t len, sg_legacy_t *schema);

const char *sg_legacy_name(sg_legacy_t schema);

/* what sg_schema_check() was: checks doc, normalizes it in place */
sg_code_t sg_legacy_check(sg_legacy_t schema, sg_json_t *doc, sg_alloc_t *a,
    sg_error_t *err);

/* what sg_body_canonicalize() was: parse, the rules, session_id, RFC 8785 */
sg_code_t sg_legacy_canonicalize(sg_legacy_t schema, const char *input,
    size_t len, sg_alloc_t *a, sg_body_t *body, sg_error_t *err);


#endif /* LEGACY_RULES_H */
