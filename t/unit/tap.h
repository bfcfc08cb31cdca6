/*
 * A minimal TAP producer for the core's unit tests, and a malloc-backed
 * sg_alloc_t that frees everything at once, as a request pool does.
 */

#ifndef SG_TAP_H
#define SG_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_alloc.h"


static int  tap_n;
static int  tap_failed;


static inline void
tap_ok(int ok, const char *name)
{
    tap_n++;
    if (!ok) {
        tap_failed++;
    }
    printf("%sok %d - %s\n", ok ? "" : "not ", tap_n, name);
}


static inline void
tap_diag(const char *msg)
{
    printf("# %s\n", msg);
}


static inline int
tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}


/* a pool: every allocation is kept on a list and freed by test_pool_reset */

typedef struct test_chunk_s  test_chunk_t;

struct test_chunk_s {
    test_chunk_t  *next;
    size_t         size;
};


typedef struct {
    test_chunk_t  *chunks;
    size_t         allocated;
    size_t         count;
} test_pool_t;


static inline void *
test_pool_alloc(void *data, size_t size)
{
    test_pool_t   *pool = data;
    test_chunk_t  *c;

    c = malloc(sizeof(test_chunk_t) + size + 16);
    if (c == NULL) {
        return NULL;
    }

    c->next = pool->chunks;
    c->size = size;
    pool->chunks = c;
    pool->allocated += size;
    pool->count++;

    /* 16-byte alignment, like ngx_palloc's */
    return (char *) c + ((sizeof(test_chunk_t) + 15) & ~(size_t) 15);
}


static inline void
test_pool_reset(test_pool_t *pool)
{
    test_chunk_t  *c, *next;

    for (c = pool->chunks; c; c = next) {
        next = c->next;
        free(c);
    }

    pool->chunks = NULL;
    pool->allocated = 0;
    pool->count = 0;
}


#define TEST_POOL(name, alloc)                                               \
    test_pool_t  name = { NULL, 0, 0 };                                      \
    sg_alloc_t   alloc = { test_pool_alloc, &name }


#endif /* SG_TAP_H */
