/*
 * Unit tests of the verifier: keys and signatures are made at run time with
 * the openssl command; refusals are checked by message, base64 by table.
 */

#define _POSIX_C_SOURCE  200809L

#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tap.h"
#include "sg_verify.h"


#define BODY                                                                 \
    "{\n\"status\": \"ok\",\n\"session\": {\n\"id\": \"3230\",\n"             \
    "\"status\": \"in_progress\"\n}\n}\n"


typedef struct {
    const char  *cmd;        /* run in the temporary directory */
} gen_t;


typedef struct {
    const char  *name;
    const char  *file;
    const char  *expect;     /* a distinctive part of the message */
} bad_t;


typedef struct {
    const char  *in;
    int          ok;
    const char  *hex;        /* the bytes decoded, when ok */
} b64_t;


static const gen_t  gen[] = {
    { "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
      " -out prov.key" },
    { "openssl pkey -in prov.key -pubout -out prov.pub" },
    { "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072"
      " -out other.key" },
    { "openssl pkey -in other.key -pubout -out other.pub" },
    { "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024"
      " -out small.key" },
    { "openssl pkey -in small.key -pubout -out small.pub" },
    { "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
      " -out ec.key" },
    { "openssl pkey -in ec.key -pubout -out ec.pub" },
    { "openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048"
      " -out pss.key" },
    { "openssl pkey -in pss.key -pubout -out pss.pub" },
    { "openssl rsa -in prov.key -traditional -out prov1.key" },
    { "openssl rsa -in prov.key -RSAPublicKey_out -out rsapub.pem" },
    { "openssl req -new -x509 -key prov.key -subj /CN=sg-test -days 1"
      " -out cert.pem" },
    { "cat prov.pub other.pub > two.pub" },
    { "cat prov.pub prov.key > pubkey.pem" },
    { "head -n 3 prov.pub > truncated.pub" },
    { "printf 'not a key\\n' > garbage.pub" },
    { ": > empty.pub" },
    { "cp prov.pub gwrite.pub && chmod 664 gwrite.pub" },
    { "cp prov.pub owrite.pub && chmod 646 owrite.pub" },
    { "cp prov.pub open.pub && chmod 644 open.pub" },
    { "printf '%s' '" BODY "' > body" },
    { "openssl dgst -sha256 -sign prov.key -out body.sig body" },
    { "openssl dgst -sha256 -sign other.key -out body.other.sig body" },
    { "openssl dgst -sha1 -sign prov.key -out body.sha1.sig body" },
    { "openssl dgst -sha256 -sign prov.key -sigopt rsa_padding_mode:pss"
      " -out body.pss.sig body" },
    { "openssl pkey -pubin -in prov.pub -outform DER | sha256sum"
      " | cut -c1-64 > prov.fp" },
    { NULL }
};


static const bad_t  bad[] = {
    { "a PKCS#8 private key is refused", "prov.key",
      "holds a private key: only public keys belong here" },
    { "a PKCS#1 private key is refused", "prov1.key",
      "holds a private key" },
    { "a public key followed by a private key is refused", "pubkey.pem",
      "holds a private key" },
    { "an EC public key is refused", "ec.pub",
      "is an EC key; an RSA key is required" },
    { "an RSA-PSS public key is refused", "pss.pub",
      "is an RSA-PSS key; an RSA key is required" },
    { "an RSA-1024 public key is refused", "small.pub",
      "RSA key is 1024 bits; at least 2048 are required" },
    { "two public keys in one file are refused", "two.pub",
      "holds 2 PEM blocks; it must hold exactly one public key" },
    { "a PKCS#1 RSA public key is refused with how to convert it",
      "rsapub.pem", "-RSAPublicKey_in -pubout" },
    { "a certificate is refused with how to extract its key", "cert.pem",
      "holds a certificate" },
    { "a truncated PEM is refused", "truncated.pub",
      "is not a valid PEM public key" },
    { "garbage is refused", "garbage.pub", "is not a PEM public key" },
    { "an empty file is refused", "empty.pub", "is not a PEM public key" },
    { "a file its group can write is refused", "gwrite.pub",
      "has permissions 0664: group or others can write it" },
    { "a file others can write is refused", "owrite.pub",
      "has permissions 0646: group or others can write it" },
    { "a missing file is refused with the system's reason", "nope.pub",
      "cannot open public key file" },
    { NULL, NULL, NULL }
};


