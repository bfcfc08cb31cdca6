/*
 * The signer: reads the partner's RSA key once, refusing anything unsafe,
 * and signs bodies with RSA PKCS#1 v1.5 + SHA-256 through OpenSSL 3's EVP.
 */

#define _POSIX_C_SOURCE  200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "sg_error.h"
#include "sg_file.h"
#include "sg_pkcs11.h"
#include "sg_signer.h"


/* a PEM key, even RSA-16384 with a certificate chain, is far smaller */
#define SG_SIGNER_MAX_FILE   65536

#define SG_PEM_BEGIN         "-----BEGIN "
#define SG_PEM_DASHES        "-----"
#define SG_PEM_PRIVATE_KEY   "PRIVATE KEY"

/* OpenSSL refuses to sign with larger moduli; sizes the stack buffers */
#define SG_SIGNER_MAX_BITS   16384
#define SG_SIGNER_MAX_SIG    (SG_SIGNER_MAX_BITS / 8)
#define SG_SIGNER_MAX_B64    ((SG_SIGNER_MAX_SIG + 2) / 3 * 4)


struct sg_signer_s {
    EVP_PKEY  *pkey;
    size_t     sig_len;
    int        bits;
    char       fingerprint[SG_SHA256_HEX_LEN + 1];
    sg_pkcs11_key_t  *p11;   /* a key in an HSM: pkey is NULL */
};


typedef struct {
    const unsigned char  *data;
    size_t                len;
    int                   called;
    int                   too_long;
} sg_signer_pass_t;


static size_t sg_signer_private_keys(const unsigned char *pem, size_t len);
static void sg_signer_scrub_frees(int on);
static void sg_signer_discard(unsigned char *buf, size_t len);
static int sg_signer_password_cb(char *buf, int size, int rwflag, void *data);
static void sg_signer_pem_error(const char *key_path,
    const char *passphrase_path, const unsigned char *pem,
    const sg_signer_pass_t *pass, char *errbuf, size_t errlen);
static int sg_signer_check_key(const char *key_path, EVP_PKEY *pkey,
    char *errbuf, size_t errlen);
static int sg_signer_raw(const sg_signer_t *signer, const void *data,
    size_t len, unsigned char *sig, size_t *sig_len);
static int sg_signer_self_test(const sg_signer_t *signer);
static void sg_signer_hex(const unsigned char *in, size_t len, char *out);


