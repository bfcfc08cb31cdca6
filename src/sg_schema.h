/*
 * The provider's request rules (CONTRACT "session/start/payout rules"), and
 * the schema-level normalizations they imply (currency to lower case).
 */

#ifndef SG_SCHEMA_H
#define SG_SCHEMA_H

#include <stddef.h>

#include "sg_alloc.h"
#include "sg_error.h"
#include "sg_json.h"


typedef enum {
    SG_SCHEMA_PAYOUT = 0,       /* session/start/payout, the default */
    SG_SCHEMA_OBJECT            /* any JSON object */
} sg_schema_t;


/* looks a schema up by its directive name; -1 if unknown */
int sg_schema_find(const char *name, size_t len, sg_schema_t *schema);

const char *sg_schema_name(sg_schema_t schema);

/* checks doc against schema and normalizes it in place */
sg_code_t sg_schema_check(sg_schema_t schema, sg_json_t *doc, sg_alloc_t *a,
    sg_error_t *err);


#endif /* SG_SCHEMA_H */
