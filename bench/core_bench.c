/*
 * Micro-benchmark of the gateway's core on real payout bodies, one thread:
 * validate + canonicalize (sg_body_canonicalize) with the schema engine
 * next to the same with the hard-coded rules it replaced
 * (bench/legacy_rules.c, commit 591626b), and one RSA-2048 signature.
 *
 *   core_bench KEY.pem LEGACY.json BODY.json [BODY.json ...]
 *
 * The engine runs two schemas: LEGACY.json, the C rules written as a schema
 * (bench/legacy_payout.json: the same rules, so the difference is the
 * engine, issue 9's target), and the built-in "session/start/payout" (what
 * ships: issue 10 made its rules richer).
 *
 * For each body: the C rules and LEGACY.json must give the same canonical
 * bytes, the built-in must accept the body; then SG_BENCH_ROUNDS (default
 * 30) rounds, each running every path back to back for SG_BENCH_SECONDS /
 * rounds (default 1 s in all, per path), in reverse order every other
 * round, each body with a fresh arena (what nginx's request pool gives the
 * glue).  The times are each path's best round (the least disturbed by
 * whatever else runs), "ratio" is engine / C of those, "med" the median of
 * the rounds' own ratios (a round's figures see about the same
 * disturbance): on a quiet machine the two agree.  The same for the
 * schema step alone (sg_schema_check vs sg_legacy_check on a parsed
 * document).  Then the built-in's allocations per request: count, bytes,
 * bytes as a multiple of the body, and how many were larger than nginx's
 * pool page (those become separate malloc()s in ngx_palloc, freed with the
 * pool), and the cost of one signature (sg_signer_sign, base64) and the
 * core's as a % of it.
 *
 * Build: bench/bench_core.sh (cc -O2 with src/ *.c, the generated built-in
 * schemas, bench/legacy_rules.c, -lpcre2-8 -lcrypto -lm).
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


/* what is timed: the C rules, the engine on the same rules, the engine on
   the built-in; the whole path, or the schema step alone */
typedef enum {
    BENCH_LEGACY = 0,
    BENCH_SAME,
    BENCH_BUILTIN,
    BENCH_LEGACY_CHECK,
    BENCH_SAME_CHECK,
    BENCH_BUILTIN_CHECK,
    BENCH_PATHS
} bench_path_t;


typedef struct {
    const char         *input;
    size_t              len;
    const sg_schema_t  *same;
    const sg_schema_t  *builtin;
    sg_json_t           doc;        /* parsed, for the *_CHECK paths */
    size_t              mark;       /* the arena after the parse */
} bench_body_t;


typedef struct {
    size_t       len;
    size_t       out_len;
    double       us[BENCH_PATHS];   /* best round */
    double       med[BENCH_PATHS];  /* median of the rounds' ratio to the
                                       C rules' path of the same kind */
    size_t       allocs, bytes, large;
    size_t       legacy_bytes;
    double       sign_us;
} bench_result_t;


static void *arena_alloc(void *data, size_t size);
static void arena_reset(arena_t *a);
static double now(void);
static char *read_file(const char *path, size_t *len);
static void bench_body(bench_body_t *b, bench_result_t *rs, sg_alloc_t *alloc,
    arena_t *arena, const char *path, int rounds, double seconds);
static double bench_run(bench_path_t path, bench_body_t *b, sg_alloc_t *alloc,
    arena_t *arena, double seconds);
static sg_code_t bench_once(bench_path_t path, bench_body_t *b,
    sg_alloc_t *alloc, arena_t *arena, sg_body_t *body, sg_error_t *err);
static void bench_refused(const char *path, const char *who,
    const sg_error_t *err);
static double median(double *v, int n);


