/*
 * A PKCS#11 module for t/pkcs11.t: SoftHSM2 behind it, with what a real
 * HSM does and SoftHSM2 cannot be made to (a PIN with one try left, a
 * locked PIN, no CKM_SHA256_RSA_PKCS, a C_Sign that hangs).
 *
 * $SG_P11SHIM_CTL names a file read on every call: the words in it
 * ("final-try", "locked", "no-sha256", "hang") switch faults on; every
 * C_Login appends a line to "$SG_P11SHIM_CTL.logins".  "flaky N M" makes
 * N C_GetTokenInfo calls of the processes other than pid M (the master)
 * fail with CKR_GENERAL_ERROR, those right after a C_OpenSession (the
 * flags read before a login), as SoftHSM2's file store does now and then
 * when two workers open it at once.
 */

#define _POSIX_C_SOURCE  200809L

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>

#include <p11-kit/pkcs11.h>


#define SHIM_REAL  "/usr/lib/softhsm/libsofthsm2.so"


static CK_FUNCTION_LIST   shim;
static CK_FUNCTION_LIST  *real;
static pid_t              opened;    /* the process that just opened one */


static int
shim_has(const char *word)
{
    char         buf[256];
    FILE        *f;
    size_t       n;
    const char  *ctl;

    ctl = getenv("SG_P11SHIM_CTL");
    if (ctl == NULL || (f = fopen(ctl, "r")) == NULL) {
        return 0;
    }

    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';

    return strstr(buf, word) != NULL;
}


/* "flaky N M": takes one of the N failures, shared by the workers */
static int
shim_flaky(void)
{
    int          fd, n, left, master, failed;
    char         buf[256], *p;
    const char  *ctl;

    ctl = getenv("SG_P11SHIM_CTL");
    if (ctl == NULL || (fd = open(ctl, O_RDWR)) == -1) {
        return 0;
    }

    flock(fd, LOCK_EX);

    failed = 0;
    n = read(fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';

    p = strstr(buf, "flaky ");

    if (p != NULL && sscanf(p, "flaky %d %d", &left, &master) == 2
        && left > 0 && master != (int) getpid())
    {
        n = snprintf(buf, sizeof(buf), "flaky %d %d\n", left - 1, master);

        if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, n, 0) == n) {
            failed = 1;
        }
    }

    flock(fd, LOCK_UN);
    close(fd);

    return failed;
}


static CK_RV
shim_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
    CK_RV  rv;
    int    before_login;

    /* the flags read right after C_OpenSession, before a login */
    before_login = (opened == getpid());
    opened = 0;

    if (before_login && shim_flaky()) {
        return CKR_GENERAL_ERROR;
    }

    rv = real->C_GetTokenInfo(slot, info);

    if (rv == CKR_OK && shim_has("final-try")) {
        info->flags |= CKF_USER_PIN_FINAL_TRY;
    }

    if (rv == CKR_OK && shim_has("locked")) {
        info->flags |= CKF_USER_PIN_LOCKED;
    }

    return rv;
}


static CK_RV
shim_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO_PTR info)
{
    if (type == CKM_SHA256_RSA_PKCS && shim_has("no-sha256")) {
        return CKR_MECHANISM_INVALID;
    }

    return real->C_GetMechanismInfo(slot, type, info);
}


static CK_RV
shim_Login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
    CK_ULONG len)
{
    char         path[512];
    FILE        *f;
    const char  *ctl;

    ctl = getenv("SG_P11SHIM_CTL");

    if (ctl != NULL) {
        snprintf(path, sizeof(path), "%s.logins", ctl);

        f = fopen(path, "a");
        if (f != NULL) {
            fputs("C_Login\n", f);
            fclose(f);
        }
    }

    return real->C_Login(session, user, pin, len);
}


static CK_RV
shim_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app,
    CK_NOTIFY notify, CK_SESSION_HANDLE_PTR session)
{
    CK_RV  rv;

    rv = real->C_OpenSession(slot, flags, app, notify, session);

    if (rv == CKR_OK) {
        opened = getpid();
    }

    return rv;
}


static CK_RV
shim_Sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len,
    CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    int              i;
    struct timespec  ts = { 0, 50 * 1000 * 1000 };

    /* an HSM that does not answer: at most 10 s, then it does */
    for (i = 0; i < 200 && shim_has("hang"); i++) {
        nanosleep(&ts, NULL);
    }

    return real->C_Sign(session, data, len, sig, sig_len);
}


CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    void          *h;
    CK_RV        (*get)(CK_FUNCTION_LIST_PTR_PTR);
    const char    *path;

    if (real == NULL) {
        path = getenv("SG_P11SHIM_MODULE");
        h = dlopen(path != NULL ? path : SHIM_REAL, RTLD_NOW | RTLD_LOCAL);

        if (h == NULL) {
            return CKR_GENERAL_ERROR;
        }

        *(void **) &get = dlsym(h, "C_GetFunctionList");

        if (get == NULL || get(&real) != CKR_OK) {
            return CKR_GENERAL_ERROR;
        }

        shim = *real;
        shim.C_GetTokenInfo = shim_GetTokenInfo;
        shim.C_GetMechanismInfo = shim_GetMechanismInfo;
        shim.C_Login = shim_Login;
        shim.C_OpenSession = shim_OpenSession;
        shim.C_Sign = shim_Sign;
    }

    *list = &shim;

    return CKR_OK;
}