sg_signer_t *
sg_signer_load(const char *key_path, const char *passphrase_path,
    char *errbuf, size_t errlen)
{
    BIO               *bio;
    size_t             pem_len, pw_len, nkeys;
    EVP_PKEY          *pkey;
    sg_signer_t       *signer;
    unsigned char     *pem, *pw, *eol;
    sg_signer_pass_t   pass;

    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }

    if (key_path == NULL) {
        sg_error_format(errbuf, errlen, "no key file given");
        return NULL;
    }

    pem = sg_file_read(key_path, "key file", SG_FILE_SECRET,
                       SG_SIGNER_MAX_FILE, &pem_len, errbuf, errlen);
    if (pem == NULL) {
        return NULL;
    }

    /*
     * OpenSSL would load the first key and ignore the rest: which one signs
     * must not depend on the order in which two keys were pasted together
     */
    nkeys = sg_signer_private_keys(pem, pem_len);

    if (nkeys > 1) {
        sg_error_format(errbuf, errlen,
                        "key file \"%s\" holds %zu private keys; it must "
                        "hold exactly one", key_path, nkeys);
        sg_signer_discard(pem, pem_len);
        return NULL;
    }

    pw = NULL;
    pw_len = 0;

    memset(&pass, 0, sizeof(sg_signer_pass_t));

    if (passphrase_path != NULL) {
        pw = sg_file_read(passphrase_path, "passphrase file",
                          SG_FILE_SECRET, SG_SIGNER_MAX_FILE, &pw_len,
                          errbuf, errlen);
        if (pw == NULL) {
            sg_signer_discard(pem, pem_len);
            return NULL;
        }

        /* as nginx's ssl_password_file: the first line, without its end */
        pass.data = pw;
        eol = memchr(pw, '\n', pw_len);
        pass.len = (eol != NULL) ? (size_t) (eol - pw) : pw_len;

        if (pass.len > 0 && pw[pass.len - 1] == '\r') {
            pass.len--;
        }

        if (pass.len == 0) {
            sg_error_format(errbuf, errlen,
                            "passphrase file \"%s\" is empty or its first "
                            "line is empty", passphrase_path);
            sg_signer_discard(pw, pw_len);
            sg_signer_discard(pem, pem_len);
            return NULL;
        }
    }

    pkey = NULL;

    bio = BIO_new_mem_buf(pem, (int) pem_len);

    if (bio == NULL) {
        sg_error_format(errbuf, errlen, "key file \"%s\": out of memory",
                        key_path);

    } else {
        /*
         * a callback always, even without a passphrase: OpenSSL's default
         * one would prompt on the terminal of whoever runs "nginx -t"
         */
        sg_signer_scrub_frees(1);
        pkey = PEM_read_bio_PrivateKey(bio, NULL, sg_signer_password_cb,
                                       &pass);
        BIO_free(bio);
        sg_signer_scrub_frees(0);

        if (pkey == NULL) {
            sg_signer_pem_error(key_path, passphrase_path, pem, &pass,
                                errbuf, errlen);
        }
    }

    /* OpenSSL's error strings may quote what it parsed: never pass them on */
    ERR_clear_error();

    sg_signer_discard(pw, pw_len);
    sg_signer_discard(pem, pem_len);

    if (pkey == NULL) {
        return NULL;
    }

    if (sg_signer_check_key(key_path, pkey, errbuf, errlen) != 0) {
        EVP_PKEY_free(pkey);
        return NULL;
    }

    signer = calloc(1, sizeof(sg_signer_t));
    if (signer == NULL) {
        sg_error_format(errbuf, errlen, "key file \"%s\": out of memory",
                        key_path);
        EVP_PKEY_free(pkey);
        return NULL;
    }

    signer->pkey = pkey;
    signer->bits = EVP_PKEY_get_bits(pkey);
    signer->sig_len = (size_t) EVP_PKEY_get_size(pkey);

    if (sg_public_key_fingerprint(pkey, signer->fingerprint) != 0) {
        sg_error_format(errbuf, errlen,
                        "key file \"%s\": cannot encode the public key",
                        key_path);
        sg_signer_free(signer);
        return NULL;
    }

    /*
     * fail at "nginx -t", not on the first payout, if this key or this
     * OpenSSL cannot make a signature its own public key accepts
     */
    if (signer->fingerprint[0] == '\0' || sg_signer_self_test(signer) != 0) {
        sg_error_format(errbuf, errlen,
                        "key file \"%s\": the key fails a sign and verify "
                        "self-test", key_path);
        sg_signer_free(signer);
        return NULL;
    }

    return signer;
}


void
sg_signer_free(sg_signer_t *signer)
{
    if (signer == NULL) {
        return;
    }

    /* EVP_PKEY_free clears the private numbers itself */
    EVP_PKEY_free(signer->pkey);
    sg_pkcs11_free(signer->p11);
    free(signer);
}


const char *
sg_signer_fingerprint(const sg_signer_t *signer)
{
    return signer->fingerprint;
}


int
sg_signer_bits(const sg_signer_t *signer)
{
    return signer->bits;
}


size_t
sg_signer_signature_size(const sg_signer_t *signer, sg_encoding_t enc)
{
    if (enc == SG_ENCODING_HEX) {
        return signer->sig_len * 2;
    }

    return (signer->sig_len + 2) / 3 * 4;
}


int
sg_signer_sign(const sg_signer_t *signer, sg_encoding_t enc,
    const void *data, size_t len, char *out, size_t *out_len)
{
    int            n;
    size_t         sig_len;
    unsigned char  sig[SG_SIGNER_MAX_SIG];
    unsigned char  b64[SG_SIGNER_MAX_B64 + 1];

    *out_len = 0;

    if (signer == NULL || (signer->pkey == NULL && signer->p11 == NULL)) {
        return -1;
    }

    if (sg_signer_raw(signer, data, len, sig, &sig_len) != 0) {
        return -1;
    }

    if (enc == SG_ENCODING_HEX) {
        sg_signer_hex(sig, sig_len, out);
        *out_len = sig_len * 2;
        return 0;
    }

    if (enc != SG_ENCODING_BASE64) {
        return -1;
    }

    /* EVP_EncodeBlock adds a NUL that out has no room for */
    n = EVP_EncodeBlock(b64, sig, (int) sig_len);
    if (n <= 0 || (size_t) n > sg_signer_signature_size(signer, enc)) {
        return -1;
    }

    memcpy(out, b64, (size_t) n);
    *out_len = (size_t) n;

    return 0;
}


