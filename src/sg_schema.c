/*
 * A JSON Schema (draft-07 subset) validator over sg_json documents, with
 * the gateway's x-sg-* extensions.  Schemas are compiled once (nginx -t,
 * reload) into an immutable tree; validation allocates only for the
 * normalizations it applies.  Errors name member paths, never values.
 */

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH  8
#include <pcre2.h>

#include "sg_schema.h"


#define SG_SCHEMA_MAX_NESTING   256     /* schema applications per value */
#define SG_SCHEMA_MATCH_LIMIT   100000  /* PCRE2: backtracking budget */
#define SG_SCHEMA_DEPTH_LIMIT   10000
#define SG_SCHEMA_HEAP_LIMIT    2048    /* KiB */
#define SG_SCHEMA_CHUNK         16384
#define SG_SCHEMA_REASON_MAX    sizeof(((sg_error_t *) 0)->detail)


/* type bits: 1 << sg_json_type_t, plus integer */
#define SG_T_OBJECT    (1u << SG_JSON_OBJECT)
#define SG_T_ARRAY     (1u << SG_JSON_ARRAY)
#define SG_T_STRING    (1u << SG_JSON_STRING)
#define SG_T_NUMBER    (1u << SG_JSON_NUMBER)
#define SG_T_BOOLEAN   ((1u << SG_JSON_TRUE) | (1u << SG_JSON_FALSE))
#define SG_T_NULL      (1u << SG_JSON_NULL)
#define SG_T_INTEGER   (1u << 15)


typedef struct sg_snode_s  sg_snode_t;


typedef struct {
    const char  *name;
    uint32_t     len;
    sg_snode_t  *schema;
} sg_sprop_t;


typedef struct {
    pcre2_code  *re;
    sg_snode_t  *schema;
} sg_spattern_t;


typedef struct {
    const char  *name;
    uint32_t     len;
    uint32_t     required;      /* array node in the schema doc, or NONE */
    sg_snode_t  *schema;
} sg_sdep_t;


typedef struct {
    sg_snode_t  **v;
    uint32_t      n;
} sg_slist_t;


struct sg_snode_s {
    uint32_t        at;             /* the schema's node in its doc */
    const sg_schema_t  *owner;      /* whose doc "at", enum, const are in */

    unsigned        is_bool:1;
    unsigned        bool_value:1;
    unsigned        has_const:1;
    unsigned        has_min:1;
    unsigned        has_max:1;
    unsigned        has_exmin:1;
    unsigned        has_exmax:1;
    unsigned        has_multiple:1;
    unsigned        unique:1;
    unsigned        integer_literal:1;
    unsigned        luhn:1;
    unsigned        lowercase:1;
    unsigned        has_ref:1;
    unsigned        in_choice:1;    /* compiled under anyOf, oneOf, ... */
    unsigned        visit:2;        /* the loop check's marks */
    unsigned        asserts:1;      /* has a keyword other than $ref and
                                       annotations */

    uint32_t        types;          /* 0: any */
    uint32_t        enum_node;      /* NONE or the enum array */
    uint32_t        const_node;

    double          min, max, exmin, exmax, multiple;
    const char     *min_text, *max_text, *exmin_text, *exmax_text,
                   *multiple_text;

    size_t          min_length, max_length;     /* SIZE_MAX: none */
    pcre2_code     *pattern;
    const char     *pattern_text;

    size_t          min_items, max_items;
    sg_snode_t     *items;          /* schema form */
    sg_slist_t      items_list;     /* array form */
    unsigned        items_is_list:1;
    sg_snode_t     *additional_items;
    sg_snode_t     *contains;

    uint32_t        required;       /* NONE or the array node */
    size_t          min_props, max_props;
    sg_snode_t     *property_names;
    sg_sprop_t     *props;
    uint32_t        nprops;
    sg_spattern_t  *pprops;
    uint32_t        npprops;
    sg_snode_t     *additional_props;
    sg_sdep_t      *deps;
    uint32_t        ndeps;

    sg_slist_t      all_of, any_of, one_of;
    sg_snode_t     *not_schema, *if_schema, *then_schema, *else_schema;

    const char     *discriminator;  /* member name, NUL-terminated */
    uint32_t        discriminator_len;

    const char     *message;        /* x-sg-message, NUL-terminated */

    sg_snode_t     *ref;            /* resolved $ref */
    const char     *ref_text;       /* NUL-terminated, until resolved */
    const char     *ref_pointer;    /* where the $ref is, for errors */
    uint32_t        ref_line_at;    /* the $ref value node, for errors */
    sg_snode_t     *next_ref;       /* the compile's list of refs */
};


typedef struct sg_chunk_s  sg_chunk_t;

struct sg_chunk_s {
    sg_chunk_t  *next;
    size_t       used, size;
    /* memory follows */
};


typedef struct sg_pcre_s  sg_pcre_t;

struct sg_pcre_s {
    sg_pcre_t   *next;
    pcre2_code  *re;
};


struct sg_schema_s {
    sg_json_t            doc;
    char                *text;
    size_t               len;
    sg_snode_t         **compiled;      /* by schema doc node */
    sg_snode_t          *root;
    const sg_schema_t   *common;
    sg_schema_t         *own_common;
    sg_chunk_t          *chunks;
    sg_pcre_t           *regexes;
    pcre2_match_context *mctx;
    int                  nomem;
};


/* the compile's state */
typedef struct {
    sg_schema_t         *s;
    sg_schema_error_t   *err;
    sg_snode_t          *refs;
    char                 pointer[256];
    size_t               plen;
    int                  failed;
    int                  under_choice;  /* anyOf, oneOf, not, if, contains */
} sg_comp_t;


/* the validation's state */
typedef struct sg_lower_s  sg_lower_t;

struct sg_lower_s {
    sg_lower_t  *next;
    uint32_t     node;
};

typedef struct {
    sg_json_t           *doc;
    sg_alloc_t          *a;
    sg_error_t          *err;
    sg_lower_t          *lower;
    pcre2_match_data    *md;
    pcre2_match_context *mctx;
    unsigned             nesting;
    int                  quiet;         /* inside anyOf/oneOf/not/if */
    int                  nomem;
} sg_val_t;


static void *sg_schema_arena(void *data, size_t size);
static pcre2_jit_stack *sg_schema_jit_stack(void *data);
static char *sg_schema_strdup(sg_schema_t *s, const char *str, size_t len);
static sg_snode_t *sg_schema_node(sg_comp_t *c, uint32_t at);
static int sg_schema_keyword(sg_comp_t *c, sg_snode_t *sn, uint32_t name,
    uint32_t value);
static int sg_schema_list(sg_comp_t *c, uint32_t value, sg_slist_t *list);
static sg_snode_t *sg_schema_sub(sg_comp_t *c, uint32_t value,
    const char *key, int choice);
static int sg_schema_count(sg_comp_t *c, uint32_t value, size_t *out);
static int sg_schema_number(sg_comp_t *c, uint32_t value, double *out,
    const char **text);
static int sg_schema_strings(sg_comp_t *c, uint32_t value, int nonempty);
static int sg_schema_true(sg_comp_t *c, uint32_t value);
static int sg_schema_regex(sg_comp_t *c, uint32_t value, pcre2_code **re);
static int sg_schema_discriminator(sg_comp_t *c, sg_snode_t *sn);
static int sg_schema_resolve(sg_comp_t *c);
static const sg_snode_t *sg_schema_loop(sg_comp_t *c, sg_snode_t *sn);
static int sg_schema_normalizes(const sg_snode_t *sn,
    const sg_snode_t **seen, size_t *nseen, size_t cap);
static sg_snode_t *sg_schema_pointer(sg_comp_t *c, const sg_schema_t *s,
    const char *p);
static int sg_schema_fail_at(sg_comp_t *c, uint32_t at, const char *fmt,
    ...);
static void sg_schema_push(sg_comp_t *c, const char *seg, size_t len);
static void sg_schema_pop(sg_comp_t *c, size_t plen);
static int sg_schema_has_member(const sg_json_t *doc, uint32_t obj,
    const char *name, size_t len);
static uint32_t sg_schema_member(const sg_json_t *doc, uint32_t obj,
    const char *name, size_t len);

static sg_code_t sg_v(sg_val_t *v, const sg_snode_t *sn, uint32_t node);
static sg_code_t sg_v_own(sg_val_t *v, const sg_snode_t *sn, uint32_t node);
static sg_code_t sg_v_object(sg_val_t *v, const sg_snode_t *sn,
    uint32_t node);
static sg_code_t sg_v_array(sg_val_t *v, const sg_snode_t *sn,
    uint32_t node);
static sg_code_t sg_v_combinators(sg_val_t *v, const sg_snode_t *sn,
    uint32_t node);
static sg_code_t sg_v_discriminated(sg_val_t *v, const sg_snode_t *sn,
    uint32_t node);
static int sg_v_matches(sg_val_t *v, const sg_snode_t *sn, uint32_t node);
static sg_code_t sg_v_fail(sg_val_t *v, const sg_snode_t *sn, uint32_t node,
    const char *fmt, ...);
static sg_code_t sg_v_missing(sg_val_t *v, const sg_snode_t *sn,
    uint32_t obj, const char *name, size_t len, const char *reason);
static int sg_v_equal(const sg_json_t *a, uint32_t x, const sg_json_t *b,
    uint32_t y);
