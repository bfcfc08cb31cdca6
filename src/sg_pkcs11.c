/*
 * PKCS#11 keys: the master checks the key and the PIN at "nginx -t", each
 * worker opens the module again and signs through a pool of sessions.
 */

#define _POSIX_C_SOURCE  200809L

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "sg_error.h"
#include "sg_file.h"
#include "sg_pkcs11.h"
#include "sg_signer.h"


/*
 * p11-kit's proxy: every module the system registers (pkcs11.conf(5)).
 * The build passes pkg-config's proxy_module; this is Debian's amd64 path.
 */
#ifndef SG_PKCS11_PROXY
#define SG_PKCS11_PROXY        "/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so"
#endif

/* a PIN is a line; a file this large is not a PIN file */
#define SG_PKCS11_PIN_MAX      4096

/* the most idle sessions a worker keeps per key: one per busy thread */
#define SG_PKCS11_IDLE_MAX     64

#define SG_PKCS11_MAX_SIG      (16384 / 8)

#define SG_PKCS11_OPEN_TRIES   5

/* session_get()'s "not tried: the backoff is not over" */
#define SG_PKCS11_BACKOFF      (CKR_VENDOR_DEFINED | 0x5347)


/*
 * A module is loaded once per path in a process and initialized once
 * however many keys use it: C_Finalize for one key must not end another's.
 */
typedef struct sg_pkcs11_module_s  sg_pkcs11_module_t;

struct sg_pkcs11_module_s {
    sg_pkcs11_module_t    *next;
    char                  *path;
    CK_FUNCTION_LIST      *fl;
    void                  *proxy;        /* the proxy's dlopen() handle */
    unsigned               refs;
    unsigned               inits;

    /*
     * Every call in a worker holds it for reading; a re-initialization
     * (a token that went away and came back: SoftHSM2, network HSMs)
     * holds it for writing, and invalidates every session: epoch++.
     */
    pthread_rwlock_t       calls;
    unsigned               epoch;
};


struct sg_pkcs11_key_s {
    char                  *uri_text;     /* has no PIN: refused */
    P11KitUri             *uri;
    sg_pkcs11_module_t    *module;
    CK_FUNCTION_LIST      *fl;
    unsigned char         *pin;
    size_t                 pin_len;

    unsigned char         *modulus;      /* what the workers must find */
    size_t                 modulus_len;
    int                    bits;
    size_t                 sig_len;
    char                   fingerprint[SG_SHA256_HEX_LEN + 1];

    /* a worker's state, under lock */
    pthread_mutex_t        lock;
    int                    initialized;  /* this key's module init */
    CK_SLOT_ID             slot;
    CK_OBJECT_HANDLE       object;
    CK_SESSION_HANDLE      idle[SG_PKCS11_IDLE_MAX];
    unsigned               nidle;
    unsigned               generation;   /* sessions older are closed */
    unsigned               epoch;        /* the module's, when opened */
    int                    broken;
    unsigned               backoff;
    time_t                 retry_at;
    int                    up;
    CK_RV                  last_rv;

    unsigned long          faults;       /* not yet logged */
    time_t                 logged_at;
    int                    logged;
};


static sg_pkcs11_module_t  *sg_pkcs11_modules;
static pthread_mutex_t      sg_pkcs11_modules_lock = PTHREAD_MUTEX_INITIALIZER;


static sg_pkcs11_module_t *sg_pkcs11_module_get(const char *path,
    char *errbuf, size_t errlen);
static void sg_pkcs11_module_put(sg_pkcs11_module_t *m);
static CK_FUNCTION_LIST *sg_pkcs11_proxy_load(sg_pkcs11_module_t *m);
static CK_RV sg_pkcs11_module_init(sg_pkcs11_module_t *m);
static void sg_pkcs11_module_fini(sg_pkcs11_module_t *m);
static int sg_pkcs11_read_pin(sg_pkcs11_key_t *key, const char *pin_path,
    char *errbuf, size_t errlen);
static CK_RV sg_pkcs11_connect(sg_pkcs11_key_t *key,
    CK_SESSION_HANDLE *session, EVP_PKEY **pkey, char *errbuf,
    size_t errlen);
static CK_RV sg_pkcs11_find_slot(sg_pkcs11_key_t *key, char *errbuf,
    size_t errlen);
static CK_RV sg_pkcs11_login(sg_pkcs11_key_t *key,
    CK_SESSION_HANDLE session, char *errbuf, size_t errlen);
static CK_RV sg_pkcs11_find_object(sg_pkcs11_key_t *key,
    CK_SESSION_HANDLE session, char *errbuf, size_t errlen);
static CK_RV sg_pkcs11_public_key(sg_pkcs11_key_t *key,
    CK_SESSION_HANDLE session, EVP_PKEY **pkey, char *errbuf,
    size_t errlen);
static CK_RV sg_pkcs11_attribute(sg_pkcs11_key_t *key,
    CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
    CK_ATTRIBUTE_TYPE type, unsigned char **value, size_t *len);
static EVP_PKEY *sg_pkcs11_rsa_public(const unsigned char *n, size_t n_len,
    const unsigned char *e, size_t e_len);
static int sg_pkcs11_check_mechanism(sg_pkcs11_key_t *key, char *errbuf,
    size_t errlen);
static int sg_pkcs11_self_test(sg_pkcs11_key_t *key,
    CK_SESSION_HANDLE session, EVP_PKEY *pkey);
static CK_RV sg_pkcs11_session_get(sg_pkcs11_key_t *key,
    CK_SESSION_HANDLE *session);
static void sg_pkcs11_session_put(sg_pkcs11_key_t *key,
    CK_SESSION_HANDLE session, unsigned generation, unsigned epoch,
    CK_RV rv);
static void sg_pkcs11_close_session(sg_pkcs11_key_t *key,
    CK_SESSION_HANDLE session, unsigned epoch);