int
main(int argc, char **argv)
{
    int                 i, rounds;
    char                errbuf[SG_SIGNER_ERRBUF_SIZE], *sig, *text;
    size_t              len, sig_len, iters, k;
    double              seconds, t0, t1;
    const char         *env;
    sg_body_t           body;
    sg_error_t          err;
    sg_alloc_t          alloc;
    sg_signer_t        *signer;
    sg_schema_t        *same, *builtin;
    sg_schema_error_t   serr;
    arena_t             arena;
    bench_body_t        b;
    bench_result_t      res[BENCH_BODIES], *rs;

    if (argc < 4 || argc - 3 > BENCH_BODIES) {
        fprintf(stderr, "usage: core_bench KEY.pem LEGACY.json BODY.json "
                "[BODY.json ...] (at most %d bodies)\n", BENCH_BODIES);
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
    text = read_file(argv[2], &len);
    same = sg_schema_compile(text, len, NULL, &serr);
    free(text);

    if (same == NULL) {
        fprintf(stderr, "core_bench: %s:%u: %s: %s\n", argv[2], serr.line,
                serr.pointer, serr.message);
        return 2;
    }

    builtin = sg_schema_compile_builtin(PAYOUT, sizeof(PAYOUT) - 1, &serr);
    if (builtin == NULL) {
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

    b.same = same;
    b.builtin = builtin;

    for (i = 3; i < argc; i++) {
        rs = &res[i - 3];

        b.input = read_file(argv[i], &b.len);

        bench_body(&b, rs, &alloc, &arena, argv[i], rounds, seconds);

        /* one RSA signature (base64) of this canonical body: what every
           request pays on top of the core; the SHA-256 part grows with it */
        arena_reset(&arena);
        (void) sg_body_canonicalize(builtin, b.input, b.len, &alloc, &body,
                                    &err);

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

        free((char *) b.input);
    }

    printf("core: validate + canonicalize (sg_body_canonicalize) of a payout,"
           " one thread,\n%d rounds, %.2f s per path and body in all\n"
           "C rules: the hard-coded rules of 591626b\n"
           "same rules: the engine on %s\n"
           "built-in: the engine on " PAYOUT "\n\n", rounds, seconds,
           argv[2]);

    printf("%7s | %-15s | %-29s | %s\n", "", "C rules",
           "engine, same rules", "engine, built-in");
    printf("%7s | %8s %6s | %8s %6s %6s %6s | %8s %6s %6s %6s\n",
           "body B", "us", "MB/s", "us", "MB/s", "ratio", "med",
           "us", "MB/s", "ratio", "med");

    for (i = 0; i < argc - 3; i++) {
        rs = &res[i];

        printf("%7zu | %8.2f %6.1f | %8.2f %6.1f %6.3f %6.3f | %8.2f %6.1f"
               " %6.3f %6.3f\n", rs->len,
               rs->us[BENCH_LEGACY], rs->len / rs->us[BENCH_LEGACY],
               rs->us[BENCH_SAME], rs->len / rs->us[BENCH_SAME],
               rs->us[BENCH_SAME] / rs->us[BENCH_LEGACY], rs->med[BENCH_SAME],
               rs->us[BENCH_BUILTIN], rs->len / rs->us[BENCH_BUILTIN],
               rs->us[BENCH_BUILTIN] / rs->us[BENCH_LEGACY],
               rs->med[BENCH_BUILTIN]);
    }

    printf("\nthe schema step alone (sg_legacy_check, sg_schema_check on a "
           "parsed body):\n");

    for (i = 0; i < argc - 3; i++) {
        rs = &res[i];

        printf("%7zu | %8.2f %6s | %8.2f %6s %6.3f %6.3f | %8.2f %6s"
               " %6.3f %6.3f\n", rs->len,
               rs->us[BENCH_LEGACY_CHECK], "",
               rs->us[BENCH_SAME_CHECK], "",
               rs->us[BENCH_SAME_CHECK] / rs->us[BENCH_LEGACY_CHECK],
               rs->med[BENCH_SAME_CHECK],
               rs->us[BENCH_BUILTIN_CHECK], "",
               rs->us[BENCH_BUILTIN_CHECK] / rs->us[BENCH_LEGACY_CHECK],
               rs->med[BENCH_BUILTIN_CHECK]);
    }

    printf("\nus: best round; ratio: engine / C of those (issue 9's target, "
           "same rules: <= 1.10);\nmed: median of the rounds' ratios\n\n");

    printf("%7s %7s %7s %9s %7s %6s %9s | %9s %10s\n",
           "body B", "out B", "allocs", "alloc B", "x body", "large",
           "C alloc B", "sign us", "% of sign");

    for (i = 0; i < argc - 3; i++) {
        rs = &res[i];

        printf("%7zu %7zu %7zu %9zu %7.2f %6zu %9zu | %9.1f %9.2f%%\n",
               rs->len, rs->out_len, rs->allocs, rs->bytes,
               (double) rs->bytes / rs->len, rs->large, rs->legacy_bytes,
               rs->sign_us, 100.0 * rs->us[BENCH_BUILTIN] / rs->sign_us);
    }

    printf("\nallocations of the built-in's path per request, through the "
           "sg_alloc_t (C alloc B:\nthe C rules' path); sign us: one RSA-%d "
           "signature of that canonical body\n(sg_signer_sign, SHA-256 + "
           "PKCS#1 v1.5, base64), %% of sign: the built-in's path\n",
           sg_signer_bits(signer));
    printf("targets: >= 300 MB/s on ~4 KB; < 5%% of one signature; "
           "alloc B <= 3 x body + a small constant\n");

    free(sig);
    sg_signer_free(signer);
    sg_schema_free(same);
    sg_schema_free(builtin);
    free(arena.base);

    return 0;
}


/* checks that the paths agree on one body, then times them */

static void
bench_body(bench_body_t *b, bench_result_t *rs, sg_alloc_t *alloc,
    arena_t *arena, const char *path, int rounds, double seconds)
{
    int          r, k, p;
    char        *legacy_out;
    double       t[BENCH_PATHS], ratios[BENCH_PATHS][BENCH_ROUNDS_MAX];
    size_t       legacy_len;
    sg_code_t    rc;
    sg_body_t    body;
    sg_error_t   err;
    const char  *env;

    /* the C rules first: their answer is the reference */
    arena_reset(arena);
    rc = sg_legacy_canonicalize(SG_LEGACY_PAYOUT, b->input, b->len, alloc,
                                &body, &err);
    if (rc != SG_OK) {
        bench_refused(path, "the C rules", &err);
    }

    legacy_len = body.len;
    legacy_out = malloc(legacy_len);
    if (legacy_out == NULL) {
        exit(2);
    }
    memcpy(legacy_out, body.data, legacy_len);

    rs->legacy_bytes = arena->bytes;

    arena_reset(arena);
    rc = sg_body_canonicalize(b->same, b->input, b->len, alloc, &body, &err);
    if (rc != SG_OK) {
        bench_refused(path, "the same rules as a schema", &err);
    }

    if (body.len != legacy_len || memcmp(body.data, legacy_out, legacy_len))
    {
        fprintf(stderr, "core_bench: %s: the engine's canonical body differs "
                "from the C rules'\n", path);
        exit(1);
    }

    free(legacy_out);

    arena_reset(arena);
    env = getenv("SG_BENCH_VERBOSE");
    if (env && *env == '1') {
        fprintf(stderr, "%s (%zu B):\n", path, b->len);
        arena->verbose = 1;
    }
    rc = sg_body_canonicalize(b->builtin, b->input, b->len, alloc, &body,
                              &err);
    arena->verbose = 0;
    if (rc != SG_OK) {
        bench_refused(path, "the built-in " PAYOUT, &err);
    }

    rs->len = b->len;
    rs->out_len = body.len;
    rs->allocs = arena->allocs;
    rs->bytes = arena->bytes;
    rs->large = arena->large;

    for (p = 0; p < BENCH_PATHS; p++) {
        rs->us[p] = 1e30;

        /* warm up */
        (void) bench_run((bench_path_t) p, b, alloc, arena,
                         seconds / rounds);
    }

    for (r = 0; r < rounds; r++) {
        for (k = 0; k < BENCH_PATHS; k++) {
            p = (r & 1) ? BENCH_PATHS - 1 - k : k;
            t[p] = bench_run((bench_path_t) p, b, alloc, arena,
                             seconds / rounds);

            if (t[p] < rs->us[p]) {
                rs->us[p] = t[p];
            }
        }

        for (p = 0; p < BENCH_PATHS; p++) {
            ratios[p][r] = t[p] / t[p < BENCH_LEGACY_CHECK
                                    ? BENCH_LEGACY : BENCH_LEGACY_CHECK];
        }
    }

    for (p = 0; p < BENCH_PATHS; p++) {
        rs->med[p] = median(ratios[p], rounds);
    }
}


static void
bench_refused(const char *path, const char *who, const sg_error_t *err)
{
    char  desc[256];

    sg_error_describe(err, desc, sizeof(desc));
    fprintf(stderr, "core_bench: %s is refused by %s: %s: %s\n", path, who,
            sg_error_code_name(err->code), desc);

    exit(1);
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

    if (path >= BENCH_LEGACY_CHECK) {
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
 * normalization (the currency to lower case) leaves it valid, and every
 * side gets the same treatment.
 */

static sg_code_t
bench_once(bench_path_t path, bench_body_t *b, sg_alloc_t *alloc,
    arena_t *arena, sg_body_t *body, sg_error_t *err)
{
    body->len = 0;

    switch (path) {

    case BENCH_LEGACY:
        arena_reset(arena);
        return sg_legacy_canonicalize(SG_LEGACY_PAYOUT, b->input, b->len,
                                      alloc, body, err);

    case BENCH_SAME:
        arena_reset(arena);
        return sg_body_canonicalize(b->same, b->input, b->len, alloc, body,
                                    err);

    case BENCH_BUILTIN:
        arena_reset(arena);
        return sg_body_canonicalize(b->builtin, b->input, b->len, alloc, body,
                                    err);

    case BENCH_LEGACY_CHECK:
        arena->used = b->mark;
        return sg_legacy_check(SG_LEGACY_PAYOUT, &b->doc, alloc, err);

    case BENCH_SAME_CHECK:
        arena->used = b->mark;
        return sg_schema_check(b->same, &b->doc, alloc, err);

    default:
        arena->used = b->mark;
        return sg_schema_check(b->builtin, &b->doc, alloc, err);
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
