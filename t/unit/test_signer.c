/*
 * Unit tests of the signer: keys are made at run time with the openssl
 * command, signatures checked by "openssl dgst -verify", refusals by message.
 */

#define _POSIX_C_SOURCE  200809L

#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>

#include "tap.h"
#include "sg_signer.h"


#define PASSPHRASE  "correct horse battery staple"
#define B64_ALPHABET                                                         \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define JSON_BODY                                                            \
    "{\"amount_details\":{\"amount\":10000,\"currency\":\"rub\"},"           \
    "\"session_id\":\"test_ses_1\"}"


typedef struct {
    const char  *file;
    const char  *cmd;        /* run in the temporary directory */
    mode_t       mode;
} gen_t;


typedef struct {
    const char  *name;
    const char  *file;
    const char  *data;       /* written as is, when there is no cmd */
} data_t;


typedef struct {
    const char  *name;
    const char  *key;
    const char  *pass;
    int          bits;
} good_t;


typedef struct {
    const char  *name;
    const char  *key;
    const char  *pass;
    const char  *expect;     /* a distinctive part of the message */
    int          names_pass; /* the message names the passphrase file */
} bad_t;


typedef struct {
    const sg_signer_t  *signer;
    const char         *expect;
    int                 ok;
} thread_arg_t;


static const gen_t  gen[] = {
    { "rsa8.pem",
      "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
      " -out rsa8.pem", 0600 },
    { "rsa1.pem", "openssl pkey -in rsa8.pem -traditional -out rsa1.pem",
      0600 },
    { "enc8.pem",
      "openssl pkey -in rsa8.pem -aes256 -passout file:pass.txt"
      " -out enc8.pem", 0600 },
    { "enc1.pem",
      "openssl pkey -in rsa8.pem -traditional -aes256"
      " -passout file:pass.txt -out enc1.pem", 0600 },
    { "rsa3072.pem",
      "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072"
      " -out rsa3072.pem", 0600 },
    { "rsa1024.pem",
      "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024"
      " -out rsa1024.pem", 0600 },
    { "ec.pem",
      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
      " -out ec.pem", 0600 },
    { "ed25519.pem", "openssl genpkey -algorithm ED25519 -out ed25519.pem",
      0600 },
    { "pss.pem",
      "openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048"
      " -out pss.pem", 0600 },
    { "pub.pem", "openssl pkey -in rsa8.pem -pubout -out pub.pem", 0600 },
    { "rsapub.pem",
      "openssl rsa -in rsa8.pem -RSAPublicKey_out -out rsapub.pem", 0600 },
    { "cert.pem",
      "openssl req -new -x509 -key rsa8.pem -subj /CN=sg-test -days 1"
      " -out cert.pem", 0600 },
    { "certkey.pem", "cat cert.pem rsa8.pem > certkey.pem", 0600 },
    { "truncated.pem", "head -n 6 rsa8.pem > truncated.pem", 0600 },
    { "open.pem", "cp rsa8.pem open.pem", 0644 },
    { "group.pem", "cp rsa8.pem group.pem", 0640 },
    { "big.pem",
      "cp rsa8.pem big.pem && head -c 70000 /dev/zero | tr '\\0' '#'"
      " >> big.pem", 0600 },
    { "keydir", "mkdir keydir", 0700 },
    { "fifo.pem", "mkfifo fifo.pem", 0600 },
    { "keycert.pem", "cat rsa8.pem cert.pem > keycert.pem", 0600 },
    { "two8.pem", "cat rsa8.pem rsa3072.pem > two8.pem", 0600 },
    { "one1one8.pem", "cat rsa1.pem rsa3072.pem > one1one8.pem", 0600 },
    { "encplus.pem", "cat enc8.pem rsa3072.pem > encplus.pem", 0600 },
    { "keycertkey.pem", "cat rsa8.pem cert.pem rsa1024.pem > keycertkey.pem",
      0600 },
    { "two8crlf.pem", "sed 's/$/\\r/' two8.pem > two8crlf.pem", 0600 },
    { "samekey.pem", "cat rsa8.pem rsa1.pem > samekey.pem", 0600 },
    { "gwrite.pem", "cp rsa8.pem gwrite.pem", 0620 },
    { "nobody.pem", "cp rsa8.pem nobody.pem", 0600 },
    { "pass-open.txt", "cp pass.txt pass-open.txt", 0644 },
    { "pass-group.txt", "cp pass.txt pass-group.txt", 0640 },
    { "pass-gwrite.txt", "cp pass.txt pass-gwrite.txt", 0620 },
    { "pass-owrite.txt", "cp pass.txt pass-owrite.txt", 0602 },
    { "pass-nobody.txt", "cp pass.txt pass-nobody.txt", 0600 },
    { NULL, NULL, 0 }
};


