/*
 * RFC 8785 (JCS) serializer over an sg_json_t, and the ECMAScript number
 * formatting it needs.  Refuses numbers whose value the canonical form
 * would change: the gateway respells values, it never rounds them.
 */

#ifndef SG_JCS_H
#define SG_JCS_H

#include <stddef.h>

#include "sg_alloc.h"
#include "sg_error.h"
#include "sg_json.h"


/* longest ECMAScript Number::toString of a finite double, plus NUL */
#define SG_JCS_NUMBER_MAX  32


/*
 * Formats the JSON number text num (RFC 8259 grammar, already validated)
 * as ECMAScript's shortest round-trip form into out (NUL-terminated).
 * Returns the length, or 0 if the value is not exactly representable
 * (9007199254740993, 1e400, 1e-400, ...).
 */
size_t sg_jcs_number(const char *num, size_t len,
    char out[SG_JCS_NUMBER_MAX]);

/*
 * Writes s (UTF-8, already valid) as a JCS string literal, quotes included,
 * into out when out is not NULL.  Returns the length.
 */
size_t sg_jcs_string(const char *s, size_t len, char *out);

/*
 * Serializes doc canonically into memory from a.  On a number that cannot
 * be kept exactly returns SG_ERR_INVALID_REQUEST with the member path.
 */
sg_code_t sg_jcs_write(const sg_json_t *doc, sg_alloc_t *a, char **out,
    size_t *out_len, sg_error_t *err);


#endif /* SG_JCS_H */