void
sg_sha256_hex(const void *data, size_t len, char out[SG_SHA256_HEX_LEN + 1])
{
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    if (data == NULL) {
        data = "";
    }

    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1
        || n * 2 != SG_SHA256_HEX_LEN)
    {
        /* an empty string never matches a real digest */
        ERR_clear_error();
        out[0] = '\0';
        return;
    }

    sg_signer_hex(md, n, out);
    out[SG_SHA256_HEX_LEN] = '\0';
}


int
sg_public_key_fingerprint(const struct evp_pkey_st *pkey,
    char out[SG_SHA256_HEX_LEN + 1])
{
    int             der_len;
    unsigned char  *der;

    out[0] = '\0';

    der = NULL;
    der_len = i2d_PUBKEY(pkey, &der);

    if (der_len <= 0 || der == NULL) {
        ERR_clear_error();
        OPENSSL_free(der);
        return -1;
    }

    sg_sha256_hex(der, (size_t) der_len, out);
    OPENSSL_free(der);

    return (out[0] != '\0') ? 0 : -1;
}


/*
 * Counts the PEM blocks whose label ends in "PRIVATE KEY" (PKCS#8, its
 * ENCRYPTED form, PKCS#1 "RSA", "EC", ...) by their BEGIN lines alone: the
 * key material is neither decoded nor copied.  As OpenSSL's PEM reader, a
 * block begins only at the start of a line.
 */

static size_t
sg_signer_private_keys(const unsigned char *pem, size_t len)
{
    size_t                n, i;
    const unsigned char  *p, *end, *eol, *label, *dashes;

    n = 0;
    p = pem;
    end = pem + len;

    while (p < end) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            eol = end;
        }

        if ((size_t) (eol - p) > sizeof(SG_PEM_BEGIN) - 1
            && memcmp(p, SG_PEM_BEGIN, sizeof(SG_PEM_BEGIN) - 1) == 0)
        {
            label = p + sizeof(SG_PEM_BEGIN) - 1;
            dashes = NULL;

            /* the label ends at the first "-----" on the line */
            for (i = 0; label + i + sizeof(SG_PEM_DASHES) - 1 <= eol; i++) {
                if (memcmp(label + i, SG_PEM_DASHES,
                           sizeof(SG_PEM_DASHES) - 1)
                    == 0)
                {
                    dashes = label + i;
                    break;
                }
            }

            if (dashes != NULL
                && (size_t) (dashes - label) >= sizeof(SG_PEM_PRIVATE_KEY) - 1
                && memcmp(dashes - (sizeof(SG_PEM_PRIVATE_KEY) - 1),
                          SG_PEM_PRIVATE_KEY,
                          sizeof(SG_PEM_PRIVATE_KEY) - 1)
                   == 0)
            {
                n++;
            }
        }

        p = (eol < end) ? eol + 1 : end;
    }

    return n;
}


/*
 * OpenSSL 3.0's decoders copy the DER of the key into ordinary memory and
 * free it without cleansing it (decode_der2key.c: OPENSSL_free(der)), and
 * the private numbers are found there later, in freed memory.  While a key
 * is decoded, glibc's M_PERTURB makes free() overwrite what it frees; the
 * chunks its tcache keeps (up to 1032 bytes) are not overwritten, and the
 * DER of an RSA key of 2048 bits or more is larger.  Config time: single
 * threaded.
 */

static void
sg_signer_scrub_frees(int on)
{
#if defined(__GLIBC__) && defined(M_PERTURB)
    (void) mallopt(M_PERTURB, on ? 0x5a : 0);
#else
    (void) on;
#endif
}


static void
sg_signer_discard(unsigned char *buf, size_t len)
{
    if (buf == NULL) {
        return;
    }

    OPENSSL_cleanse(buf, len);
    free(buf);
}


