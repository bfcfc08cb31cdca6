/*
 * Unit tests of the strict JSON validator and its tree (CONTRACT step 3):
 * every rejection class with the offset it must report, then the tree.
 */

#include <stdint.h>
#include <time.h>

#include "tap.h"
#include "sg_json.h"


typedef struct {
    const char  *name;
    const char  *in;
    size_t       len;
    size_t       offset;
    const char  *reason;        /* a substring of err.reason */
} reject_t;


typedef struct {
    const char  *name;
    const char  *in;
    size_t       len;
} accept_t;


/* sizeof, not strlen: some inputs hold NUL bytes */
#define R(name, in, off, reason)  { name, in, sizeof(in) - 1, off, reason }
#define A(name, in)               { name, in, sizeof(in) - 1 }


static const reject_t  rejects[] = {

    /* what jsmn accepts and RFC 8259 does not */
    R("trailing comma in array", "[1,]", 3, "expected a JSON value"),
    R("trailing comma in object", "{\"a\":1,}", 7, "expected a member name"),
    R("missing comma between strings", "[\"a\" \"b\"]", 5,
      "expected ',' or ']'"),
    R("missing comma between numbers", "[1 2]", 3, "expected ',' or ']'"),
    R("name without value", "{\"a\"}", 4, "expected ':'"),
    R("name without colon", "{\"a\" 1}", 5, "expected ':'"),
    R("two top-level values", "1 2", 2, "unexpected data after"),
    R("two top-level arrays", "[1]\n[2]", 4, "unexpected data after"),
    R("two top-level objects", "{\"a\":1}{}", 7, "unexpected data after"),
    R("truncated literal in array", "[tru]", 4, "invalid literal"),
    R("leading zero in array", "[01]", 2, "leading zeros"),
    R("two decimal points", "[1.2.3]", 4, "expected ',' or ']'"),
    R("minus alone in array", "[-]", 2, "expected a digit"),
    R("colon after value", "{\"a\":1:2}", 6, "expected ',' or '}'"),
    R("comma as first member", "{,}", 1, "expected a member name or '}'"),
    R("comma as first element", "[,1]", 1, "expected a JSON value"),
    R("double comma", "[1,,2]", 3, "expected a JSON value"),
    R("double colon", "{\"a\"::1}", 5, "expected a JSON value"),
    R("number as member name", "{1:2}", 1, "expected a member name"),
    R("missing comma between members", "{\"a\":1 \"b\":2}", 7,
      "expected ',' or '}'"),
    R("array closed by brace", "[1}", 2, "expected ',' or ']'"),
    R("object closed by bracket", "{\"a\":1]", 6, "expected ',' or '}'"),
    R("closing bracket alone", "]", 0, "expected a JSON value"),
    R("extra closing bracket", "[1]]", 3, "unexpected data after"),
    R("garbage after value", "[1]x", 3, "unexpected data after"),
    R("NUL after value", "[1]\0", 3, "unexpected data after"),
    R("NUL where a value goes", "[1,\0 2]", 3, "expected a JSON value"),
    R("missing value in nested object", "{\"a\":[1,{\"b\":}]}", 13,
      "expected a JSON value"),
    R("literals without comma", "[true false]", 6, "expected ',' or ']'"),
    R("literal with extra letter", "[nulll]", 5, "expected ',' or ']'"),
    R("top-level literal with extra letter", "truex", 4,
      "unexpected data after"),
    R("object as member name", "{{}:1}", 1, "expected a member name"),
    R("single-quoted string", "['a']", 1, "expected a JSON value"),
    R("bare word", "[abc]", 1, "expected a JSON value"),
    R("comment", "[1 /* c */]", 3, "expected ',' or ']'"),

    /* truncation: the offset is the input's length */
    R("open array", "[", 1, "expected a JSON value"),
    R("open object", "{", 1, "expected a member name or '}'"),
    R("object cut after colon", "{\"a\":", 5, "expected a JSON value"),
    R("object cut after name", "{\"a\"", 4, "expected ':'"),
    R("array cut after value", "[1", 2, "expected ',' or ']'"),
    R("nested array not closed", "[[]", 3, "expected ',' or ']'"),
    R("object cut after comma", "{\"a\":1,", 7, "expected a member name"),

    /* empty input */
    R("empty input", "", 0, "expected a JSON value"),
    R("spaces only", "   ", 3, "expected a JSON value"),
    R("all four whitespace characters only", " \t\r\n", 4,
      "expected a JSON value"),
    R("form feed is not whitespace", "\f1", 0, "expected a JSON value"),
    R("vertical tab is not whitespace", "[1,\v2]", 3, "expected a JSON value"),
    R("byte order mark", "\xef\xbb\xbf{}", 0, "expected a JSON value"),
    R("no-break space is not whitespace", "\xc2\xa0" "1", 0,
      "expected a JSON value"),

    /* numbers: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
    R("leading zero", "01", 1, "leading zeros"),
    R("negative leading zero", "-01", 2, "leading zeros"),
    R("double zero", "00", 1, "leading zeros"),
    R("leading zero before fraction digits", "00.5", 1, "leading zeros"),
    R("point without fraction", "1.", 2, "expected a digit after '.'"),
    R("point before exponent", "1.e5", 2, "expected a digit after '.'"),
    R("fraction without integer", ".1", 0, "expected a JSON value"),
    R("minus alone", "-", 1, "expected a digit"),
    R("minus before letter", "-a", 1, "expected a digit"),
    R("minus before space", "- 1", 1, "expected a digit"),
    R("minus before point", "-.5", 1, "expected a digit"),
    R("exponent without digits", "1e", 2, "exponent"),
    R("exponent sign without digits", "1e+", 3, "exponent"),
    R("exponent followed by letter", "1E-x", 3, "exponent"),
    R("plus sign", "+1", 0, "expected a JSON value"),
    R("hexadecimal", "0x1", 1, "unexpected data after"),
    R("hexadecimal in array", "[0x1]", 2, "expected ',' or ']'"),
    R("NaN", "NaN", 0, "expected a JSON value"),
    R("Infinity", "Infinity", 0, "expected a JSON value"),
    R("negative Infinity", "-Infinity", 1, "expected a digit"),
    R("fractional exponent", "[1e5.0]", 4, "expected ',' or ']'"),
    R("two exponents", "1.5e3e4", 5, "unexpected data after"),
    R("minus alone in array after comma", "[1,-]", 4, "expected a digit"),

    /* literals: exactly true, false, null */
    R("truncated true", "tru", 3, "invalid literal"),
    R("capitalized True", "True", 0, "expected a JSON value"),
    R("truncated null", "nul", 3, "invalid literal"),
    R("null with capital L", "nulL", 3, "invalid literal"),
    R("truncated false", "fals", 4, "invalid literal"),
    R("falsy", "falsy", 4, "invalid literal"),
    R("t alone", "t", 1, "invalid literal"),
    R("nil", "[nil]", 2, "invalid literal"),
    R("undefined", "undefined", 0, "expected a JSON value"),

    /* strings: escapes (RFC 8259 section 7) */
    R("unterminated string", "\"abc", 4, "unterminated string"),
    R("lone quote", "\"", 1, "unterminated string"),
    R("backslash at end of input", "\"\\", 2, "unterminated string"),
    R("escape \\x", "\"\\x\"", 2, "invalid escape"),
    R("escape \\'", "\"\\'\"", 2, "invalid escape"),
    R("escape \\U", "\"\\U0041\"", 2, "invalid escape"),
    R("escape \\0", "\"\\0\"", 2, "invalid escape"),
    R("escaped newline byte", "\"\\\n\"", 2, "invalid escape"),
    R("\\u with two hex digits", "\"\\u12\"", 5, "invalid \\u escape"),
    R("\\u with a non-hex digit", "\"\\u12G4\"", 5, "invalid \\u escape"),
    R("\\u cut by end of input", "\"\\u123", 6, "unterminated string"),
    R("escaped quote does not end a string", "\"\\\"", 3,
      "unterminated string"),

    /* strings: raw control characters */
    R("raw tab in string", "\"a\tb\"", 2, "control character"),
    R("raw newline in string", "\"\n\"", 1, "control character"),
    R("raw 0x1f in string", "\"\x1f\"", 1, "control character"),
    R("raw NUL in string", "\"a\0b\"", 2, "control character"),
    R("raw carriage return in name", "{\"\r\":1}", 2, "control character"),

    /* strings: \u surrogates must pair */
    R("lone high surrogate", "\"\\ud800\"", 7, "lone surrogate"),
    R("lone low surrogate", "\"\\udc00\"", 1, "lone surrogate"),
    R("lone low surrogate uppercase", "\"a\\uDFFF\"", 2, "lone surrogate"),
    R("high surrogate then a letter escape", "\"\\ud800\\u0041\"", 7,
      "lone surrogate"),
    R("high surrogate twice", "\"\\ud800\\ud800\"", 7, "lone surrogate"),
    R("high surrogate then a raw character", "\"\\ud800x\"", 7,
      "lone surrogate"),
    R("high surrogate then \\n", "\"\\ud800\\n\"", 7, "lone surrogate"),
    R("low then high surrogate", "\"\\udc00\\ud800\"", 1, "lone surrogate"),
    R("high surrogate at end of input", "\"\\ud800", 7,
      "unterminated string"),
    R("high surrogate then backslash at end", "\"\\ud800\\", 8,
      "unterminated string"),
    R("high surrogate then \\u at end", "\"\\ud800\\u", 9,
      "unterminated string"),
    R("low surrogate cut by end", "\"\\ud800\\udc0", 12,
      "unterminated string"),
    R("high surrogate then bad hex", "\"\\ud800\\udcxx\"", 11,
      "invalid \\u escape"),

    /* strings: well-formed UTF-8 only (RFC 8259 section 8.1) */
    R("overlong 2-byte C0 80", "\"\xc0\x80\"", 1, "invalid UTF-8"),
    R("overlong 2-byte C1 BF", "\"\xc1\xbf\"", 1, "invalid UTF-8"),
    R("overlong 3-byte E0 80 80", "\"\xe0\x80\x80\"", 2, "invalid UTF-8"),
    R("overlong 3-byte E0 9F BF", "\"\xe0\x9f\xbf\"", 2, "invalid UTF-8"),
    R("overlong 4-byte F0 80 80 80", "\"\xf0\x80\x80\x80\"", 2,
      "invalid UTF-8"),
    R("overlong 4-byte F0 8F BF BF", "\"\xf0\x8f\xbf\xbf\"", 2,
      "invalid UTF-8"),
    R("encoded high surrogate ED A0 80", "\"\xed\xa0\x80\"", 2,
      "invalid UTF-8"),
    R("encoded low surrogate ED BF BF", "\"\xed\xbf\xbf\"", 2,
      "invalid UTF-8"),
    R("above U+10FFFF: F4 90 80 80", "\"\xf4\x90\x80\x80\"", 2,
      "invalid UTF-8"),
    R("above U+10FFFF: F5 80 80 80", "\"\xf5\x80\x80\x80\"", 1,
      "invalid UTF-8"),
    R("byte FE", "\"\xfe\"", 1, "invalid UTF-8"),
    R("byte FF", "\"a\xff\"", 2, "invalid UTF-8"),
    R("truncated 2-byte sequence", "\"\xc3\"", 2, "invalid UTF-8"),
    R("truncated 3-byte sequence", "\"\xe2\x82\"", 3, "invalid UTF-8"),
    R("truncated 4-byte sequence", "\"\xf0\x9f\x98\"", 4, "invalid UTF-8"),
    R("2-byte lead then ASCII", "\"\xc3" "a\"", 2, "invalid UTF-8"),
    R("truncated sequence at end of input", "\"\xc3", 2,
      "unterminated string"),
    R("stray continuation byte", "\"\x80\"", 1, "invalid UTF-8"),
    R("stray continuation after ASCII", "\"a\xbf\"", 2, "invalid UTF-8"),
    R("two continuations after 2-byte", "\"\xc3\xa9\xa9\"", 3,
      "invalid UTF-8"),
    R("invalid UTF-8 in member name", "{\"\xff\":1}", 2, "invalid UTF-8"),
    R("UTF-8 outside a string", "\xc3\xa9", 0, "expected a JSON value"),

    /* duplicate member names, compared decoded */
    R("duplicate name", "{\"a\":1,\"a\":2}", 7, "duplicate member name"),
    R("duplicate through \\u escape", "{\"a\":1,\"\\u0061\":2}", 7,
      "duplicate member name"),
    R("duplicate, escape first", "{\"\\u0061\":1,\"a\":2}", 12,
      "duplicate member name"),
    R("duplicate through \\/", "{\"/\":1,\"\\/\":2}", 7,
      "duplicate member name"),
    R("duplicate non-ASCII through escape",
      "{\"\xc3\xa9\":1,\"\\u00e9\":2}", 8, "duplicate member name"),
    R("duplicate emoji through surrogate pair",
      "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", 18,
      "duplicate member name"),
    R("duplicate not adjacent", "{\"a\":1,\"b\":2,\"a\":3}", 13,
      "duplicate member name"),
    R("duplicate reported at the earliest later copy",
      "{\"x\":{\"b\":1,\"b\":2},\"x\":3}", 12, "duplicate member name"),
    R("duplicate empty names", "{\"\":1,\"\":2}", 6, "duplicate member name"),
};


