/*
 * Unit tests of the RFC 8785 writer (CONTRACT step 5) against the RFC's own
 * examples, and of the error bodies built with its string escaper.
 */

#include <stdint.h>

#include "tap.h"
#include "sg_jcs.h"


/* numbers: input text -> canonical text, NULL when it must be refused */

typedef struct {
    const char  *in;
    const char  *out;
} number_t;


static const number_t  numbers[] = {
    { "0", "0" },
    { "-0", "0" },
    { "0.0", "0" },
    { "-0.0e5", "0" },
    { "0e99999999999999999999", "0" },
    { "-0E-99999999999999999999", "0" },
    { "1E30", "1e+30" },
    { "4.50", "4.5" },
    { "-1.50", "-1.5" },
    { "1.0", "1" },
    { "10000.0", "10000" },
    { "1e4", "10000" },
    { "1e2", "100" },
    { "100", "100" },
    { "12e-1", "1.2" },
    { "0.1", "0.1" },
    { "0.5", "0.5" },
    { "0.000001", "0.000001" },
    { "1e-6", "0.000001" },
    { "0.0000001", "1e-7" },
    { "1e-7", "1e-7" },
    { "-1e-7", "-1e-7" },
    { "2.5e-5", "0.000025" },
    { "0.00001234", "0.00001234" },
    { "1234.5e-10", "1.2345e-7" },
    { "1e20", "100000000000000000000" },
    { "1e21", "1e+21" },
    { "123e18", "123000000000000000000" },
    { "123e19", "1.23e+21" },
    { "100000000000000000000000", "1e+23" },
    { "123456789012345680000", "123456789012345680000" },
    { "9007199254740991", "9007199254740991" },
    { "9007199254740992", "9007199254740992" },
    { "-9007199254740991", "-9007199254740991" },
    { "1.5e300", "1.5e+300" },
    { "1e308", "1e+308" },
    { "1.7976931348623157e308", "1.7976931348623157e+308" },
    { "2.2250738585072014e-308", "2.2250738585072014e-308" },
    { "5e-324", "5e-324" },
    { "-5e-324", "-5e-324" },
    { "1e-323", "1e-323" },
    { "0.30000000000000004", "0.30000000000000004" },

    /*
     * 2^-1017 and 2^-140: the closest 16-digit decimal misses the
     * lopsided rounding interval of a power of two, its neighbour does not
     */
    { "7.120236347223045e-307", "7.120236347223045e-307" },
    { "7.174648137343064e-43", "7.174648137343064e-43" },
    { "00000.000100", NULL },       /* not JSON; refused as text */

    /* the value would change: refused, never rounded */
    { "9007199254740993", NULL },
    { "333333333.33333329", NULL },
    { "0.30000000000000005", NULL },    /* same double, closer digits */
    { "0.3000000000000000444", NULL },
    { "7.1202363472230444e-307", NULL },     /* 16 digits suffice */
    { "7.1746481373430634e-43", NULL },
    { "123456789012345678901", NULL },
    { "0.1000000000000000055511151231257827", NULL },
    { "1e400", NULL },
    { "-1e400", NULL },
    { "1e309", NULL },
    { "1.7976931348623159e308", NULL },
    { "1e-400", NULL },
    { "0.1e-400", NULL },
    { "2e-324", NULL },
    { "4.9e-324", NULL },
    { "1e99999999999999999999", NULL },
    { "1e-99999999999999999999", NULL },
    { "", NULL },
    { "-", NULL },
    { "1e", NULL },
};


/*
 * RFC 8785 Appendix B: IEEE 754 double -> JSON text.  exact: the double's
 * own decimal expansion is that text (so sending it is fine); otherwise
 * sending the expansion would be rounded and is refused.  The NaN and
 * Infinity rows have no JSON spelling (test_json rejects them).
 */

typedef struct {
    uint64_t     bits;
    const char  *text;
    int          exact;
} appendix_b_t;