static int
sg_signer_password_cb(char *buf, int size, int rwflag, void *data)
{
    sg_signer_pass_t  *pass = data;

    (void) rwflag;

    /* being asked at all is how an encrypted key is told from garbage */
    pass->called = 1;

    if (pass->data == NULL) {
        return -1;
    }

    if (size < 0 || pass->len > (size_t) size) {
        pass->too_long = 1;
        return -1;
    }

    memcpy(buf, pass->data, pass->len);

    return (int) pass->len;
}


/*
 * OpenSSL only says the PEM could not be read; the operator needs to know
 * why.  The labels tell what the file holds without quoting any of it.
 */

static void
sg_signer_pem_error(const char *key_path, const char *passphrase_path,
    const unsigned char *pem, const sg_signer_pass_t *pass, char *errbuf,
    size_t errlen)
{
    const char  *s = (const char *) pem;

    if (pass->too_long) {
        sg_error_format(errbuf, errlen,
                        "key file \"%s\": cannot decrypt key: the passphrase "
                        "in \"%s\" is too long", key_path, passphrase_path);
        return;
    }

    /* the buffer is NUL-terminated by sg_file_read() */
    if (pass->called
        || strstr(s, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL
        || strstr(s, "Proc-Type: 4,ENCRYPTED") != NULL)
    {
        if (pass->data == NULL) {
            sg_error_format(errbuf, errlen,
                            "key file \"%s\" is encrypted: set "
                            "sg_sign_key_passphrase_file", key_path);

        } else {
            sg_error_format(errbuf, errlen,
                            "key file \"%s\": cannot decrypt key: wrong "
                            "passphrase in \"%s\"", key_path,
                            passphrase_path);
        }

        return;
    }

    if (strstr(s, "PUBLIC KEY-----") != NULL) {
        sg_error_format(errbuf, errlen,
                        "key file \"%s\" holds a public key, not a private "
                        "key", key_path);
        return;
    }

    if (strstr(s, "CERTIFICATE REQUEST-----") != NULL) {
        sg_error_format(errbuf, errlen,
                        "key file \"%s\" holds a certificate request, not a "
                        "private key", key_path);
        return;
    }

    if (strstr(s, "CERTIFICATE-----") != NULL) {
        sg_error_format(errbuf, errlen,
                        "key file \"%s\" holds a certificate, not a private "
                        "key", key_path);
        return;
    }

    sg_error_format(errbuf, errlen, "key file \"%s\" is not a PEM private key",
                    key_path);
}


static int
sg_signer_check_key(const char *key_path, EVP_PKEY *pkey, char *errbuf,
    size_t errlen)
{
    return sg_rsa_key_check("key file", key_path, pkey, errbuf, errlen);
}


int
sg_rsa_key_check(const char *what, const char *path,
    const struct evp_pkey_st *pkey, char *errbuf, size_t errlen)
{
    int          bits;
    const char  *type;

    /* RSA-PSS keys are a type of their own: they cannot sign PKCS#1 v1.5 */
    if (!EVP_PKEY_is_a(pkey, "RSA")) {
        type = EVP_PKEY_get0_type_name(pkey);

        if (type == NULL || type[0] == '\0') {
            type = "non-RSA";
        }

        /* "an EC", "an ED25519", "an RSA-PSS", but "a DSA" */
        sg_error_format(errbuf, errlen,
                        "%s \"%s\" is %s %s key; an RSA key is required",
                        what, path,
                        strchr("AEFHILMNORSX", type[0]) != NULL ? "an" : "a",
                        type);
        return -1;
    }

    bits = EVP_PKEY_get_bits(pkey);

    if (bits < SG_SIGNER_MIN_BITS) {
        sg_error_format(errbuf, errlen,
                        "%s \"%s\": RSA key is %d bits; at least %d are "
                        "required", what, path, bits, SG_SIGNER_MIN_BITS);
        return -1;
    }

    if (bits > SG_SIGNER_MAX_BITS
        || EVP_PKEY_get_size(pkey) > SG_SIGNER_MAX_SIG)
    {
        sg_error_format(errbuf, errlen,
                        "%s \"%s\": RSA key is %d bits; at most %d are "
                        "supported", what, path, bits, SG_SIGNER_MAX_BITS);
        return -1;
    }

    return 0;
}


/*
 * A fresh context per signature: OpenSSL documents an EVP_PKEY as safe to
 * share between threads, a context is not.  Measured with RSA-2048, setting
 * one up costs about 2.5 us of a 250 us signature; copying a prepared one
 * would save 1% and rely on undocumented behaviour.
 */

static int
sg_signer_raw(const sg_signer_t *signer, const void *data, size_t len,
    unsigned char *sig, size_t *sig_len)
{
    int            rc;
    EVP_MD_CTX    *ctx;
    EVP_PKEY_CTX  *pctx;

    if (data == NULL) {
        data = "";
    }

    if (signer->p11 != NULL) {
        return sg_pkcs11_sign(signer->p11, data, len, sig, sig_len);
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        ERR_clear_error();
        return -1;
    }

    rc = -1;
    *sig_len = SG_SIGNER_MAX_SIG;

    if (EVP_DigestSignInit_ex(ctx, &pctx, "SHA256", NULL, NULL, signer->pkey,
                              NULL) == 1
        && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1
        && EVP_DigestSign(ctx, sig, sig_len, data, len) == 1
        && *sig_len == signer->sig_len)
    {
        rc = 0;
    }

    EVP_MD_CTX_free(ctx);

    if (rc != 0) {
        ERR_clear_error();
    }

    return rc;
}


/*
 * On a copy of the key: signing caches Montgomery contexts for p and q
 * (plain copies of the primes, outside the secure heap) in the key itself;
 * the copy's go with it, cleansed, and the master keeps none.  A key
 * OpenSSL cannot copy (one with its own RSA_METHOD) is tested itself, but
 * not when a secure heap was asked for.
 */

static int
sg_signer_self_test(const sg_signer_t *signer)
{
    int                 rc;
    size_t              sig_len;
    sg_signer_t         copy;
    unsigned char       sig[SG_SIGNER_MAX_SIG];
    static const char   msg[] = "sg_signer self-test";

    copy = *signer;
    copy.pkey = EVP_PKEY_dup(signer->pkey);

    if (copy.pkey == NULL) {
        ERR_clear_error();

        /* with a secure heap, a key of ours is copied unless it is full */
        if (CRYPTO_secure_malloc_initialized()) {
            return -1;
        }

        rc = sg_signer_raw(signer, msg, sizeof(msg) - 1, sig, &sig_len);

    } else {
        rc = sg_signer_raw(&copy, msg, sizeof(msg) - 1, sig, &sig_len);
        EVP_PKEY_free(copy.pkey);
    }

    if (rc != 0) {
        return -1;
    }

    return sg_signer_verify(signer->pkey, msg, sizeof(msg) - 1, sig,
                            sig_len);
}


int
sg_signer_verify(struct evp_pkey_st *pkey, const void *data, size_t len,
    const unsigned char *sig, size_t sig_len)
{
    int          rc;
    EVP_MD_CTX  *ctx;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        ERR_clear_error();
        return -1;
    }

    rc = -1;

    if (EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, pkey, NULL)
        == 1
        && EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1)
    {
        rc = 0;
    }

    EVP_MD_CTX_free(ctx);

    if (rc != 0) {
        ERR_clear_error();
    }

    return rc;
}