static uint32_t sg_v_end(const sg_json_t *doc, uint32_t node);
static double sg_v_number(const sg_json_t *doc, const sg_json_node_t *node);
static int sg_v_is_integer(const sg_json_t *doc, const sg_json_node_t *node);
static int sg_v_integer_literal(const sg_json_node_t *node);
static int sg_v_luhn(const sg_json_node_t *node);
static size_t sg_v_code_points(const sg_json_node_t *node);
static size_t sg_v_list(const sg_schema_t *s, uint32_t arr, char *buf,
    size_t size);
static const char *sg_v_type_name(uint32_t types, char *buf, size_t size);


/* ------------------------------------------------------------ compile */

sg_schema_t *
sg_schema_compile(const char *text, size_t len, const sg_schema_t *common,
    sg_schema_error_t *err)
{
    int                  rc;
    size_t               line;
    sg_alloc_t           alloc;
    sg_comp_t            c;
    sg_error_t           jerr;
    sg_schema_t         *s;
    sg_schema_error_t    dummy;

    if (err == NULL) {
        err = &dummy;
    }

    memset(err, 0, sizeof(*err));

    s = calloc(1, sizeof(sg_schema_t));
    if (s == NULL) {
        snprintf(err->message, sizeof(err->message), "out of memory");
        return NULL;
    }

    s->common = common;

    alloc.alloc = sg_schema_arena;
    alloc.data = s;

    /* the compiled schema owns a copy: nodes point into it */
    s->text = sg_schema_arena(s, len + 1);
    if (s->text == NULL) {
        goto nomem;
    }

    memcpy(s->text, text, len);
    s->text[len] = '\0';
    s->len = len;

    rc = sg_json_parse(&s->doc, s->text, len, &alloc, &jerr);

    if (rc == SG_ERR_NOMEM || s->nomem) {
        goto nomem;
    }

    if (rc != SG_OK) {
        line = 1;

        for (size_t i = 0; i < jerr.offset && i < len; i++) {
            line += (text[i] == '\n');
        }

        err->line = (unsigned) line;
        snprintf(err->message, sizeof(err->message),
                 "not JSON: offset %zu: %s", jerr.offset,
                 jerr.reason ? jerr.reason : "invalid");
        sg_schema_free(s);
        return NULL;
    }

    s->compiled = sg_schema_arena(s, s->doc.n * sizeof(sg_snode_t *));
    if (s->compiled == NULL) {
        goto nomem;
    }

    memset(s->compiled, 0, s->doc.n * sizeof(sg_snode_t *));

    s->mctx = pcre2_match_context_create(NULL);
    if (s->mctx == NULL) {
        goto nomem;
    }

    pcre2_set_match_limit(s->mctx, SG_SCHEMA_MATCH_LIMIT);
    pcre2_set_depth_limit(s->mctx, SG_SCHEMA_DEPTH_LIMIT);
    pcre2_set_heap_limit(s->mctx, SG_SCHEMA_HEAP_LIMIT);
    pcre2_jit_stack_assign(s->mctx, sg_schema_jit_stack, NULL);

    memset(&c, 0, sizeof(c));
    c.s = s;
    c.err = err;

    s->root = sg_schema_node(&c, 0);

    if (s->root != NULL && !c.failed) {
        sg_schema_resolve(&c);
    }

    if (s->nomem) {
        goto nomem;
    }

    if (c.failed || s->root == NULL) {
        sg_schema_free(s);
        return NULL;
    }

    return s;

nomem:

    memset(err, 0, sizeof(*err));
    snprintf(err->message, sizeof(err->message), "out of memory");
    sg_schema_free(s);

    return NULL;
}


sg_schema_t *
sg_schema_compile_builtin(const char *name, size_t name_len,
    sg_schema_error_t *err)
{
    size_t              len, clen;
    const char         *text, *ctext;
    sg_schema_t        *s, *common;
    sg_schema_error_t   dummy;

    if (err == NULL) {
        err = &dummy;
    }

    memset(err, 0, sizeof(*err));

    text = sg_schema_builtin(name, name_len, &len);
    if (text == NULL) {
        snprintf(err->message, sizeof(err->message),
                 "no built-in schema of that name");
        return NULL;
    }

    common = NULL;
    ctext = sg_schema_builtin("sg:common", sizeof("sg:common") - 1, &clen);

    if (ctext != NULL
        && !(name_len == sizeof("sg:common") - 1
             && memcmp(name, "sg:common", name_len) == 0))
    {
        common = sg_schema_compile(ctext, clen, NULL, err);
        if (common == NULL) {
            return NULL;
        }
    }

    s = sg_schema_compile(text, len, common, err);
    if (s == NULL) {
        sg_schema_free(common);
        return NULL;
    }

    s->own_common = common;

    return s;
}


void
sg_schema_free(sg_schema_t *s)
{
    sg_pcre_t   *r;
    sg_chunk_t  *ch, *next;

    if (s == NULL) {
        return;
    }

    for (r = s->regexes; r; r = r->next) {
        pcre2_code_free(r->re);
    }

    if (s->mctx) {
        pcre2_match_context_free(s->mctx);
    }

    sg_schema_free(s->own_common);

    for (ch = s->chunks; ch; ch = next) {
        next = ch->next;
        free(ch);
    }

    free(s);
}


/*
 * JIT'd patterns backtrack on a stack of their own: one per thread, up to
 * 1 MiB (as the interpreter's heap limit bounds it), kept for the next
 * check.
 */

static __thread pcre2_jit_stack  *sg_schema_jit;

static pcre2_jit_stack *
sg_schema_jit_stack(void *data)
{
    (void) data;

    /* made by sg_schema_check(), which reports if it cannot be */
    return sg_schema_jit;
}


/* the compile's memory: chunks freed with the schema */

static void *
sg_schema_arena(void *data, size_t size)
{
    size_t        want;
    sg_chunk_t   *ch;
    sg_schema_t  *s = data;

    size = (size + 15) & ~(size_t) 15;
    ch = s->chunks;

    if (ch == NULL || ch->size - ch->used < size) {
        want = size > SG_SCHEMA_CHUNK ? size : SG_SCHEMA_CHUNK;

        ch = malloc(sizeof(sg_chunk_t) + 16 + want);
        if (ch == NULL) {
            s->nomem = 1;
            return NULL;
        }

        ch->used = 0;
        ch->size = want;
        ch->next = s->chunks;
        s->chunks = ch;
    }

    ch->used += size;

    return (char *) ch + ((sizeof(sg_chunk_t) + 15) & ~(size_t) 15)
           + ch->used - size;
}


static char *
sg_schema_strdup(sg_schema_t *s, const char *str, size_t len)
{
    char  *p;

    p = sg_schema_arena(s, len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, str, len);
    p[len] = '\0';

    return p;
}


static const char  *sg_schema_annotations[] = {
    "$schema", "$id", "$comment", "title", "description", "default",
    "examples", "readOnly", "writeOnly", "definitions", NULL
};


/* compiles the schema at node "at" of the schema doc (once) */

static sg_snode_t *
sg_schema_node(sg_comp_t *c, uint32_t at)
{
    uint32_t               k, stop;
    sg_snode_t            *sn;
    sg_json_node_t        *nodes;

    if (c->failed) {
        return NULL;
    }

    if (c->s->compiled[at]) {
        return c->s->compiled[at];
    }

    nodes = c->s->doc.nodes;

    sn = sg_schema_arena(c->s, sizeof(sg_snode_t));
    if (sn == NULL) {
        c->failed = 1;
        return NULL;
    }

    memset(sn, 0, sizeof(sg_snode_t));
    sn->at = at;
    sn->owner = c->s;
    sn->enum_node = SG_JSON_NONE;
    sn->required = SG_JSON_NONE;
    sn->min_length = (size_t) -1;
    sn->max_length = (size_t) -1;
    sn->min_items = (size_t) -1;
    sn->max_items = (size_t) -1;
    sn->min_props = (size_t) -1;
    sn->max_props = (size_t) -1;

    c->s->compiled[at] = sn;
    sn->in_choice = (c->under_choice > 0);

    switch (nodes[at].type) {

    case SG_JSON_TRUE:
    case SG_JSON_FALSE:
        sn->is_bool = 1;
        sn->bool_value = (nodes[at].type == SG_JSON_TRUE);
        return sn;

    case SG_JSON_OBJECT:
        break;

    default:
        sg_schema_fail_at(c, at, "a schema must be an object or a boolean");
        return NULL;
    }

    /* members in document order: errors point at the first bad one */

    stop = sg_v_end(&c->s->doc, at);

    for (k = at + 1; k < stop; k = sg_v_end(&c->s->doc, k + 1)) {
        if (sg_schema_keyword(c, sn, k, k + 1) != 0) {
            return NULL;
        }
    }

    if (sn->discriminator && sg_schema_discriminator(c, sn) != 0) {
        return NULL;
    }

    if (sn->has_ref && sn->asserts) {
        /*
         * draft-07 ignores every keyword beside $ref: a rule written
         * there would silently check nothing.
         */
        c->plen = strlen(sn->ref_pointer);
        memcpy(c->pointer, sn->ref_pointer, c->plen + 1);

        sg_schema_fail_at(c, sn->ref_line_at, "keywords beside $ref would be "
                          "ignored (draft-07): put the $ref and them in "
                          "allOf");
        return NULL;
    }

    return sn;
}


