/*
 * Errors of the core: data, not strings built from input.  The glue turns
 * an sg_error_t into the provider's error shape; no caller value is copied in.
 */

#ifndef SG_ERROR_H
#define SG_ERROR_H

#include <stddef.h>


#define SG_PATH_MAX  128


typedef enum {
    SG_OK = 0,
    SG_ERR_INVALID_JSON,        /* CONTRACT step 3 */
    SG_ERR_INVALID_REQUEST,     /* steps 4 and 5 */
    SG_ERR_NOMEM                /* the allocator said no */
} sg_code_t;


typedef struct {
    sg_code_t    code;
    size_t       offset;        /* first offending byte of the input */
    char         path[SG_PATH_MAX];  /* "amount_details.currency", or "" */
    const char  *reason;        /* a constant string, or detail; never
                                   input */
    char         detail[160];   /* a reason composed from the schema */
} sg_error_t;


/* the provider's error code for an sg_code_t: "invalid_json", ... */
const char *sg_error_code_name(sg_code_t code);

/*
 * Writes the human description of err into buf (NUL-terminated, truncated
 * to size): "offset 12: expected ':'" or "amount_details.amount: must ...".
 * Returns its length.
 */
size_t sg_error_describe(const sg_error_t *err, char *buf, size_t size);

/*
 * Writes {"status":"error","error":{"code":…,"description":…}} into buf.
 * Returns the length needed; nothing is written past size.
 */
size_t sg_error_json(const char *code, const char *description, char *buf,
    size_t size);

void sg_error_set(sg_error_t *err, sg_code_t code, size_t offset,
    const char *reason);

/* a config-time message (key and schema files) into buf, truncated */
void sg_error_format(char *buf, size_t size, const char *fmt, ...);


#endif /* SG_ERROR_H */
