/*
 * A malloc-backed sg_alloc_t for the fuzzers and the oracle driver: one
 * malloc per allocation (so ASan sees exact bounds), all freed at once.
 */

#ifndef FUZZ_POOL_H
#define FUZZ_POOL_H

#include <stddef.h>

#include "sg_alloc.h"


typedef struct {
    void    **ptrs;
    size_t    n;
    size_t    cap;
    size_t    count;        /* allocations asked for since the last reset */
    size_t    fail_at;      /* refuse the fail_at-th allocation; 0: never */
} fuzz_pool_t;


void fuzz_pool_init(fuzz_pool_t *pool, sg_alloc_t *a);
void fuzz_pool_reset(fuzz_pool_t *pool);
void fuzz_pool_free(fuzz_pool_t *pool);


#endif /* FUZZ_POOL_H */