static const data_t  files[] = {
    { "passphrase", "pass.txt", PASSPHRASE "\n" },
    { "passphrase, CRLF", "pass-crlf.txt", PASSPHRASE "\r\n" },
    { "passphrase, no newline", "pass-nonl.txt", PASSPHRASE },
    { "passphrase, two lines", "pass-two.txt", PASSPHRASE "\nother\n" },
    { "wrong passphrase", "pass-wrong.txt", "not the passphrase\n" },
    { "empty passphrase file", "pass-empty.txt", "" },
    { "empty first line", "pass-blank.txt", "\n" PASSPHRASE "\n" },
    { "garbage", "garbage.pem", "this is not a key\n\x01\x02\xff\n" },
    { "empty key file", "empty.pem", "" },
    { NULL, NULL, NULL }
};


static const good_t  good[] = {
    { "a PKCS#8 key loads", "rsa8.pem", NULL, 2048 },
    { "a PKCS#1 key loads", "rsa1.pem", NULL, 2048 },
    { "an encrypted PKCS#8 key loads with its passphrase file",
      "enc8.pem", "pass.txt", 2048 },
    { "a traditional encrypted PKCS#1 key loads with its passphrase file",
      "enc1.pem", "pass.txt", 2048 },
    { "a passphrase file ending in CRLF works", "enc8.pem",
      "pass-crlf.txt", 2048 },
    { "a passphrase file without a final newline works", "enc1.pem",
      "pass-nonl.txt", 2048 },
    { "only the first line of a passphrase file is the passphrase",
      "enc8.pem", "pass-two.txt", 2048 },
    { "a plain key ignores a passphrase file", "rsa8.pem", "pass.txt",
      2048 },
    { "a certificate before the key in the file is skipped",
      "certkey.pem", NULL, 2048 },
    { "an RSA-3072 key loads", "rsa3072.pem", NULL, 3072 },
    { "a certificate after the key in the file is fine", "keycert.pem",
      NULL, 2048 },
    { NULL, NULL, NULL, 0 }
};