static void
sg_signer_hex(const unsigned char *in, size_t len, char *out)
{
    size_t              i;
    static const char   hex[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 0x0f];
    }
}


/*
 * A key in an HSM (src/sg_pkcs11.c) behind the same interface: the glue
 * signs, encodes and fingerprints it as a key file's.
 */

sg_signer_t *
sg_signer_load_pkcs11(const char *uri, const char *module_path,
    const char *pin_path, char *errbuf, size_t errlen)
{
    sg_signer_t      *signer;
    sg_pkcs11_key_t  *p11;

    p11 = sg_pkcs11_load(uri, module_path, pin_path, errbuf, errlen);
    if (p11 == NULL) {
        return NULL;
    }

    signer = calloc(1, sizeof(sg_signer_t));
    if (signer == NULL) {
        sg_error_format(errbuf, errlen, "PKCS#11 key: out of memory");
        sg_pkcs11_free(p11);
        return NULL;
    }

    signer->p11 = p11;
    signer->bits = sg_pkcs11_bits(p11);
    signer->sig_len = sg_pkcs11_signature_size(p11);
    memcpy(signer->fingerprint, sg_pkcs11_fingerprint(p11),
           SG_SHA256_HEX_LEN + 1);

    return signer;
}


sg_pkcs11_key_t *
sg_signer_pkcs11(const sg_signer_t *signer)
{
    return signer->p11;
}
