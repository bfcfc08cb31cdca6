/*
 * Micro-benchmark of the gateway's core: sg_body_canonicalize() (strict
 * JSON + payout schema + RFC 8785) on real payout bodies, and one RSA-2048
 * signature through the signer, on one thread.
 *
 *   core_bench KEY.pem BODY.json [BODY.json ...]
 *
 * For each body: ~SG_BENCH_SECONDS (default 1) of back-to-back
 * canonicalizations, each with a fresh arena (what nginx's request pool
 * gives the glue), then MB/s of input, µs per body, and the allocations the
 * core asked for per request: count, bytes, bytes as a multiple of the body,
 * and how many were larger than nginx's pool page (those become separate
 * malloc()s in ngx_palloc, freed with the pool).  Then the cost of one
 * signature (sg_signer_sign, base64) and the core's cost as a % of it.
 *
 * Build: bench/bench_core.sh (cc -O2 with the core's src/ *.c, -lcrypto).
 * SG_BENCH_VERBOSE=1 lists the size of every allocation of one request.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg_alloc.h"
#include "sg_body.h"
#include "sg_error.h"
#include "sg_schema.h"
#include "sg_signer.h"


/* ngx_palloc serves at most NGX_MAX_ALLOC_FROM_POOL (pagesize - 1) from
   the pool's blocks; larger requests are malloc()ed and linked to the pool */
#define NGX_POOL_MAX  4095


/* a bump arena like ngx_pool_t, counting what the core asks for */
typedef struct {
    char    *base;
    size_t   size;
    size_t   used;
    size_t   allocs;
    size_t   bytes;
    size_t   large;
    size_t   peak;
    int      verbose;
} arena_t;


static void *
arena_alloc(void *data, size_t size)
{
    arena_t  *a = data;
    size_t    off;

    off = (a->used + 15) & ~(size_t) 15;
    if (off + size > a->size) {
        return NULL;
    }

    a->used = off + size;
    if (a->verbose) {
        fprintf(stderr, "  alloc #%zu: %zu B\n", a->allocs + 1, size);
    }
    a->allocs++;
    a->bytes += size;
    if (size > NGX_POOL_MAX) {
        a->large++;
    }
    if (a->used > a->peak) {
        a->peak = a->used;
    }

    return a->base + off;
}


static void
arena_reset(arena_t *a)
{
    a->used = 0;
    a->allocs = 0;
    a->bytes = 0;
    a->large = 0;
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static char *
read_file(const char *path, size_t *len)
{
    FILE    *f;
    char    *buf;
    long     n;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "core_bench: %s: %s\n", path, strerror(errno));
        exit(2);
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc(n > 0 ? n : 1);
    if (buf == NULL || fread(buf, 1, n, f) != (size_t) n) {
        fprintf(stderr, "core_bench: cannot read %s\n", path);
        exit(2);
    }

    fclose(f);
    *len = n;
    return buf;
}


