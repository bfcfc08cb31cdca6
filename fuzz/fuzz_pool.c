/*
 * The pool behind the fuzzers: like a request pool, nothing is freed one by
 * one; unlike ngx_palloc, every block is its own malloc so an overrun of a
 * single byte is an ASan report, and any allocation can be made to fail.
 */

#include <stdlib.h>

#include "fuzz_pool.h"


static void *fuzz_pool_alloc(void *data, size_t size);


void
fuzz_pool_init(fuzz_pool_t *pool, sg_alloc_t *a)
{
    pool->ptrs = NULL;
    pool->n = 0;
    pool->cap = 0;
    pool->count = 0;
    pool->fail_at = 0;

    a->alloc = fuzz_pool_alloc;
    a->data = pool;
}


static void *
fuzz_pool_alloc(void *data, size_t size)
{
    void         *p, **ptrs;
    size_t        cap;
    fuzz_pool_t  *pool;

    pool = data;
    pool->count++;

    if (pool->fail_at != 0 && pool->count == pool->fail_at) {
        return NULL;
    }

    if (pool->n == pool->cap) {
        cap = pool->cap ? pool->cap * 2 : 64;

        ptrs = realloc(pool->ptrs, cap * sizeof(void *));
        if (ptrs == NULL) {
            return NULL;
        }

        pool->ptrs = ptrs;
        pool->cap = cap;
    }

    /* malloc(0) may return NULL, which the core would take for "no memory" */
    p = malloc(size ? size : 1);
    if (p == NULL) {
        return NULL;
    }

    pool->ptrs[pool->n++] = p;

    return p;
}


void
fuzz_pool_reset(fuzz_pool_t *pool)
{
    size_t  i;

    for (i = 0; i < pool->n; i++) {
        free(pool->ptrs[i]);
    }

    pool->n = 0;
    pool->count = 0;
    pool->fail_at = 0;
}


void
fuzz_pool_free(fuzz_pool_t *pool)
{
    fuzz_pool_reset(pool);

    free(pool->ptrs);
    pool->ptrs = NULL;
    pool->cap = 0;
}