static const accept_t  accepts[] = {
    A("zero at top level", "0"),
    A("negative zero at top level", "-0"),
    A("integer at top level", "123456789"),
    A("number with fraction and exponent", "-1.5e-3"),
    A("capital E and plus sign", "1E+2"),
    A("zero with fraction", "0.0"),
    A("number surrounded by whitespace", " \t1\r\n"),
    A("true at top level", "true"),
    A("false at top level", "false"),
    A("null at top level", "null"),
    A("empty string at top level", "\"\""),
    A("string at top level", "\"a\""),
    A("empty array", "[]"),
    A("empty object", "{}"),
    A("empty containers with whitespace", "[ ] "),
    A("whitespace everywhere", " \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ 1 , "
      "2 ] \t\r\n, \"b\" : { } } \t\r\n"),
    A("every escape", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\uFFFF"
      "\\uD83D\\uDE00\\uDBFF\\uDFFF\"]"),
    A("DEL raw in a string", "\"\x7f\""),
    A("2, 3 and 4-byte UTF-8", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""),
    A("U+D7FF, U+E000, U+FFFF, U+10FFFF raw",
      "\"\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\""),
    A("nested containers", "{\"a\":{\"b\":[1,{\"c\":null}],\"d\":[]}}"),
    A("same name in different objects", "{\"a\":1,\"b\":{\"a\":2}}"),
    A("same name in sibling objects", "[{\"a\":1},{\"a\":1}]"),
    A("names differing only in case", "{\"a\":1,\"A\":2}"),
    A("a name that is a prefix of another", "{\"ab\":1,\"a\":2}"),
    A("huge number is valid JSON", "[1e400, -1e-400, 0.1e99999999999]"),
};