static const appendix_b_t  appendix_b[] = {
    { 0x0000000000000000ULL, "0", 1 },
    { 0x8000000000000000ULL, "0", 1 },
    { 0x0000000000000001ULL, "5e-324", 0 },
    { 0x8000000000000001ULL, "-5e-324", 0 },
    { 0x7fefffffffffffffULL, "1.7976931348623157e+308", 0 },
    { 0xffefffffffffffffULL, "-1.7976931348623157e+308", 0 },
    { 0x4340000000000000ULL, "9007199254740992", 1 },
    { 0xc340000000000000ULL, "-9007199254740992", 1 },
    { 0x4430000000000000ULL, "295147905179352830000", 0 },
    { 0x44b52d02c7e14af5ULL, "9.999999999999997e+22", 0 },
    { 0x44b52d02c7e14af6ULL, "1e+23", 0 },
    { 0x44b52d02c7e14af7ULL, "1.0000000000000001e+23", 0 },
    { 0x444b1ae4d6e2ef4eULL, "999999999999999700000", 0 },
    { 0x444b1ae4d6e2ef4fULL, "999999999999999900000", 0 },
    { 0x444b1ae4d6e2ef50ULL, "1e+21", 1 },
    { 0x3eb0c6f7a0b5ed8cULL, "9.999999999999997e-7", 0 },
    { 0x3eb0c6f7a0b5ed8dULL, "0.000001", 0 },
    { 0x41b3de4355555553ULL, "333333333.3333332", 0 },
    { 0x41b3de4355555554ULL, "333333333.33333325", 0 },
    { 0x41b3de4355555555ULL, "333333333.3333333", 0 },
    { 0x41b3de4355555556ULL, "333333333.3333334", 0 },
    { 0x41b3de4355555557ULL, "333333333.33333343", 0 },
    { 0xbecbf647612f3696ULL, "-0.0000033333333333333333", 0 },
    { 0x43143ff3c1cb0959ULL, "1424953923781206.2", 0 },
};


static double
from_bits(uint64_t bits)
{
    double  d;

    memcpy(&d, &bits, sizeof(d));
    return d;
}


static uint64_t
to_bits(double d)
{
    uint64_t  bits;

    memcpy(&bits, &d, sizeof(bits));
    return bits;
}


static int
number_is(const char *in, const char *want)
{
    char    out[SG_JCS_NUMBER_MAX];
    size_t  n;

    memset(out, 'Z', sizeof(out));
    n = sg_jcs_number(in, strlen(in), out);

    if (want == NULL) {
        if (n != 0) {
            printf("# %s -> %s, want a refusal\n", in, out);
        }

        return n == 0;
    }

    if (n == 0 || n != strlen(want) || strcmp(out, want) != 0) {
        printf("# %s -> %s, want %s\n", in, n ? out : "(refused)", want);
        return 0;
    }

    return 1;
}


static void
test_numbers(void)
{
    char    name[256], exact[1200];
    size_t  i;
    double  d;

    for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        if (numbers[i].out) {
            snprintf(name, sizeof(name), "number %s is written %s",
                     numbers[i].in, numbers[i].out);
        } else {
            snprintf(name, sizeof(name), "number \"%s\" is refused",
                     numbers[i].in);
        }

        tap_ok(number_is(numbers[i].in, numbers[i].out), name);
    }

    for (i = 0; i < sizeof(appendix_b) / sizeof(appendix_b[0]); i++) {
        d = from_bits(appendix_b[i].bits);

        snprintf(name, sizeof(name),
                 "RFC 8785 appendix B: %016llx is %s, kept as is",
                 (unsigned long long) appendix_b[i].bits, appendix_b[i].text);
        tap_ok(strtod(appendix_b[i].text, NULL) == d
               && number_is(appendix_b[i].text, appendix_b[i].text), name);

        /* printf is exact in glibc: every digit of the double */
        snprintf(exact, sizeof(exact), "%.800e", d);

        snprintf(name, sizeof(name),
                 "RFC 8785 appendix B: %016llx's exact expansion is %s",
                 (unsigned long long) appendix_b[i].bits,
                 appendix_b[i].exact ? "written the same" : "refused");
        tap_ok(number_is(exact, appendix_b[i].exact ? appendix_b[i].text
                                                    : NULL), name);
    }
}


