/*
 * What the metrics zone needs that has no nginx in it: the layout check a
 * zone carries across reloads, histogram buckets, label escaping.
 */

#ifndef SG_METRICS_H
#define SG_METRICS_H

#include <stddef.h>
#include <stdint.h>


#define SG_METRICS_MAGIC      0x5a4d4753u   /* "SGMZ" */
#define SG_METRICS_HASH_INIT  0xcbf29ce484222325ull


/*
 * The start of a zone's block.  These four fields never move, whatever
 * the layout version: a module with another layout reads them safely and
 * starts a fresh block instead of misreading the counters after them.
 */
typedef struct {
    uint32_t    magic;
    uint32_t    version;
    uint64_t    hash;       /* of everything that places a counter */
    uint64_t    size;       /* of the block, this header included */
    uint64_t    reserved;
} sg_metrics_header_t;


/* FNV-1a, 64 bits; chain calls starting with SG_METRICS_HASH_INIT */
uint64_t sg_metrics_hash(uint64_t h, const void *data, size_t len);

/* a string with its end, so that "ab" "c" and "a" "bc" differ */
uint64_t sg_metrics_hash_str(uint64_t h, const char *s, size_t len);

uint64_t sg_metrics_hash_u64(uint64_t h, uint64_t v);

void sg_metrics_header_set(sg_metrics_header_t *hdr, uint32_t version,
    uint64_t hash, uint64_t size);

/* 1 when a block left by an earlier configuration can be kept as it is */
int sg_metrics_header_match(const sg_metrics_header_t *old, uint32_t version,
    uint64_t hash, uint64_t size);

/*
 * The histogram bucket of value: the first bound it does not exceed
 * (Prometheus' "le"), n for none (+Inf).  bounds ascend.
 */
size_t sg_metrics_bucket(const uint64_t *bounds, size_t n, uint64_t value);

/*
 * A label value as the text format (0.0.4) wants it: \, " and newline
 * escaped.  Writes at most size bytes and returns the length the whole
 * value needs (at most 2 * len): the output is complete when that is
 * <= size.
 */
size_t sg_metrics_escape(char *out, size_t size, const char *in, size_t len);


#endif /* SG_METRICS_H */