static int
sg_schema_keyword(sg_comp_t *c, sg_snode_t *sn, uint32_t name,
    uint32_t value)
{
    int                    rc;
    size_t                 plen, i, n;
    uint32_t               k, m;
    const char            *kw;
    sg_json_node_t        *nodes, *v;

    nodes = c->s->doc.nodes;
    kw = nodes[name].str;
    v = &nodes[value];
    plen = c->plen;

    sg_schema_push(c, kw, nodes[name].len);

#define KW(s)  (nodes[name].len == sizeof(s) - 1                             \
                && memcmp(kw, s, sizeof(s) - 1) == 0)

    rc = 0;

    for (i = 0; sg_schema_annotations[i]; i++) {
        if (nodes[name].len == strlen(sg_schema_annotations[i])
            && memcmp(kw, sg_schema_annotations[i], nodes[name].len) == 0)
        {
            break;
        }
    }

    if (!sg_schema_annotations[i] && !KW("$ref")) {
        sn->asserts = 1;
    }

    if (sg_schema_annotations[i]) {
        if (KW("definitions")) {
            if (v->type != SG_JSON_OBJECT) {
                rc = sg_schema_fail_at(c, value, "must be an object");
                goto done;
            }

            /* compiled now, so that a $ref (also from another schema)
               finds them */
            for (k = v->first; k != SG_JSON_NONE; k = nodes[k].next) {
                size_t  pl = c->plen;

                sg_schema_push(c, nodes[k].str, nodes[k].len);

                if (sg_schema_node(c, k + 1) == NULL) {
                    rc = -1;
                    goto done;
                }

                sg_schema_pop(c, pl);
            }
        }

        goto done;
    }

    if (KW("type")) {
        static const struct { const char *n; uint32_t bit; } types[] = {
            { "object", SG_T_OBJECT }, { "array", SG_T_ARRAY },
            { "string", SG_T_STRING }, { "number", SG_T_NUMBER },
            { "integer", SG_T_INTEGER }, { "boolean", SG_T_BOOLEAN },
            { "null", SG_T_NULL }
        };

        uint32_t  first, one;

        if (v->type == SG_JSON_STRING) {
            first = value;
            n = 1;

        } else if (v->type == SG_JSON_ARRAY && v->count > 0) {
            first = v->first;
            n = v->count;

        } else {
            rc = sg_schema_fail_at(c, value, "must be a type name or an "
                                   "array of them");
            goto done;
        }

        for (k = first, m = 0; m < n; k = nodes[k].next, m++) {
            one = 0;

            for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                if (sg_json_str_eq(&nodes[k], types[i].n)) {
                    one = types[i].bit;
                }
            }

            if (one == 0 || (sn->types & one)) {
                rc = sg_schema_fail_at(c, k, one ? "a type is repeated"
                                       : "is not a JSON Schema type");
                goto done;
            }

            sn->types |= one;
        }

    } else if (KW("enum")) {
        if (v->type != SG_JSON_ARRAY || v->count == 0) {
            rc = sg_schema_fail_at(c, value, "must be a non-empty array");
            goto done;
        }

        sn->enum_node = value;

    } else if (KW("const")) {
        sn->has_const = 1;
        sn->const_node = value;

    } else if (KW("minLength")) {
        rc = sg_schema_count(c, value, &sn->min_length);

    } else if (KW("maxLength")) {
        rc = sg_schema_count(c, value, &sn->max_length);

    } else if (KW("pattern")) {
        rc = sg_schema_regex(c, value, &sn->pattern);
        sn->pattern_text = rc ? NULL : sg_schema_strdup(c->s, v->str, v->len);

    } else if (KW("minimum")) {
        rc = sg_schema_number(c, value, &sn->min, &sn->min_text);
        sn->has_min = 1;

    } else if (KW("maximum")) {
        rc = sg_schema_number(c, value, &sn->max, &sn->max_text);
        sn->has_max = 1;

    } else if (KW("exclusiveMinimum")) {
        rc = sg_schema_number(c, value, &sn->exmin, &sn->exmin_text);
        sn->has_exmin = 1;

    } else if (KW("exclusiveMaximum")) {
        rc = sg_schema_number(c, value, &sn->exmax, &sn->exmax_text);
        sn->has_exmax = 1;

    } else if (KW("multipleOf")) {
        rc = sg_schema_number(c, value, &sn->multiple, &sn->multiple_text);
        sn->has_multiple = 1;

        if (rc == 0 && !(sn->multiple > 0)) {
            rc = sg_schema_fail_at(c, value, "must be greater than 0");
        }

    } else if (KW("minItems")) {
        rc = sg_schema_count(c, value, &sn->min_items);

    } else if (KW("maxItems")) {
        rc = sg_schema_count(c, value, &sn->max_items);

    } else if (KW("uniqueItems")) {
        if (v->type != SG_JSON_TRUE && v->type != SG_JSON_FALSE) {
            rc = sg_schema_fail_at(c, value, "must be a boolean");
            goto done;
        }

        sn->unique = (v->type == SG_JSON_TRUE);

    } else if (KW("required")) {
        rc = sg_schema_strings(c, value, 0);
        sn->required = value;

    } else if (KW("minProperties")) {
        rc = sg_schema_count(c, value, &sn->min_props);

    } else if (KW("maxProperties")) {
        rc = sg_schema_count(c, value, &sn->max_props);

    } else if (KW("propertyNames")) {
        sn->property_names = sg_schema_sub(c, value, NULL, 0);
        rc = sn->property_names ? 0 : -1;

    } else if (KW("properties") || KW("patternProperties")) {
        int  pattern = KW("patternProperties");

        if (v->type != SG_JSON_OBJECT) {
            rc = sg_schema_fail_at(c, value, "must be an object");
            goto done;
        }

        n = v->count;

        if (pattern) {
            sn->pprops = sg_schema_arena(c->s, n * sizeof(sg_spattern_t) + 1);
        } else {
            sn->props = sg_schema_arena(c->s, n * sizeof(sg_sprop_t) + 1);
        }

        if (pattern ? sn->pprops == NULL : sn->props == NULL) {
            c->failed = 1;
            rc = -1;
            goto done;
        }

        for (k = v->first, m = 0; k != SG_JSON_NONE; k = nodes[k].next, m++) {
            size_t       pl = c->plen;
            sg_snode_t  *sub;

            sg_schema_push(c, nodes[k].str, nodes[k].len);

            if (pattern) {
                if (sg_schema_regex(c, k, &sn->pprops[m].re) != 0) {
                    rc = -1;
                    goto done;
                }
            }

            sub = sg_schema_node(c, k + 1);
            if (sub == NULL) {
                rc = -1;
                goto done;
            }

            sg_schema_pop(c, pl);

            if (pattern) {
                sn->pprops[m].schema = sub;
                sn->npprops = m + 1;

            } else {
                sn->props[m].name = nodes[k].str;
                sn->props[m].len = nodes[k].len;
                sn->props[m].schema = sub;
                sn->nprops = m + 1;
            }
        }

    } else if (KW("additionalProperties")) {
        sn->additional_props = sg_schema_sub(c, value, NULL, 0);
        rc = sn->additional_props ? 0 : -1;

    } else if (KW("dependencies")) {
        if (v->type != SG_JSON_OBJECT) {
            rc = sg_schema_fail_at(c, value, "must be an object");
            goto done;
        }

        sn->deps = sg_schema_arena(c->s, v->count * sizeof(sg_sdep_t) + 1);
        if (sn->deps == NULL) {
            c->failed = 1;
            rc = -1;
            goto done;
        }

        for (k = v->first, m = 0; k != SG_JSON_NONE; k = nodes[k].next, m++) {
            size_t  pl = c->plen;

            sg_schema_push(c, nodes[k].str, nodes[k].len);

            sn->deps[m].name = nodes[k].str;
            sn->deps[m].len = nodes[k].len;
            sn->deps[m].required = SG_JSON_NONE;
            sn->deps[m].schema = NULL;

            if (nodes[k + 1].type == SG_JSON_ARRAY) {
                if (sg_schema_strings(c, k + 1, 0) != 0) {
                    rc = -1;
                    goto done;
                }

                sn->deps[m].required = k + 1;

            } else {
                sn->deps[m].schema = sg_schema_node(c, k + 1);
                if (sn->deps[m].schema == NULL) {
                    rc = -1;
                    goto done;
                }
            }

            sg_schema_pop(c, pl);
            sn->ndeps = m + 1;
        }

    } else if (KW("items")) {
        if (v->type == SG_JSON_ARRAY) {
            sn->items_is_list = 1;
            rc = sg_schema_list(c, value, &sn->items_list);

        } else {
            sn->items = sg_schema_sub(c, value, NULL, 0);
            rc = sn->items ? 0 : -1;
        }

    } else if (KW("additionalItems")) {
        sn->additional_items = sg_schema_sub(c, value, NULL, 0);
        rc = sn->additional_items ? 0 : -1;

    } else if (KW("contains")) {
        sn->contains = sg_schema_sub(c, value, NULL, 1);
        rc = sn->contains ? 0 : -1;

    } else if (KW("allOf")) {
        rc = sg_schema_list(c, value, &sn->all_of);

    } else if (KW("anyOf") || KW("oneOf")) {
        c->under_choice++;
        rc = sg_schema_list(c, value, KW("anyOf") ? &sn->any_of
                                                  : &sn->one_of);
        c->under_choice--;

    } else if (KW("not")) {
        sn->not_schema = sg_schema_sub(c, value, NULL, 1);
        rc = sn->not_schema ? 0 : -1;

    } else if (KW("if")) {
        sn->if_schema = sg_schema_sub(c, value, NULL, 1);
        rc = sn->if_schema ? 0 : -1;

    } else if (KW("then")) {
        sn->then_schema = sg_schema_sub(c, value, NULL, 0);
        rc = sn->then_schema ? 0 : -1;

    } else if (KW("else")) {
        sn->else_schema = sg_schema_sub(c, value, NULL, 0);
        rc = sn->else_schema ? 0 : -1;

    } else if (KW("$ref")) {
        if (v->type != SG_JSON_STRING) {
            rc = sg_schema_fail_at(c, value, "must be a string");
            goto done;
        }

        sn->has_ref = 1;
        sn->ref_text = sg_schema_strdup(c->s, v->str, v->len);
        sn->ref_pointer = sg_schema_strdup(c->s, c->pointer, c->plen);
        sn->ref_line_at = value;
        sn->next_ref = c->refs;
        c->refs = sn;

        if (sn->ref_text == NULL || sn->ref_pointer == NULL) {
            c->failed = 1;
            rc = -1;
        }

    } else if (KW("x-sg-integer-literal")) {
        rc = sg_schema_true(c, value);
        sn->integer_literal = 1;

    } else if (KW("x-sg-luhn")) {
        rc = sg_schema_true(c, value);
        sn->luhn = 1;

    } else if (KW("x-sg-lowercase")) {
        rc = sg_schema_true(c, value);
        sn->lowercase = 1;

        if (rc == 0 && c->under_choice) {
            /* a normalization must not depend on which branch matched */
            rc = sg_schema_fail_at(c, value, "a normalization cannot be "
                                   "used under anyOf, oneOf, not, if or "
                                   "contains");
        }

    } else if (KW("x-sg-discriminator")) {
        if (v->type != SG_JSON_STRING || v->len == 0) {
            rc = sg_schema_fail_at(c, value, "must be a member name");
            goto done;
        }

        sn->discriminator = sg_schema_strdup(c->s, v->str, v->len);
        sn->discriminator_len = v->len;
        rc = sn->discriminator ? 0 : (c->failed = 1, -1);

    } else if (KW("x-sg-message")) {
        if (v->type != SG_JSON_STRING || v->len == 0
            || v->len >= SG_SCHEMA_REASON_MAX
            || memchr(v->str, '\0', v->len) != NULL)
        {
            rc = sg_schema_fail_at(c, value, "must be a non-empty string of "
                                   "at most %zu bytes, without U+0000",
                                   SG_SCHEMA_REASON_MAX - 1);
            goto done;
        }

        sn->message = sg_schema_strdup(c->s, v->str, v->len);
        rc = sn->message ? 0 : (c->failed = 1, -1);

    } else {
        rc = sg_schema_fail_at(c, name, "unsupported keyword");
    }