/*
 * Against a plain reference over many random doubles: the first "%.{p}e"
 * that reads back as the double is its shortest form; it must be kept
 * (value unchanged), and the 17-digit spelling must be accepted only when
 * it has that very value.
 */

static uint64_t
xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}


/* "d.ddd000e+XX" -> "d.ddde+XX", "5.000e-01" -> "5e-01" */

static void
strip_zeros(char *s)
{
    char  *e, *p;

    e = strchr(s, 'e');
    p = e;

    while (p[-1] == '0') {
        p--;
    }

    if (p[-1] == '.') {
        p--;
    }

    memmove(p, e, strlen(e) + 1);
}


static void
test_random_doubles(void)
{
    int       p, kept, strict;
    char      shortest[40], t17[40], a[SG_JCS_NUMBER_MAX];
    char      b[SG_JCS_NUMBER_MAX];
    double    d;
    size_t    na, nb;
    uint64_t  seed, i;

    seed = 0x9e3779b97f4a7c15ULL;
    kept = 1;
    strict = 1;

    for (i = 0; i < 50000; i++) {
        d = from_bits(xorshift(&seed));

        if (d != d || d - d != 0) {
            continue;       /* NaN, infinities */
        }

        for (p = 0; p < 17; p++) {
            snprintf(shortest, sizeof(shortest), "%.*e", p, d);
            if (strtod(shortest, NULL) == d) {
                break;
            }
        }

        na = sg_jcs_number(shortest, strlen(shortest), a);

        if (na == 0 || strtod(a, NULL) != d) {
            printf("# %s (%016llx) -> %s\n", shortest,
                   (unsigned long long) to_bits(d), na ? a : "(refused)");
            kept = 0;
        }

        snprintf(t17, sizeof(t17), "%.16e", d);
        nb = sg_jcs_number(t17, strlen(t17), b);

        strip_zeros(shortest);
        strip_zeros(t17);

        if ((nb != 0) != (strcmp(shortest, t17) == 0)
            || (nb != 0 && strcmp(a, b) != 0))
        {
            printf("# %s vs %s: %s\n", t17, shortest, nb ? b : "(refused)");
            strict = 0;
        }
    }

    tap_ok(kept, "random doubles: the shortest form is kept, same double");
    tap_ok(strict, "random doubles: 17 digits pass only when value-equal");
}


/* strings, RFC 8785 section 3.2.2.2 */

typedef struct {
    const char  *name;
    const char  *in;
    size_t       len;
    const char  *out;
} string_t;


#define S(name, in, out)  { name, in, sizeof(in) - 1, out }


static const string_t  strings[] = {
    S("empty string", "", "\"\""),
    S("plain ASCII", "abc", "\"abc\""),
    S("quote", "\"", "\"\\\"\""),
    S("backslash", "\\", "\"\\\\\""),
    S("the five short escapes", "\b\t\n\f\r", "\"\\b\\t\\n\\f\\r\""),
    S("NUL as \\u0000", "\0", "\"\\u0000\""),
    S("0x1f as \\u001f, lower case", "\x1f", "\"\\u001f\""),
    S("vertical tab as \\u000b", "\v", "\"\\u000b\""),
    S("0x0f as \\u000f", "\x0f", "\"\\u000f\""),
    S("DEL raw", "\x7f", "\"\x7f\""),
    S("slash raw", "/", "\"/\""),
    S("HTML characters raw", "<>&'", "\"<>&'\""),
    S("U+2028 raw", "\xe2\x80\xa8", "\"\xe2\x80\xa8\""),
    S("non-ASCII raw", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
      "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""),
    S("escapes among plain runs", "a\"b\\c\nd", "\"a\\\"b\\\\c\\nd\""),
};


static void
test_strings(void)
{
    char    name[256], out[64];
    size_t  i, n, c;

    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        memset(out, 'Z', sizeof(out));
        c = sg_jcs_string(strings[i].in, strings[i].len, NULL);
        n = sg_jcs_string(strings[i].in, strings[i].len, out);

        snprintf(name, sizeof(name), "string escaping: %s", strings[i].name);
        tap_ok(n == strlen(strings[i].out) && c == n
               && memcmp(out, strings[i].out, n) == 0 && out[n] == 'Z', name);
    }
}


