/*
 * Signatures per second with one RSA-2048 key as a key file (OpenSSL in
 * the process) and as a PKCS#11 key (src/sg_pkcs11.c), on 1 and 2 threads
 * sharing the signer as the gateway's thread pool does.  bench_hsm.sh
 * makes the key, the token and runs it.
 *
 *   hsm_bench key.pem pkcs11-uri module pin-file seconds
 */

#define _POSIX_C_SOURCE  200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg_pkcs11.h"
#include "sg_signer.h"


#define BODY  "{\"amount_details\":{\"amount\":10000,\"currency\":\"rub\"}," \
              "\"session_id\":\"bench\"}"


typedef struct {
    sg_signer_t    *signer;
    double          seconds;
    unsigned long   count;
    unsigned long   failed;
} run_t;


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void *
loop(void *data)
{
    run_t   *run = data;
    char     out[1024];
    size_t   n;
    double   end;

    end = now() + run->seconds;

    while (now() < end) {
        if (sg_signer_sign(run->signer, SG_ENCODING_BASE64, BODY,
                           sizeof(BODY) - 1, out, &n)
            == 0)
        {
            run->count++;

        } else {
            run->failed++;
        }
    }

    return NULL;
}


static int
measure(const char *name, sg_signer_t *signer, int threads, double seconds)
{
    int            i;
    run_t          runs[2];
    pthread_t      tid[2];
    unsigned long  total, failed;

    for (i = 0; i < threads; i++) {
        runs[i].signer = signer;
        runs[i].seconds = seconds;
        runs[i].count = 0;
        runs[i].failed = 0;
        pthread_create(&tid[i], NULL, loop, &runs[i]);
    }

    total = 0;
    failed = 0;

    for (i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += runs[i].count;
        failed += runs[i].failed;
    }

    printf("%-10s %d thread%s  %8.0f signatures/s  %7.1f us each%s\n",
           name, threads, threads > 1 ? "s" : " ", total / seconds,
           seconds * 1e6 * threads / (total ? total : 1),
           failed ? "  FAILURES" : "");

    return failed ? -1 : 0;
}


int
main(int argc, char **argv)
{
    int           rc, t;
    char          err[512];
    double        seconds;
    sg_signer_t  *file, *hsm;

    if (argc != 6) {
        fprintf(stderr, "usage: %s key.pem uri module pin-file seconds\n",
                argv[0]);
        return 2;
    }

    seconds = atof(argv[5]);

    file = sg_signer_load(argv[1], NULL, err, sizeof(err));
    if (file == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }

    hsm = sg_signer_load_pkcs11(argv[2], argv[3], argv[4], err, sizeof(err));
    if (hsm == NULL || sg_pkcs11_open(sg_signer_pkcs11(hsm), err,
                                      sizeof(err))
                       != 0)
    {
        fprintf(stderr, "%s\n", err);
        return 1;
    }

    if (strcmp(sg_signer_fingerprint(file), sg_signer_fingerprint(hsm))
        != 0)
    {
        fprintf(stderr, "the token's key is not the key file's\n");
        return 1;
    }

    printf("RSA-%d, sha256:%.16s..., %.0f s per line\n",
           sg_signer_bits(file), sg_signer_fingerprint(file), seconds);

    rc = 0;

    for (t = 1; t <= 2; t++) {
        rc |= measure("key file", file, t, seconds);
        rc |= measure("PKCS#11", hsm, t, seconds);
    }

    sg_signer_free(hsm);
    sg_signer_free(file);

    return rc ? 1 : 0;
}