done:

#undef KW

    if (rc == 0) {
        sg_schema_pop(c, plen);
    }

    return rc;
}


static int
sg_schema_list(sg_comp_t *c, uint32_t value, sg_slist_t *list)
{
    char             idx[16];
    size_t           pl;
    uint32_t         k, m;
    sg_json_node_t  *nodes;

    nodes = c->s->doc.nodes;

    if (nodes[value].type != SG_JSON_ARRAY || nodes[value].count == 0) {
        return sg_schema_fail_at(c, value, "must be a non-empty array of "
                                 "schemas");
    }

    list->n = nodes[value].count;
    list->v = sg_schema_arena(c->s, list->n * sizeof(sg_snode_t *));
    if (list->v == NULL) {
        c->failed = 1;
        return -1;
    }

    for (k = nodes[value].first, m = 0; k != SG_JSON_NONE;
         k = nodes[k].next, m++)
    {
        pl = c->plen;
        snprintf(idx, sizeof(idx), "%u", m);
        sg_schema_push(c, idx, strlen(idx));

        list->v[m] = sg_schema_node(c, k);
        if (list->v[m] == NULL) {
            return -1;
        }

        sg_schema_pop(c, pl);
    }

    return 0;
}


static sg_snode_t *
sg_schema_sub(sg_comp_t *c, uint32_t value, const char *key, int choice)
{
    sg_snode_t  *sn;

    (void) key;

    c->under_choice += choice;
    sn = sg_schema_node(c, value);
    c->under_choice -= choice;

    return sn;
}


static int
sg_schema_count(sg_comp_t *c, uint32_t value, size_t *out)
{
    double           d;
    sg_json_node_t  *v;

    v = &c->s->doc.nodes[value];

    if (v->type != SG_JSON_NUMBER) {
        return sg_schema_fail_at(c, value, "must be a non-negative integer");
    }

    d = sg_v_number(&c->s->doc, v);

    if (!(d >= 0) || d != floor(d) || d > 1e15) {
        return sg_schema_fail_at(c, value, "must be a non-negative integer");
    }

    *out = (size_t) d;

    return 0;
}


static int
sg_schema_number(sg_comp_t *c, uint32_t value, double *out,
    const char **text)
{
    sg_json_node_t  *v;

    v = &c->s->doc.nodes[value];

    if (v->type != SG_JSON_NUMBER) {
        return sg_schema_fail_at(c, value, "must be a number");
    }

    *out = sg_v_number(&c->s->doc, v);

    if (!isfinite(*out)) {
        return sg_schema_fail_at(c, value, "must be a finite number");
    }

    *text = sg_schema_strdup(c->s, v->str, v->len);
    if (*text == NULL) {
        c->failed = 1;
        return -1;
    }

    return 0;
}


static int
sg_schema_strings(sg_comp_t *c, uint32_t value, int nonempty)
{
    uint32_t         k, j;
    sg_json_node_t  *nodes;

    nodes = c->s->doc.nodes;

    if (nodes[value].type != SG_JSON_ARRAY
        || (nonempty && nodes[value].count == 0))
    {
        return sg_schema_fail_at(c, value, "must be an array of strings");
    }

    for (k = nodes[value].first; k != SG_JSON_NONE; k = nodes[k].next) {
        if (nodes[k].type != SG_JSON_STRING) {
            return sg_schema_fail_at(c, k, "must be a string");
        }

        for (j = nodes[value].first; j != k; j = nodes[j].next) {
            if (nodes[j].len == nodes[k].len
                && memcmp(nodes[j].str, nodes[k].str, nodes[k].len) == 0)
            {
                return sg_schema_fail_at(c, k, "is repeated");
            }
        }
    }

    return 0;
}


static int
sg_schema_true(sg_comp_t *c, uint32_t value)
{
    if (c->s->doc.nodes[value].type != SG_JSON_TRUE) {
        return sg_schema_fail_at(c, value, "must be true");
    }

    return 0;
}


/*
 * PCRE2 with UTF (patterns and subjects are UTF-8) and DOLLAR_ENDONLY, so
 * "^[0-9]{16}$" does not accept a trailing newline; no UCP: \d is [0-9].
 */

static int
sg_schema_regex(sg_comp_t *c, uint32_t value, pcre2_code **re)
{
    int              errcode;
    char             msg[128];
    PCRE2_SIZE       erroff;
    sg_pcre_t       *cell;
    sg_json_node_t  *v;

    v = &c->s->doc.nodes[value];

    if (v->type != SG_JSON_STRING) {
        return sg_schema_fail_at(c, value, "must be a string");
    }

    *re = pcre2_compile((PCRE2_SPTR) v->str, v->len,
                        PCRE2_UTF | PCRE2_DOLLAR_ENDONLY
                        | PCRE2_NEVER_BACKSLASH_C, &errcode, &erroff,
                        NULL);

    if (*re == NULL) {
        pcre2_get_error_message(errcode, (PCRE2_UCHAR *) msg, sizeof(msg));
        return sg_schema_fail_at(c, value, "not a valid regular expression "
                                 "at offset %zu: %s", (size_t) erroff, msg);
    }

    /*
     * JIT when PCRE2 has it (Debian's does): several times faster; a
     * pattern it cannot JIT runs interpreted, with the same limits.
     */
    (void) pcre2_jit_compile(*re, PCRE2_JIT_COMPLETE);

    cell = sg_schema_arena(c->s, sizeof(sg_pcre_t));
    if (cell == NULL) {
        pcre2_code_free(*re);
        *re = NULL;
        c->failed = 1;
        return -1;
    }

    cell->re = *re;
    cell->next = c->s->regexes;
    c->s->regexes = cell;

    return 0;
}


/* each oneOf branch fixes the discriminating member with const */

static int
sg_schema_discriminator(sg_comp_t *c, sg_snode_t *sn)
{
    uint32_t     i, k;
    sg_snode_t  *b, *p;

    if (sn->one_of.n == 0) {
        sg_schema_push(c, "x-sg-discriminator", 18);
        return sg_schema_fail_at(c, sn->at, "x-sg-discriminator needs oneOf");
    }

    for (i = 0; i < sn->one_of.n; i++) {
        char    idx[24];
        size_t  pl = c->plen;

        b = sn->one_of.v[i];
        p = NULL;

        snprintf(idx, sizeof(idx), "%u", i);
        sg_schema_push(c, "oneOf", 5);
        sg_schema_push(c, idx, strlen(idx));

        for (k = 0; !b->is_bool && k < b->nprops; k++) {
            if (b->props[k].len == sn->discriminator_len
                && memcmp(b->props[k].name, sn->discriminator,
                          sn->discriminator_len) == 0)
            {
                p = b->props[k].schema;
            }
        }

        if (p == NULL || !p->has_const
            || p->owner->doc.nodes[p->const_node].type != SG_JSON_STRING)
        {
            return sg_schema_fail_at(c, b->at, "every oneOf branch must fix "
                                     "the discriminator with a string "
                                     "const");
        }

        sg_schema_pop(c, pl);
    }

    return 0;
}


