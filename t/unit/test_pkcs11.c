/*
 * Unit tests of the PKCS#11 core: the URI checks (no PIN in a URI, no
 * module in a URI, no input echoed), the PIN file's checks and the module
 * that does not load, without a token; then, on a SoftHSM2 token made at
 * run time, the fault log's pace, a sign before the worker opened the key,
 * and several threads sharing one key.
 */

#define _POSIX_C_SOURCE  200809L

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "sg_pkcs11.h"
#include "sg_signer.h"


#define SOFTHSM  "/usr/lib/softhsm/libsofthsm2.so"
#define PIN      "246810"
#define THREADS  4
#define ROUNDS   25


typedef struct {
    const char  *name;
    const char  *uri;
    const char  *expect;     /* NULL: valid */
    const char  *secret;     /* must not appear in the message */
} uri_case_t;


static const uri_case_t  uris[] = {
    { "token and object", "pkcs11:token=payouts;object=partner-2026",
      NULL, NULL },
    { "id in hex", "pkcs11:token=payouts;id=%01%02", NULL, NULL },
    { "type=private", "pkcs11:token=payouts;object=k;type=private",
      NULL, NULL },
    { "no attributes", "pkcs11:", NULL, NULL },
    { "pin-value", "pkcs11:token=payouts;object=k?pin-value=s3cr3t-pin",
      "carries a PIN", "s3cr3t-pin" },
    { "pin-value in the path part",
      "pkcs11:token=payouts;object=k;pin-value=s3cr3t-pin",
      "carries a PIN", "s3cr3t-pin" },
    { "pin-source", "pkcs11:token=payouts?pin-source=file:/tmp/s3cr3t-pin",
      "carries a PIN", "s3cr3t-pin" },
    { "module-path",
      "pkcs11:token=payouts?module-path=/usr/lib/softhsm/libsofthsm2.so",
      "names a module", NULL },
    { "module-name", "pkcs11:token=payouts?module-name=softhsm2",
      "names a module", NULL },
    { "a bad escape", "pkcs11:token=pay%zzouts-s3cr3t-pin",
      "not a valid RFC 7512 URI", "s3cr3t-pin" },
    { "another scheme", "file:///etc/passwd", "not a valid RFC 7512 URI",
      "passwd" },
    { NULL, NULL, NULL, NULL }
};


typedef struct {
    sg_signer_t  *signer;
    int           ok;
} thread_arg_t;


static char  dir[] = "/tmp/sg-pkcs11-unit-XXXXXX";


static int
sh(const char *fmt, const char *arg)
{
    char  line[2048];

    snprintf(line, sizeof(line), fmt, arg, arg, arg, arg);
    return system(line);
}


static void
test_uris(void)
{
    int                rc;
    char               err[512], name[256];
    const uri_case_t  *c;

    for (c = uris; c->name; c++) {
        err[0] = '\0';
        rc = sg_pkcs11_check_uri(c->uri, err, sizeof(err));

        snprintf(name, sizeof(name), "URI, %s: %s", c->name,
                 c->expect ? "refused" : "accepted");
        tap_ok(c->expect ? rc == -1 : rc == 0, name);

        if (c->expect) {
            snprintf(name, sizeof(name), "URI, %s: the message says \"%s\"",
                     c->name, c->expect);
            tap_ok(strstr(err, c->expect) != NULL, name);
        }

        if (c->secret) {
            snprintf(name, sizeof(name), "URI, %s: the message does not "
                     "echo it", c->name);
            tap_ok(strstr(err, c->secret) == NULL, name);
        }
    }

    tap_ok(sg_pkcs11_is_uri("pkcs11:token=x"), "is_uri: pkcs11:");
    tap_ok(!sg_pkcs11_is_uri("/etc/nginx/sg/pkcs11:key"),
           "is_uri: a path is a path");
    tap_ok(!sg_pkcs11_is_uri("PKCS11:token=x"),
           "is_uri: the scheme as RFC 7512 writes it");
}


static void
test_load_refusals(void)
{
    char          err[512], path[512], pin[512], open_pin[512], empty[512];
    sg_signer_t  *s;

    snprintf(pin, sizeof(pin), "%s/pin", dir);
    snprintf(open_pin, sizeof(open_pin), "%s/open.pin", dir);
    snprintf(empty, sizeof(empty), "%s/empty.pin", dir);

    sh("umask 077; echo " PIN " > %s", pin);
    sh("echo " PIN " > %s; chmod 644 %s", open_pin);
    sh("umask 077; : > %s", empty);

    s = sg_signer_load_pkcs11("pkcs11:token=x;object=y", SOFTHSM, open_pin,
                              err, sizeof(err));
    tap_ok(s == NULL && strstr(err, "has permissions 0644") != NULL,
           "a PIN file others can read is refused");
    tap_ok(strstr(err, PIN) == NULL, "... and the PIN is not in the message");

    s = sg_signer_load_pkcs11("pkcs11:token=x;object=y", SOFTHSM, empty,
                              err, sizeof(err));
    tap_ok(s == NULL && strstr(err, "is empty") != NULL,
           "an empty PIN file is refused");

    snprintf(path, sizeof(path), "%s/nope/libnope.so", dir);
    s = sg_signer_load_pkcs11("pkcs11:token=x;object=y", path, pin,
                              err, sizeof(err));
    tap_ok(s == NULL && strstr(err, "does not load") != NULL
           && strstr(err, "libnope.so") != NULL,
           "a module that is not there: \"does not load\", named");

    s = sg_signer_load_pkcs11("pkcs11:token=x;object=y", pin, pin,
                              err, sizeof(err));
    tap_ok(s == NULL && strstr(err, "does not load") != NULL,
           "a file that is no library: \"does not load\"");
    tap_ok(strstr(err, PIN) == NULL, "... and the PIN is not in the message");
}