static const bad_t  bad[] = {
    { "a key file others can read is refused", "open.pem", NULL,
      "has permissions 0644: group or others can access it; chmod 600 it",
      0 },
    { "a key file its group can read is refused", "group.pem", NULL,
      "has permissions 0640: group or others can access it", 0 },
    { "a directory is refused", "keydir", NULL, "is not a regular file",
      0 },
    { "a FIFO is refused without waiting for a writer", "fifo.pem", NULL,
      "is not a regular file", 0 },
    { "a missing key file is refused with the system's reason", "nope.pem",
      NULL, "cannot open key file", 0 },
    { "a missing key file's message says why", "nope.pem",
      NULL, ": No such file or directory", 0 },
    { "a key file over 64 KiB is refused", "big.pem", NULL,
      "is larger than 65536 bytes", 0 },
    { "an encrypted PKCS#8 key without a passphrase file is refused",
      "enc8.pem", NULL, "is encrypted: set sg_sign_key_passphrase_file", 0 },
    { "an encrypted PKCS#1 key without a passphrase file is refused",
      "enc1.pem", NULL, "is encrypted: set sg_sign_key_passphrase_file", 0 },
    { "a wrong passphrase is refused (PKCS#8)", "enc8.pem",
      "pass-wrong.txt", "cannot decrypt key: wrong passphrase", 1 },
    { "a wrong passphrase is refused (PKCS#1)", "enc1.pem",
      "pass-wrong.txt", "cannot decrypt key: wrong passphrase", 1 },
    { "an empty passphrase file is refused", "enc8.pem", "pass-empty.txt",
      "is empty", 1 },
    { "a passphrase file with an empty first line is refused", "enc8.pem",
      "pass-blank.txt", "first line is empty", 1 },
    { "a missing passphrase file is refused", "enc8.pem", "nope.txt",
      "cannot open passphrase file", 1 },
    { "an RSA-1024 key is refused", "rsa1024.pem", NULL,
      "RSA key is 1024 bits; at least 2048 are required", 0 },
    { "an EC P-256 key is refused", "ec.pem", NULL,
      "is an EC key; an RSA key is required", 0 },
    { "an Ed25519 key is refused", "ed25519.pem", NULL,
      "is an ED25519 key; an RSA key is required", 0 },
    { "an RSA-PSS key is refused", "pss.pem", NULL,
      "is an RSA-PSS key; an RSA key is required", 0 },
    { "a public key PEM is refused", "pub.pem", NULL,
      "holds a public key, not a private key", 0 },
    { "a PKCS#1 public key PEM is refused", "rsapub.pem", NULL,
      "holds a public key, not a private key", 0 },
    { "a certificate is refused", "cert.pem", NULL,
      "holds a certificate, not a private key", 0 },
    { "garbage is refused", "garbage.pem", NULL,
      "is not a PEM private key", 0 },
    { "an empty key file is refused", "empty.pem", NULL,
      "is not a PEM private key", 0 },
    { "a truncated PEM key is refused", "truncated.pem", NULL,
      "is not a PEM private key", 0 },
    { "a key file its group can write is refused", "gwrite.pem", NULL,
      "has permissions 0620: group or others can access it", 0 },
    { "two PKCS#8 private keys in one file are refused", "two8.pem", NULL,
      "holds 2 private keys; it must hold exactly one", 0 },
    { "a PKCS#1 and a PKCS#8 private key in one file are refused",
      "one1one8.pem", NULL, "holds 2 private keys; it must hold exactly one",
      0 },
    { "an encrypted key followed by another key is refused", "encplus.pem",
      "pass.txt", "holds 2 private keys; it must hold exactly one", 0 },
    { "a second key after a certificate is refused", "keycertkey.pem",
      NULL, "holds 2 private keys; it must hold exactly one", 0 },
    { "two private keys with CRLF line ends are refused", "two8crlf.pem",
      NULL, "holds 2 private keys; it must hold exactly one", 0 },
    { "one key twice, in two forms, is refused", "samekey.pem", NULL,
      "holds 2 private keys; it must hold exactly one", 0 },
    { "a passphrase file others can read is refused", "enc8.pem",
      "pass-open.txt",
      "has permissions 0644: group or others can access it; chmod 600 it",
      1 },
    { "a passphrase file its group can read is refused", "enc8.pem",
      "pass-group.txt", "has permissions 0640: group or others can access",
      1 },
    { "a passphrase file its group can write is refused", "enc8.pem",
      "pass-gwrite.txt", "has permissions 0620: group or others can access",
      1 },
    { "a passphrase file others can write is refused", "enc8.pem",
      "pass-owrite.txt", "has permissions 0602: group or others can access",
      1 },
    { "a passphrase file beside a plain key is checked too", "rsa8.pem",
      "pass-open.txt", "has permissions 0644", 1 },
    { "a key file owned by nobody is refused", "nobody.pem", NULL,
      "is owned by uid", 0 },
    { "a passphrase file owned by nobody is refused", "enc8.pem",
      "pass-nobody.txt", "is owned by uid", 1 },
    { NULL, NULL, NULL, NULL, 0 }
};


/* given to the worker user by setup(), when the tests run as root */
static const char  *foreign[] = { "nobody.pem", "pass-nobody.txt", NULL };


static char  tmp_dir[] = "/tmp/sg_signer_test.XXXXXX";
static int   tmp_made;
static int   chowned;


/* a path in the temporary directory; a few may be live at once */
static const char *
tpath(const char *name)
{
    static int   i;
    static char  buf[8][512];

    i = (i + 1) % 8;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp_dir, name);

    return buf[i];
}


