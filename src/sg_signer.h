/*
 * The signer: loads the partner's RSA private key once (at configuration
 * time, in nginx's master) and signs bodies with RSA PKCS#1 v1.5 + SHA-256
 * through OpenSSL 3's EVP interfaces.  Never prints key material.
 */

#ifndef SG_SIGNER_H
#define SG_SIGNER_H

#include <stddef.h>


#define SG_SIGNER_MIN_BITS     2048
#define SG_SHA256_HEX_LEN      64
#define SG_SIGNER_ERRBUF_SIZE  256


typedef enum {
    SG_ENCODING_BASE64 = 0,     /* standard, padded, no line breaks */
    SG_ENCODING_HEX             /* lower case */
} sg_encoding_t;


typedef struct sg_signer_s  sg_signer_t;
struct evp_pkey_st;               /* OpenSSL's EVP_PKEY */


/*
 * Loads a PEM private key (PKCS#1 or PKCS#8, plain or encrypted).
 * passphrase_path may be NULL; its first line, without the line end, is the
 * passphrase.  Refuses a key or passphrase file that is not a regular file,
 * that is owned by anyone but root or the effective user of the caller (the
 * master's), or that group or others can access at all; a PEM holding more
 * than one private key (certificates beside the one key are fine); a
 * non-RSA key, RSA shorter than SG_SIGNER_MIN_BITS, a wrong passphrase, and
 * anything that is not a private key.  On failure returns NULL and writes a
 * message naming the file and the problem (never key material, never the
 * passphrase) into errbuf.
 */
sg_signer_t *sg_signer_load(const char *key_path, const char *passphrase_path,
    char *errbuf, size_t errlen);

void sg_signer_free(sg_signer_t *signer);

/*
 * A key in an HSM, named by an RFC 7512 URI: see sg_pkcs11_load() (the
 * checks, the PIN file, the module).  Signs, encodes and fingerprints as
 * a key file's; a worker opens it first (sg_pkcs11_open()).
 */
sg_signer_t *sg_signer_load_pkcs11(const char *uri, const char *module_path,
    const char *pin_path, char *errbuf, size_t errlen);

/* the PKCS#11 key behind signer, or NULL for a key file */
struct sg_pkcs11_key_s *sg_signer_pkcs11(const sg_signer_t *signer);

/* "sha256:" is not included: 64 lower-case hex digits of SHA-256 over the
   public key's DER SubjectPublicKeyInfo */
const char *sg_signer_fingerprint(const sg_signer_t *signer);

int sg_signer_bits(const sg_signer_t *signer);

/* the most bytes sg_signer_sign() writes for this key and encoding */
size_t sg_signer_signature_size(const sg_signer_t *signer, sg_encoding_t enc);

/*
 * Signs data and writes the encoded signature into out (not NUL-terminated;
 * out must hold sg_signer_signature_size() bytes).  Returns 0, or -1 when
 * signing failed (the caller must then fail closed).  Safe to call from
 * several threads with the same signer.
 */
int sg_signer_sign(const sg_signer_t *signer, sg_encoding_t enc,
    const void *data, size_t len, char *out, size_t *out_len);

/*
 * 0 when sig is pkey's RSA PKCS#1 v1.5 + SHA-256 signature of data, else
 * -1: the self-tests' check, with OpenSSL (pkey is an EVP_PKEY)
 */
int sg_signer_verify(struct evp_pkey_st *pkey, const void *data, size_t len,
    const unsigned char *sig, size_t sig_len);

/* SHA-256 of data as 64 lower-case hex digits plus NUL */
void sg_sha256_hex(const void *data, size_t len,
    char out[SG_SHA256_HEX_LEN + 1]);

/*
 * The fingerprint of an OpenSSL EVP_PKEY (struct evp_pkey_st), private or
 * public: sg_sha256_hex() of its DER SubjectPublicKeyInfo, the one
 * operators get from "openssl pkey -pubout -outform DER | sha256sum".
 * Shared by the signer and the verifier (sg_verify.c).  Returns 0, or -1.
 */
struct evp_pkey_st;

int sg_public_key_fingerprint(const struct evp_pkey_st *pkey,
    char out[SG_SHA256_HEX_LEN + 1]);

/*
 * Whether pkey is a key the gateway signs or verifies with: RSA (not
 * RSA-PSS), SG_SIGNER_MIN_BITS to 16384 bits.  Returns 0, or -1 with a
 * message naming "what" and path in errbuf.
 */
int sg_rsa_key_check(const char *what, const char *path,
    const struct evp_pkey_st *pkey, char *errbuf, size_t errlen);


#endif /* SG_SIGNER_H */
