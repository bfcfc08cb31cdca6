/*
 * Micro-benchmark of the gateway's core on real payout bodies, one thread:
 * validate + canonicalize (sg_body_canonicalize) with the schema engine and
 * the built-in "session/start/payout" schema, next to the same with the
 * hard-coded rules it replaced (bench/legacy_rules.c, commit 591626b), and
 * one RSA-2048 signature through the signer.
 *
 *   core_bench KEY.pem BODY.json [BODY.json ...]
 *
 * For each body: both paths must give the same canonical bytes; then
 * SG_BENCH_ROUNDS (default 30) rounds, each running both back to back for
 * SG_BENCH_SECONDS / rounds (default 1 s in all, per path), the order
 * swapped every round, each body with a fresh arena (what nginx's request
 * pool gives the glue).  The times are each path's best round (the least
 * disturbed by whatever else runs), "ratio" is engine / legacy of those,
 * "med" the median of the rounds' own ratios (a round's two figures see
 * about the same disturbance): on a quiet machine the two agree.  The same
 * for the schema step alone (sg_schema_check vs sg_legacy_check on a
 * parsed document).  Then
 * the engine's allocations per request: count, bytes, bytes as a multiple
 * of the body, and how many were larger than nginx's pool page (those
 * become separate malloc()s in ngx_palloc, freed with the pool), and the
 * cost of one signature (sg_signer_sign, base64) and the core's as a % of
 * it.
 *
 * Build: bench/bench_core.sh (cc -O2 with src/ *.c, the generated built-in
 * schemas, bench/legacy_rules.c, -lpcre2-8 -lcrypto).
 * SG_BENCH_VERBOSE=1 lists the size of every allocation of one request.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "legacy_rules.h"
#include "sg_alloc.h"
#include "sg_body.h"
#include "sg_error.h"
#include "sg_json.h"
#include "sg_schema.h"
#include "sg_signer.h"


/* ngx_palloc serves at most NGX_MAX_ALLOC_FROM_POOL (pagesize - 1) from
   the pool's blocks; larger requests are malloc()ed and linked to the pool */
#define NGX_POOL_MAX  4095

#define BENCH_BODIES      16
#define BENCH_ROUNDS_MAX  64

#define PAYOUT  "session/start/payout"


/* a bump arena like ngx_pool_t, counting what the core asks for */
typedef struct {
    char    *base;
    size_t   size;
    size_t   used;
    size_t   allocs;
    size_t   bytes;
    size_t   large;
    int      verbose;
} arena_t;


/* one thing to time on one body: the engine's path or the legacy one */
typedef enum {
    BENCH_ENGINE = 0,
    BENCH_LEGACY,
    BENCH_ENGINE_CHECK,
    BENCH_LEGACY_CHECK
} bench_path_t;


typedef struct {
    const char         *input;
    size_t              len;
    const sg_schema_t  *schema;
    sg_json_t           doc;        /* parsed, for the *_CHECK paths */
    size_t              mark;       /* the arena after the parse */
} bench_body_t;


typedef struct {
    const char  *path;
    size_t       len;
    size_t       out_len;
    double       us[4];             /* best round, per bench_path_t */
    double       med;               /* median engine/legacy, whole path */
    double       check_med;         /* the same, schema step alone */
    size_t       allocs, bytes, large;
    size_t       legacy_allocs, legacy_bytes;
    double       sign_us;
} bench_result_t;


static void *arena_alloc(void *data, size_t size);
static void arena_reset(arena_t *a);
static double now(void);
static char *read_file(const char *path, size_t *len);
static double bench_run(bench_path_t path, bench_body_t *b, sg_alloc_t *alloc,
    arena_t *arena, double seconds);
static sg_code_t bench_once(bench_path_t path, bench_body_t *b,
    sg_alloc_t *alloc, arena_t *arena, sg_body_t *body, sg_error_t *err);
static double median(double *v, int n);