static CK_RV sg_pkcs11_reconnect(sg_pkcs11_key_t *key,
    CK_SESSION_HANDLE *session, char *errbuf, size_t errlen);
static int sg_pkcs11_is_gone(CK_RV rv);
static void sg_pkcs11_drop_sessions(sg_pkcs11_key_t *key);
static int sg_pkcs11_is_fault(CK_RV rv);
static time_t sg_pkcs11_now(void);


int
sg_pkcs11_is_uri(const char *value)
{
    return value != NULL
           && strncmp(value, SG_PKCS11_URI_PREFIX,
                      sizeof(SG_PKCS11_URI_PREFIX) - 1)
              == 0;
}


int
sg_pkcs11_check_uri(const char *uri, char *errbuf, size_t errlen)
{
    int         rc;
    P11KitUri  *p;

    p = p11_kit_uri_new();
    if (p == NULL) {
        sg_error_format(errbuf, errlen, "PKCS#11 URI: out of memory");
        return -1;
    }

    rc = p11_kit_uri_parse(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, p);

    if (rc != P11_KIT_URI_OK) {
        /* the URI is not quoted: a malformed one may hold a PIN */
        sg_error_format(errbuf, errlen, "PKCS#11 URI is not a valid RFC 7512 "
                        "URI: %s", p11_kit_uri_message(rc));
        rc = -1;

    } else if (p11_kit_uri_get_pin_value(p) != NULL
               || p11_kit_uri_get_pin_source(p) != NULL)
    {
        sg_error_format(errbuf, errlen, "PKCS#11 URI carries a PIN "
                        "(pin-value or pin-source); the PIN belongs in the "
                        "file sg_sign_key_passphrase_file names");
        rc = -1;

    } else if (p11_kit_uri_get_module_path(p) != NULL
               || p11_kit_uri_get_module_name(p) != NULL)
    {
        /* URIs of modules (module-path=) would bypass sg_sign_pkcs11_module */
        sg_error_format(errbuf, errlen, "PKCS#11 URI \"%s\" names a module "
                        "(module-path or module-name); use "
                        "sg_sign_pkcs11_module", uri);
        rc = -1;

    } else {
        rc = 0;
    }

    p11_kit_uri_free(p);

    return rc;
}


sg_pkcs11_key_t *
sg_pkcs11_load(const char *uri, const char *module_path, const char *pin_path,
    char *errbuf, size_t errlen)
{
    int                 der_len;
    CK_RV               rv;
    EVP_PKEY           *pkey;
    unsigned char      *der;
    sg_pkcs11_key_t    *key;
    CK_SESSION_HANDLE   session;

    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }

    if (sg_pkcs11_check_uri(uri, errbuf, errlen) != 0) {
        return NULL;
    }

    key = calloc(1, sizeof(sg_pkcs11_key_t));
    if (key == NULL) {
        sg_error_format(errbuf, errlen, "PKCS#11 key: out of memory");
        return NULL;
    }

    if (pthread_mutex_init(&key->lock, NULL) != 0) {
        free(key);
        sg_error_format(errbuf, errlen, "PKCS#11 key: cannot make a mutex");
        return NULL;
    }

    key->object = CK_INVALID_HANDLE;
    key->uri_text = strdup(uri);
    key->uri = p11_kit_uri_new();

    if (key->uri_text == NULL || key->uri == NULL
        || p11_kit_uri_parse(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, key->uri)
           != P11_KIT_URI_OK)
    {
        sg_error_format(errbuf, errlen, "PKCS#11 key: out of memory");
        goto failed;
    }

    if (pin_path != NULL
        && sg_pkcs11_read_pin(key, pin_path, errbuf, errlen) != 0)
    {
        goto failed;
    }

    key->module = sg_pkcs11_module_get(module_path, errbuf, errlen);
    if (key->module == NULL) {
        goto failed;
    }

    key->fl = key->module->fl;

    rv = sg_pkcs11_module_init(key->module);
    if (rv != CKR_OK) {
        sg_error_format(errbuf, errlen, "PKCS#11 module \"%s\" fails to "
                        "initialize: %s", key->module->path,
                        p11_kit_strerror(rv));
        goto failed;
    }

    key->initialized = 1;

    pkey = NULL;
    session = CK_INVALID_HANDLE;

    rv = sg_pkcs11_connect(key, &session, &pkey, errbuf, errlen);

    if (rv == CKR_OK && sg_pkcs11_check_mechanism(key, errbuf, errlen) != 0) {
        rv = CKR_MECHANISM_INVALID;
    }

    if (rv == CKR_OK) {
        /* the fingerprint operators compare with the token's public key */
        der = NULL;
        der_len = i2d_PUBKEY(pkey, &der);

        if (der_len > 0 && der != NULL) {
            sg_sha256_hex(der, (size_t) der_len, key->fingerprint);
        }

        OPENSSL_free(der);
        ERR_clear_error();

        if (key->fingerprint[0] == '\0'
            || sg_pkcs11_self_test(key, session, pkey) != 0)
        {
            sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\" fails a "
                            "sign and verify self-test", uri);
            rv = CKR_GENERAL_ERROR;
        }
    }

    EVP_PKEY_free(pkey);

    if (session != CK_INVALID_HANDLE) {
        key->fl->C_CloseSession(session);
    }

    /* workers open it again: PKCS#11 state does not survive fork() */
    sg_pkcs11_module_fini(key->module);
    key->initialized = 0;
    key->object = CK_INVALID_HANDLE;

    if (rv != CKR_OK) {
        goto failed;
    }

    return key;

failed:

    sg_pkcs11_free(key);
    return NULL;
}


