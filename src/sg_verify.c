/*
 * The verifier: reads the provider's public keys once, refusing anything
 * that is not exactly one RSA public key, and checks webhook signatures.
 */

#define _POSIX_C_SOURCE  200809L

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "sg_error.h"
#include "sg_file.h"
#include "sg_verify.h"


/* a PEM public key, even RSA-16384, is far smaller */
#define SG_VERIFY_MAX_FILE   65536

#define SG_PEM_BEGIN         "-----BEGIN "


struct sg_verifier_s {
    EVP_PKEY  *pkey;
    size_t     sig_len;
    int        bits;
    char       fingerprint[SG_SHA256_HEX_LEN + 1];
};


static size_t sg_verify_pem_blocks(const char *pem);


sg_verifier_t *
sg_verifier_load(const char *path, char *errbuf, size_t errlen)
{
    BIO            *bio;
    size_t          len, blocks;
    EVP_PKEY       *pkey;
    const char     *pem;
    unsigned char  *buf;
    sg_verifier_t  *verifier;

    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }

    if (path == NULL) {
        sg_error_format(errbuf, errlen, "no public key file given");
        return NULL;
    }

    /* a public key is no secret, but a key others can replace is no key */
    buf = sg_file_read(path, "public key file", SG_FILE_RULES,
                       SG_VERIFY_MAX_FILE, &len, errbuf, errlen);
    if (buf == NULL) {
        return NULL;
    }

    pem = (const char *) buf;
    pkey = NULL;

    /*
     * A private key here is a mistake to stop, not to work around: the
     * partner's own key would be world-readable beside it, or the
     * provider's would be in the partner's hands.  Refused by its label
     * alone, never parsed.
     */
    if (strstr(pem, "PRIVATE KEY-----") != NULL) {
        sg_error_format(errbuf, errlen,
                        "public key file \"%s\" holds a private key: only "
                        "public keys belong here (openssl pkey -pubout)",
                        path);
        goto done;
    }

    /*
     * PEM_read_bio_PUBKEY() would take the first block and ignore the
     * rest: each key is configured on its own, where nginx -t can show it
     */
    blocks = sg_verify_pem_blocks(pem);

    if (blocks != 1 || strstr(pem, "-----BEGIN PUBLIC KEY-----") == NULL) {
        if (strstr(pem, "-----BEGIN RSA PUBLIC KEY-----") != NULL) {
            sg_error_format(errbuf, errlen,
                            "public key file \"%s\" holds a PKCS#1 RSA "
                            "public key: convert it with \"openssl rsa "
                            "-RSAPublicKey_in -pubout\"", path);

        } else if (strstr(pem, "CERTIFICATE-----") != NULL) {
            sg_error_format(errbuf, errlen,
                            "public key file \"%s\" holds a certificate: "
                            "extract its key with \"openssl x509 -pubkey "
                            "-noout\"", path);

        } else if (blocks > 1) {
            sg_error_format(errbuf, errlen,
                            "public key file \"%s\" holds %zu PEM blocks; "
                            "it must hold exactly one public key (repeat "
                            "the directive for more keys)", path, blocks);

        } else {
            sg_error_format(errbuf, errlen,
                            "public key file \"%s\" is not a PEM public key "
                            "(\"BEGIN PUBLIC KEY\")", path);
        }

        goto done;
    }

    bio = BIO_new_mem_buf(buf, (int) len);

    if (bio == NULL) {
        sg_error_format(errbuf, errlen,
                        "public key file \"%s\": out of memory", path);
        goto done;
    }

    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);

    if (pkey == NULL) {
        sg_error_format(errbuf, errlen,
                        "public key file \"%s\" is not a valid PEM public "
                        "key", path);
    }

done:

    /* OpenSSL's error strings may quote what it parsed: never pass them on */
    ERR_clear_error();

    /* what a refused file held (a private key, say) must not linger */
    OPENSSL_cleanse(buf, len);
    free(buf);

    if (pkey == NULL) {
        return NULL;
    }

    if (sg_rsa_key_check("public key file", path, pkey, errbuf, errlen)
        != 0)
    {
        EVP_PKEY_free(pkey);
        return NULL;
    }

    verifier = calloc(1, sizeof(sg_verifier_t));
    if (verifier == NULL) {
        sg_error_format(errbuf, errlen,
                        "public key file \"%s\": out of memory", path);
        EVP_PKEY_free(pkey);
        return NULL;
    }

    verifier->pkey = pkey;
    verifier->bits = EVP_PKEY_get_bits(pkey);
    verifier->sig_len = (size_t) EVP_PKEY_get_size(pkey);

    if (sg_public_key_fingerprint(pkey, verifier->fingerprint) != 0) {
        sg_error_format(errbuf, errlen,
                        "public key file \"%s\": cannot encode the public "
                        "key", path);
        sg_verifier_free(verifier);
        return NULL;
    }

    return verifier;
}