static const b64_t  b64[] = {
    { "AAAA", 1, "000000" },
    { "/+/+", 1, "ffeffe" },
    { "Zm9v", 1, "666f6f" },
    { "Zm8=", 1, "666f" },
    { "Zg==", 1, "66" },
    { "Zm9vYmFy", 1, "666f6f626172" },
    { "", 0, NULL },
    { "Zg", 0, NULL },                  /* padding is required */
    { "Zg=", 0, NULL },
    { "Zh==", 0, NULL },                /* non-canonical: bits left over */
    { "Zm9=", 0, NULL },
    { "Zg==Zg==", 0, NULL },            /* padding in the middle */
    { "Z===", 0, NULL },
    { "====", 0, NULL },
    { "Zm9v\n", 0, NULL },              /* no whitespace */
    { "Zm 9v", 0, NULL },
    { " Zm9v", 0, NULL },
    { "_-_-", 0, NULL },                /* no URL-safe alphabet */
    { "Zm9\xc3", 0, NULL },
    { NULL, 0, NULL }
};


static char  tmp_dir[] = "/tmp/sg_verify_test.XXXXXX";
static int   tmp_made;


static const char *
tpath(const char *name)
{
    static int   i;
    static char  buf[8][512];

    i = (i + 1) % 8;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp_dir, name);

    return buf[i];
}


static int
run(const char *fmt, ...)
{
    int      rc;
    char     cmd[2048], line[2200];
    va_list  args;

    va_start(args, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, args);
    va_end(args);

    snprintf(line, sizeof(line), "cd '%s' && umask 022 && { %s ; }"
             " >/dev/null 2>&1", tmp_dir, cmd);

    rc = system(line);

    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}


static unsigned char *
slurp(const char *name, size_t *len)
{
    FILE           *fp;
    size_t          n;
    unsigned char  *buf;

    *len = 0;

    fp = fopen(tpath(name), "rb");
    if (fp == NULL) {
        return NULL;
    }

    buf = malloc(65536);
    if (buf == NULL) {
        fclose(fp);
        return NULL;
    }

    n = fread(buf, 1, 65536, fp);
    fclose(fp);

    *len = n;

    return buf;
}


static int
setup(void)
{
    const gen_t  *g;

    if (mkdtemp(tmp_dir) == NULL) {
        return 0;
    }

    tmp_made = 1;

    for (g = gen; g->cmd; g++) {
        if (!run("%s", g->cmd)) {
            printf("# setup failed: %s\n", g->cmd);
            return 0;
        }
    }

    /* the key files openssl wrote 0600: the public ones are meant 0644 */
    return run("chmod 644 prov.pub other.pub");
}


static void
test_load(void)
{
    char            errbuf[SG_VERIFY_ERRBUF_SIZE];
    size_t          len;
    unsigned char  *fp;
    sg_verifier_t  *v;

    v = sg_verifier_load(tpath("prov.pub"), errbuf, sizeof(errbuf));
    tap_ok(v != NULL, "an RSA-2048 public key (0644) loads");

    if (v == NULL) {
        tap_diag(errbuf);
        return;
    }

    tap_ok(sg_verifier_bits(v) == 2048, "its size is 2048 bits");
    tap_ok(sg_verifier_signature_size(v) == 256,
           "its signatures are 256 bytes");

    fp = slurp("prov.fp", &len);
    tap_ok(fp != NULL && len >= 64
           && memcmp(fp, sg_verifier_fingerprint(v), 64) == 0
           && strlen(sg_verifier_fingerprint(v)) == 64,
           "its fingerprint is SHA-256 of the DER SubjectPublicKeyInfo, "
           "as openssl computes it");
    free(fp);
    sg_verifier_free(v);

    v = sg_verifier_load(tpath("other.pub"), errbuf, sizeof(errbuf));
    tap_ok(v != NULL && sg_verifier_bits(v) == 3072
           && sg_verifier_signature_size(v) == 384,
           "an RSA-3072 public key loads");
    sg_verifier_free(v);

    v = sg_verifier_load(tpath("open.pub"), errbuf, sizeof(errbuf));
    tap_ok(v != NULL, "a public key readable by all (0644) is fine");
    sg_verifier_free(v);
}