/* $ref: "#...", a JSON pointer here, or "sg:common#..." */

static int
sg_schema_resolve(sg_comp_t *c)
{
    uint32_t            i;
    const char         *p;
    sg_snode_t         *sn, *target;
    const sg_schema_t  *in;

    for (sn = c->refs; sn; sn = sn->next_ref) {
        p = sn->ref_text;
        in = c->s;

        /* errors point at the $ref */
        c->plen = strlen(sn->ref_pointer);
        memcpy(c->pointer, sn->ref_pointer, c->plen + 1);

        if (strncmp(p, "sg:common#", sizeof("sg:common#") - 1) == 0) {
            if (c->s->common == NULL) {
                return sg_schema_fail_at(c, sn->ref_line_at,
                                         "sg:common is not available here");
            }

            in = c->s->common;
            p += sizeof("sg:common") - 1;
        }

        if (p[0] != '#') {
            return sg_schema_fail_at(c, sn->ref_line_at,
                                     "only \"#...\" and \"sg:common#...\" "
                                     "references are supported");
        }

        target = sg_schema_pointer(c, in, p + 1);

        if (target == NULL) {
            if (!c->failed) {
                sg_schema_fail_at(c, sn->ref_line_at,
                                  "the reference resolves to no schema");
            }

            return -1;
        }

        sn->ref = target;
    }

    /*
     * A loop of $ref (and allOf, anyOf, ...) that reaches the same value
     * again never ends: refused here rather than on every request.
     */

    for (i = 0; i < c->s->doc.n; i++) {
        const sg_snode_t  *at;

        at = sg_schema_loop(c, c->s->compiled[i]);

        if (at) {
            c->plen = strlen(at->ref_pointer);
            memcpy(c->pointer, at->ref_pointer, c->plen + 1);

            return sg_schema_fail_at(c, at->ref_line_at, "this $ref loops "
                                     "back to the same value without "
                                     "going into a member or an item");
        }
    }

    /* a normalization reached by a $ref from under anyOf, oneOf, ... */

    for (sn = c->refs; sn; sn = sn->next_ref) {
        const sg_snode_t  *seen[512];
        size_t             nseen = 0;

        if (!sn->in_choice) {
            continue;
        }

        c->plen = strlen(sn->ref_pointer);
        memcpy(c->pointer, sn->ref_pointer, c->plen + 1);

        if (sg_schema_normalizes(sn->ref, seen, &nseen,
                                 sizeof(seen) / sizeof(seen[0])))
        {
            return sg_schema_fail_at(c, sn->ref_line_at, "a normalization "
                                     "cannot be used under anyOf, oneOf, "
                                     "not, if or contains (here through "
                                     "this $ref)");
        }
    }

    return 0;
}


/*
 * Depth-first over the applicators that apply to the same value; returns
 * the $ref that closes a loop, or NULL.  Another schema's nodes (sg:common)
 * were checked when it compiled.
 */

static const sg_snode_t *
sg_schema_loop(sg_comp_t *c, sg_snode_t *sn)
{
    uint32_t           i;
    const sg_snode_t  *at;

    if (sn == NULL || sn->is_bool || sn->owner != c->s || sn->visit == 2) {
        return NULL;
    }

    if (sn->visit == 1) {
        return sn;
    }

    sn->visit = 1;

#define EDGE(x)                                                               \
    at = sg_schema_loop(c, x);                                                \
    if (at) {                                                                 \
        return at->has_ref ? at : sn;                                         \
    }

    if (sn->has_ref) {
        at = sg_schema_loop(c, sn->ref);
        if (at) {
            return sn;
        }
    }

    for (i = 0; i < sn->all_of.n; i++) { EDGE(sn->all_of.v[i]); }
    for (i = 0; i < sn->any_of.n; i++) { EDGE(sn->any_of.v[i]); }
    for (i = 0; i < sn->one_of.n; i++) { EDGE(sn->one_of.v[i]); }
    for (i = 0; i < sn->ndeps; i++) { EDGE(sn->deps[i].schema); }

    EDGE(sn->not_schema);
    EDGE(sn->if_schema);
    EDGE(sn->then_schema);
    EDGE(sn->else_schema);

#undef EDGE

    sn->visit = 2;

    return NULL;
}


/* whether a schema, or one it applies, normalizes (fails safe: 1) */

static int
sg_schema_normalizes(const sg_snode_t *sn, const sg_snode_t **seen,
    size_t *nseen, size_t cap)
{
    size_t  i;

    if (sn == NULL || sn->is_bool) {
        return 0;
    }

    for (i = 0; i < *nseen; i++) {
        if (seen[i] == sn) {
            return 0;
        }
    }

    if (*nseen == cap) {
        return 1;
    }

    seen[(*nseen)++] = sn;

    if (sn->lowercase) {
        return 1;
    }

#define SUB(x)  if (sg_schema_normalizes(x, seen, nseen, cap)) { return 1; }

    SUB(sn->ref);
    SUB(sn->items);
    SUB(sn->additional_items);
    SUB(sn->contains);
    SUB(sn->property_names);
    SUB(sn->additional_props);
    SUB(sn->not_schema);
    SUB(sn->if_schema);
    SUB(sn->then_schema);
    SUB(sn->else_schema);

    for (i = 0; i < sn->nprops; i++) { SUB(sn->props[i].schema); }
    for (i = 0; i < sn->npprops; i++) { SUB(sn->pprops[i].schema); }
    for (i = 0; i < sn->ndeps; i++) { SUB(sn->deps[i].schema); }
    for (i = 0; i < sn->items_list.n; i++) { SUB(sn->items_list.v[i]); }
    for (i = 0; i < sn->all_of.n; i++) { SUB(sn->all_of.v[i]); }
    for (i = 0; i < sn->any_of.n; i++) { SUB(sn->any_of.v[i]); }
    for (i = 0; i < sn->one_of.n; i++) { SUB(sn->one_of.v[i]); }

#undef SUB

    return 0;
}


static sg_snode_t *
sg_schema_pointer(sg_comp_t *c, const sg_schema_t *s, const char *p)
{
    char             tok[256];
    size_t           n;
    uint32_t         at, k, idx;
    const char      *q;
    sg_json_node_t  *nodes;

    nodes = s->doc.nodes;
    at = 0;

    while (*p) {
        if (*p++ != '/') {
            return NULL;
        }

        n = 0;

        for (q = p; *q && *q != '/'; q++) {
            char  ch = *q;

            if (ch == '~' && (q[1] == '0' || q[1] == '1')) {
                ch = (q[1] == '0') ? '~' : '/';
                q++;

            } else if (ch == '%' && q[1] && q[2]) {
                char  hex[3] = { q[1], q[2], 0 };
                char *end;

                ch = (char) strtol(hex, &end, 16);

                if (*end != '\0') {
                    return NULL;
                }

                q += 2;
            }

            if (n + 1 >= sizeof(tok)) {
                return NULL;
            }

            tok[n++] = ch;
        }

        p = q;

        if (nodes[at].type == SG_JSON_OBJECT) {
            at = sg_schema_member(&s->doc, at, tok, n);

        } else if (nodes[at].type == SG_JSON_ARRAY) {
            tok[n] = '\0';

            if (n == 0 || strspn(tok, "0123456789") != n) {
                return NULL;
            }

            idx = (uint32_t) strtoul(tok, NULL, 10);

            for (k = nodes[at].first; k != SG_JSON_NONE && idx;
                 k = nodes[k].next)
            {
                idx--;
            }

            at = k;

        } else {
            return NULL;
        }

        if (at == SG_JSON_NONE) {
            return NULL;
        }
    }

    (void) c;

    /* every schema position was compiled eagerly */
    return s->compiled[at];
}


static int
sg_schema_fail_at(sg_comp_t *c, uint32_t at, const char *fmt, ...)
{
    size_t   i, off;
    unsigned line;
    va_list  args;

    c->failed = 1;

    va_start(args, fmt);
    vsnprintf(c->err->message, sizeof(c->err->message), fmt, args);
    va_end(args);

    memcpy(c->err->pointer, c->pointer, c->plen + 1);

    off = c->s->doc.nodes[at].offset;
    line = 1;

    for (i = 0; i < off && i < c->s->len; i++) {
        line += (c->s->text[i] == '\n');
    }

    c->err->line = line;

    return -1;
}


/* JSON pointer segments: '~' as "~0", '/' as "~1" (RFC 6901) */

static void
sg_schema_push(sg_comp_t *c, const char *seg, size_t len)
{
    size_t  i;

    if (c->plen + 2 >= sizeof(c->pointer)) {
        return;
    }

    c->pointer[c->plen++] = '/';

    for (i = 0; i < len && c->plen + 3 < sizeof(c->pointer); i++) {
        if (seg[i] == '~' || seg[i] == '/') {
            c->pointer[c->plen++] = '~';
            c->pointer[c->plen++] = (seg[i] == '~') ? '0' : '1';

        } else {
            c->pointer[c->plen++] = seg[i];
        }
    }

    c->pointer[c->plen] = '\0';
}


static void
sg_schema_pop(sg_comp_t *c, size_t plen)
{
    c->plen = plen;
    c->pointer[plen] = '\0';
}


static int
sg_schema_has_member(const sg_json_t *doc, uint32_t obj, const char *name,
    size_t len)
{
    return sg_schema_member(doc, obj, name, len) != SG_JSON_NONE;
}


