/*
 * Strict JSON (RFC 8259) on top of jsmn: jsmn tokenizes, this validates what
 * jsmn does not (grammar between tokens, escapes, numbers, UTF-8, duplicate
 * names, depth) and builds a small tree the schema and the JCS writer walk.
 */

#ifndef SG_JSON_H
#define SG_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "sg_alloc.h"
#include "sg_error.h"


/* the outermost object or array is depth 1 */
#define SG_JSON_MAX_DEPTH  32

/* node index 0 is the root, so 0 also means "none" in first/next */
#define SG_JSON_NONE       0


typedef enum {
    SG_JSON_OBJECT = 1,
    SG_JSON_ARRAY,
    SG_JSON_STRING,
    SG_JSON_NUMBER,
    SG_JSON_TRUE,
    SG_JSON_FALSE,
    SG_JSON_NULL
} sg_json_type_t;


/*
 * Nodes are in document order (preorder).  An object's children are its
 * member names (type SG_JSON_STRING); the value of the name at index i is
 * the node at i + 1.  first/next link an object's names in RFC 8785 order
 * (sorted by UTF-16 code units), and an array's elements in order.
 *
 * 24 bytes, jsmn's token included (see sg_json_build), so a request costs
 * about 3 x its body: a container has no text and a string, number or
 * literal no children, so they share the first eight bytes (read str only
 * after checking the type, count and first only on objects and arrays).
 * There is no parent link: only an error needs one, and sg_json_path()
 * finds the ancestors again by a scan.
 */
typedef struct {
    union {
        const char  *str;       /* string, name: decoded UTF-8 (may point
                                   into the input); number: its raw text */
        struct {
            uint32_t     count;     /* object: members; array: elements */
            uint32_t     first;
        };
    };
    uint32_t         len;       /* of str */
    uint32_t         offset;    /* first byte in the input (the '"' of a
                                   string) */
    uint32_t         next;
    sg_json_type_t   type;
} sg_json_node_t;


typedef struct {
    sg_json_node_t  *nodes;
    uint32_t         n;
    const char      *input;
    size_t           input_len;
    size_t           jcs_max;   /* no RFC 8785 form of the document is
                                   longer: sg_jcs_write writes in one pass */
} sg_json_t;


/*
 * Nonzero when one of the eight bytes of w is below 0x20, '"' or '\\': what
 * a JSON string cannot hold raw (RFC 8259 section 7) is what JCS escapes
 * (RFC 8785 section 3.2.2.2).  Lets both skip plain runs a word at a time;
 * the "has a zero byte" test: a borrow starts only at a matching byte, so
 * it never misses one.
 */

#define SG_JSON_ONES   0x0101010101010101ULL
#define SG_JSON_HIGHS  0x8080808080808080ULL

static inline uint64_t
sg_json_word_special(uint64_t w)
{
    uint64_t  q, b;

    q = w ^ (SG_JSON_ONES * '"');
    b = w ^ (SG_JSON_ONES * '\\');

    return (((w - SG_JSON_ONES * 0x20) & ~w) | ((q - SG_JSON_ONES) & ~q)
            | ((b - SG_JSON_ONES) & ~b)) & SG_JSON_HIGHS;
}


/*
 * Validates input (CONTRACT step 3) and builds doc.  Returns SG_OK, or
 * SG_ERR_INVALID_JSON with err->offset and err->reason set, or SG_ERR_NOMEM.
 */
sg_code_t sg_json_parse(sg_json_t *doc, const char *input, size_t len,
    sg_alloc_t *a, sg_error_t *err);

/* value of member name in object node obj, or SG_JSON_NONE */
uint32_t sg_json_member(const sg_json_t *doc, uint32_t obj, const char *name);

/* 1 if the string node equals the C string s */
int sg_json_str_eq(const sg_json_node_t *node, const char *s);

/*
 * Writes the member path of node into buf: "customer.contacts[2].email".
 * Names that could be caller data (anything but a short identifier) are
 * written as "<offset N>", so a path never echoes a value.
 */
void sg_json_path(const sg_json_t *doc, uint32_t node, char *buf,
    size_t size);


#endif /* SG_JSON_H */
