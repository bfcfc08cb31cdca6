/*
 * The schema engine from the command line, for the JSON Schema Test Suite
 * runner and the ajv differential (t/jsonschema_suite.t, t/ajv_diff.t):
 *
 *   schema_driver SCHEMA_FILE | -b NAME  < documents, one JSON text a line
 *
 * prints a line per document: "ok\t<RFC 8785 form>" ("ok\t-" when it has
 * no exact canonical form), "invalid\t<path>\t<reason>" or
 * "badjson\t<offset>\t<reason>"; a schema that does not compile prints
 * "schema-error\t<line>\t<pointer>\t<message>" and exits 2.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_jcs.h"
#include "sg_json.h"
#include "sg_schema.h"


typedef struct {
    void    **blocks;
    size_t    n, cap;
} driver_heap_t;


static void *
driver_alloc(void *data, size_t size)
{
    void           *p, **b;
    driver_heap_t  *h = data;

    if (h->n == h->cap) {
        b = realloc(h->blocks, (h->cap * 2 + 16) * sizeof(void *));
        if (b == NULL) {
            return NULL;
        }

        h->blocks = b;
        h->cap = h->cap * 2 + 16;
    }

    p = malloc(size ? size : 1);
    if (p != NULL) {
        h->blocks[h->n++] = p;
    }

    return p;
}


static void
driver_reset(driver_heap_t *h)
{
    while (h->n) {
        free(h->blocks[--h->n]);
    }
}


static char *
driver_read(const char *path, size_t *len)
{
    long   n;
    char  *buf;
    FILE  *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return NULL;
    }

    buf = malloc((size_t) n + 1);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        free(buf);
        fclose(f);
        return NULL;
    }

    fclose(f);
    *len = (size_t) n;

    return buf;
}


int
main(int argc, char **argv)
{
    char               *text, *line, *out;
    size_t              len, cap, out_len, clen;
    ssize_t             n;
    sg_code_t           rc;
    sg_json_t           doc;
    sg_alloc_t          alloc;
    sg_error_t          err;
    sg_schema_t        *schema, *common;
    const char         *ctext;
    driver_heap_t       heap;
    sg_schema_error_t   serr;

    common = NULL;

    if (argc == 3 && strcmp(argv[1], "-b") == 0) {
        schema = sg_schema_compile_builtin(argv[2], strlen(argv[2]), &serr);

    } else if (argc == 2) {
        text = driver_read(argv[1], &len);
        if (text == NULL) {
            perror(argv[1]);
            return 2;
        }

        ctext = sg_schema_builtin("sg:common", sizeof("sg:common") - 1,
                                  &clen);
        if (ctext != NULL) {
            common = sg_schema_compile(ctext, clen, NULL, &serr);
            if (common == NULL) {
                printf("schema-error\t%u\t%s\t(sg:common) %s\n", serr.line,
                       serr.pointer, serr.message);
                return 2;
            }
        }

        schema = sg_schema_compile(text, len, common, &serr);
        free(text);

    } else {
        fprintf(stderr, "usage: %s SCHEMA_FILE | -b NAME\n", argv[0]);
        return 2;
    }

    if (schema == NULL) {
        printf("schema-error\t%u\t%s\t%s\n", serr.line, serr.pointer,
               serr.message);
        sg_schema_free(common);
        return 2;
    }

    memset(&heap, 0, sizeof(heap));
    alloc.alloc = driver_alloc;
    alloc.data = &heap;

    line = NULL;
    cap = 0;

    while ((n = getline(&line, &cap, stdin)) != -1) {
        if (n > 0 && line[n - 1] == '\n') {
            n--;
        }

        rc = sg_json_parse(&doc, line, (size_t) n, &alloc, &err);

        if (rc == SG_OK) {
            rc = sg_schema_check(schema, &doc, &alloc, &err);

            if (rc == SG_OK) {
                if (sg_jcs_write(&doc, &alloc, &out, &out_len, &err)
                    == SG_OK)
                {
                    printf("ok\t%.*s\n", (int) out_len, out);

                } else {
                    printf("ok\t-\n");
                }

            } else if (rc == SG_ERR_INVALID_REQUEST) {
                printf("invalid\t%s\t%s\n", err.path,
                       err.reason ? err.reason : "");

            } else {
                printf("error\tout of memory\n");
            }

        } else if (rc == SG_ERR_INVALID_JSON) {
            printf("badjson\t%zu\t%s\n", err.offset,
                   err.reason ? err.reason : "");

        } else {
            printf("error\tout of memory\n");
        }

        fflush(stdout);
        driver_reset(&heap);
    }

    free(line);
    free(heap.blocks);
    sg_schema_free(schema);
    sg_schema_free(common);

    return 0;
}