static uint32_t
sg_schema_member(const sg_json_t *doc, uint32_t obj, const char *name,
    size_t len)
{
    uint32_t  k;

    for (k = doc->nodes[obj].first; k != SG_JSON_NONE; k = doc->nodes[k].next)
    {
        if (doc->nodes[k].len == len
            && memcmp(doc->nodes[k].str, name, len) == 0)
        {
            return k + 1;
        }
    }

    return SG_JSON_NONE;
}


/* ----------------------------------------------------------- validate */

static __thread pcre2_match_data  *sg_schema_md;


sg_code_t
sg_schema_check(const sg_schema_t *schema, sg_json_t *doc, sg_alloc_t *a,
    sg_error_t *err)
{
    char         *p;
    size_t        i;
    sg_val_t      v;
    sg_code_t     rc;
    sg_lower_t   *l;
    sg_error_t    dummy;

    if (err == NULL) {
        err = &dummy;
    }

    memset(&v, 0, sizeof(v));
    v.doc = doc;
    v.a = a;
    v.err = err;
    v.mctx = schema->mctx;

    /*
     * One match block per thread, kept: a check allocates nothing for
     * patterns (schemas are shared, so it cannot live in one).
     */
    if (sg_schema_md == NULL) {
        sg_schema_md = pcre2_match_data_create(1, NULL);
    }

    if (sg_schema_jit == NULL) {
        sg_schema_jit = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
    }

    if (sg_schema_md == NULL || sg_schema_jit == NULL) {
        sg_error_set(err, SG_ERR_NOMEM, 0, "out of memory");
        return SG_ERR_NOMEM;
    }

    v.md = sg_schema_md;

    rc = sg_v(&v, schema->root, 0);

    if (v.nomem) {
        sg_error_set(err, SG_ERR_NOMEM, 0, "out of memory");
        return SG_ERR_NOMEM;
    }

    if (rc != SG_OK) {
        return rc;
    }

    /* normalizations, once the whole document is valid */

    for (l = v.lower; l; l = l->next) {
        sg_json_node_t  *node = &doc->nodes[l->node];

        if (node->type != SG_JSON_STRING) {
            continue;
        }

        p = sg_alloc(a, node->len + 1);
        if (p == NULL) {
            sg_error_set(err, SG_ERR_NOMEM, 0, "out of memory");
            return SG_ERR_NOMEM;
        }

        for (i = 0; i < node->len; i++) {
            p[i] = (node->str[i] >= 'A' && node->str[i] <= 'Z')
                   ? (char) (node->str[i] | 0x20) : node->str[i];
        }

        node->str = p;
    }

    return SG_OK;
}


static sg_code_t
sg_v(sg_val_t *v, const sg_snode_t *sn, uint32_t node)
{
    sg_code_t  rc;

    if (++v->nesting > SG_SCHEMA_MAX_NESTING) {
        v->nesting--;
        return sg_v_fail(v, NULL, node, "the schema nests too deep here");
    }

    rc = sg_v_own(v, sn, node);

    v->nesting--;

    return rc;
}


static sg_code_t
sg_v_own(sg_val_t *v, const sg_snode_t *sn, uint32_t node)
{
    int              r, ok;
    char             buf[SG_SCHEMA_REASON_MAX - 40], tn[64];
    double           d, q;
    size_t           n;
    uint32_t         k, bit;
    sg_code_t        rc;
    sg_lower_t      *l;
    sg_json_node_t  *x;
    const sg_json_t *sd;

    if (sn->is_bool) {
        return sn->bool_value ? SG_OK
                              : sg_v_fail(v, NULL, node, "is not allowed");
    }

    if (sn->has_ref) {
        /* draft-07: keywords beside $ref are ignored */
        return sg_v(v, sn->ref, node);
    }

    x = &v->doc->nodes[node];
    sd = &sn->owner->doc;

    if (sn->types) {
        bit = 1u << x->type;

        if (x->type == SG_JSON_NUMBER && (sn->types & SG_T_INTEGER)
            && sg_v_is_integer(v->doc, x))
        {
            bit |= SG_T_INTEGER;
        }

        if (!(sn->types & bit)) {
            return sg_v_fail(v, sn, node, "must be %s",
                             sg_v_type_name(sn->types, tn, sizeof(tn)));
        }
    }

    if (sn->has_const && !sg_v_equal(v->doc, node, sd, sn->const_node)) {
        sg_v_list(sn->owner, sn->const_node, buf, sizeof(buf));
        return sg_v_fail(v, sn, node, "must be %s", buf);
    }

    if (sn->enum_node != SG_JSON_NONE) {
        ok = 0;

        for (k = sd->nodes[sn->enum_node].first; k != SG_JSON_NONE && !ok;
             k = sd->nodes[k].next)
        {
            ok = sg_v_equal(v->doc, node, sd, k);
        }

        if (!ok) {
            sg_v_list(sn->owner, sn->enum_node, buf, sizeof(buf));
            return sg_v_fail(v, sn, node, "must be one of %s", buf);
        }
    }

    switch (x->type) {

    case SG_JSON_STRING:
        if (sn->min_length != (size_t) -1 || sn->max_length != (size_t) -1) {
            n = sg_v_code_points(x);

            if (sn->min_length != (size_t) -1 && n < sn->min_length) {
                return sg_v_fail(v, sn, node, sn->min_length == 1
                                 ? "must not be empty"
                                 : "must be at least %zu characters long",
                                 sn->min_length);
            }

            if (sn->max_length != (size_t) -1 && n > sn->max_length) {
                return sg_v_fail(v, sn, node,
                                 "must be at most %zu characters long",
                                 sn->max_length);
            }
        }

        if (sn->pattern) {
            r = pcre2_match(sn->pattern, (PCRE2_SPTR) x->str, x->len, 0,
                            PCRE2_NO_UTF_CHECK, v->md, v->mctx);

            if (r == PCRE2_ERROR_NOMEMORY) {
                v->nomem = 1;
                return SG_ERR_NOMEM;
            }

            if (r < 0) {
                return sg_v_fail(v, sn, node, r == PCRE2_ERROR_NOMATCH
                                 ? "must match the pattern %s"
                                 : "cannot be checked against the pattern "
                                   "%s (too complex)", sn->pattern_text);
            }
        }

        if (sn->luhn && !sg_v_luhn(x)) {
            return sg_v_fail(v, sn, node, "must be digits with a valid Luhn "
                             "check digit");
        }

        if (sn->lowercase && !v->quiet) {
            l = sg_alloc(v->a, sizeof(sg_lower_t));
            if (l == NULL) {
                v->nomem = 1;
                return SG_ERR_NOMEM;
            }

            l->node = node;
            l->next = v->lower;
            v->lower = l;
        }

        break;

    case SG_JSON_NUMBER:
        d = sg_v_number(v->doc, x);

        if (sn->integer_literal && !sg_v_integer_literal(x)) {
            return sg_v_fail(v, sn, node, "must be written as an integer, "
                             "without a fraction or an exponent");
        }

        if (sn->has_min && !(d >= sn->min)) {
            return sg_v_fail(v, sn, node, "must be at least %s", sn->min_text);
        }

        if (sn->has_max && !(d <= sn->max)) {
            return sg_v_fail(v, sn, node, "must be at most %s", sn->max_text);
        }

        if (sn->has_exmin && !(d > sn->exmin)) {
            return sg_v_fail(v, sn, node, "must be greater than %s",
                             sn->exmin_text);
        }

        if (sn->has_exmax && !(d < sn->exmax)) {
            return sg_v_fail(v, sn, node, "must be less than %s",
                             sn->exmax_text);
        }

        if (sn->has_multiple) {
            q = d / sn->multiple;

            /* exact for integers; decimals within a few ulps of q */
            if (!isfinite(q)
                || fabs(q - nearbyint(q)) > 8 * DBL_EPSILON * fmax(1.0,
                                                                   fabs(q)))
            {
                return sg_v_fail(v, sn, node, "must be a multiple of %s",
                                 sn->multiple_text);
            }
        }

        break;

    case SG_JSON_OBJECT:
        rc = sg_v_object(v, sn, node);
        if (rc != SG_OK) {
            return rc;
        }

        break;

    case SG_JSON_ARRAY:
        rc = sg_v_array(v, sn, node);
        if (rc != SG_OK) {
            return rc;
        }

        break;

    default:
        break;
    }

    return sg_v_combinators(v, sn, node);
}