void
sg_pkcs11_free(sg_pkcs11_key_t *key)
{
    if (key == NULL) {
        return;
    }

    if (key->module != NULL) {
        if (key->initialized) {
            sg_pkcs11_close(key);
        }

        sg_pkcs11_module_put(key->module);
    }

    if (key->pin != NULL) {
        OPENSSL_secure_clear_free(key->pin, key->pin_len);
    }

    if (key->uri != NULL) {
        p11_kit_uri_free(key->uri);
    }

    free(key->modulus);
    free(key->uri_text);
    pthread_mutex_destroy(&key->lock);
    free(key);
}


int
sg_pkcs11_bits(const sg_pkcs11_key_t *key)
{
    return key->bits;
}


size_t
sg_pkcs11_signature_size(const sg_pkcs11_key_t *key)
{
    return key->sig_len;
}


const char *
sg_pkcs11_uri(const sg_pkcs11_key_t *key)
{
    return key->uri_text;
}


const char *
sg_pkcs11_fingerprint(const sg_pkcs11_key_t *key)
{
    return key->fingerprint;
}


int
sg_pkcs11_open(sg_pkcs11_key_t *key, char *errbuf, size_t errlen)
{
    int                i;
    CK_RV              rv;
    CK_SESSION_HANDLE  session;
    struct timespec    pause = { 0, 50 * 1000 * 1000 };

    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }

    pthread_mutex_lock(&key->lock);

    /*
     * As a re-open: a token some module lists only after C_Initialize
     * again gets that chance.  SoftHSM2's file store may not list a token
     * another worker is opening at the same moment, or fail to read its
     * flags (CKR_GENERAL_ERROR): a few tries, 50 ms apart, before the
     * worker serves.  A refused PIN is never tried again.
     */
    for (i = 0; i < SG_PKCS11_OPEN_TRIES; i++) {
        rv = sg_pkcs11_reconnect(key, &session, errbuf, errlen);

        if (rv == CKR_OK
            || !(sg_pkcs11_is_gone(rv) || rv == CKR_GENERAL_ERROR
                 || rv == CKR_FUNCTION_FAILED))
        {
            break;
        }

        nanosleep(&pause, NULL);
    }

    if (rv == CKR_OK) {
        key->idle[key->nidle++] = session;
        key->broken = 0;
        key->backoff = 0;
        key->up = 1;

    } else {
        /* the first payout tries again at once, then with the backoff */
        key->broken = 1;
        key->backoff = 0;
        key->retry_at = sg_pkcs11_now();
        key->up = 0;
        key->last_rv = rv;
    }

    pthread_mutex_unlock(&key->lock);

    return (rv == CKR_OK) ? 0 : -1;
}


void
sg_pkcs11_close(sg_pkcs11_key_t *key)
{
    pthread_mutex_lock(&key->lock);

    if (key->initialized) {
        sg_pkcs11_drop_sessions(key);
        sg_pkcs11_module_fini(key->module);
        key->initialized = 0;
    }

    pthread_mutex_unlock(&key->lock);
}


int
sg_pkcs11_sign(sg_pkcs11_key_t *key, const void *data, size_t len,
    unsigned char *sig, size_t *sig_len)
{
    CK_RV              r;
    CK_ULONG           n;
    unsigned           generation, epoch;
    CK_MECHANISM       mech = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    CK_OBJECT_HANDLE   object;
    CK_SESSION_HANDLE  session;

    *sig_len = 0;

    pthread_mutex_lock(&key->lock);

    r = sg_pkcs11_session_get(key, &session);

    generation = key->generation;
    epoch = key->epoch;
    object = key->object;

    if (r != CKR_OK) {
        key->last_rv = (r == SG_PKCS11_BACKOFF) ? 0 : r;
    }

    pthread_mutex_unlock(&key->lock);

    if (r != CKR_OK) {
        return -1;
    }

    /* outside the lock: the HSM signs for several threads at once */

    n = key->sig_len;

    pthread_rwlock_rdlock(&key->module->calls);

    if (epoch != key->module->epoch) {
        /* re-initialized meanwhile: the handle may be someone else's */
        r = CKR_SESSION_HANDLE_INVALID;

    } else {
        r = key->fl->C_SignInit(session, &mech, object);

        if (r == CKR_OK) {
            r = key->fl->C_Sign(session, (CK_BYTE_PTR) data, len, sig, &n);
        }
    }

    pthread_rwlock_unlock(&key->module->calls);

    if (r == CKR_OK && n != key->sig_len) {
        r = CKR_GENERAL_ERROR;
    }

    pthread_mutex_lock(&key->lock);
    sg_pkcs11_session_put(key, session, generation, epoch, r);
    pthread_mutex_unlock(&key->lock);

    if (r != CKR_OK) {
        return -1;
    }

    *sig_len = n;

    return 0;
}


int
sg_pkcs11_up(const sg_pkcs11_key_t *key)
{
    int  up;

    pthread_mutex_lock((pthread_mutex_t *) &key->lock);
    up = key->up;
    pthread_mutex_unlock((pthread_mutex_t *) &key->lock);

    return up;
}


unsigned long
sg_pkcs11_last_error(const sg_pkcs11_key_t *key)
{
    CK_RV  rv;

    pthread_mutex_lock((pthread_mutex_t *) &key->lock);
    rv = key->last_rv;
    pthread_mutex_unlock((pthread_mutex_t *) &key->lock);

    return rv;
}


int
sg_pkcs11_fault_log(sg_pkcs11_key_t *key, time_t now, unsigned long *count)
{
    int  log;

    pthread_mutex_lock(&key->lock);

    key->faults++;

    log = !key->logged || now - key->logged_at >= SG_PKCS11_LOG_EVERY;

    if (log) {
        *count = key->faults;
        key->faults = 0;
        key->logged = 1;
        key->logged_at = now;
    }

    pthread_mutex_unlock(&key->lock);

    return log;
}


int
sg_pkcs11_recovered(sg_pkcs11_key_t *key, unsigned long *count)
{
    int  recovered;

    pthread_mutex_lock(&key->lock);

    recovered = key->logged;

    if (recovered) {
        *count = key->faults;
        key->faults = 0;
        key->logged = 0;
    }

    pthread_mutex_unlock(&key->lock);

    return recovered;
}