static void
test_refusals(void)
{
    char            errbuf[SG_VERIFY_ERRBUF_SIZE], name[300];
    const bad_t    *b;
    sg_verifier_t  *v;

    for (b = bad; b->name; b++) {
        errbuf[0] = '\0';
        v = sg_verifier_load(tpath(b->file), errbuf, sizeof(errbuf));

        tap_ok(v == NULL && strstr(errbuf, b->expect) != NULL
               && strstr(errbuf, b->file) != NULL, b->name);

        if (v != NULL || strstr(errbuf, b->expect) == NULL) {
            snprintf(name, sizeof(name), "got: %s", errbuf);
            tap_diag(name);
        }

        sg_verifier_free(v);
    }

    v = sg_verifier_load(NULL, errbuf, sizeof(errbuf));
    tap_ok(v == NULL && errbuf[0] != '\0', "no path is refused");
}


static void
test_base64(void)
{
    char            name[160], hex[64];
    size_t          i, len, n;
    unsigned char   out[32];
    const b64_t    *t;

    for (t = b64; t->in; t++) {
        len = strlen(t->in);

        n = 99;
        memset(out, 0, sizeof(out));

        if (sg_base64_decode(t->in, len, out, sizeof(out), &n) != 0) {
            snprintf(name, sizeof(name), "base64 \"%.*s\" is refused",
                     (int) strcspn(t->in, "\n"), t->in);
            tap_ok(!t->ok && n == 0, name);
            continue;
        }

        for (i = 0; i < n && i < 31; i++) {
            snprintf(hex + 2 * i, 3, "%02x", out[i]);
        }

        hex[2 * i] = '\0';

        snprintf(name, sizeof(name), "base64 \"%s\" decodes to %s", t->in,
                 t->hex ? t->hex : "(nothing: must be refused)");
        tap_ok(t->ok && strcmp(hex, t->hex) == 0, name);
    }

    tap_ok(sg_base64_decode("Zm9v\0Zm9", 8, out, sizeof(out), &n) != 0,
           "base64 with a NUL inside is refused");
    tap_ok(sg_base64_decode("Zm9vYmFy", 8, out, 5, &n) != 0,
           "base64 that does not fit the output is refused");
    tap_ok(sg_base64_decode("Zm9vYmFy", 8, out, 6, &n) == 0 && n == 6,
           "base64 that fits exactly decodes");
}


/*
 * Against OpenSSL's encoder, with a fixed seed: every encoding decodes to
 * its bytes, and whatever the decoder accepts is the one encoding of what
 * it decoded to (canonical), over random strings of the alphabet and '='.
 */

static void
test_base64_property(void)
{
    int             i, enc_len, round_trip, canonical, accepted;
    size_t          j, len, n;
    unsigned char   raw[300], out[300], enc[512], again[512];
    char            in[404];

    static const char  alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

    srand(13);

    round_trip = 1;

    for (i = 0; i < 2000; i++) {
        len = (size_t) rand() % sizeof(raw);

        for (j = 0; j < len; j++) {
            raw[j] = (unsigned char) rand();
        }

        enc_len = EVP_EncodeBlock(enc, raw, (int) len);

        if (len == 0) {
            continue;
        }

        if (sg_base64_decode((const char *) enc, (size_t) enc_len, out,
                             sizeof(out), &n) != 0
            || n != len || memcmp(out, raw, len) != 0)
        {
            round_trip = 0;
        }
    }

    tap_ok(round_trip, "2000 random byte strings encoded by OpenSSL decode "
           "to their bytes");

    canonical = 1;
    accepted = 0;

    for (i = 0; i < 200000; i++) {
        len = 4 * (1 + (size_t) rand() % 3);

        for (j = 0; j < len; j++) {
            /* '=' rarely, as in a real encoding: mostly near the end */
            in[j] = alphabet[rand() % (j + 2 >= len ? 65 : 64)];
        }

        if (sg_base64_decode(in, len, out, sizeof(out), &n) != 0) {
            continue;
        }

        accepted++;

        enc_len = EVP_EncodeBlock(again, out, (int) n);

        if ((size_t) enc_len != len || memcmp(again, in, len) != 0) {
            canonical = 0;
        }
    }

    tap_ok(canonical && accepted > 1000, "what the decoder accepts of "
           "200000 random strings is exactly OpenSSL's encoding of it");
}


