/*
 * Request rules as data: a JSON Schema (draft-07 subset) validator over the
 * document sg_json already parsed, plus the gateway's x-sg-* extensions
 * (integer literals, Luhn, lower-case normalization, discriminators).
 */

#ifndef SG_SCHEMA_H
#define SG_SCHEMA_H

#include <stddef.h>

#include "sg_alloc.h"
#include "sg_error.h"
#include "sg_json.h"


/* a compiled schema: immutable once compiled, safe to share read-only */
typedef struct sg_schema_s  sg_schema_t;


/* why a schema did not compile: never a value from a request */
typedef struct {
    char        message[256];   /* what is wrong */
    char        pointer[256];   /* JSON pointer of the offending keyword,
                                   "" for the root, e.g. "/properties/a/type" */
    unsigned    line;           /* 1-based line of it in the schema text */
} sg_schema_error_t;


/*
 * The built-in schemas, embedded at build time (schemas/, by path): their JSON
 * text by name ("session/start/payout", "object", "sg:common"), or NULL.
 */
const char *sg_schema_builtin(const char *name, size_t name_len,
    size_t *text_len);

/* the names of the built-in schemas a location may use, NULL-terminated */
extern const char  *sg_schema_builtin_names[];

/*
 * Compiles a schema from its JSON text.  common is the compiled "sg:common"
 * schema that "$ref": "sg:common#/definitions/..." resolves against (NULL:
 * such a $ref does not compile).  Everything the subset does not support is
 * refused here, never ignored later.  Returns NULL and fills err (if not
 * NULL) on failure, or on memory exhaustion ("out of memory").
 * The compiled schema does not point into text.
 */
sg_schema_t *sg_schema_compile(const char *text, size_t len,
    const sg_schema_t *common, sg_schema_error_t *err);

/*
 * A built-in schema by name, compiled (with its own copy of "sg:common"
 * when it needs one); NULL if the name is unknown or compiling failed.
 */
sg_schema_t *sg_schema_compile_builtin(const char *name, size_t name_len,
    sg_schema_error_t *err);

void sg_schema_free(sg_schema_t *schema);

/*
 * Validates doc against schema (the first error in document order goes to
 * err: SG_ERR_INVALID_REQUEST with err->path the member path and
 * err->reason the rule, never the value), then applies the schema's
 * normalizations (x-sg-lowercase) to doc in place, allocating from a.
 * Returns SG_OK, SG_ERR_INVALID_REQUEST or SG_ERR_NOMEM.
 */
sg_code_t sg_schema_check(const sg_schema_t *schema, sg_json_t *doc,
    sg_alloc_t *a, sg_error_t *err);


#endif /* SG_SCHEMA_H */