/*
 * Plain runs are skipped a word at a time: a byte to escape must be
 * found at every position of a word, next to any neighbour.
 */

static void
test_string_words(void)
{
    int          ok;
    char         in[40], want[64], out[64];
    size_t       pos, c, n, w;
    const char  *specials = "\"\\\n\x1f\x01";
    const char  *escapes[] = { "\\\"", "\\\\", "\\n", "\\u001f",
                               "\\u0001" };

    ok = 1;

    for (pos = 0; pos < 24; pos++) {
        for (c = 0; c < 5; c++) {
            memset(in, pos & 1 ? '!' : '~', 24);
            in[pos] = specials[c];

            w = 0;
            want[w++] = '"';
            memcpy(want + w, in, pos);
            w += pos;
            memcpy(want + w, escapes[c], strlen(escapes[c]));
            w += strlen(escapes[c]);
            memcpy(want + w, in + pos + 1, 23 - pos);
            w += 23 - pos;
            want[w++] = '"';

            n = sg_jcs_string(in, 24, out);

            if (n != w || memcmp(out, want, w) != 0
                || sg_jcs_string(in, 24, NULL) != w)
            {
                printf("# byte %02x at %zu\n", (unsigned char) specials[c],
                       pos);
                ok = 0;
            }
        }
    }

    memset(in, 0x80, 24);
    tap_ok(ok && sg_jcs_string(in, 24, NULL) == 26,
           "string escaping finds a byte to escape at any word position");
}


/* the whole pipeline on one document */

static sg_code_t
canon(const char *in, size_t len, sg_alloc_t *a, char **out, size_t *olen,
    sg_error_t *err)
{
    sg_code_t  rc;
    sg_json_t  doc;

    rc = sg_json_parse(&doc, in, len, a, err);
    if (rc != SG_OK) {
        return rc;
    }

    return sg_jcs_write(&doc, a, out, olen, err);
}


/* RFC 8785 section 3.2.3, and the "</script>" name of its test data */

static const char  sort_in[] =
    "{\n"
    "  \"\\u20ac\": \"Euro Sign\",\n"
    "  \"\\r\": \"Carriage Return\",\n"
    "  \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\",\n"
    "  \"1\": \"One\",\n"
    "  \"\\ud83d\\ude00\": \"Emoji: Grinning Face\",\n"
    "  \"\\u0080\": \"Control\",\n"
    "  \"\\u00f6\": \"Latin Small Letter O With Diaeresis\",\n"
    "  \"</script>\": \"Browser Challenge\"\n"
    "}\n";

static const char  sort_out[] =
    "{\"\\r\":\"Carriage Return\","
    "\"1\":\"One\","
    "\"</script>\":\"Browser Challenge\","
    "\"\xc2\x80\":\"Control\","
    "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
    "\"\xe2\x82\xac\":\"Euro Sign\","
    "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
    "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}";


/* RFC 8785 section 3.2.2 */

static const char  rfc_in[] =
    "{\n"
    "  \"numbers\": [333333333.33333329, 1E30, 4.50,\n"
    "              2e-3, 0.000000000000000000000000001],\n"
    "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\"
    "\\\"\\/\",\n"
    "  \"literals\": [null, true, false]\n"
    "}\n";