static sg_code_t
sg_v_object(sg_val_t *v, const sg_snode_t *sn, uint32_t node)
{
    int               matched;
    uint32_t          k, i, first_bad, req;
    sg_code_t         rc;
    sg_error_t        best;
    sg_json_node_t   *nodes;
    const sg_json_t  *sd;

    nodes = v->doc->nodes;
    sd = &sn->owner->doc;
    first_bad = SG_JSON_NONE;

    /*
     * Members are linked in RFC 8785 order; the error reported is the
     * first in document order, so on a failure the others are checked too
     * and the earliest member's error is kept.  Valid documents pay nothing.
     */

    for (k = nodes[node].first; k != SG_JSON_NONE; k = nodes[k].next) {

        if (first_bad != SG_JSON_NONE && k > first_bad) {
            continue;
        }

        rc = SG_OK;
        matched = 0;

        if (sn->property_names) {
            rc = sg_v(v, sn->property_names, k);
        }

        for (i = 0; rc == SG_OK && i < sn->nprops; i++) {
            if (sn->props[i].len == nodes[k].len
                && memcmp(sn->props[i].name, nodes[k].str, nodes[k].len) == 0)
            {
                matched = 1;
                rc = sg_v(v, sn->props[i].schema, k + 1);
            }
        }

        for (i = 0; rc == SG_OK && i < sn->npprops; i++) {
            int  r = pcre2_match(sn->pprops[i].re, (PCRE2_SPTR) nodes[k].str,
                                 nodes[k].len, 0, PCRE2_NO_UTF_CHECK, v->md,
                                 v->mctx);

            if (r >= 0) {
                matched = 1;
                rc = sg_v(v, sn->pprops[i].schema, k + 1);

            } else if (r != PCRE2_ERROR_NOMATCH) {
                rc = sg_v_fail(v, NULL, k + 1, "cannot be checked against a "
                               "pattern (too complex)");
            }
        }

        if (rc == SG_OK && !matched && sn->additional_props) {
            if (sn->additional_props->is_bool
                && !sn->additional_props->bool_value)
            {
                rc = sg_v_fail(v, NULL, k + 1, "unknown member");

            } else {
                rc = sg_v(v, sn->additional_props, k + 1);
            }
        }

        if (rc == SG_ERR_NOMEM || v->nomem) {
            return SG_ERR_NOMEM;
        }

        if (rc != SG_OK) {
            if (v->quiet) {
                return rc;
            }

            first_bad = k;
            best = *v->err;
        }
    }

    if (first_bad != SG_JSON_NONE) {
        *v->err = best;
        return SG_ERR_INVALID_REQUEST;
    }

    if (sn->required != SG_JSON_NONE) {
        for (req = sd->nodes[sn->required].first; req != SG_JSON_NONE;
             req = sd->nodes[req].next)
        {
            if (!sg_schema_has_member(v->doc, node, sd->nodes[req].str,
                                      sd->nodes[req].len))
            {
                return sg_v_missing(v, sn, node, sd->nodes[req].str,
                                    sd->nodes[req].len, "is required");
            }
        }
    }

    if (sn->min_props != (size_t) -1 && nodes[node].count < sn->min_props) {
        return sg_v_fail(v, sn, node, "must have at least %zu member%s",
                         sn->min_props, sn->min_props == 1 ? "" : "s");
    }

    if (sn->max_props != (size_t) -1 && nodes[node].count > sn->max_props) {
        return sg_v_fail(v, sn, node, "must have at most %zu member%s",
                         sn->max_props, sn->max_props == 1 ? "" : "s");
    }

    for (i = 0; i < sn->ndeps; i++) {
        if (!sg_schema_has_member(v->doc, node, sn->deps[i].name,
                                  sn->deps[i].len))
        {
            continue;
        }

        if (sn->deps[i].schema) {
            rc = sg_v(v, sn->deps[i].schema, node);
            if (rc != SG_OK) {
                return rc;
            }

            continue;
        }

        for (req = sd->nodes[sn->deps[i].required].first;
             req != SG_JSON_NONE;
             req = sd->nodes[req].next)
        {
            if (!sg_schema_has_member(v->doc, node, sd->nodes[req].str,
                                      sd->nodes[req].len))
            {
                return sg_v_missing(v, sn, node, sd->nodes[req].str,
                                    sd->nodes[req].len,
                                    "is required with another member");
            }
        }
    }

    return SG_OK;
}


static sg_code_t
sg_v_array(sg_val_t *v, const sg_snode_t *sn, uint32_t node)
{
    int              found;
    uint32_t         k, j, i;
    sg_code_t        rc;
    sg_json_node_t  *nodes;

    nodes = v->doc->nodes;

    for (k = nodes[node].first, i = 0; k != SG_JSON_NONE;
         k = nodes[k].next, i++)
    {
        const sg_snode_t  *item = NULL;

        if (sn->items_is_list) {
            item = (i < sn->items_list.n) ? sn->items_list.v[i]
                                          : sn->additional_items;
        } else {
            item = sn->items;
        }

        if (item == NULL) {
            continue;
        }

        if (item->is_bool && !item->bool_value) {
            return sg_v_fail(v, NULL, k, "is not allowed here");
        }

        rc = sg_v(v, item, k);
        if (rc != SG_OK) {
            return rc;
        }
    }

    if (sn->min_items != (size_t) -1 && nodes[node].count < sn->min_items) {
        return sg_v_fail(v, sn, node, "must have at least %zu item%s",
                         sn->min_items, sn->min_items == 1 ? "" : "s");
    }

    if (sn->max_items != (size_t) -1 && nodes[node].count > sn->max_items) {
        return sg_v_fail(v, sn, node, "must have at most %zu item%s",
                         sn->max_items, sn->max_items == 1 ? "" : "s");
    }

    if (sn->unique) {
        for (k = nodes[node].first; k != SG_JSON_NONE; k = nodes[k].next) {
            for (j = nodes[k].next; j != SG_JSON_NONE; j = nodes[j].next) {
                if (sg_v_equal(v->doc, k, v->doc, j)) {
                    return sg_v_fail(v, sn, j, "must not repeat an item");
                }
            }
        }
    }

    if (sn->contains) {
        found = 0;

        for (k = nodes[node].first; k != SG_JSON_NONE && !found;
             k = nodes[k].next)
        {
            found = sg_v_matches(v, sn->contains, k);

            if (v->nomem) {
                return SG_ERR_NOMEM;
            }
        }

        if (!found) {
            return sg_v_fail(v, sn, node, "must contain a matching item");
        }
    }

    return SG_OK;
}


static sg_code_t
sg_v_combinators(sg_val_t *v, const sg_snode_t *sn, uint32_t node)
{
    uint32_t   i, n;
    sg_code_t  rc;

    for (i = 0; i < sn->all_of.n; i++) {
        rc = sg_v(v, sn->all_of.v[i], node);
        if (rc != SG_OK) {
            return rc;
        }
    }

    if (sn->any_of.n) {
        for (i = 0; i < sn->any_of.n; i++) {
            if (sg_v_matches(v, sn->any_of.v[i], node)) {
                break;
            }
        }

        if (v->nomem) {
            return SG_ERR_NOMEM;
        }

        if (i == sn->any_of.n) {
            return sg_v_fail(v, sn, node,
                             "must match at least one of the allowed forms");
        }
    }

    if (sn->one_of.n) {
        if (sn->discriminator) {
            rc = sg_v_discriminated(v, sn, node);
            if (rc != SG_OK) {
                return rc;
            }

        } else {
            for (i = 0, n = 0; i < sn->one_of.n; i++) {
                n += sg_v_matches(v, sn->one_of.v[i], node);
            }

            if (v->nomem) {
                return SG_ERR_NOMEM;
            }

            if (n != 1) {
                return sg_v_fail(v, sn, node, n
                                 ? "must match only one of the allowed forms"
                                 : "must match one of the allowed forms");
            }
        }
    }

    if (sn->not_schema && sg_v_matches(v, sn->not_schema, node)) {
        return sg_v_fail(v, sn, node, "must not match a forbidden form");
    }

    if (v->nomem) {
        return SG_ERR_NOMEM;
    }

    if (sn->if_schema) {
        if (sg_v_matches(v, sn->if_schema, node)) {
            if (sn->then_schema) {
                return sg_v(v, sn->then_schema, node);
            }

        } else if (v->nomem) {
            return SG_ERR_NOMEM;

        } else if (sn->else_schema) {
            return sg_v(v, sn->else_schema, node);
        }
    }

    return SG_OK;
}


/*
 * x-sg-discriminator: the member's value picks the oneOf branch, and that
 * branch's own error is the error; never a wall of branch failures.
 */

static sg_code_t
sg_v_discriminated(sg_val_t *v, const sg_snode_t *sn, uint32_t node)
{
    char               buf[SG_SCHEMA_REASON_MAX - 40];
    size_t             len;
    uint32_t           i, k, member, c;
    const sg_snode_t  *b, *p;
    const sg_json_t   *bd;

    if (v->doc->nodes[node].type != SG_JSON_OBJECT) {
        return SG_OK;
    }

    member = sg_schema_member(v->doc, node, sn->discriminator,
                              sn->discriminator_len);

    if (member == SG_JSON_NONE) {
        return sg_v_missing(v, sn, node, sn->discriminator,
                            sn->discriminator_len, "is required");
    }

    for (i = 0; i < sn->one_of.n; i++) {
        b = sn->one_of.v[i];

        for (k = 0; k < b->nprops; k++) {
            if (b->props[k].len != sn->discriminator_len
                || memcmp(b->props[k].name, sn->discriminator,
                          sn->discriminator_len) != 0)
            {
                continue;
            }

            p = b->props[k].schema;

            if (sg_v_equal(v->doc, member, &p->owner->doc, p->const_node)) {
                return sg_v(v, b, node);
            }
        }
    }

    /* "must be one of "card", "bank_account"" from the branches' consts */

    len = 0;
    buf[0] = '\0';

    for (i = 0; i < sn->one_of.n; i++) {
        b = sn->one_of.v[i];

        for (k = 0; k < b->nprops; k++) {
            if (b->props[k].len == sn->discriminator_len
                && memcmp(b->props[k].name, sn->discriminator,
                          sn->discriminator_len) == 0)
            {
                p = b->props[k].schema;
                bd = &p->owner->doc;
                c = p->const_node;

                if (len + bd->nodes[c].len + 5 < sizeof(buf)) {
                    len += snprintf(buf + len, sizeof(buf) - len, "%s\"%.*s\"",
                                    len ? ", " : "", (int) bd->nodes[c].len,
                                    bd->nodes[c].str);
                }
            }
        }
    }

    return sg_v_fail(v, NULL, member, "must be one of %s", buf);
}