/* the shell line that runs fmt in the temporary directory, then redirect */
static void
command(char *line, size_t size, const char *redirect, const char *fmt,
    va_list args)
{
    char  cmd[2048];

    vsnprintf(cmd, sizeof(cmd), fmt, args);
    snprintf(line, size, "cd '%s' && { %s ; } %s", tmp_dir, cmd, redirect);
}


/* runs a shell command in the temporary directory; 1 if it exited 0 */
static int
run(const char *fmt, ...)
{
    int      rc;
    char     line[2200];
    va_list  args;

    va_start(args, fmt);
    command(line, sizeof(line), ">/dev/null 2>&1", fmt, args);
    va_end(args);

    rc = system(line);

    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}


/* the first line a command prints, without its end */
static int
capture(char *out, size_t size, const char *fmt, ...)
{
    FILE    *fp;
    char     line[2200];
    va_list  args;

    va_start(args, fmt);
    command(line, sizeof(line), "2>/dev/null", fmt, args);
    va_end(args);

    out[0] = '\0';

    fp = popen(line, "r");
    if (fp == NULL) {
        return 0;
    }

    if (fgets(out, (int) size, fp) == NULL) {
        out[0] = '\0';
    }

    out[strcspn(out, "\r\n")] = '\0';

    return pclose(fp) == 0 && out[0] != '\0';
}


static int
write_file(const char *name, const void *data, size_t len)
{
    FILE  *fp;
    int    ok;

    fp = fopen(tpath(name), "wb");
    if (fp == NULL) {
        return 0;
    }

    ok = fwrite(data, 1, len, fp) == len;

    return fclose(fp) == 0 && ok;
}


static char *
read_text(const char *name)
{
    FILE  *fp;
    long   size;
    char  *buf;

    fp = fopen(tpath(name), "rb");
    if (fp == NULL) {
        return NULL;
    }

    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    rewind(fp);

    buf = malloc((size_t) size + 1);
    if (buf != NULL) {
        buf[fread(buf, 1, (size_t) size, fp)] = '\0';
    }

    fclose(fp);

    return buf;
}


static int
setup(void)
{
    const char    **f;
    const gen_t    *g;
    const data_t   *d;

    if (mkdtemp(tmp_dir) == NULL) {
        return 0;
    }

    tmp_made = 1;

    /* keys are born private; the table then opens some up on purpose */
    umask(077);

    for (d = files; d->name; d++) {
        if (!write_file(d->file, d->data, strlen(d->data))) {
            tap_diag(d->name);
            return 0;
        }
    }

    for (g = gen; g->file; g++) {
        if (!run("%s", g->cmd) || chmod(tpath(g->file), g->mode) != 0) {
            tap_diag(g->cmd);
            return 0;
        }
    }

    /* only root can give a file away; others skip the owner cases */
    if (geteuid() == 0) {
        for (f = foreign; *f; f++) {
            if (!run("chown nobody %s", *f)) {
                tap_diag(*f);
                return 0;
            }
        }

        chowned = 1;
    }

    return 1;
}


static int
is_foreign(const char *file)
{
    const char  **f;

    for (f = foreign; file != NULL && *f; f++) {
        if (strcmp(file, *f) == 0) {
            return 1;
        }
    }

    return 0;
}


static sg_signer_t *
load(const char *key, const char *pass, char *err)
{
    return sg_signer_load(tpath(key), pass ? tpath(pass) : NULL, err,
                          SG_SIGNER_ERRBUF_SIZE);
}


static int
is_hex(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0') {
            return 0;
        }
    }

    return 1;
}


