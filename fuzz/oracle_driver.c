/*
 * The core as t/oracle.t sees it: reads records "<length>\n<bytes>\n" from
 * stdin and prints, for each, "ok <length>\n<canonical bytes>\n" or
 * "err <code> <offset>\n".  -o runs the whole pipeline
 * (sg_body_canonicalize) with the built-in "object" schema, -p with
 * "session/start/payout", the default sg_json_parse + sg_jcs_write.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_pool.h"
#include "sg_body.h"
#include "sg_jcs.h"
#include "sg_json.h"
#include "sg_schema.h"


static char *oracle_read_all(FILE *f, size_t *len);


int
main(int argc, char **argv)
{
    char               *all, *p, *end, *out;
    size_t              len, n, out_len;
    sg_code_t           rc;
    sg_body_t           body;
    sg_json_t           doc;
    sg_alloc_t          a;
    sg_error_t          err;
    const char         *name;
    sg_schema_t        *schema;
    fuzz_pool_t         pool;
    sg_schema_error_t   serr;

    name = NULL;
    schema = NULL;

    if (argc > 1 && strcmp(argv[1], "-o") == 0) {
        name = "object";

    } else if (argc > 1 && strcmp(argv[1], "-p") == 0) {
        name = "session/start/payout";
    }

    if (name != NULL) {
        schema = sg_schema_compile_builtin(name, strlen(name), &serr);

        if (schema == NULL) {
            fprintf(stderr, "oracle_driver: the built-in schema \"%s\" does "
                    "not compile: line %u, \"%s\": %s\n", name, serr.line,
                    serr.pointer, serr.message);
            return 2;
        }
    }

    all = oracle_read_all(stdin, &len);
    if (all == NULL) {
        fprintf(stderr, "oracle_driver: cannot read stdin\n");
        return 2;
    }

    fuzz_pool_init(&pool, &a);

    p = all;
    end = all + len;

    while (p < end) {
        n = strtoul(p, &p, 10);

        if (p >= end || *p != '\n' || (size_t) (end - p) < n + 2) {
            fprintf(stderr, "oracle_driver: bad record framing\n");
            return 2;
        }

        p++;

        if (schema != NULL) {
            rc = sg_body_canonicalize(schema, p, n, &a, &body, &err);
            out = body.data;
            out_len = body.len;

        } else {
            out = NULL;
            out_len = 0;

            rc = sg_json_parse(&doc, p, n, &a, &err);

            if (rc == SG_OK) {
                rc = sg_jcs_write(&doc, &a, &out, &out_len, &err);
            }
        }

        if (rc == SG_OK) {
            printf("ok %zu\n", out_len);
            fwrite(out, 1, out_len, stdout);
            printf("\n");

        } else {
            printf("err %s %zu\n", sg_error_code_name(rc), err.offset);
        }

        fuzz_pool_reset(&pool);

        p += n + 1;
    }

    fuzz_pool_free(&pool);
    free(all);

    if (schema != NULL) {
        sg_schema_free(schema);
    }

    return fflush(stdout) == 0 ? 0 : 2;
}


static char *
oracle_read_all(FILE *f, size_t *len)
{
    char    *buf, *nbuf;
    size_t   cap, n;

    cap = 1 << 20;
    n = 0;

    buf = malloc(cap);
    if (buf == NULL) {
        return NULL;
    }

    for ( ;; ) {
        n += fread(buf + n, 1, cap - n, f);

        if (n < cap) {
            break;
        }

        cap *= 2;

        nbuf = realloc(buf, cap);
        if (nbuf == NULL) {
            free(buf);
            return NULL;
        }

        buf = nbuf;
    }

    if (ferror(f)) {
        free(buf);
        return NULL;
    }

    *len = n;

    return buf;
}