static void
test_rejects(void)
{
    char         name[256];
    size_t       i;
    sg_code_t    rc;
    sg_json_t    doc;
    sg_error_t   err;

    for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
        TEST_POOL(pool, alloc);

        memset(&err, 0, sizeof(err));
        rc = sg_json_parse(&doc, rejects[i].in, rejects[i].len, &alloc, &err);

        snprintf(name, sizeof(name), "rejects %s at offset %zu",
                 rejects[i].name, rejects[i].offset);

        tap_ok(rc == SG_ERR_INVALID_JSON
               && err.code == SG_ERR_INVALID_JSON
               && err.offset == rejects[i].offset
               && err.reason != NULL
               && strstr(err.reason, rejects[i].reason) != NULL, name);

        if (rc != SG_ERR_INVALID_JSON || err.offset != rejects[i].offset
            || err.reason == NULL || !strstr(err.reason, rejects[i].reason))
        {
            printf("# got rc %d offset %zu reason \"%s\"\n", (int) rc,
                   err.offset, err.reason ? err.reason : "(null)");
        }

        test_pool_reset(&pool);
    }
}


static void
test_accepts(void)
{
    char         name[256];
    size_t       i;
    sg_code_t    rc;
    sg_json_t    doc;
    sg_error_t   err;

    for (i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
        TEST_POOL(pool, alloc);

        memset(&err, 0, sizeof(err));
        rc = sg_json_parse(&doc, accepts[i].in, accepts[i].len, &alloc, &err);

        snprintf(name, sizeof(name), "accepts %s", accepts[i].name);
        tap_ok(rc == SG_OK && doc.n > 0, name);

        if (rc != SG_OK) {
            printf("# got rc %d offset %zu reason \"%s\"\n", (int) rc,
                   err.offset, err.reason ? err.reason : "(null)");
        }

        test_pool_reset(&pool);
    }
}


