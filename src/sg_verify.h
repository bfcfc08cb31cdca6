/*
 * The verifier: loads the provider's RSA public keys (at configuration
 * time, in nginx's master) and checks its webhooks' X-PARTNER-SIGN, RSA
 * PKCS#1 v1.5 + SHA-256 over the raw body, through OpenSSL 3's EVP.
 */

#ifndef SG_VERIFY_H
#define SG_VERIFY_H

#include <stddef.h>

#include "sg_signer.h"


#define SG_VERIFY_MAX_BITS      16384
#define SG_VERIFY_MAX_SIG       (SG_VERIFY_MAX_BITS / 8)
#define SG_VERIFY_MAX_B64       ((SG_VERIFY_MAX_SIG + 2) / 3 * 4)
#define SG_VERIFY_DIGEST_LEN    32
#define SG_VERIFY_ERRBUF_SIZE   SG_SIGNER_ERRBUF_SIZE


typedef struct sg_verifier_s  sg_verifier_t;


/*
 * Loads a PEM public key ("BEGIN PUBLIC KEY", SubjectPublicKeyInfo).
 * Refuses a file that is not a regular file, that is owned by anyone but
 * root or the effective user of the caller, or that group or others can
 * write; a file that holds a private key (it does not belong beside the
 * public ones: the master never needs it here), more or less than one
 * public key, and a key sg_rsa_key_check() refuses (non-RSA, RSA shorter
 * than SG_SIGNER_MIN_BITS).  On failure returns NULL and writes a message
 * naming the file and the problem (never its content) into errbuf.
 */
sg_verifier_t *sg_verifier_load(const char *path, char *errbuf,
    size_t errlen);

void sg_verifier_free(sg_verifier_t *verifier);

/* as sg_signer_fingerprint(): 64 lower-case hex digits, no "sha256:" */
const char *sg_verifier_fingerprint(const sg_verifier_t *verifier);

int sg_verifier_bits(const sg_verifier_t *verifier);

/* the length of this key's signatures, in bytes: its modulus' */
size_t sg_verifier_signature_size(const sg_verifier_t *verifier);

/*
 * Decodes standard base64 (RFC 4648 section 4) strictly: the length a
 * multiple of 4, '=' padding only at the end and only as needed, no
 * whitespace, no URL-safe alphabet, and the unused bits of the last
 * character zero (section 3.5), so one signature has one spelling.
 * Returns 0 and the length in *out_len, or -1 (also when the result would
 * not fit in size bytes).
 */
int sg_base64_decode(const char *in, size_t len, unsigned char *out,
    size_t size, size_t *out_len);

/* SHA-256 of data, once for every key tried; 0, or -1 on failure */
int sg_verify_digest(const void *data, size_t len,
    unsigned char md[SG_VERIFY_DIGEST_LEN]);

/*
 * Whether sig is this key's RSA PKCS#1 v1.5 signature of the SHA-256
 * digest md: 1 yes, 0 no (a signature of another length than the key's
 * included), -1 when OpenSSL failed (the caller must then fail closed).
 */
int sg_verifier_check(const sg_verifier_t *verifier,
    const unsigned char *sig, size_t sig_len,
    const unsigned char md[SG_VERIFY_DIGEST_LEN]);


#endif /* SG_VERIFY_H */
