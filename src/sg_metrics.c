/*
 * The metrics zone's nginx-free parts: its layout check, histogram
 * buckets and label escaping (ngx_sg_sign_metrics.c is the glue).
 */

#include "sg_metrics.h"


#define SG_METRICS_FNV_PRIME  0x100000001b3ull


uint64_t
sg_metrics_hash(uint64_t h, const void *data, size_t len)
{
    const unsigned char  *p = data;

    while (len--) {
        h ^= *p++;
        h *= SG_METRICS_FNV_PRIME;
    }

    return h;
}


uint64_t
sg_metrics_hash_str(uint64_t h, const char *s, size_t len)
{
    h = sg_metrics_hash_u64(h, len);

    return sg_metrics_hash(h, s, len);
}


uint64_t
sg_metrics_hash_u64(uint64_t h, uint64_t v)
{
    unsigned char  b[8];
    size_t         i;

    /* byte by byte: the same hash whatever the machine's byte order */
    for (i = 0; i < 8; i++) {
        b[i] = (unsigned char) (v >> (8 * i));
    }

    return sg_metrics_hash(h, b, sizeof(b));
}


void
sg_metrics_header_set(sg_metrics_header_t *hdr, uint32_t version,
    uint64_t hash, uint64_t size)
{
    hdr->magic = SG_METRICS_MAGIC;
    hdr->version = version;
    hdr->hash = hash;
    hdr->size = size;
    hdr->reserved = 0;
}


int
sg_metrics_header_match(const sg_metrics_header_t *old, uint32_t version,
    uint64_t hash, uint64_t size)
{
    return old != NULL
           && old->magic == SG_METRICS_MAGIC
           && old->version == version
           && old->hash == hash
           && old->size == size;
}


size_t
sg_metrics_bucket(const uint64_t *bounds, size_t n, uint64_t value)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (value <= bounds[i]) {
            break;
        }
    }

    return i;
}


size_t
sg_metrics_escape(char *out, size_t size, const char *in, size_t len)
{
    char    c, e;
    size_t  i, n, need;

    n = 0;

    for (i = 0; i < len; i++) {
        c = in[i];

        switch (c) {
        case '\\':
            e = '\\';
            break;
        case '"':
            e = '"';
            break;
        case '\n':
            e = 'n';
            break;
        default:
            e = 0;
        }

        need = e ? 2 : 1;

        /* once a byte does not fit nothing more is written: no holes */
        if (n + need > size) {
            size = 0;
        }

        if (size) {
            if (e) {
                out[n] = '\\';
                out[n + 1] = e;

            } else {
                out[n] = c;
            }
        }

        n += need;
    }

    return n;
}