/* "[[[...]]]" or {"a":{"a":...}} nested n deep */

static char *
nested(int n, int objects, size_t *len)
{
    int     i;
    char   *s, *p;

    s = malloc((size_t) n * 6 + 16);
    p = s;

    for (i = 0; i < n; i++) {
        if (objects) {
            p += sprintf(p, "{\"a\":");
        } else {
            *p++ = '[';
        }
    }

    *p++ = '1';

    for (i = 0; i < n; i++) {
        *p++ = objects ? '}' : ']';
    }

    *len = (size_t) (p - s);

    return s;
}


static void
test_depth(void)
{
    char        *s;
    size_t       len;
    sg_code_t    rc;
    sg_json_t    doc;
    sg_error_t   err;

    TEST_POOL(pool, alloc);

    s = nested(32, 0, &len);
    rc = sg_json_parse(&doc, s, len, &alloc, &err);
    tap_ok(rc == SG_OK && doc.n == 33, "accepts 32 nested arrays");
    free(s);

    s = nested(33, 0, &len);
    rc = sg_json_parse(&doc, s, len, &alloc, &err);
    tap_ok(rc == SG_ERR_INVALID_JSON && err.offset == 32
           && strstr(err.reason, "nesting deeper than 32") != NULL,
           "rejects 33 nested arrays at the 33rd bracket (offset 32)");
    free(s);

    s = nested(32, 1, &len);
    rc = sg_json_parse(&doc, s, len, &alloc, &err);
    tap_ok(rc == SG_OK, "accepts 32 nested objects");
    free(s);

    s = nested(33, 1, &len);
    rc = sg_json_parse(&doc, s, len, &alloc, &err);
    tap_ok(rc == SG_ERR_INVALID_JSON && err.offset == 32 * 5,
           "rejects 33 nested objects at the 33rd brace");
    free(s);

    s = nested(100000, 0, &len);
    rc = sg_json_parse(&doc, s, len, &alloc, &err);
    tap_ok(rc == SG_ERR_INVALID_JSON && err.offset == 32,
           "rejects 100000 nested arrays without deep recursion");
    free(s);

    s = nested(100000, 0, &len);
    len = 40;
    rc = sg_json_parse(&doc, s, len, &alloc, &err);
    tap_ok(rc == SG_ERR_INVALID_JSON && err.offset == 32,
           "depth is refused before truncation is noticed");
    free(s);

    test_pool_reset(&pool);
}