/* standard alphabet, no line breaks, exactly the padding the length needs */
static int
is_base64(const char *s, size_t len, size_t raw_len)
{
    size_t  i, pad;

    pad = (3 - raw_len % 3) % 3;

    if (len != (raw_len + 2) / 3 * 4) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (i >= len - pad) {
            if (s[i] != '=') {
                return 0;
            }

        } else if (s[i] == '\0' || strchr(B64_ALPHABET, s[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


static int
hex_decode(const char *s, size_t len, unsigned char *out)
{
    size_t        i;
    unsigned int  byte;
    char          pair[3];

    for (i = 0; i < len / 2; i++) {
        pair[0] = s[2 * i];
        pair[1] = s[2 * i + 1];
        pair[2] = '\0';

        if (sscanf(pair, "%2x", &byte) != 1) {
            return 0;
        }

        out[i] = (unsigned char) byte;
    }

    return 1;
}


/*
 * Signs body, turns the text back into sig.bin (base64 by the openssl
 * command), and asks "openssl dgst -verify" about it: 1 if it verified.
 * The signature text is left in sig, its length in sig_len.
 */
static int
sign_and_verify(const sg_signer_t *signer, sg_encoding_t enc,
    const char *pub, const char *body, char *sig, size_t *sig_len)
{
    unsigned char  raw[2048];

    if (sg_signer_sign(signer, enc, body, strlen(body), sig, sig_len) != 0
        || !write_file("body.bin", body, strlen(body)))
    {
        return 0;
    }

    if (enc == SG_ENCODING_HEX) {
        if (!hex_decode(sig, *sig_len, raw)
            || !write_file("sig.bin", raw, *sig_len / 2))
        {
            return 0;
        }

    } else {
        if (!write_file("sig.b64", sig, *sig_len)
            || !run("openssl base64 -d -A -in sig.b64 -out sig.bin"))
        {
            return 0;
        }
    }

    return run("openssl dgst -sha256 -verify %s -signature sig.bin body.bin",
               pub);
}


static const char *
key_line_in(const char *msg, const char *key_file)
{
    char         *text, *line, *save;
    static char   found[128];

    text = read_text(key_file);
    if (text == NULL) {
        return NULL;
    }

    found[0] = '\0';

    for (line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
    {
        /* the base64 body lines; a short one could match by chance */
        if (strlen(line) >= 16 && strncmp(line, "-----", 5) != 0
            && strstr(msg, line) != NULL)
        {
            snprintf(found, sizeof(found), "%s", line);
            break;
        }
    }

    free(text);

    return found[0] ? found : NULL;
}


static void
test_good_keys(void)
{
    char           err[SG_SIGNER_ERRBUF_SIZE], want[128], name[256];
    sg_signer_t   *signer;
    const good_t  *g;

    for (g = good; g->name; g++) {
        signer = load(g->key, g->pass, err);
        tap_ok(signer != NULL, g->name);

        if (signer == NULL) {
            tap_diag(err);
            continue;
        }

        /* the CLI would keep the CR of pass-crlf.txt: give it the plain one */
        capture(want, sizeof(want),
                "openssl pkey -in %s %s -pubout -outform DER | sha256sum"
                " | cut -c1-64", g->key,
                g->pass ? "-passin file:pass.txt" : "");

        snprintf(name, sizeof(name), "%s: its fingerprint is what "
                 "openssl pkey -pubout -outform DER | sha256sum prints",
                 g->key);
        tap_ok(strlen(want) == SG_SHA256_HEX_LEN
               && strcmp(sg_signer_fingerprint(signer), want) == 0, name);

        snprintf(name, sizeof(name), "%s: reports %d bits", g->key,
                 g->bits);
        tap_ok(sg_signer_bits(signer) == g->bits, name);

        sg_signer_free(signer);
    }
}


static void
test_signatures(const char *key, const char *pass, size_t raw_len)
{
    int                 i;
    char                err[SG_SIGNER_ERRBUF_SIZE], name[256], pub[600];
    char                sig[2][1400];
    size_t              len[2];
    const char         *body;
    sg_signer_t        *signer;
    static const char  *bodies[] = { "hello", JSON_BODY };

    signer = load(key, pass, err);
    if (signer == NULL) {
        tap_ok(0, key);
        tap_diag(err);
        return;
    }

    snprintf(pub, sizeof(pub), "%s.pub", key);
    run("openssl pkey -in %s %s%s -pubout -out %s", key,
        pass ? "-passin file:" : "", pass ? pass : "", pub);

    snprintf(name, sizeof(name), "%s: signature sizes are exact", key);
    tap_ok(sg_signer_signature_size(signer, SG_ENCODING_BASE64)
           == (raw_len + 2) / 3 * 4
           && sg_signer_signature_size(signer, SG_ENCODING_HEX)
              == raw_len * 2, name);

    for (i = 0; i < 2; i++) {
        body = bodies[i];

        snprintf(name, sizeof(name), "%s: base64 signature of %s verifies "
                 "with openssl dgst", key, i ? "a JSON body" : "\"hello\"");
        tap_ok(sign_and_verify(signer, SG_ENCODING_BASE64, pub, body,
                               sig[0], &len[0]), name);

        snprintf(name, sizeof(name), "%s: base64 is standard, padded, "
                 "without line breaks", key);
        tap_ok(len[0] == sg_signer_signature_size(signer, SG_ENCODING_BASE64)
               && is_base64(sig[0], len[0], raw_len)
               && memchr(sig[0], '\n', len[0]) == NULL, name);

        snprintf(name, sizeof(name), "%s: hex signature of %s verifies "
                 "with openssl dgst", key, i ? "a JSON body" : "\"hello\"");
        tap_ok(sign_and_verify(signer, SG_ENCODING_HEX, pub, body,
                               sig[1], &len[1]), name);

        snprintf(name, sizeof(name), "%s: hex is lower case, two digits "
                 "a byte", key);
        tap_ok(len[1] == raw_len * 2 && is_hex(sig[1], len[1]), name);
    }

    /* sig.bin still holds the JSON body's signature */
    snprintf(name, sizeof(name), "%s: a tampered body does not verify", key);
    tap_ok(write_file("body.bin", JSON_BODY "x", strlen(JSON_BODY) + 1)
           && !run("openssl dgst -sha256 -verify %s -signature sig.bin"
                   " body.bin", pub), name);

    sg_signer_free(signer);
}


/* PKCS#1 v1.5 is deterministic: every form of one key signs alike */
static void
test_forms_agree(void)
{
    int            same;
    char           err[SG_SIGNER_ERRBUF_SIZE];
    char           first[400], sig[400];
    size_t         first_len, len;
    sg_signer_t   *signer;
    const good_t  *g;

    same = 1;
    first_len = 0;

    for (g = good; g->name; g++) {
        if (g->bits != 2048) {
            continue;
        }

        signer = load(g->key, g->pass, err);

        if (signer == NULL
            || sg_signer_sign(signer, SG_ENCODING_BASE64, JSON_BODY,
                              strlen(JSON_BODY), sig, &len) != 0)
        {
            same = 0;

        } else if (first_len == 0) {
            memcpy(first, sig, len);
            first_len = len;

        } else if (len != first_len || memcmp(first, sig, len) != 0) {
            same = 0;
            tap_diag(g->name);
        }

        sg_signer_free(signer);
    }

    tap_ok(same && first_len > 0, "PKCS#1, PKCS#8 and encrypted forms of "
           "one key make the same signature");
}


static void
test_bad_keys(void)
{
    int            clean, quiet;
    char           err[SG_SIGNER_ERRBUF_SIZE], name[300];
    const char    *path, *line;
    const bad_t   *b;
    sg_signer_t   *signer;

    clean = 1;
    quiet = 1;

    for (b = bad; b->name; b++) {
        if (!chowned && (is_foreign(b->key) || is_foreign(b->pass))) {
            snprintf(name, sizeof(name), "%s # SKIP needs root to chown",
                     b->name);
            tap_ok(1, name);
            continue;
        }

        strcpy(err, "untouched");
        ERR_clear_error();

        signer = load(b->key, b->pass, err);
        path = tpath(b->names_pass ? b->pass : b->key);

        tap_ok(signer == NULL && strstr(err, b->expect) != NULL
               && strstr(err, path) != NULL, b->name);

        /* the messages an operator would read, for review */
        tap_diag(err);

        if (ERR_peek_error() != 0) {
            quiet = 0;
            tap_diag(b->name);
        }

        line = key_line_in(err, "rsa8.pem");
        if (line == NULL && strcmp(b->key, "keydir") != 0
            && strcmp(b->key, "fifo.pem") != 0)
        {
            line = key_line_in(err, b->key);
        }

        if (strstr(err, "PRIVATE KEY") != NULL || strstr(err, PASSPHRASE)
            || strstr(err, "not the passphrase") || line != NULL)
        {
            clean = 0;
            snprintf(name, sizeof(name), "leaks: %s", err);
            tap_diag(name);
        }

        sg_signer_free(signer);
    }

    tap_ok(clean, "no refusal quotes \"PRIVATE KEY\", a line of the key "
           "file or the passphrase");
    tap_ok(quiet, "every refusal leaves the OpenSSL error queue empty");
}


static void
test_errbuf(void)
{
    char          err[32];
    sg_signer_t  *signer;

    memset(err, 'Z', sizeof(err));
    signer = sg_signer_load(tpath("nope.pem"), NULL, err, 16);
    tap_ok(signer == NULL && strlen(err) == 15 && err[16] == 'Z',
           "a long message is truncated to the error buffer");

    signer = sg_signer_load(tpath("nope.pem"), NULL, NULL, 0);
    tap_ok(signer == NULL, "a missing error buffer is not written");

    sg_signer_free(NULL);
    tap_ok(1, "sg_signer_free(NULL) is harmless");
}


static void *
sign_thread(void *data)
{
    int            i;
    char           sig[400];
    size_t         len;
    thread_arg_t  *arg = data;

    arg->ok = 1;

    for (i = 0; i < 25; i++) {
        if (sg_signer_sign(arg->signer, SG_ENCODING_BASE64, JSON_BODY,
                           strlen(JSON_BODY), sig, &len) != 0
            || len != strlen(arg->expect)
            || memcmp(sig, arg->expect, len) != 0)
        {
            arg->ok = 0;
        }
    }

    return NULL;
}


static void
test_threads(void)
{
    int            i, ok;
    char           err[SG_SIGNER_ERRBUF_SIZE], expect[400];
    size_t         len;
    pthread_t      tid[4];
    sg_signer_t   *signer;
    thread_arg_t   arg[4];

    ok = 0;

    signer = load("rsa8.pem", NULL, err);

    if (signer != NULL
        && sg_signer_sign(signer, SG_ENCODING_BASE64, JSON_BODY,
                          strlen(JSON_BODY), expect, &len) == 0)
    {
        expect[len] = '\0';
        ok = 1;

        for (i = 0; i < 4; i++) {
            arg[i].signer = signer;
            arg[i].expect = expect;
            arg[i].ok = 0;

            if (pthread_create(&tid[i], NULL, sign_thread, &arg[i]) != 0) {
                arg[i].ok = 0;
                tid[i] = pthread_self();
            }
        }

        for (i = 0; i < 4; i++) {
            if (!pthread_equal(tid[i], pthread_self())) {
                pthread_join(tid[i], NULL);
            }

            ok = ok && arg[i].ok;
        }
    }

    tap_ok(ok, "one signer signs correctly from 4 threads at once");

    sg_signer_free(signer);
}


static void
test_sha256(void)
{
    char  hex[SG_SHA256_HEX_LEN + 1];

    sg_sha256_hex("hello", 5, hex);
    tap_ok(strcmp(hex, "2cf24dba5fb0a30e26e83b2ac5b9e29e"
                       "1b161e5c1fa7425e73043362938b9824") == 0,
           "sg_sha256_hex of \"hello\" is the known digest");

    sg_sha256_hex("", 0, hex);
    tap_ok(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                       "27ae41e4649b934ca495991b7852b855") == 0,
           "sg_sha256_hex of nothing is the known digest");
}


int
main(void)
{
    int  rc;

    /* the signer needs no pool; tap.h's static helpers must still be used */
    (void) test_pool_alloc;
    (void) test_pool_reset;

    if (!setup()) {
        tap_ok(0, "test keys are made with the openssl command");
        goto done;
    }

    test_good_keys();
    test_forms_agree();
    test_signatures("rsa8.pem", NULL, 256);
    test_signatures("enc1.pem", "pass.txt", 256);
    test_signatures("rsa3072.pem", NULL, 384);
    test_bad_keys();
    test_errbuf();
    test_threads();
    test_sha256();

done:

    rc = tap_done();

    if (tmp_made) {
        run("cd / && rm -rf '%s'", tmp_dir);
    }

    return rc;
}