const char *
sg_pkcs11_strerror(unsigned long rv)
{
    return p11_kit_strerror(rv);
}


static sg_pkcs11_module_t *
sg_pkcs11_module_get(const char *path, char *errbuf, size_t errlen)
{
    char                *p11_err;
    sg_pkcs11_module_t  *m;

    if (path == NULL) {
        path = SG_PKCS11_PROXY;
    }

    pthread_mutex_lock(&sg_pkcs11_modules_lock);

    for (m = sg_pkcs11_modules; m; m = m->next) {
        if (strcmp(m->path, path) == 0) {
            m->refs++;
            pthread_mutex_unlock(&sg_pkcs11_modules_lock);
            return m;
        }
    }

    m = calloc(1, sizeof(sg_pkcs11_module_t));
    if (m == NULL || (m->path = strdup(path)) == NULL) {
        free(m);
        pthread_mutex_unlock(&sg_pkcs11_modules_lock);
        sg_error_format(errbuf, errlen, "PKCS#11 module: out of memory");
        return NULL;
    }

    if (strcmp(path, SG_PKCS11_PROXY) == 0) {
        m->fl = sg_pkcs11_proxy_load(m);
        p11_err = dlerror();

    } else {
        /*
         * unmanaged: the module itself, initialized and finalized here,
         * not p11-kit's wrapper with its own idea of when that happens
         */
        m->fl = p11_kit_module_load(path, P11_KIT_MODULE_UNMANAGED);
        p11_err = (char *) p11_kit_message();
    }

    if (m->fl == NULL) {
        sg_error_format(errbuf, errlen, "PKCS#11 module \"%s\" does not "
                        "load: %s", path,
                        p11_err != NULL ? p11_err : "unknown error");
        free(m->path);
        free(m);
        pthread_mutex_unlock(&sg_pkcs11_modules_lock);
        return NULL;
    }

    pthread_rwlock_init(&m->calls, NULL);

    m->refs = 1;
    m->next = sg_pkcs11_modules;
    sg_pkcs11_modules = m;

    pthread_mutex_unlock(&sg_pkcs11_modules_lock);

    return m;
}


static void
sg_pkcs11_module_put(sg_pkcs11_module_t *m)
{
    sg_pkcs11_module_t  **pm;

    pthread_mutex_lock(&sg_pkcs11_modules_lock);

    if (--m->refs > 0) {
        pthread_mutex_unlock(&sg_pkcs11_modules_lock);
        return;
    }

    for (pm = &sg_pkcs11_modules; *pm; pm = &(*pm)->next) {
        if (*pm == m) {
            *pm = m->next;
            break;
        }
    }

    pthread_mutex_unlock(&sg_pkcs11_modules_lock);

    if (m->proxy != NULL) {
        dlclose(m->proxy);

    } else {
        p11_kit_module_release(m->fl);
    }

    pthread_rwlock_destroy(&m->calls);
    free(m->path);
    free(m);
}


/*
 * p11-kit will not load its own proxy as a module (p11_kit_module_load
 * refuses it): the proxy is opened as any PKCS#11 application opens it.
 */

static CK_FUNCTION_LIST *
sg_pkcs11_proxy_load(sg_pkcs11_module_t *m)
{
    CK_RV                  rv;
    CK_FUNCTION_LIST      *fl;
    CK_C_GetFunctionList   get;

    m->proxy = dlopen(m->path, RTLD_NOW | RTLD_LOCAL);
    if (m->proxy == NULL) {
        return NULL;
    }

    *(void **) &get = dlsym(m->proxy, "C_GetFunctionList");

    if (get == NULL || (rv = get(&fl)) != CKR_OK || fl == NULL) {
        dlclose(m->proxy);
        m->proxy = NULL;
        return NULL;
    }

    return fl;
}


static CK_RV
sg_pkcs11_module_init(sg_pkcs11_module_t *m)
{
    CK_RV                 rv;
    CK_C_INITIALIZE_ARGS  args;

    pthread_mutex_lock(&sg_pkcs11_modules_lock);

    if (m->inits > 0) {
        m->inits++;
        pthread_mutex_unlock(&sg_pkcs11_modules_lock);
        return CKR_OK;
    }

    /* the signing threads call it at once: the OS's locks */
    memset(&args, 0, sizeof(CK_C_INITIALIZE_ARGS));
    args.flags = CKF_OS_LOCKING_OK;

    rv = m->fl->C_Initialize(&args);

    if (rv == CKR_OK) {
        m->inits = 1;
    }

    pthread_mutex_unlock(&sg_pkcs11_modules_lock);

    return rv;
}


static void
sg_pkcs11_module_fini(sg_pkcs11_module_t *m)
{
    pthread_mutex_lock(&sg_pkcs11_modules_lock);

    if (m->inits > 0 && --m->inits == 0) {
        m->fl->C_Finalize(NULL);
    }

    pthread_mutex_unlock(&sg_pkcs11_modules_lock);
}


static int
sg_pkcs11_read_pin(sg_pkcs11_key_t *key, const char *pin_path, char *errbuf,
    size_t errlen)
{
    size_t          len, line;
    unsigned char  *buf, *eol;

    buf = sg_file_read(pin_path, "PIN file", SG_FILE_SECRET,
                       SG_PKCS11_PIN_MAX, &len, errbuf, errlen);
    if (buf == NULL) {
        return -1;
    }

    /* as the passphrase file: the first line, without its end */
    eol = memchr(buf, '\n', len);
    line = (eol != NULL) ? (size_t) (eol - buf) : len;

    if (line > 0 && buf[line - 1] == '\r') {
        line--;
    }

    if (line == 0) {
        sg_error_format(errbuf, errlen, "PIN file \"%s\" is empty or its "
                        "first line is empty", pin_path);
        OPENSSL_cleanse(buf, len);
        free(buf);
        return -1;
    }

    /* kept for logins after a fault: in the secure heap when there is one */
    key->pin = OPENSSL_secure_malloc(line);
    if (key->pin == NULL) {
        sg_error_format(errbuf, errlen, "PIN file \"%s\": out of memory "
                        "(or sg_sign_secure_heap is full)", pin_path);
        OPENSSL_cleanse(buf, len);
        free(buf);
        return -1;
    }

    memcpy(key->pin, buf, line);
    key->pin_len = line;

    OPENSSL_cleanse(buf, len);
    free(buf);

    return 0;
}


