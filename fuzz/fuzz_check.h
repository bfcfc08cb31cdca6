/*
 * Properties the fuzz targets assert, written independently of the core:
 * UTF-8, RFC 8785's lexical form, UTF-16 member order, ECMAScript number
 * formatting with exact-value checks, value equality of two trees, errors.
 */

#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stddef.h>

#include "sg_alloc.h"
#include "sg_error.h"
#include "sg_json.h"


/* longer than any ECMAScript Number::toString result */
#define FUZZ_NUMBER_MAX  64


/* prints what failed, with the input in hex, and aborts */
void fuzz_fail(const char *what, const char *detail, const char *data,
    size_t len);

/* 1 if s is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates) */
int fuzz_utf8_valid(const char *s, size_t len);

/* NULL if s has RFC 8785's lexical form, else what is wrong */
const char *fuzz_jcs_lexical(const char *s, size_t len);

/* NULL if every object's names are in document order and strictly
   increasing by UTF-16 code units (RFC 8785 section 3.2.3) */
const char *fuzz_jcs_sorted(const sg_json_t *doc);

/*
 * The ECMAScript Number::toString of the JSON number num into out, or 0 if
 * its exact decimal value differs from the value of that form (CONTRACT
 * step 5: such numbers are refused, never rounded).
 */
size_t fuzz_number_expect(const char *num, size_t len,
    char out[FUZZ_NUMBER_MAX]);

/* NULL if doc a and doc b hold the same value (numbers: exact decimal
   value; object members compared in sorted order) */
const char *fuzz_same_value(const sg_json_t *a, uint32_t x,
    const sg_json_t *b, uint32_t y);

/*
 * NULL if out is a canonical document: valid UTF-8, RFC 8785's lexical
 * form, parses again with sg_json_parse (into doc, from a), members sorted,
 * and sg_jcs_write of it gives exactly out again (idempotence).
 */
const char *fuzz_canonical_check(const char *out, size_t len, sg_alloc_t *a,
    sg_json_t *doc);

/* FNV-1a, to pick which allocation to fail from the input itself */
size_t fuzz_hash(const char *data, size_t len);

/*
 * NULL if a refusal (rc, err) of an input of len bytes is well formed:
 * a documented code, offset in [0, len], constant reason, a path and a
 * description without caller data, an error body that is valid JSON.
 * The description is printable ASCII, or with schema_text (a reason or a
 * name may be an operator's schema text) valid UTF-8, as the glue's
 * 256-byte buffer cuts it.
 */
const char *fuzz_error_check(sg_code_t rc, const sg_error_t *err,
    size_t len, int schema_text);


#endif /* FUZZ_CHECK_H */
