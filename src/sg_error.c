/*
 * The core's error values and their two renderings: the one-line
 * description and the provider's {"status":"error",...} body.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sg_error.h"
#include "sg_jcs.h"


const char *
sg_error_code_name(sg_code_t code)
{
    switch (code) {
    case SG_OK:
        return "ok";
    case SG_ERR_INVALID_JSON:
        return "invalid_json";
    case SG_ERR_INVALID_REQUEST:
        return "invalid_request";
    default:
        /* SG_ERR_NOMEM and anything unknown: the caller did nothing wrong */
        return "internal_error";
    }
}


void
sg_error_set(sg_error_t *err, sg_code_t code, size_t offset,
    const char *reason)
{
    if (err == NULL) {
        return;
    }

    err->code = code;
    err->offset = offset;
    err->path[0] = '\0';
    err->reason = reason;
}


size_t
sg_error_describe(const sg_error_t *err, char *buf, size_t size)
{
    int          n;
    const char  *reason;

    if (buf == NULL || 0 == size) {
        return 0;
    }

    if (err == NULL) {
        buf[0] = '\0';
        return 0;
    }

    reason = (err->reason != NULL) ? err->reason : "internal error";

    switch (err->code) {

    case SG_ERR_INVALID_JSON:
        n = snprintf(buf, size, "offset %zu: %s", err->offset, reason);
        break;

    case SG_ERR_INVALID_REQUEST:
        if (err->path[0] != '\0') {
            /* path is a member path built by sg_json_path(), never a value */
            n = snprintf(buf, size, "%.*s: %s", SG_PATH_MAX, err->path,
                         reason);
            break;
        }

        /* fall through */

    default:
        n = snprintf(buf, size, "%s", reason);
        break;
    }

    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }

    /* what is in buf, truncation included */
    return ((size_t) n < size) ? (size_t) n : size - 1;
}


/*
 * Same shape as the provider's own errors (CONTRACT "Errors the gateway
 * itself returns"); strings escaped by the JCS escaper, the project's one.
 */

size_t
sg_error_json(const char *code, const char *description, char *buf,
    size_t size)
{
    char               *p;
    size_t              need, clen, dlen;
    static const char   head[] = "{\"status\":\"error\",\"error\":{\"code\":";
    static const char   mid[] = ",\"description\":";
    static const char   tail[] = "}}";

    if (code == NULL) {
        code = "";
    }

    if (description == NULL) {
        description = "";
    }

    clen = strlen(code);
    dlen = strlen(description);

    need = sizeof(head) - 1 + sg_jcs_string(code, clen, NULL)
           + sizeof(mid) - 1 + sg_jcs_string(description, dlen, NULL)
           + sizeof(tail) - 1;

    if (buf == NULL || need > size) {
        return need;
    }

    p = buf;
    memcpy(p, head, sizeof(head) - 1);
    p += sizeof(head) - 1;
    p += sg_jcs_string(code, clen, p);
    memcpy(p, mid, sizeof(mid) - 1);
    p += sizeof(mid) - 1;
    p += sg_jcs_string(description, dlen, p);
    memcpy(p, tail, sizeof(tail) - 1);
    p += sizeof(tail) - 1;

    if (need < size) {
        *p = '\0';
    }

    return need;
}


void
sg_error_format(char *buf, size_t size, const char *fmt, ...)
{
    va_list  args;

    if (buf == NULL || size == 0) {
        return;
    }

    /* vsnprintf truncates and always terminates */
    va_start(args, fmt);
    vsnprintf(buf, size, fmt, args);
    va_end(args);
}