/*
 * Finds the token, opens a session, logs in, finds the object and reads
 * its public key.  The first time (the master's), the public key is kept;
 * a worker checks it finds the very same one: the fingerprint in the log
 * must be the key that signs.
 */

static CK_RV
sg_pkcs11_connect(sg_pkcs11_key_t *key, CK_SESSION_HANDLE *session,
    EVP_PKEY **pkey, char *errbuf, size_t errlen)
{
    CK_RV      rv;
    EVP_PKEY  *pk;

    *session = CK_INVALID_HANDLE;

    rv = sg_pkcs11_find_slot(key, errbuf, errlen);
    if (rv != CKR_OK) {
        return rv;
    }

    rv = key->fl->C_OpenSession(key->slot, CKF_SERIAL_SESSION, NULL, NULL,
                                session);
    if (rv != CKR_OK) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": cannot open a "
                        "session: %s", key->uri_text, p11_kit_strerror(rv));
        *session = CK_INVALID_HANDLE;
        return rv;
    }

    rv = sg_pkcs11_login(key, *session, errbuf, errlen);

    if (rv == CKR_OK) {
        rv = sg_pkcs11_find_object(key, *session, errbuf, errlen);
    }

    pk = NULL;

    if (rv == CKR_OK) {
        rv = sg_pkcs11_public_key(key, *session, &pk, errbuf, errlen);
    }

    if (rv != CKR_OK) {
        key->fl->C_CloseSession(*session);
        *session = CK_INVALID_HANDLE;
        return rv;
    }

    if (pkey != NULL) {
        *pkey = pk;

    } else {
        EVP_PKEY_free(pk);
    }

    return CKR_OK;
}


/* exactly one token present that the URI names */

static CK_RV
sg_pkcs11_find_slot(sg_pkcs11_key_t *key, char *errbuf, size_t errlen)
{
    CK_RV           rv;
    CK_ULONG        n, i, found;
    CK_SLOT_ID     *slots;
    CK_SLOT_INFO    si;
    CK_TOKEN_INFO   ti;

    rv = key->fl->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv != CKR_OK) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": cannot list "
                        "the slots: %s", key->uri_text, p11_kit_strerror(rv));
        return rv;
    }

    slots = calloc(n ? n : 1, sizeof(CK_SLOT_ID));
    if (slots == NULL) {
        sg_error_format(errbuf, errlen, "PKCS#11 key: out of memory");
        return CKR_HOST_MEMORY;
    }

    rv = key->fl->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK) {
        free(slots);
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": cannot list "
                        "the slots: %s", key->uri_text, p11_kit_strerror(rv));
        return rv;
    }

    found = 0;

    for (i = 0; i < n; i++) {
        if (key->fl->C_GetSlotInfo(slots[i], &si) != CKR_OK
            || !p11_kit_uri_match_slot_info(key->uri, &si)
            || key->fl->C_GetTokenInfo(slots[i], &ti) != CKR_OK
            || !p11_kit_uri_match_token_info(key->uri, &ti))
        {
            continue;
        }

        if (found++ == 0) {
            key->slot = slots[i];
        }
    }

    free(slots);

    if (found == 0) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": no token "
                        "present matches", key->uri_text);
        return CKR_TOKEN_NOT_PRESENT;
    }

    if (found > 1) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": %lu tokens "
                        "match; name one (token=, serial=)", key->uri_text,
                        (unsigned long) found);
        return CKR_ARGUMENTS_BAD;
    }

    return CKR_OK;
}


/*
 * The token's flags first: a locked PIN, or one with a single try left,
 * is not tried, so a reload with a wrong PIN never burns the last retry.
 */

static CK_RV
sg_pkcs11_login(sg_pkcs11_key_t *key, CK_SESSION_HANDLE session,
    char *errbuf, size_t errlen)
{
    CK_RV          rv;
    CK_TOKEN_INFO  ti;

    rv = key->fl->C_GetTokenInfo(key->slot, &ti);
    if (rv != CKR_OK) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": cannot read "
                        "the token's flags: %s", key->uri_text,
                        p11_kit_strerror(rv));
        return rv;
    }

    if (ti.flags & CKF_USER_PIN_LOCKED) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": the token's "
                        "user PIN is locked", key->uri_text);
        return CKR_PIN_LOCKED;
    }

    if (ti.flags & CKF_USER_PIN_FINAL_TRY) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": the token "
                        "allows one more PIN try; not trying (reset the "
                        "counter with a correct login elsewhere)",
                        key->uri_text);
        return CKR_PIN_LOCKED;
    }

    if (!(ti.flags & CKF_LOGIN_REQUIRED)) {
        return CKR_OK;
    }

    if (key->pin == NULL) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": the token "
                        "needs a login: set sg_sign_key_passphrase_file to "
                        "a file with the user PIN", key->uri_text);
        return CKR_USER_NOT_LOGGED_IN;
    }

    rv = key->fl->C_Login(session, CKU_USER, key->pin, key->pin_len);

    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        return CKR_OK;
    }

    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": wrong PIN",
                        key->uri_text);

    } else {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": login failed: "
                        "%s", key->uri_text, p11_kit_strerror(rv));
    }

    return rv;
}


/* exactly one private key the URI's attributes name (id, object, type) */