void
sg_verifier_free(sg_verifier_t *verifier)
{
    if (verifier == NULL) {
        return;
    }

    EVP_PKEY_free(verifier->pkey);
    free(verifier);
}


const char *
sg_verifier_fingerprint(const sg_verifier_t *verifier)
{
    return verifier->fingerprint;
}


int
sg_verifier_bits(const sg_verifier_t *verifier)
{
    return verifier->bits;
}


size_t
sg_verifier_signature_size(const sg_verifier_t *verifier)
{
    return verifier->sig_len;
}


int
sg_base64_decode(const char *in, size_t len, unsigned char *out,
    size_t size, size_t *out_len)
{
    int             v;
    size_t          i, k, pad, n;
    unsigned char   c;
    unsigned long   acc;

    *out_len = 0;

    if (len == 0 || len % 4 != 0) {
        return -1;
    }

    pad = 0;

    if (in[len - 1] == '=') {
        pad = (in[len - 2] == '=') ? 2 : 1;
    }

    n = len / 4 * 3 - pad;

    if (n > size) {
        return -1;
    }

    k = 0;
    acc = 0;

    for (i = 0; i < len - pad; i++) {
        c = (unsigned char) in[i];

        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';

        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;

        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;

        } else if (c == '+') {
            v = 62;

        } else if (c == '/') {
            v = 63;

        } else {
            /* '=' inside, whitespace, '-', '_', anything else */
            return -1;
        }

        acc = (acc << 6) | (unsigned long) v;

        if (i % 4 == 3) {
            out[k++] = (unsigned char) (acc >> 16);
            out[k++] = (unsigned char) (acc >> 8);
            out[k++] = (unsigned char) acc;
            acc = 0;
        }
    }

    /*
     * The last group: "xx==" carries 8 bits in 12, "xxx=" 16 in 18; the
     * bits left over must be zero (RFC 4648 3.5), or two spellings would
     * decode to one signature
     */
    if (pad == 2) {
        if ((acc & 0x0f) != 0) {
            return -1;
        }

        out[k++] = (unsigned char) (acc >> 4);

    } else if (pad == 1) {
        if ((acc & 0x03) != 0) {
            return -1;
        }

        out[k++] = (unsigned char) (acc >> 10);
        out[k++] = (unsigned char) (acc >> 2);
    }

    *out_len = k;

    return 0;
}


int
sg_verify_digest(const void *data, size_t len,
    unsigned char md[SG_VERIFY_DIGEST_LEN])
{
    unsigned int  n;

    if (data == NULL) {
        data = "";
    }

    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1
        || n != SG_VERIFY_DIGEST_LEN)
    {
        ERR_clear_error();
        return -1;
    }

    return 0;
}


/*
 * A fresh context per check, as the signer does: an EVP_PKEY may be
 * shared, a context may not.  The public operation is some 30 us with
 * RSA-2048 ("openssl speed rsa2048" here), in the event loop: no thread
 * pool is worth its hand-off for that.
 */

int
sg_verifier_check(const sg_verifier_t *verifier, const unsigned char *sig,
    size_t sig_len, const unsigned char md[SG_VERIFY_DIGEST_LEN])
{
    int            rc;
    EVP_PKEY_CTX  *ctx;

    /* RSA signatures have the modulus' length exactly (RFC 8017 8.2.2) */
    if (sig_len != verifier->sig_len) {
        return 0;
    }

    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, verifier->pkey, NULL);
    if (ctx == NULL) {
        ERR_clear_error();
        return -1;
    }

    rc = -1;

    if (EVP_PKEY_verify_init(ctx) == 1
        && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1
        && EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1)
    {
        /* 1: verified; 0 or a negative value: a signature that is not */
        rc = (EVP_PKEY_verify(ctx, sig, sig_len, md, SG_VERIFY_DIGEST_LEN)
              == 1) ? 1 : 0;
    }

    EVP_PKEY_CTX_free(ctx);

    /* a bad signature leaves errors on the queue: not ours to keep */
    ERR_clear_error();

    return rc;
}


/* the PEM blocks, by their BEGIN lines at the start of a line */

static size_t
sg_verify_pem_blocks(const char *pem)
{
    size_t       n;
    const char  *p;

    n = 0;

    for (p = pem; p != NULL; p = strchr(p, '\n')) {
        if (*p == '\n') {
            p++;
        }

        if (strncmp(p, SG_PEM_BEGIN, sizeof(SG_PEM_BEGIN) - 1) == 0) {
            n++;
        }
    }

    return n;
}