/* the same with the first number written as its canonical value */
static const char  rfc_in_exact[] =
    "{\n"
    "  \"numbers\": [333333333.3333333, 1E30, 4.50,\n"
    "              2e-3, 0.000000000000000000000000001],\n"
    "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\"
    "\\\"\\/\",\n"
    "  \"literals\": [null, true, false]\n"
    "}\n";

static const char  rfc_out[] =
    "{\"literals\":[null,true,false],"
    "\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
    "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";


typedef struct {
    const char  *name;
    const char  *in;
    const char  *out;
} doc_t;


static const doc_t  docs[] = {
    { "RFC 8785 3.2.3: names sorted by UTF-16 code units", sort_in, sort_out },
    { "RFC 8785 3.2.2: the example document, exact numbers", rfc_in_exact,
      rfc_out },
    { "no whitespace, nested containers", " { \"b\" : [ 1 , { } , [ ] ] ,"
      " \"a\" : { \"y\" : null , \"x\" : true } } ",
      "{\"a\":{\"x\":true,\"y\":null},\"b\":[1,{},[]]}" },
    { "a number alone", " 1E30 ", "1e+30" },
    { "a string alone", "\"\\u0041\\/\"", "\"A/\"" },
    { "true alone", "true", "true" },
    { "an empty array", "[ ]", "[]" },
    { "an empty object", "{ }", "{}" },
    { "a nested array closing several levels", "[[[1]],2]", "[[[1]],2]" },
    { "an object closing several levels", "{\"a\":{\"b\":{\"c\":1}},\"d\":2}",
      "{\"a\":{\"b\":{\"c\":1}},\"d\":2}" },
};


static void
test_documents(void)
{
    char        *out, *again, name[256];
    size_t       i, len, alen;
    sg_code_t    rc;
    sg_error_t   err;

    TEST_POOL(pool, alloc);

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        rc = canon(docs[i].in, strlen(docs[i].in), &alloc, &out, &len, &err);

        snprintf(name, sizeof(name), "canonical form: %s", docs[i].name);
        tap_ok(rc == SG_OK && len == strlen(docs[i].out)
               && strcmp(out, docs[i].out) == 0, name);

        if (rc == SG_OK && strcmp(out, docs[i].out) != 0) {
            printf("# got %s\n", out);
        }

        if (rc != SG_OK) {
            continue;
        }

        rc = canon(out, len, &alloc, &again, &alen, &err);

        snprintf(name, sizeof(name), "idempotent: %s", docs[i].name);
        tap_ok(rc == SG_OK && alen == len && memcmp(again, out, len) == 0,
               name);
    }

    test_pool_reset(&pool);
}


static void
test_refusals(void)
{
    char        *out;
    size_t       len;
    sg_code_t    rc;
    sg_error_t   err;
    const char  *in;

    TEST_POOL(pool, alloc);

    rc = canon(rfc_in, sizeof(rfc_in) - 1, &alloc, &out, &len, &err);
    tap_ok(rc == SG_ERR_INVALID_REQUEST && err.code == SG_ERR_INVALID_REQUEST
           && err.offset == (size_t) (strstr(rfc_in, "3333") - rfc_in)
           && strcmp(err.path, "numbers[0]") == 0 && out == NULL,
           "RFC 8785 3.2.2's 333333333.33333329 is refused at numbers[0]");

    in = "{\"amount_details\":{\"currency\":\"usd\",\"amount\":1e400}}";
    rc = canon(in, strlen(in), &alloc, &out, &len, &err);
    tap_ok(rc == SG_ERR_INVALID_REQUEST
           && err.offset == (size_t) (strstr(in, "1e400") - in)
           && strcmp(err.path, "amount_details.amount") == 0
           && strstr(err.reason, "minor units") != NULL,
           "a refused number names its member path and offset");

    in = "[1,2,9007199254740993]";
    rc = canon(in, strlen(in), &alloc, &out, &len, &err);
    tap_ok(rc == SG_ERR_INVALID_REQUEST && err.offset == 5
           && strcmp(err.path, "[2]") == 0,
           "a refused array element is named by its index");

    in = " 1e-400";
    rc = canon(in, strlen(in), &alloc, &out, &len, &err);
    tap_ok(rc == SG_ERR_INVALID_REQUEST && err.offset == 1
           && err.path[0] == '\0',
           "a refused number alone has an empty path");

    in = "{\"b\":9007199254740993,\"a\":1e400}";
    rc = canon(in, strlen(in), &alloc, &out, &len, &err);
    tap_ok(rc == SG_ERR_INVALID_REQUEST && strcmp(err.path, "b") == 0
           && err.offset == 5,
           "of two refused numbers the first in the document is reported");

    test_pool_reset(&pool);
}