static void *
sign_loop(void *data)
{
    int            i;
    char           out[1024];
    size_t         n;
    thread_arg_t  *arg = data;

    arg->ok = 1;

    for (i = 0; i < ROUNDS; i++) {
        if (sg_signer_sign(arg->signer, SG_ENCODING_HEX, "payout", 6, out,
                           &n)
            != 0
            || n != 512)
        {
            arg->ok = 0;
        }
    }

    return NULL;
}


static void
test_token(void)
{
    int               i, ok, logged;
    char              err[512], out[1024], pin[512], conf[512];
    size_t            n;
    pthread_t         tid[THREADS];
    sg_signer_t      *s;
    thread_arg_t      args[THREADS];
    unsigned long     count, total;
    sg_pkcs11_key_t  *p11;

    if (access(SOFTHSM, R_OK) != 0 || system("command -v softhsm2-util "
                                             ">/dev/null 2>&1") != 0)
    {
        tap_diag("SoftHSM2 is not installed: the token tests are skipped");
        return;
    }

    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
    snprintf(pin, sizeof(pin), "%s/pin", dir);

    sh("mkdir %s/tokens", dir);
    sh("printf 'directories.tokendir = %s/tokens\\nlog.level = ERROR\\n'"
       " > %s/softhsm2.conf", dir);
    setenv("SOFTHSM2_CONF", conf, 1);

    if (sh("softhsm2-util --init-token --free --label unit --pin " PIN
           " --so-pin 13579111 >/dev/null 2>&1 && pkcs11-tool --module "
           SOFTHSM " --token-label unit --login --pin " PIN " --keypairgen"
           " --key-type rsa:2048 --label k --id 01 >/dev/null 2>&1%s", "")
        != 0)
    {
        tap_ok(0, "a SoftHSM2 token is made");
        return;
    }

    s = sg_signer_load_pkcs11("pkcs11:token=unit;object=k", SOFTHSM, pin,
                              err, sizeof(err));
    tap_ok(s != NULL, "the token's key loads");
    if (s == NULL) {
        tap_diag(err);
        return;
    }

    tap_ok(sg_signer_bits(s) == 2048 && strlen(sg_signer_fingerprint(s))
           == 64, "RSA-2048, a fingerprint");

    p11 = sg_signer_pkcs11(s);

    tap_ok(sg_signer_sign(s, SG_ENCODING_BASE64, "x", 1, out, &n) == -1,
           "before the worker opens it, signing fails (and does not crash)");
    tap_ok(!sg_pkcs11_up(p11), "... and the key is not up");

    tap_ok(sg_pkcs11_open(p11, err, sizeof(err)) == 0, "a worker opens it");
    tap_ok(sg_signer_sign(s, SG_ENCODING_BASE64, "x", 1, out, &n) == 0
           && n == 344, "then it signs (344 base64 characters)");
    tap_ok(sg_pkcs11_up(p11), "... and the key is up");

    for (i = 0; i < THREADS; i++) {
        args[i].signer = s;
        pthread_create(&tid[i], NULL, sign_loop, &args[i]);
    }

    ok = 1;
    for (i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        ok &= args[i].ok;
    }

    tap_ok(ok, "4 threads sign 25 times each with one key, all succeed");

    /* the log's pace: once, then at most every 10 s with a count */
    logged = sg_pkcs11_fault_log(p11, 1000, &count);
    tap_ok(logged && count == 1, "the first failure is logged, count 1");

    logged = 0;
    for (i = 1; i < 10; i++) {
        logged |= sg_pkcs11_fault_log(p11, 1000 + i, &count);
    }
    tap_ok(!logged, "nine more within 10 s are not");

    logged = sg_pkcs11_fault_log(p11, 1010, &count);
    tap_ok(logged && count == 10, "10 s later: logged, with the count (10)");

    total = 0;
    logged = 0;
    for (i = 1; i <= 3; i++) {
        if (sg_pkcs11_fault_log(p11, 1010 + i, &count)) {
            logged++;
            total += count;
        }
    }
    tap_ok(logged == 0 && total == 0, "the count starts again after a line");

    tap_ok(sg_pkcs11_recovered(p11, &count) && count == 3,
           "a signature after logged failures: \"signs again\", with the 3 "
           "not logged");
    tap_ok(!sg_pkcs11_recovered(p11, &count), "... once");
    tap_ok(sg_pkcs11_fault_log(p11, 1015, &count) && count == 1,
           "the next outage is logged at once, within the 10 s");

    sg_pkcs11_close(p11);
    sg_signer_free(s);
}


int
main(void)
{
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }

    test_uris();
    test_load_refusals();
    test_token();

    sh("rm -rf %s", dir);

    return tap_done();
}