/* plain runs are skipped a word at a time: the first bad byte anywhere */

static void
test_string_words(void)
{
    int          ok;
    char         in[40];
    size_t       pos, c;
    sg_code_t    rc;
    sg_json_t    doc;
    sg_error_t   err;
    const char   bad[] = { '\0', '\x1f', '\n', '\x7f', '\x80', '\xff', '"' };

    TEST_POOL(pool, alloc);

    ok = 1;

    for (pos = 1; pos < 25; pos++) {
        for (c = 0; c < sizeof(bad); c++) {
            memset(in, pos & 1 ? '!' : '~', 26);
            in[0] = '"';
            in[25] = '"';
            in[pos] = bad[c];

            rc = sg_json_parse(&doc, in, 26, &alloc, &err);

            if (bad[c] == '\x7f') {
                ok &= (rc == SG_OK && doc.nodes[0].len == 24);

            } else if (bad[c] == '"') {
                ok &= (rc == SG_ERR_INVALID_JSON && err.offset == pos + 1);

            } else {
                ok &= (rc == SG_ERR_INVALID_JSON && err.offset == pos);
            }
        }

        test_pool_reset(&pool);
    }

    tap_ok(ok, "strings: a bad byte is found at any position of a word");
}


static const char  tree_doc[] =
    "{\"b\":1.50e3,\"a\":[true,\"x\\u0041\",false,null],"
    "\"c\":{\"d\":{}},\"\":\"empty\"}";