static CK_RV
sg_pkcs11_find_object(sg_pkcs11_key_t *key, CK_SESSION_HANDLE session,
    char *errbuf, size_t errlen)
{
    CK_RV              rv;
    CK_ULONG           n, i, count;
    CK_ATTRIBUTE      *attrs, *a, tmpl[4];
    CK_KEY_TYPE        type;
    CK_OBJECT_CLASS    cls;
    CK_OBJECT_HANDLE   found[2];

    attrs = p11_kit_uri_get_attributes(key->uri, &n);

    cls = CKO_PRIVATE_KEY;
    count = 0;

    tmpl[count].type = CKA_CLASS;
    tmpl[count].pValue = &cls;
    tmpl[count].ulValueLen = sizeof(cls);
    count++;

    for (i = 0; i < n; i++) {
        a = &attrs[i];

        if (a->type == CKA_CLASS) {
            if (a->ulValueLen != sizeof(CK_OBJECT_CLASS)
                || *(CK_OBJECT_CLASS *) a->pValue != CKO_PRIVATE_KEY)
            {
                sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": the URI "
                                "must name a private key (type=private)",
                                key->uri_text);
                return CKR_ARGUMENTS_BAD;
            }

            continue;
        }

        if ((a->type == CKA_LABEL || a->type == CKA_ID) && count < 4) {
            tmpl[count++] = *a;
        }
    }

    rv = key->fl->C_FindObjectsInit(session, tmpl, count);
    if (rv != CKR_OK) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": cannot search "
                        "the token: %s", key->uri_text, p11_kit_strerror(rv));
        return rv;
    }

    rv = key->fl->C_FindObjects(session, found, 2, &n);
    key->fl->C_FindObjectsFinal(session);

    if (rv != CKR_OK) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": cannot search "
                        "the token: %s", key->uri_text, p11_kit_strerror(rv));
        return rv;
    }

    if (n == 0) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": no private key "
                        "on the token matches", key->uri_text);
        return CKR_OBJECT_HANDLE_INVALID;
    }

    if (n > 1) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": several private "
                        "keys match; name one (object=, id=)", key->uri_text);
        return CKR_ARGUMENTS_BAD;
    }

    tmpl[0].type = CKA_KEY_TYPE;
    tmpl[0].pValue = &type;
    tmpl[0].ulValueLen = sizeof(type);

    rv = key->fl->C_GetAttributeValue(session, found[0], tmpl, 1);
    if (rv != CKR_OK) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": cannot read the "
                        "key type: %s", key->uri_text, p11_kit_strerror(rv));
        return rv;
    }

    if (type != CKK_RSA) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\" is %s key; an "
                        "RSA key is required", key->uri_text,
                        type == CKK_EC ? "an EC"
                        : type == CKK_DSA ? "a DSA" : "a non-RSA");
        return CKR_KEY_TYPE_INCONSISTENT;
    }

    key->object = found[0];

    return CKR_OK;
}


/*
 * The public half from the private key object (CKA_MODULUS and
 * CKA_PUBLIC_EXPONENT are public even on a sensitive key), else from the
 * public key object with the same CKA_ID.
 */

static CK_RV
sg_pkcs11_public_key(sg_pkcs11_key_t *key, CK_SESSION_HANDLE session,
    EVP_PKEY **pkey, char *errbuf, size_t errlen)
{
    int                bits;
    CK_RV              rv;
    size_t             n_len, e_len, id_len;
    CK_ULONG           count;
    EVP_PKEY          *pk;
    CK_ATTRIBUTE       tmpl[2];
    unsigned char     *n, *e, *id;
    CK_OBJECT_CLASS    cls;
    CK_OBJECT_HANDLE   pub;

    n = NULL;
    e = NULL;

    rv = sg_pkcs11_attribute(key, session, key->object, CKA_MODULUS, &n,
                             &n_len);
    if (rv == CKR_OK) {
        rv = sg_pkcs11_attribute(key, session, key->object,
                                 CKA_PUBLIC_EXPONENT, &e, &e_len);
    }

    if (rv != CKR_OK) {
        free(n);
        n = NULL;
        e = NULL;

        id = NULL;
        rv = sg_pkcs11_attribute(key, session, key->object, CKA_ID, &id,
                                 &id_len);

        if (rv == CKR_OK) {
            cls = CKO_PUBLIC_KEY;
            tmpl[0].type = CKA_CLASS;
            tmpl[0].pValue = &cls;
            tmpl[0].ulValueLen = sizeof(cls);
            tmpl[1].type = CKA_ID;
            tmpl[1].pValue = id;
            tmpl[1].ulValueLen = id_len;

            rv = key->fl->C_FindObjectsInit(session, tmpl, 2);

            if (rv == CKR_OK) {
                rv = key->fl->C_FindObjects(session, &pub, 1, &count);
                key->fl->C_FindObjectsFinal(session);

                if (rv == CKR_OK && count != 1) {
                    rv = CKR_OBJECT_HANDLE_INVALID;
                }
            }
        }

        free(id);

        if (rv == CKR_OK) {
            rv = sg_pkcs11_attribute(key, session, pub, CKA_MODULUS, &n,
                                     &n_len);
        }

        if (rv == CKR_OK) {
            rv = sg_pkcs11_attribute(key, session, pub, CKA_PUBLIC_EXPONENT,
                                     &e, &e_len);
        }

        if (rv != CKR_OK) {
            free(n);
            sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": cannot read "
                            "its public key from the token", key->uri_text);
            return rv;
        }
    }

    if (key->modulus != NULL) {
        /* a worker: the very key the master checked */
        rv = (n_len == key->modulus_len
              && memcmp(n, key->modulus, n_len) == 0)
             ? CKR_OK : CKR_KEY_CHANGED;

        if (rv != CKR_OK) {
            sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\" is not the "
                            "key checked at configuration time (sha256:%s); "
                            "reload", key->uri_text, key->fingerprint);
        }

        free(n);
        free(e);

        return rv;
    }

    pk = sg_pkcs11_rsa_public(n, n_len, e, e_len);
    free(e);

    if (pk == NULL) {
        free(n);
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": its public key "
                        "is not a valid RSA key", key->uri_text);
        return CKR_GENERAL_ERROR;
    }

    bits = EVP_PKEY_get_bits(pk);

    if (bits < SG_SIGNER_MIN_BITS || EVP_PKEY_get_size(pk) > SG_PKCS11_MAX_SIG)
    {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": RSA key is %d "
                        "bits; at least %d are required", key->uri_text, bits,
                        SG_SIGNER_MIN_BITS);
        EVP_PKEY_free(pk);
        free(n);
        return CKR_KEY_SIZE_RANGE;
    }

    key->bits = bits;
    key->sig_len = (size_t) EVP_PKEY_get_size(pk);
    key->modulus = n;
    key->modulus_len = n_len;

    *pkey = pk;

    return CKR_OK;
}