/* deep documents are written without recursion, and in one allocation */

static void
test_deep_and_alloc(void)
{
    int          i;
    char         in[200], *out;
    size_t       len, count;
    sg_code_t    rc;
    sg_error_t   err;

    TEST_POOL(pool, alloc);

    for (i = 0; i < 32; i++) {
        in[i] = '[';
        in[i + 33] = ']';
    }

    in[32] = '0';
    in[65] = '\0';

    rc = canon(in, 65, &alloc, &out, &len, &err);
    tap_ok(rc == SG_OK && len == 65 && strcmp(out, in) == 0,
           "32 nested arrays are written back");

    test_pool_reset(&pool);
    rc = canon("{\"a\":[1,2,{\"b\":\"c\"}]}", 21, &alloc, &out, &len, &err);
    count = pool.count;

    {
        sg_json_t  doc;

        test_pool_reset(&pool);
        rc = sg_json_parse(&doc, "{\"a\":[1,2,{\"b\":\"c\"}]}", 21, &alloc,
                           &err);
        count -= pool.count;
        tap_ok(rc == SG_OK && count == 1 && pool.count > 0,
               "the writer makes exactly one allocation");
    }

    test_pool_reset(&pool);
}


/* error values and bodies (sg_error.c) */

static void
test_errors(void)
{
    char         buf[256];
    size_t       n;
    sg_error_t   err;
    static const char  contract[] =
        "{\"status\":\"error\",\"error\":{\"code\":\"invalid_request\","
        "\"description\":\"amount_details.amount: must be an integer in "
        "minor units (send 10000 for 100.00)\"}}";

    tap_ok(strcmp(sg_error_code_name(SG_ERR_INVALID_JSON), "invalid_json") == 0
           && strcmp(sg_error_code_name(SG_ERR_INVALID_REQUEST),
                     "invalid_request") == 0
           && strcmp(sg_error_code_name(SG_ERR_NOMEM), "internal_error") == 0
           && strcmp(sg_error_code_name(SG_OK), "ok") == 0,
           "error codes have the provider's names");

    strcpy(err.path, "stale");
    sg_error_set(&err, SG_ERR_INVALID_JSON, 12, "expected ':'");
    tap_ok(err.code == SG_ERR_INVALID_JSON && err.offset == 12
           && err.path[0] == '\0' && strcmp(err.reason, "expected ':'") == 0,
           "sg_error_set fills the error and clears the path");

    n = sg_error_describe(&err, buf, sizeof(buf));
    tap_ok(strcmp(buf, "offset 12: expected ':'") == 0 && n == strlen(buf),
           "invalid_json is described by offset and reason");

    sg_error_set(&err, SG_ERR_INVALID_REQUEST, 40, "must be a string");
    strcpy(err.path, "amount_details.currency");
    n = sg_error_describe(&err, buf, sizeof(buf));
    tap_ok(strcmp(buf, "amount_details.currency: must be a string") == 0
           && n == strlen(buf),
           "invalid_request is described by path and reason");

    err.path[0] = '\0';
    n = sg_error_describe(&err, buf, sizeof(buf));
    tap_ok(strcmp(buf, "must be a string") == 0 && n == strlen(buf),
           "invalid_request without a path is just the reason");

    memset(buf, 'Z', sizeof(buf));
    n = sg_error_describe(&err, buf, 5);
    tap_ok(n == 4 && strcmp(buf, "must") == 0 && buf[5] == 'Z',
           "a description is truncated to the buffer");

    n = sg_error_json("invalid_request", "amount_details.amount: must be an "
                      "integer in minor units (send 10000 for 100.00)",
                      buf, sizeof(buf));
    tap_ok(n == sizeof(contract) - 1 && strcmp(buf, contract) == 0,
           "the error body has exactly the CONTRACT's shape");

    n = sg_error_json("invalid_json", "a \"quoted\" \\ \n",
                      buf, sizeof(buf));
    tap_ok(strcmp(buf, "{\"status\":\"error\",\"error\":{\"code\":"
                       "\"invalid_json\",\"description\":"
                       "\"a \\\"quoted\\\" \\\\ \\n\"}}") == 0
           && n == strlen(buf),
           "the error body escapes its strings as JCS does");

    memset(buf, 'Z', sizeof(buf));
    n = sg_error_json("invalid_json", "offset 3: expected ':'", buf, 20);
    tap_ok(n == strlen("{\"status\":\"error\",\"error\":{\"code\":"
                       "\"invalid_json\",\"description\":"
                       "\"offset 3: expected ':'\"}}")
           && buf[0] == 'Z' && buf[20] == 'Z',
           "a too small buffer gets the length and nothing past its size");

    tap_ok(sg_error_json("x", "y", NULL, 0) == strlen(
               "{\"status\":\"error\",\"error\":{\"code\":\"x\","
               "\"description\":\"y\"}}"),
           "with no buffer the length needed is returned");
}