static void
test_tree(void)
{
    uint32_t         a, b, c, d, k;
    sg_code_t        rc;
    sg_json_t        doc;
    sg_error_t       err;
    sg_json_node_t  *n;

    TEST_POOL(pool, alloc);

    rc = sg_json_parse(&doc, tree_doc, sizeof(tree_doc) - 1, &alloc, &err);
    tap_ok(rc == SG_OK && doc.n == 15, "tree: one node per token");

    if (rc != SG_OK) {
        test_pool_reset(&pool);
        return;
    }

    n = doc.nodes;

    tap_ok(n[0].type == SG_JSON_OBJECT && n[0].count == 4 && n[0].offset == 0,
           "tree: root object counts its members");

    a = sg_json_member(&doc, 0, "a");
    b = sg_json_member(&doc, 0, "b");
    c = sg_json_member(&doc, 0, "c");

    tap_ok(a != SG_JSON_NONE && n[a].type == SG_JSON_ARRAY && n[a].count == 4,
           "tree: member lookup finds the array value");
    tap_ok(b != SG_JSON_NONE && n[b].type == SG_JSON_NUMBER
           && n[b].len == 6 && memcmp(n[b].str, "1.50e3", 6) == 0
           && n[b].offset == 5,
           "tree: a number node keeps its raw text and offset");
    tap_ok(sg_json_member(&doc, 0, "zz") == SG_JSON_NONE
           && sg_json_member(&doc, a, "a") == SG_JSON_NONE
           && sg_json_member(&doc, 999, "a") == SG_JSON_NONE,
           "tree: member lookup misses absent names and non-objects");
    tap_ok(n[sg_json_member(&doc, 0, "")].type == SG_JSON_STRING
           && sg_json_str_eq(&n[sg_json_member(&doc, 0, "")], "empty"),
           "tree: the empty name is a name like any other");

    k = n[a].first;
    /* no parent links: an array's first element is the node after it */
    tap_ok(n[k].type == SG_JSON_TRUE && k == a + 1
           && n[n[k].next].type == SG_JSON_STRING
           && n[n[n[k].next].next].type == SG_JSON_FALSE
           && n[n[n[n[k].next].next].next].type == SG_JSON_NULL
           && n[n[n[n[k].next].next].next].next == SG_JSON_NONE,
           "tree: array elements are linked in document order");

    k = n[k].next;
    tap_ok(sg_json_str_eq(&n[k], "xA") && n[k].len == 2
           && n[k].offset == (uint32_t) (strstr(tree_doc, "\"x") - tree_doc),
           "tree: an escaped string is decoded, offset at its quote");
    tap_ok(!sg_json_str_eq(&n[k], "xA ") && !sg_json_str_eq(&n[k], "x")
           && !sg_json_str_eq(&n[b], "1.50e3"),
           "tree: str_eq compares whole strings of string nodes only");

    /* no parent links: the name is linked among the object's members */
    for (k = n[0].first; k != SG_JSON_NONE && k != b - 1; k = n[k].next) {
        /* void */
    }

    tap_ok(n[b - 1].type == SG_JSON_STRING && sg_json_str_eq(&n[b - 1], "b")
           && k == b - 1,
           "tree: a value follows its name, the name is the object's");

    k = n[0].first;
    tap_ok(k != SG_JSON_NONE && n[k].len == 0
           && sg_json_str_eq(&n[n[k].next], "a")
           && sg_json_str_eq(&n[n[n[k].next].next], "b")
           && sg_json_str_eq(&n[n[n[n[k].next].next].next], "c")
           && n[n[n[n[k].next].next].next].next == SG_JSON_NONE,
           "tree: member names are linked in sorted order");

    d = sg_json_member(&doc, c, "d");
    tap_ok(d != SG_JSON_NONE && n[d].type == SG_JSON_OBJECT && n[d].count == 0
           && n[d].first == SG_JSON_NONE,
           "tree: an empty object has no members");

    test_pool_reset(&pool);

    rc = sg_json_parse(&doc, "  42  ", 6, &alloc, &err);
    tap_ok(rc == SG_OK && doc.n == 1 && doc.nodes[0].type == SG_JSON_NUMBER
           && doc.nodes[0].len == 2 && doc.nodes[0].offset == 2
           && memcmp(doc.nodes[0].str, "42", 2) == 0,
           "tree: a number alone is one node without the whitespace");

    rc = sg_json_parse(&doc, " \"a\\nb\" ", 8, &alloc, &err);
    tap_ok(rc == SG_OK && doc.n == 1 && doc.nodes[0].offset == 1
           && sg_json_str_eq(&doc.nodes[0], "a\nb"),
           "tree: a string alone is one decoded node");

    rc = sg_json_parse(&doc, "\"\\u0000\"", 8, &alloc, &err);
    tap_ok(rc == SG_OK && doc.nodes[0].len == 1 && doc.nodes[0].str[0] == 0
           && !sg_json_str_eq(&doc.nodes[0], ""),
           "tree: \\u0000 decodes to one NUL byte, kept by length");

    test_pool_reset(&pool);
}


/*
 * RFC 8785 section 3.2.3: UTF-16 order.  Byte (code point) order would
 * put U+E000 and U+FFFF before U+1F600; UTF-16 puts the surrogates first.
 */

static void
test_sort_order(void)
{
    int          ok;
    uint32_t     k;
    sg_code_t    rc;
    sg_json_t    doc;
    sg_error_t   err;
    const char  *want[] = { "", "a", "ab", "z", "\xc2\x80", "\xed\x9f\xbf",
                            "\xf0\x90\x80\x80", "\xf0\x9f\x98\x80",
                            "\xf4\x8f\xbf\xbf", "\xee\x80\x80",
                            "\xef\xbf\xbf" };
    size_t       i;
    static const char  in[] =
        "{\"\\uffff\":0,\"\\ue000\":0,\"\\ud83d\\ude00\":0,\"z\":0,"
        "\"\\udbff\\udfff\":0,\"ab\":0,\"\\ud7ff\":0,\"a\":0,"
        "\"\\u0080\":0,\"\\ud800\\udc00\":0,\"\":0}";

    TEST_POOL(pool, alloc);

    rc = sg_json_parse(&doc, in, sizeof(in) - 1, &alloc, &err);

    ok = (rc == SG_OK);
    k = ok ? doc.nodes[0].first : SG_JSON_NONE;

    for (i = 0; ok && i < sizeof(want) / sizeof(want[0]); i++) {
        ok = (k != SG_JSON_NONE && sg_json_str_eq(&doc.nodes[k], want[i]));
        k = ok ? doc.nodes[k].next : k;
    }

    tap_ok(ok && k == SG_JSON_NONE,
           "names sort by UTF-16 code units: U+10000.. before U+E000..");

    test_pool_reset(&pool);
}


/* an object of n members named "k<i>" in reverse order, maybe a duplicate */