int
main(int argc, char **argv)
{
    int            i, rc;
    char           errbuf[SG_SIGNER_ERRBUF_SIZE], desc[256], *sig;
    size_t         len, sig_len, iters, k;
    double         seconds, t0, t1, us, mbs;
    const char    *env;
    sg_body_t      body;
    sg_error_t     err;
    sg_alloc_t     alloc;
    sg_signer_t   *signer;
    arena_t        arena;
    volatile size_t  sink = 0;

    struct {
        const char  *path;
        size_t       len;
        size_t       out_len;
        double       us;
        double       mbs;
        size_t       allocs, bytes, large, peak;
        size_t       iters;
        double       sign_us;
    } res[16];

    if (argc < 3 || argc - 2 > 16) {
        fprintf(stderr, "usage: core_bench KEY.pem BODY.json [BODY.json ...]"
                " (at most 16 bodies)\n");
        return 2;
    }

    env = getenv("SG_BENCH_SECONDS");
    seconds = env ? atof(env) : 1.0;
    if (!(seconds > 0.01 && seconds <= 60)) {
        seconds = 1.0;
    }

    arena.size = 64 * 1024 * 1024;
    arena.base = malloc(arena.size);
    if (arena.base == NULL) {
        return 2;
    }
    arena.used = arena.peak = 0;
    arena.verbose = 0;
    arena_reset(&arena);

    alloc.alloc = arena_alloc;
    alloc.data = &arena;

    signer = sg_signer_load(argv[1], NULL, errbuf, sizeof(errbuf));
    if (signer == NULL) {
        fprintf(stderr, "core_bench: %s\n", errbuf);
        return 2;
    }

    sig = malloc(sg_signer_signature_size(signer, SG_ENCODING_BASE64));
    if (sig == NULL) {
        return 2;
    }

    for (i = 2; i < argc; i++) {
        char  *input;

        input = read_file(argv[i], &len);

        arena_reset(&arena);
        env = getenv("SG_BENCH_VERBOSE");
        if (env && *env == '1') {
            fprintf(stderr, "%s (%zu B):\n", argv[i], len);
            arena.verbose = 1;
        }
        rc = sg_body_canonicalize(SG_SCHEMA_PAYOUT, input, len, &alloc, &body,
                                  &err);
        arena.verbose = 0;
        if (rc != SG_OK) {
            sg_error_describe(&err, desc, sizeof(desc));
            fprintf(stderr, "core_bench: %s is refused: %s: %s\n", argv[i],
                    sg_error_code_name(err.code), desc);
            return 1;
        }

        res[i - 2].path = argv[i];
        res[i - 2].len = len;
        res[i - 2].out_len = body.len;
        res[i - 2].allocs = arena.allocs;
        res[i - 2].bytes = arena.bytes;
        res[i - 2].large = arena.large;
        res[i - 2].peak = arena.used;

        for (k = 0; k < 100; k++) {             /* warm up */
            arena_reset(&arena);
            (void) sg_body_canonicalize(SG_SCHEMA_PAYOUT, input, len, &alloc,
                                        &body, &err);
        }

        iters = 0;
        t0 = now();
        do {
            for (k = 0; k < 16; k++) {
                arena_reset(&arena);
                rc = sg_body_canonicalize(SG_SCHEMA_PAYOUT, input, len,
                                          &alloc, &body, &err);
                sink += body.len + rc;
            }
            iters += 16;
            t1 = now();
        } while (t1 - t0 < seconds && iters < 100000000);

        us = (t1 - t0) * 1e6 / iters;
        mbs = (double) len * iters / (t1 - t0) / 1e6;

        res[i - 2].us = us;
        res[i - 2].mbs = mbs;
        res[i - 2].iters = iters;

        /* one RSA signature (base64) of this canonical body: what every
           request pays on top of the core; the SHA-256 part grows with it */
        arena_reset(&arena);
        (void) sg_body_canonicalize(SG_SCHEMA_PAYOUT, input, len, &alloc,
                                    &body, &err);

        for (k = 0; k < 10; k++) {              /* warm up */
            if (sg_signer_sign(signer, SG_ENCODING_BASE64, body.data,
                               body.len, sig, &sig_len) != 0)
            {
                fprintf(stderr, "core_bench: signing failed\n");
                return 1;
            }
        }

        iters = 0;
        t0 = now();
        do {
            for (k = 0; k < 8; k++) {
                (void) sg_signer_sign(signer, SG_ENCODING_BASE64, body.data,
                                      body.len, sig, &sig_len);
            }
            iters += 8;
            t1 = now();
        } while (t1 - t0 < seconds && iters < 10000000);

        res[i - 2].sign_us = (t1 - t0) * 1e6 / iters;

        free(input);
    }

    printf("core: sg_body_canonicalize (payout schema), one thread, "
           "%.1f s per body\n\n", seconds);
    printf("%8s %8s %9s %8s %8s %7s %9s %7s %6s %9s %10s\n",
           "body B", "out B", "iters", "us/body", "MB/s", "allocs",
           "alloc B", "x body", "large", "sign us", "% of sign");

    for (i = 0; i < argc - 2; i++) {
        printf("%8zu %8zu %9zu %8.2f %8.1f %7zu %9zu %7.2f %6zu %9.1f"
               " %9.2f%%\n",
               res[i].len, res[i].out_len, res[i].iters, res[i].us,
               res[i].mbs, res[i].allocs, res[i].bytes,
               (double) res[i].bytes / res[i].len, res[i].large,
               res[i].sign_us, 100.0 * res[i].us / res[i].sign_us);
    }

    printf("\nsign us: one RSA-%d signature of that canonical body "
           "(sg_signer_sign, SHA-256 + PKCS#1 v1.5, base64)\n",
           sg_signer_bits(signer));
    printf("targets: >= 300 MB/s on ~4 KB; < 5%% of one signature; "
           "alloc B <= 3 x body + a small constant\n");

    (void) sink;
    free(sig);
    sg_signer_free(signer);
    free(arena.base);

    return 0;
}
