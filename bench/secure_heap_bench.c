/*
 * Signatures per second through the core's signer (sg_signer_load + sign),
 * with and without OpenSSL's secure heap, and with and without RSA's cache
 * of the private Montgomery contexts (bench/secure_heap.sh runs it).
 *
 *   secure_heap_bench KEY HEAP(0|1) CACHE(0|1) SECONDS
 */

/* the bench only: an RSA_METHOD is the one way to drop the private cache */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rsa.h>

#include "sg_signer.h"


static int (*bench_rsa_init)(RSA *rsa);


static int
bench_no_private_cache(RSA *rsa)
{
    int  rc;

    rc = (bench_rsa_init != NULL) ? bench_rsa_init(rsa) : 1;
    RSA_clear_flags(rsa, RSA_FLAG_CACHE_PRIVATE);

    return rc;
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int
main(int argc, char **argv)
{
    int                 heap, cache;
    char                errbuf[SG_SIGNER_ERRBUF_SIZE], sig[1024];
    size_t              sig_len, n;
    double              seconds, start, t;
    RSA_METHOD         *meth;
    sg_signer_t        *signer;
    const RSA_METHOD   *saved;
    static const char   body[] = "{\"session_id\":\"bench-secure-heap\"}";

    if (argc != 5) {
        fprintf(stderr, "usage: %s KEY HEAP CACHE SECONDS\n", argv[0]);
        return 2;
    }

    heap = atoi(argv[2]);
    cache = atoi(argv[3]);
    seconds = atof(argv[4]);

    if (heap && CRYPTO_secure_malloc_init(65536, 16) == 0) {
        fprintf(stderr, "no secure heap\n");
        return 1;
    }

    saved = RSA_get_default_method();
    meth = NULL;

    if (!cache) {
        meth = RSA_meth_dup(RSA_PKCS1_OpenSSL());
        bench_rsa_init = RSA_meth_get_init(meth);
        RSA_meth_set_init(meth, bench_no_private_cache);
        RSA_set_default_method(meth);
    }

    signer = sg_signer_load(argv[1], NULL, errbuf, sizeof(errbuf));
    RSA_set_default_method(saved);

    if (signer == NULL) {
        fprintf(stderr, "%s\n", errbuf);
        return 1;
    }

    n = 0;
    start = now();

    do {
        if (sg_signer_sign(signer, SG_ENCODING_BASE64, body,
                           sizeof(body) - 1, sig, &sig_len) != 0)
        {
            fprintf(stderr, "signing failed\n");
            return 1;
        }

        n++;
        t = now() - start;
    } while (t < seconds);

    printf("secure heap %-3s  private cache %-3s  %8.0f signs/s  "
           "heap used %zu bytes\n", heap ? "on" : "off",
           cache ? "on" : "off", n / t,
           heap ? CRYPTO_secure_used() : (size_t) 0);

    sg_signer_free(signer);
    RSA_meth_free(meth);

    return 0;
}