/* whether node matches sn, without reporting (anyOf, oneOf, not, if) */

static int
sg_v_matches(sg_val_t *v, const sg_snode_t *sn, uint32_t node)
{
    sg_code_t    rc;
    sg_error_t   saved;

    saved = *v->err;
    v->quiet++;

    rc = sg_v(v, sn, node);

    v->quiet--;
    *v->err = saved;

    if (rc == SG_ERR_NOMEM) {
        v->nomem = 1;
    }

    return rc == SG_OK;
}


static sg_code_t
sg_v_fail(sg_val_t *v, const sg_snode_t *sn, uint32_t node, const char *fmt,
    ...)
{
    va_list      args;
    sg_error_t  *err;

    err = v->err;

    if (v->quiet) {
        /* a branch that does not match: nobody reads the error */
        err->code = SG_ERR_INVALID_REQUEST;
        return SG_ERR_INVALID_REQUEST;
    }

    sg_error_set(err, SG_ERR_INVALID_REQUEST, v->doc->nodes[node].offset,
                 NULL);

    if (sn && sn->message) {
        err->reason = sn->message;

    } else {
        va_start(args, fmt);
        vsnprintf(err->detail, sizeof(err->detail), fmt, args);
        va_end(args);

        err->reason = err->detail;
    }

    sg_json_path(v->doc, node, err->path, sizeof(err->path));

    return SG_ERR_INVALID_REQUEST;
}


/* a missing member: its path is the object's plus the schema's name */

static sg_code_t
sg_v_missing(sg_val_t *v, const sg_snode_t *sn, uint32_t obj,
    const char *name, size_t len, const char *reason)
{
    size_t  n;

    if (v->quiet) {
        v->err->code = SG_ERR_INVALID_REQUEST;
        return SG_ERR_INVALID_REQUEST;
    }

    sg_error_set(v->err, SG_ERR_INVALID_REQUEST,
                 v->doc->nodes[obj].offset,
                 (sn && sn->message) ? sn->message : reason);

    sg_json_path(v->doc, obj, v->err->path, sizeof(v->err->path));

    /* the name comes from the schema, not the request */
    n = strlen(v->err->path);

    if (n + 2 >= sizeof(v->err->path)) {
        len = 0;

    } else if (n + 1 + len >= sizeof(v->err->path)) {
        /* does not fit: cut at a character boundary, never mid-UTF-8 */
        len = sizeof(v->err->path) - n - 2;

        while (len > 0 && ((unsigned char) name[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    snprintf(v->err->path + n, sizeof(v->err->path) - n, "%s%.*s",
             n ? "." : "", (int) len, name);

    return SG_ERR_INVALID_REQUEST;
}


/* JSON equality (numbers by value, objects regardless of order) */

static int
sg_v_equal(const sg_json_t *a, uint32_t x, const sg_json_t *b, uint32_t y)
{
    uint32_t               i, j;
    const sg_json_node_t  *p, *q;

    p = &a->nodes[x];
    q = &b->nodes[y];

    if (p->type != q->type) {
        return 0;
    }

    switch (p->type) {

    case SG_JSON_STRING:
        return p->len == q->len && memcmp(p->str, q->str, p->len) == 0;

    case SG_JSON_NUMBER:
        return sg_v_number(a, p) == sg_v_number(b, q);

    case SG_JSON_ARRAY:
        if (p->count != q->count) {
            return 0;
        }

        for (i = p->first, j = q->first; i != SG_JSON_NONE;
             i = a->nodes[i].next, j = b->nodes[j].next)
        {
            if (!sg_v_equal(a, i, b, j)) {
                return 0;
            }
        }

        return 1;

    case SG_JSON_OBJECT:
        if (p->count != q->count) {
            return 0;
        }

        for (i = p->first; i != SG_JSON_NONE; i = a->nodes[i].next) {
            j = sg_schema_member(b, y, a->nodes[i].str, a->nodes[i].len);

            if (j == SG_JSON_NONE || !sg_v_equal(a, i + 1, b, j)) {
                return 0;
            }
        }

        return 1;

    default:
        return 1;
    }
}


/* the node after node's subtree (nodes are in preorder) */

static uint32_t
sg_v_end(const sg_json_t *doc, uint32_t node)
{
    uint32_t  k, last;

    switch (doc->nodes[node].type) {

    case SG_JSON_OBJECT:
    case SG_JSON_ARRAY:
        if (doc->nodes[node].count == 0) {
            return node + 1;
        }

        /* the last child in document order has the highest index */
        last = 0;

        for (k = doc->nodes[node].first; k != SG_JSON_NONE;
             k = doc->nodes[k].next)
        {
            if (k > last) {
                last = k;
            }
        }

        if (doc->nodes[node].type == SG_JSON_OBJECT) {
            return sg_v_end(doc, last + 1);
        }

        return sg_v_end(doc, last);

    default:
        return node + 1;
    }
}


/*
 * A number's value.  Its text is followed by a delimiter in the document
 * (strtod stops there) unless it ends the document; only then is it
 * copied, to a bounded buffer: a longer number cannot be exact anyway,
 * and the RFC 8785 writer refuses it.
 */

static double
sg_v_number(const sg_json_t *doc, const sg_json_node_t *node)
{
    char  buf[1024];

    if (node->len < 64
        || node->str + node->len >= doc->input + doc->input_len)
    {
        size_t  n = node->len < sizeof(buf) ? node->len : sizeof(buf) - 1;

        memcpy(buf, node->str, n);
        buf[n] = '\0';

        return strtod(buf, NULL);
    }

    return strtod(node->str, NULL);
}


/* draft-07: an integer is a number with no fractional part (1.0 too) */

static int
sg_v_is_integer(const sg_json_t *doc, const sg_json_node_t *node)
{
    double  d;

    d = sg_v_number(doc, node);

    return isfinite(d) && d == floor(d);
}


static int
sg_v_integer_literal(const sg_json_node_t *node)
{
    size_t  i;

    for (i = 0; i < node->len; i++) {
        if (node->str[i] == '.' || node->str[i] == 'e' || node->str[i] == 'E')
        {
            return 0;
        }
    }

    return 1;
}


static int
sg_v_luhn(const sg_json_node_t *node)
{
    int     d, sum, twice;
    size_t  i;

    if (node->len == 0) {
        return 0;
    }

    sum = 0;
    twice = 0;

    for (i = node->len; i-- > 0; ) {
        if (node->str[i] < '0' || node->str[i] > '9') {
            return 0;
        }

        d = node->str[i] - '0';

        if (twice) {
            d *= 2;

            if (d > 9) {
                d -= 9;
            }
        }

        sum += d;
        twice = !twice;
    }

    return sum % 10 == 0;
}


static size_t
sg_v_code_points(const sg_json_node_t *node)
{
    size_t  i, n;

    n = 0;

    for (i = 0; i < node->len; i++) {
        n += ((unsigned char) node->str[i] & 0xc0) != 0x80;
    }

    return n;
}


/* schema values, for messages: "card", "bank_account" */

static size_t
sg_v_list(const sg_schema_t *s, uint32_t at, char *buf, size_t size)
{
    int                    n;
    size_t                 len;
    uint32_t               k, first, count, m;
    const char            *lit;
    const sg_json_node_t  *nodes, *x;

    nodes = s->doc.nodes;
    len = 0;
    buf[0] = '\0';

    if (nodes[at].type == SG_JSON_ARRAY) {
        first = nodes[at].first;
        count = nodes[at].count;

    } else {
        first = at;
        count = 1;
    }

    for (k = first, m = 0; m < count; k = nodes[k].next, m++) {
        x = &nodes[k];

        switch (x->type) {
        case SG_JSON_STRING:
            n = snprintf(buf + len, size - len, "%s\"%.*s\"", m ? ", " : "",
                         (int) x->len, x->str);
            break;
        case SG_JSON_NUMBER:
            n = snprintf(buf + len, size - len, "%s%.*s", m ? ", " : "",
                         (int) x->len, x->str);
            break;
        default:
            lit = (x->type == SG_JSON_TRUE) ? "true"
                  : (x->type == SG_JSON_FALSE) ? "false"
                  : (x->type == SG_JSON_NULL) ? "null"
                  : (x->type == SG_JSON_OBJECT) ? "an object" : "an array";
            n = snprintf(buf + len, size - len, "%s%s", m ? ", " : "", lit);
            break;
        }

        if (n < 0 || (size_t) n >= size - len) {
            /* cut short: say so */
            if (size > 4) {
                memcpy(buf + size - 4, "...", 4);
            }

            return size - 1;
        }

        len += n;
    }

    return len;
}


static const char *
sg_v_type_name(uint32_t types, char *buf, size_t size)
{
    size_t  i, len;

    static const struct { uint32_t bit; const char *name; } names[] = {
        { SG_T_OBJECT, "an object" }, { SG_T_ARRAY, "an array" },
        { SG_T_STRING, "a string" }, { SG_T_NUMBER, "a number" },
        { SG_T_INTEGER, "an integer" }, { SG_T_BOOLEAN, "a boolean" },
        { SG_T_NULL, "null" }
    };

    len = 0;
    buf[0] = '\0';

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (types & names[i].bit) {
            len += snprintf(buf + len, size - len, "%s%s", len ? " or " : "",
                            names[i].name);

            if (len >= size) {
                break;
            }
        }
    }

    return buf;
}