static char *
wide(uint32_t n, int dup, size_t *len)
{
    char      *s, *p;
    uint32_t   i;

    s = malloc((size_t) n * 16 + 32);
    p = s;
    *p++ = '{';

    for (i = n; i > 0; i--) {
        p += sprintf(p, "\"k%u\":%u,", (unsigned) i, (unsigned) i);
    }

    if (dup) {
        p += sprintf(p, "\"k%u\":0,", (unsigned) dup);
    }

    p[-1] = '}';
    *len = (size_t) (p - s);

    return s;
}


static int
ascii_less(const sg_json_node_t *a, const sg_json_node_t *b)
{
    int  c;

    c = memcmp(a->str, b->str, a->len < b->len ? a->len : b->len);

    return c < 0 || (c == 0 && a->len < b->len);
}


static void
test_wide(void)
{
    int          ok;
    char        *s;
    size_t       len;
    clock_t      t;
    uint32_t     k, prev, seen;
    sg_code_t    rc;
    sg_json_t    doc;
    sg_error_t   err;

    TEST_POOL(pool, alloc);

    s = wide(100000, 0, &len);
    t = clock();
    rc = sg_json_parse(&doc, s, len, &alloc, &err);
    t = clock() - t;

    ok = (rc == SG_OK && doc.nodes[0].count == 100000);
    prev = SG_JSON_NONE;
    seen = 0;

    for (k = ok ? doc.nodes[0].first : SG_JSON_NONE; k != SG_JSON_NONE;
         k = doc.nodes[k].next)
    {
        if (prev != SG_JSON_NONE && !ascii_less(&doc.nodes[prev],
                                                &doc.nodes[k]))
        {
            ok = 0;
        }

        prev = k;
        seen++;
    }

    tap_ok(ok && seen == 100000,
           "an object of 100000 members is sorted completely");
    tap_ok(t < 2 * CLOCKS_PER_SEC,
           "an object of 100000 members sorts in O(n log n) time");
    free(s);

    s = wide(100000, 77777, &len);
    rc = sg_json_parse(&doc, s, len, &alloc, &err);
    tap_ok(rc == SG_ERR_INVALID_JSON
           && err.offset == (size_t) (strrchr(s, ',') + 1 - s),
           "a duplicate among 100000 members is found at its offset");
    free(s);

    test_pool_reset(&pool);
}


static const char  path_doc[] =
    "{\"customer\":{\"contacts\":[{\"email\":1},"
    "{\"e mail\":2,\"x\":[0,1,[5]]}]},"
    "\"4111111111111111\":{\"y\":1},"
    "\"a1234\":1,\"a123\":1,"
    "\"abcdefghijabcdefghijabcdefghijabcdefghij\":1,"
    "\"abcdefghijabcdefghijabcdefghijabcdefghijk\":1,"
    "\"_a-b\":1,\"-a\":1,\"\xc3\xa9\":1}";


