/*
 * A signing key that never leaves an HSM: PKCS#11 through p11-kit (RFC 7512
 * URIs, module loading).  Checked in the master at configuration time, then
 * opened again by each worker: PKCS#11 state does not survive fork().
 */

#ifndef SG_PKCS11_H
#define SG_PKCS11_H

#include <stddef.h>
#include <time.h>


#define SG_PKCS11_URI_PREFIX    "pkcs11:"

/* a failed HSM is retried after 1 s, then 2, 4, ... up to this */
#define SG_PKCS11_BACKOFF_MAX   16

/* a fault is logged once, then at most this often, with a count */
#define SG_PKCS11_LOG_EVERY     10


typedef struct sg_pkcs11_key_s  sg_pkcs11_key_t;


/* whether a sg_sign_key value names a PKCS#11 key ("pkcs11:...") */
int sg_pkcs11_is_uri(const char *value);

/*
 * Checks a URI without touching any module: that p11-kit parses it as an
 * RFC 7512 URI and that it carries no PIN (pin-value, pin-source): the PIN
 * lives in a file with the key files' checks.  Returns 0, or -1 with a
 * message in errbuf (never the URI's PIN).
 */
int sg_pkcs11_check_uri(const char *uri, char *errbuf, size_t errlen);

/*
 * Configuration time, in the master.  Loads module_path (NULL: p11-kit's
 * proxy, every module the system registers), finds exactly one token and
 * one private key the URI names, refuses a locked PIN or one with a single
 * try left without trying it, logs in with the first line of pin_path
 * (read with the key files' checks; NULL if the token needs no login),
 * requires RSA of at least SG_SIGNER_MIN_BITS bits and CKM_SHA256_RSA_PKCS,
 * and signs and verifies a test message with the token's public key.  The
 * module is finalized again before returning: a worker opens it itself
 * (sg_pkcs11_open).  The PIN is kept in memory for the workers' logins.
 * On failure returns NULL with a message naming the URI and the problem
 * in errbuf (never the PIN).
 */
sg_pkcs11_key_t *sg_pkcs11_load(const char *uri, const char *module_path,
    const char *pin_path, char *errbuf, size_t errlen);

void sg_pkcs11_free(sg_pkcs11_key_t *key);

int sg_pkcs11_bits(const sg_pkcs11_key_t *key);
size_t sg_pkcs11_signature_size(const sg_pkcs11_key_t *key);
const char *sg_pkcs11_uri(const sg_pkcs11_key_t *key);

/* "sha256:" is not included: as sg_signer_fingerprint() */
const char *sg_pkcs11_fingerprint(const sg_pkcs11_key_t *key);

/*
 * In a worker, before it serves: initializes the module and opens a
 * logged-in session with the key.  Returns 0, or -1 with a message in
 * errbuf; the key then counts as failed, and signing retries (with the
 * backoff) until the token answers.
 */
int sg_pkcs11_open(sg_pkcs11_key_t *key, char *errbuf, size_t errlen);

/* a worker's exit: closes its sessions and finalizes the module */
void sg_pkcs11_close(sg_pkcs11_key_t *key);

/*
 * RSA PKCS#1 v1.5 + SHA-256 of data on the token, into sig (room for
 * sg_pkcs11_signature_size() bytes).  Safe from several threads: each
 * call takes a session of its own from the key's pool, opening one when
 * all are busy.  Returns 0 or -1.  On a fault that means the session, the
 * token or the object went away (CKR_DEVICE_REMOVED, ...) the key's
 * sessions are dropped, and the next call opens a new one and finds the
 * object again; while that fails, calls within the backoff fail at once.
 */
int sg_pkcs11_sign(sg_pkcs11_key_t *key, const void *data, size_t len,
    unsigned char *sig, size_t *sig_len);

/*
 * Why the last failed call failed, for the log: a PKCS#11 return value,
 * or 0 when the backoff refused to try.  With several threads, any recent
 * failure's.
 */
unsigned long sg_pkcs11_last_error(const sg_pkcs11_key_t *key);

/* whether the last PKCS#11 call for this key succeeded (for metrics) */
int sg_pkcs11_up(const sg_pkcs11_key_t *key);

/*
 * The fault log's pace: call once per failed signature.  Returns 1 when
 * the caller should log now (the first failure, then at most every
 * SG_PKCS11_LOG_EVERY seconds), with *count the failures since the last
 * line; 0 to stay quiet.
 */
int sg_pkcs11_fault_log(sg_pkcs11_key_t *key, time_t now,
    unsigned long *count);

/*
 * Call once per signature made.  Returns 1 the first time after logged
 * failures (the caller says the key signs again), with *count the
 * failures not logged yet; the next failure is then logged at once.
 */
int sg_pkcs11_recovered(sg_pkcs11_key_t *key, unsigned long *count);

/* p11-kit's text for a PKCS#11 return value ("The device was removed") */
const char *sg_pkcs11_strerror(unsigned long rv);


#endif /* SG_PKCS11_H */