static CK_RV
sg_pkcs11_attribute(sg_pkcs11_key_t *key, CK_SESSION_HANDLE session,
    CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, unsigned char **value,
    size_t *len)
{
    CK_RV         rv;
    CK_ATTRIBUTE  a;

    *value = NULL;
    *len = 0;

    a.type = type;
    a.pValue = NULL;
    a.ulValueLen = 0;

    rv = key->fl->C_GetAttributeValue(session, object, &a, 1);
    if (rv != CKR_OK) {
        return rv;
    }

    if (a.ulValueLen == (CK_ULONG) -1 || a.ulValueLen == 0
        || a.ulValueLen > 65536)
    {
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }

    a.pValue = malloc(a.ulValueLen);
    if (a.pValue == NULL) {
        return CKR_HOST_MEMORY;
    }

    rv = key->fl->C_GetAttributeValue(session, object, &a, 1);
    if (rv != CKR_OK) {
        free(a.pValue);
        return rv;
    }

    *value = a.pValue;
    *len = a.ulValueLen;

    return CKR_OK;
}


static EVP_PKEY *
sg_pkcs11_rsa_public(const unsigned char *n, size_t n_len,
    const unsigned char *e, size_t e_len)
{
    BIGNUM          *bn_n, *bn_e;
    EVP_PKEY        *pkey;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *ctx;
    OSSL_PARAM_BLD  *bld;

    pkey = NULL;
    params = NULL;
    ctx = NULL;

    bn_n = BN_bin2bn(n, (int) n_len, NULL);
    bn_e = BN_bin2bn(e, (int) e_len, NULL);
    bld = OSSL_PARAM_BLD_new();

    if (bn_n != NULL && bn_e != NULL && bld != NULL
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1
        && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1
        && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL
        && (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL
        && EVP_PKEY_fromdata_init(ctx) == 1
        && EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        pkey = NULL;
    }

    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    ERR_clear_error();

    return pkey;
}


static int
sg_pkcs11_check_mechanism(sg_pkcs11_key_t *key, char *errbuf, size_t errlen)
{
    CK_RV              rv;
    CK_MECHANISM_INFO  info;

    rv = key->fl->C_GetMechanismInfo(key->slot, CKM_SHA256_RSA_PKCS, &info);

    if (rv != CKR_OK || !(info.flags & CKF_SIGN)) {
        sg_error_format(errbuf, errlen, "PKCS#11 key \"%s\": the token does "
                        "not sign with CKM_SHA256_RSA_PKCS (RSA PKCS#1 v1.5 "
                        "with SHA-256)", key->uri_text);
        return -1;
    }

    return 0;
}


static int
sg_pkcs11_self_test(sg_pkcs11_key_t *key, CK_SESSION_HANDLE session,
    EVP_PKEY *pkey)
{
    CK_RV               rv;
    CK_ULONG            n;
    CK_MECHANISM        mech = { CKM_SHA256_RSA_PKCS, NULL, 0 };
    unsigned char       sig[SG_PKCS11_MAX_SIG];
    static const char   msg[] = "sg_pkcs11 self-test";

    n = sizeof(sig);

    rv = key->fl->C_SignInit(session, &mech, key->object);
    if (rv == CKR_OK) {
        rv = key->fl->C_Sign(session, (CK_BYTE_PTR) msg, sizeof(msg) - 1,
                             sig, &n);
    }

    if (rv != CKR_OK || n != key->sig_len) {
        return -1;
    }

    /* with OpenSSL and the token's public key, not the token */
    return sg_signer_verify(pkey, msg, sizeof(msg) - 1, sig, n);
}


/*
 * Under key->lock.  A failed key is tried again once its backoff is over:
 * a new session, a login, the object found again (its old handle may stay
 * invalid even when the token is back).  Otherwise an idle session, or a
 * new one when every session is busy in another thread.
 */

static CK_RV
sg_pkcs11_session_get(sg_pkcs11_key_t *key, CK_SESSION_HANDLE *session)
{
    char      errbuf[SG_SIGNER_ERRBUF_SIZE];
    CK_RV     rv;
    time_t    now;
    unsigned  epoch;

    if (!key->broken) {
        pthread_rwlock_rdlock(&key->module->calls);
        epoch = key->module->epoch;
        pthread_rwlock_unlock(&key->module->calls);

        if (epoch != key->epoch) {
            /* another key re-initialized the module: our handles died */
            key->nidle = 0;
            sg_pkcs11_drop_sessions(key);
            key->broken = 1;
            key->backoff = 0;
            key->retry_at = sg_pkcs11_now();
        }
    }

    if (key->broken) {
        now = sg_pkcs11_now();

        if (now < key->retry_at) {
            return SG_PKCS11_BACKOFF;
        }

        rv = sg_pkcs11_reconnect(key, session, errbuf, sizeof(errbuf));

        if (rv != CKR_OK) {
            key->backoff = key->backoff ? key->backoff * 2 : 1;

            if (key->backoff > SG_PKCS11_BACKOFF_MAX) {
                key->backoff = SG_PKCS11_BACKOFF_MAX;
            }

            key->retry_at = now + key->backoff;
            key->up = 0;

            return rv;
        }

        key->broken = 0;
        key->backoff = 0;

        return CKR_OK;
    }

    if (key->nidle > 0) {
        *session = key->idle[--key->nidle];
        return CKR_OK;
    }

    pthread_rwlock_rdlock(&key->module->calls);

    rv = key->fl->C_OpenSession(key->slot, CKF_SERIAL_SESSION, NULL, NULL,
                                session);

    if (rv == CKR_OK) {
        /* the login is the token's, shared by every session: usually
           CKR_USER_ALREADY_LOGGED_IN */
        rv = sg_pkcs11_login(key, *session, errbuf, sizeof(errbuf));

        if (rv != CKR_OK) {
            key->fl->C_CloseSession(*session);
        }
    }

    pthread_rwlock_unlock(&key->module->calls);

    if (rv != CKR_OK) {
        sg_pkcs11_session_put(key, CK_INVALID_HANDLE, key->generation,
                              key->epoch, rv);
    }

    return rv;
}


/*
 * Under key->lock: a new session, a login, the object found again (its
 * old handle may stay invalid even when the token is back).  When the
 * token is not there, the module is initialized again once, as some
 * modules (SoftHSM2) list a token that came back only then.
 */

static CK_RV
sg_pkcs11_reconnect(sg_pkcs11_key_t *key, CK_SESSION_HANDLE *session,
    char *errbuf, size_t errlen)
{
    CK_RV                  rv;
    unsigned               epoch;
    CK_C_INITIALIZE_ARGS   args;
    sg_pkcs11_module_t    *m;

    m = key->module;

    if (!key->initialized) {
        rv = sg_pkcs11_module_init(m);
        if (rv != CKR_OK) {
            sg_error_format(errbuf, errlen, "PKCS#11 module \"%s\" fails to "
                            "initialize: %s", m->path, p11_kit_strerror(rv));
            return rv;
        }

        key->initialized = 1;
    }

    pthread_rwlock_rdlock(&m->calls);
    epoch = m->epoch;
    rv = sg_pkcs11_connect(key, session, NULL, errbuf, errlen);
    pthread_rwlock_unlock(&m->calls);

    if (rv == CKR_OK) {
        key->epoch = epoch;
        return CKR_OK;
    }

    if (!sg_pkcs11_is_gone(rv)) {
        return rv;
    }

    pthread_rwlock_wrlock(&m->calls);

    if (m->epoch == epoch) {
        /* nobody did it meanwhile */
        m->fl->C_Finalize(NULL);

        memset(&args, 0, sizeof(CK_C_INITIALIZE_ARGS));
        args.flags = CKF_OS_LOCKING_OK;

        m->fl->C_Initialize(&args);
        m->epoch++;
    }

    pthread_rwlock_unlock(&m->calls);

    /* every handle of the old epoch is dead: forget, never close, them */
    key->nidle = 0;
    sg_pkcs11_drop_sessions(key);

    pthread_rwlock_rdlock(&m->calls);
    epoch = m->epoch;
    rv = sg_pkcs11_connect(key, session, NULL, errbuf, errlen);
    pthread_rwlock_unlock(&m->calls);

    if (rv == CKR_OK) {
        key->epoch = epoch;
    }

    return rv;
}


/* under key->lock: a session back from a signature that returned rv */

static void
sg_pkcs11_session_put(sg_pkcs11_key_t *key, CK_SESSION_HANDLE session,
    unsigned generation, unsigned epoch, CK_RV rv)
{
    if (rv == CKR_OK) {
        key->up = 1;

        if (generation == key->generation && epoch == key->epoch
            && key->nidle < SG_PKCS11_IDLE_MAX)
        {
            key->idle[key->nidle++] = session;

        } else {
            sg_pkcs11_close_session(key, session, epoch);
        }

        return;
    }

    key->up = 0;
    key->last_rv = rv;

    /* a session that failed is not trusted with another payout */
    sg_pkcs11_close_session(key, session, epoch);

    if (!sg_pkcs11_is_fault(rv) || generation != key->generation) {
        /* not a lost token, or another thread already noticed */
        return;
    }

    sg_pkcs11_drop_sessions(key);

    key->broken = 1;
    key->backoff = 0;
    key->retry_at = sg_pkcs11_now();
}


static void
sg_pkcs11_close_session(sg_pkcs11_key_t *key, CK_SESSION_HANDLE session,
    unsigned epoch)
{
    if (session == CK_INVALID_HANDLE) {
        return;
    }

    pthread_rwlock_rdlock(&key->module->calls);

    /* after a re-initialization the number may name another's session */
    if (epoch == key->module->epoch) {
        key->fl->C_CloseSession(session);
    }

    pthread_rwlock_unlock(&key->module->calls);
}


static void
sg_pkcs11_drop_sessions(sg_pkcs11_key_t *key)
{
    while (key->nidle > 0) {
        sg_pkcs11_close_session(key, key->idle[--key->nidle], key->epoch);
    }

    /* sessions busy in other threads are closed when they come back */
    key->generation++;
    key->object = CK_INVALID_HANDLE;
}


/* the list: the session, the token or the object went away */

static int
sg_pkcs11_is_fault(CK_RV rv)
{
    switch (rv) {
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_ERROR:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
        return 1;
    default:
        return 0;
    }
}


static int
sg_pkcs11_is_gone(CK_RV rv)
{
    switch (rv) {
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
    case CKR_DEVICE_ERROR:
    case CKR_SLOT_ID_INVALID:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
        return 1;
    default:
        return 0;
    }
}


static time_t
sg_pkcs11_now(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return time(NULL);
    }

    return ts.tv_sec;
}