static void
test_path(void)
{
    char         buf[SG_PATH_MAX], want[64];
    uint32_t     cu, co, e, x, y, k;
    sg_code_t    rc;
    sg_json_t    doc;
    sg_error_t   err;

    TEST_POOL(pool, alloc);

    rc = sg_json_parse(&doc, path_doc, sizeof(path_doc) - 1, &alloc, &err);
    tap_ok(rc == SG_OK, "path: test document parses");

    if (rc != SG_OK) {
        test_pool_reset(&pool);
        return;
    }

    cu = sg_json_member(&doc, 0, "customer");
    co = sg_json_member(&doc, cu, "contacts");
    e = doc.nodes[doc.nodes[co].first].next;           /* contacts[1] */
    x = sg_json_member(&doc, e, "x");
    k = doc.nodes[doc.nodes[doc.nodes[x].first].next].next;     /* x[2] */
    k = doc.nodes[k].first;                                    /* x[2][0] */

    sg_json_path(&doc, k, buf, sizeof(buf));
    tap_ok(strcmp(buf, "customer.contacts[1].x[2][0]") == 0,
           "path: names joined by '.', elements as [i]");

    sg_json_path(&doc, 0, buf, sizeof(buf));
    tap_ok(buf[0] == '\0', "path: the root's path is empty");

    sg_json_path(&doc, sg_json_member(&doc, e, "e mail"), buf, sizeof(buf));
    snprintf(want, sizeof(want), "customer.contacts[1].<offset %zu>",
             (size_t) (strstr(path_doc, "\"e mail") - path_doc));
    tap_ok(strcmp(buf, want) == 0,
           "path: a name with a space is written as its offset");

    y = sg_json_member(&doc, sg_json_member(&doc, 0, "4111111111111111"),
                       "y");
    sg_json_path(&doc, y, buf, sizeof(buf));
    snprintf(want, sizeof(want), "<offset %zu>.y",
             (size_t) (strstr(path_doc, "\"4111") - path_doc));
    tap_ok(strcmp(buf, want) == 0,
           "path: a card number used as a name is never echoed");

    sg_json_path(&doc, sg_json_member(&doc, 0, "a1234"), buf, sizeof(buf));
    tap_ok(strncmp(buf, "<offset ", 8) == 0,
           "path: a name with four digits is written as its offset");

    sg_json_path(&doc, sg_json_member(&doc, 0, "a123"), buf, sizeof(buf));
    tap_ok(strcmp(buf, "a123") == 0, "path: a name with three digits is kept");

    sg_json_path(&doc, sg_json_member(&doc, 0,
                                 "abcdefghijabcdefghijabcdefghijabcdefghij"),
            buf, sizeof(buf));
    tap_ok(strcmp(buf, "abcdefghijabcdefghijabcdefghijabcdefghij") == 0,
           "path: a 40-character identifier is kept");

    sg_json_path(&doc, sg_json_member(&doc, 0,
                                 "abcdefghijabcdefghijabcdefghijabcdefghijk"),
            buf, sizeof(buf));
    tap_ok(strncmp(buf, "<offset ", 8) == 0,
           "path: a 41-character identifier is written as its offset");

    sg_json_path(&doc, sg_json_member(&doc, 0, "_a-b"), buf, sizeof(buf));
    tap_ok(strcmp(buf, "_a-b") == 0, "path: '_' and '-' are identifier chars");

    sg_json_path(&doc, sg_json_member(&doc, 0, "-a"), buf, sizeof(buf));
    tap_ok(strncmp(buf, "<offset ", 8) == 0,
           "path: a name starting with '-' is written as its offset");

    sg_json_path(&doc, sg_json_member(&doc, 0, "\xc3\xa9"), buf, sizeof(buf));
    tap_ok(strncmp(buf, "<offset ", 8) == 0,
           "path: a non-ASCII name is written as its offset");

    sg_json_path(&doc, sg_json_member(&doc, 0, "a123") - 1, buf, sizeof(buf));
    tap_ok(strcmp(buf, "a123") == 0,
           "path: a member name's path is its value's path");

    memset(buf, 'Z', sizeof(buf));
    sg_json_path(&doc, k, buf, 9);
    tap_ok(strcmp(buf, "customer") == 0 && buf[9] == 'Z',
           "path: truncated to size, NUL-terminated, nothing past it");

    memset(buf, 'Z', sizeof(buf));
    sg_json_path(&doc, k, buf, 1);
    tap_ok(buf[0] == '\0' && buf[1] == 'Z', "path: size 1 gives \"\"");

    memset(buf, 'Z', sizeof(buf));
    sg_json_path(&doc, k, buf, 0);
    tap_ok(buf[0] == 'Z', "path: size 0 writes nothing");

    test_pool_reset(&pool);
}


static void *
fail_alloc(void *data, size_t size)
{
    (void) data;
    (void) size;
    return NULL;
}


static void
test_nomem(void)
{
    sg_code_t    rc;
    sg_json_t    doc;
    sg_error_t   err;
    sg_alloc_t   a = { fail_alloc, NULL };

    rc = sg_json_parse(&doc, "{\"a\":1}", 7, &a, &err);
    tap_ok(rc == SG_ERR_NOMEM && err.code == SG_ERR_NOMEM,
           "an allocator failure is SG_ERR_NOMEM, not invalid JSON");

    rc = sg_json_parse(&doc, "{\"a\"", 4, &a, &err);
    tap_ok(rc == SG_ERR_INVALID_JSON,
           "invalid input is refused before anything is allocated");
}


static void
test_memory(void)
{
    char         body[4096];
    size_t       len;
    sg_code_t    rc;
    sg_json_t    doc;
    sg_error_t   err;

    TEST_POOL(pool, alloc);

    len = (size_t) snprintf(body, sizeof(body),
        "{\"session_id\":\"s-1\",\"amount_details\":{\"amount\":10000,"
        "\"currency\":\"USD\"},\"payment_method\":{\"type\":\"card\","
        "\"card\":{\"type\":\"bank_card\",\"bank_card\":{\"number\":"
        "\"4111111111111111\"}}},\"metadata\":{\"note\":\"caf\\u00e9\"}}");

    rc = sg_json_parse(&doc, body, len, &alloc, &err);
    tap_ok(rc == SG_OK && pool.count <= 4,
           "parsing takes at most four allocations");

    test_pool_reset(&pool);
}


int
main(void)
{
    test_rejects();
    test_accepts();
    test_depth();
    test_string_words();
    test_tree();
    test_sort_order();
    test_wide();
    test_path();
    test_nomem();
    test_memory();

    return tap_done();
}
