/*
 * The core never allocates on its own: the glue backs this with r->pool,
 * tests and fuzzers with malloc.  Nothing is freed one by one.
 */

#ifndef SG_ALLOC_H
#define SG_ALLOC_H

#include <stddef.h>


typedef struct {
    void   *(*alloc)(void *data, size_t size);   /* NULL on failure */
    void    *data;
} sg_alloc_t;


#define sg_alloc(a, size)  (a)->alloc((a)->data, size)


#endif /* SG_ALLOC_H */