static void
test_verify(void)
{
    int             rc;
    char            errbuf[SG_VERIFY_ERRBUF_SIZE];
    size_t          blen, slen, olen, hlen, plen;
    unsigned char   md[SG_VERIFY_DIGEST_LEN], md2[SG_VERIFY_DIGEST_LEN];
    unsigned char  *body, *sig, *osig, *hsig, *psig;
    sg_verifier_t  *prov, *other;

    prov = sg_verifier_load(tpath("prov.pub"), errbuf, sizeof(errbuf));
    other = sg_verifier_load(tpath("other.pub"), errbuf, sizeof(errbuf));

    body = slurp("body", &blen);
    sig = slurp("body.sig", &slen);
    osig = slurp("body.other.sig", &olen);
    hsig = slurp("body.sha1.sig", &hlen);
    psig = slurp("body.pss.sig", &plen);

    if (prov == NULL || other == NULL || body == NULL || sig == NULL
        || osig == NULL || hsig == NULL || psig == NULL)
    {
        tap_ok(0, "verification test material is made");
        goto done;
    }

    tap_ok(blen == sizeof(BODY) - 1, "the body is the seed's bytes");

    tap_ok(sg_verify_digest(body, blen, md) == 0, "the body is digested");

    tap_ok(sg_verifier_check(prov, sig, slen, md) == 1,
           "openssl's signature verifies with the provider's key");

    tap_ok(sg_verifier_check(other, sig, slen, md) == 0,
           "it does not verify with another key");

    tap_ok(sg_verifier_check(other, osig, olen, md) == 1
           && sg_verifier_check(prov, osig, olen, md) == 0,
           "the other key's signature verifies with the other key only");

    body[10] ^= 0x01;
    (void) sg_verify_digest(body, blen, md2);
    tap_ok(sg_verifier_check(prov, sig, slen, md2) == 0,
           "a body with one bit changed does not verify");
    body[10] ^= 0x01;

    (void) sg_verify_digest(body, blen - 1, md2);
    tap_ok(sg_verifier_check(prov, sig, slen, md2) == 0,
           "a body one byte shorter does not verify");

    sig[slen - 1] ^= 0x01;
    tap_ok(sg_verifier_check(prov, sig, slen, md) == 0,
           "a signature with one bit changed does not verify");
    sig[slen - 1] ^= 0x01;

    tap_ok(sg_verifier_check(prov, sig, slen - 1, md) == 0,
           "a signature one byte short does not verify");

    tap_ok(sg_verifier_check(prov, hsig, hlen, md) == 0,
           "a SHA-1 signature of the body does not verify");

    tap_ok(sg_verifier_check(prov, psig, plen, md) == 0,
           "a PSS signature of the body does not verify");

    rc = sg_verifier_check(prov, sig, 0, md);
    tap_ok(rc == 0, "an empty signature does not verify");

    tap_ok(sg_verify_digest(NULL, 0, md2) == 0
           && sg_verifier_check(prov, sig, slen, md2) == 0,
           "an empty body does not verify with the body's signature");

done:

    free(body);
    free(sig);
    free(osig);
    free(hsig);
    free(psig);
    sg_verifier_free(prov);
    sg_verifier_free(other);
}


int
main(void)
{
    int  rc;

    (void) test_pool_alloc;
    (void) test_pool_reset;

    test_base64();
    test_base64_property();

    if (!setup()) {
        tap_ok(0, "test keys are made with the openssl command");
        goto done;
    }

    test_load();
    test_refusals();
    test_verify();

done:

    rc = tap_done();

    if (tmp_made) {
        run("cd / && rm -rf '%s'", tmp_dir);
    }

    return rc;
}