int
main(int argc, char **argv)
{
    int                 i, r, rounds, p;
    char                errbuf[SG_SIGNER_ERRBUF_SIZE], desc[256], *sig;
    char               *input, *legacy_out;
    size_t              len, sig_len, iters, k, legacy_len;
    double              seconds, t0, t1, us, ratios[2][BENCH_ROUNDS_MAX];
    const char         *env;
    sg_code_t           rc;
    sg_body_t           body, lbody;
    sg_error_t          err;
    sg_alloc_t          alloc;
    sg_signer_t        *signer;
    sg_schema_t        *payout;
    sg_schema_error_t   serr;
    arena_t             arena;
    bench_body_t        b;
    bench_result_t      res[BENCH_BODIES], *rs;

    if (argc < 3 || argc - 2 > BENCH_BODIES) {
        fprintf(stderr, "usage: core_bench KEY.pem BODY.json [BODY.json ...]"
                " (at most %d bodies)\n", BENCH_BODIES);
        return 2;
    }

    env = getenv("SG_BENCH_SECONDS");
    seconds = env ? atof(env) : 1.0;
    if (!(seconds > 0.01 && seconds <= 60)) {
        seconds = 1.0;
    }

    env = getenv("SG_BENCH_ROUNDS");
    rounds = env ? atoi(env) : 30;
    if (rounds < 1 || rounds > BENCH_ROUNDS_MAX) {
        rounds = 30;
    }

    arena.size = 64 * 1024 * 1024;
    arena.base = malloc(arena.size);
    if (arena.base == NULL) {
        return 2;
    }
    arena.verbose = 0;
    arena_reset(&arena);

    alloc.alloc = arena_alloc;
    alloc.data = &arena;

    /* as the glue does at configuration time: compiled once */
    payout = sg_schema_compile_builtin(PAYOUT, sizeof(PAYOUT) - 1, &serr);
    if (payout == NULL) {
        fprintf(stderr, "core_bench: the built-in schema " PAYOUT " does not"
                " compile: line %u, \"%s\": %s\n", serr.line, serr.pointer,
                serr.message);
        return 2;
    }

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
        rs = &res[i - 2];
        input = read_file(argv[i], &len);

        b.input = input;
        b.len = len;
        b.schema = payout;

        /* the legacy rules first: their answer is the reference */
        arena_reset(&arena);
        rc = sg_legacy_canonicalize(SG_LEGACY_PAYOUT, input, len, &alloc,
                                    &lbody, &err);
        if (rc != SG_OK) {
            sg_error_describe(&err, desc, sizeof(desc));
            fprintf(stderr, "core_bench: %s is refused by the legacy rules: "
                    "%s: %s\n", argv[i], sg_error_code_name(err.code), desc);
            return 1;
        }

        legacy_len = lbody.len;
        legacy_out = malloc(legacy_len);
        if (legacy_out == NULL) {
            return 2;
        }
        memcpy(legacy_out, lbody.data, legacy_len);

        rs->legacy_allocs = arena.allocs;
        rs->legacy_bytes = arena.bytes;

        arena_reset(&arena);
        env = getenv("SG_BENCH_VERBOSE");
        if (env && *env == '1') {
            fprintf(stderr, "%s (%zu B):\n", argv[i], len);
            arena.verbose = 1;
        }
        rc = sg_body_canonicalize(payout, input, len, &alloc, &body, &err);
        arena.verbose = 0;
        if (rc != SG_OK) {
            sg_error_describe(&err, desc, sizeof(desc));
            fprintf(stderr, "core_bench: %s is refused: %s: %s\n", argv[i],
                    sg_error_code_name(err.code), desc);
            return 1;
        }

        if (body.len != legacy_len
            || memcmp(body.data, legacy_out, legacy_len) != 0)
        {
            fprintf(stderr, "core_bench: %s: the engine's canonical body "
                    "differs from the legacy rules'\n", argv[i]);
            return 1;
        }

        free(legacy_out);

        rs->path = argv[i];
        rs->len = len;
        rs->out_len = body.len;
        rs->allocs = arena.allocs;
        rs->bytes = arena.bytes;
        rs->large = arena.large;

        for (p = 0; p < 4; p++) {
            rs->us[p] = 1e30;
        }

        /* warm up both, then alternate; per round: both paths, both steps */
        for (p = 0; p < 4; p++) {
            (void) bench_run((bench_path_t) p, &b, &alloc, &arena,
                             seconds / rounds / 4);
        }

        for (r = 0; r < rounds; r++) {
            double  t[4];

            for (k = 0; k < 4; k++) {
                /* odd rounds run the legacy side first */
                p = (int) ((r & 1) ? k ^ 1 : k);
                t[p] = bench_run((bench_path_t) p, &b, &alloc, &arena,
                                 seconds / rounds);

                if (t[p] < rs->us[p]) {
                    rs->us[p] = t[p];
                }
            }

            ratios[0][r] = t[BENCH_ENGINE] / t[BENCH_LEGACY];
            ratios[1][r] = t[BENCH_ENGINE_CHECK] / t[BENCH_LEGACY_CHECK];
        }

        rs->med = median(ratios[0], rounds);
        rs->check_med = median(ratios[1], rounds);

        /* one RSA signature (base64) of this canonical body: what every
           request pays on top of the core; the SHA-256 part grows with it */
        arena_reset(&arena);
        (void) sg_body_canonicalize(payout, input, len, &alloc, &body, &err);

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

        rs->sign_us = (t1 - t0) * 1e6 / iters;

        free(input);
    }

    printf("core: validate + canonicalize (sg_body_canonicalize) of a payout,"
           " one thread;\nengine: the built-in " PAYOUT " schema; legacy: "
           "the hard-coded rules of 591626b;\n%d rounds, %.2f s per path and"
           " body in all\n\n", rounds, seconds);

    printf("%7s %7s | %9s %6s %9s %6s %6s %6s | %8s %8s %6s %6s\n",
           "body B", "out B", "engine us", "MB/s", "legacy us", "MB/s",
           "ratio", "med", "check us", "legacy", "ratio", "med");

    for (i = 0; i < argc - 2; i++) {
        rs = &res[i];
        us = rs->us[BENCH_ENGINE];

        printf("%7zu %7zu | %9.2f %6.1f %9.2f %6.1f %6.3f %6.3f | %8.2f %8.2f"
               " %6.3f %6.3f\n",
               rs->len, rs->out_len, us, rs->len / us,
               rs->us[BENCH_LEGACY], rs->len / rs->us[BENCH_LEGACY],
               us / rs->us[BENCH_LEGACY], rs->med,
               rs->us[BENCH_ENGINE_CHECK], rs->us[BENCH_LEGACY_CHECK],
               rs->us[BENCH_ENGINE_CHECK] / rs->us[BENCH_LEGACY_CHECK],
               rs->check_med);
    }

    printf("\nus: best round; ratio: engine / legacy of those (target: <= "
           "1.10); med: median\nof the rounds' ratios; check: the schema "
           "step alone (sg_schema_check vs\nsg_legacy_check on a parsed "
           "body)\n\n");

    printf("%8s %7s %9s %7s %6s %9s | %9s %10s\n",
           "body B", "allocs", "alloc B", "x body", "large", "legacy B",
           "sign us", "% of sign");

    for (i = 0; i < argc - 2; i++) {
        rs = &res[i];

        printf("%8zu %7zu %9zu %7.2f %6zu %9zu | %9.1f %9.2f%%\n",
               rs->len, rs->allocs, rs->bytes, (double) rs->bytes / rs->len,
               rs->large, rs->legacy_bytes, rs->sign_us,
               100.0 * rs->us[BENCH_ENGINE] / rs->sign_us);
    }

    printf("\nallocations of the engine's path per request (legacy B: the "
           "legacy path's bytes);\nsign us: one RSA-%d signature of that "
           "canonical body (sg_signer_sign, SHA-256 +\nPKCS#1 v1.5, base64)\n",
           sg_signer_bits(signer));
    printf("targets: >= 300 MB/s on ~4 KB; < 5%% of one signature; "
           "alloc B <= 3 x body + a small constant\n");

    free(sig);
    sg_signer_free(signer);
    sg_schema_free(payout);
    free(arena.base);

    return 0;
}