/*
 * The writer checks its own room: with a bound that is too small (as a
 * rule that lengthens a value would make it), it fails closed, whole.
 */

static void
test_room(void)
{
    char         name[128], *out;
    size_t       out_len, cut;
    sg_code_t    rc;
    sg_json_t    doc;
    sg_error_t   err;
    const char  *in = "{\"b\":[1,2.50,\"x\\u0041\"],\"a\":{\"c\":null}}";
    TEST_POOL(pool, alloc);

    for (cut = 1; cut <= 8; cut++) {
        rc = sg_json_parse(&doc, in, strlen(in), &alloc, &err);
        if (rc != SG_OK) {
            tap_ok(0, "the room test's document parses");
            return;
        }

        doc.jcs_max = (strlen("{\"a\":{\"c\":null},\"b\":[1,2.5,\"xA\"]}")
                       - cut);

        rc = sg_jcs_write(&doc, &alloc, &out, &out_len, &err);

        snprintf(name, sizeof(name), "a bound %zu byte(s) short fails closed "
                 "(no output)", cut);
        tap_ok(rc == SG_ERR_NOMEM && out == NULL, name);
        test_pool_reset(&pool);
    }

    rc = sg_json_parse(&doc, in, strlen(in), &alloc, &err);
    doc.jcs_max = strlen("{\"a\":{\"c\":null},\"b\":[1,2.5,\"xA\"]}");
    rc = sg_jcs_write(&doc, &alloc, &out, &out_len, &err);
    tap_ok(rc == SG_OK && out_len == doc.jcs_max,
           "an exact bound is enough");
    test_pool_reset(&pool);
}


int
main(void)
{
    test_room();
    test_numbers();
    test_random_doubles();
    test_strings();
    test_string_words();
    test_documents();
    test_refusals();
    test_deep_and_alloc();
    test_errors();

    return tap_done();
}