/* µs per body of one path, run back to back for about seconds */

static double
bench_run(bench_path_t path, bench_body_t *b, sg_alloc_t *alloc,
    arena_t *arena, double seconds)
{
    size_t      iters, k;
    double      t0, t1;
    sg_code_t   rc;
    sg_body_t   body;
    sg_error_t  err;

    volatile size_t  sink = 0;

    if (path == BENCH_ENGINE_CHECK || path == BENCH_LEGACY_CHECK) {
        arena_reset(arena);

        if (sg_json_parse(&b->doc, b->input, b->len, alloc, &err) != SG_OK) {
            fprintf(stderr, "core_bench: a body no longer parses\n");
            exit(1);
        }

        b->mark = arena->used;
    }

    iters = 0;
    t0 = now();

    do {
        for (k = 0; k < 16; k++) {
            rc = bench_once(path, b, alloc, arena, &body, &err);
            sink += body.len + rc;
        }
        iters += 16;
        t1 = now();
    } while (t1 - t0 < seconds && iters < 100000000);

    (void) sink;

    return (t1 - t0) * 1e6 / iters;
}


/*
 * The schema step alone runs on the same parsed document every time; its
 * normalization (the currency to lower case) leaves it valid, and both
 * sides get the same treatment.
 */

static sg_code_t
bench_once(bench_path_t path, bench_body_t *b, sg_alloc_t *alloc,
    arena_t *arena, sg_body_t *body, sg_error_t *err)
{
    body->len = 0;

    switch (path) {

    case BENCH_ENGINE:
        arena_reset(arena);
        return sg_body_canonicalize(b->schema, b->input, b->len, alloc, body,
                                    err);

    case BENCH_LEGACY:
        arena_reset(arena);
        return sg_legacy_canonicalize(SG_LEGACY_PAYOUT, b->input, b->len,
                                      alloc, body, err);

    case BENCH_ENGINE_CHECK:
        arena->used = b->mark;
        return sg_schema_check(b->schema, &b->doc, alloc, err);

    default:
        arena->used = b->mark;
        return sg_legacy_check(SG_LEGACY_PAYOUT, &b->doc, alloc, err);
    }
}


static double
median(double *v, int n)
{
    int     i, j;
    double  t;

    /* insertion sort: n is at most BENCH_ROUNDS_MAX */
    for (i = 1; i < n; i++) {
        for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
            t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    }

    return (n & 1) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}


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
