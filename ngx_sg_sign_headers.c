
/*
 * Header surgery for ngx_http_sg_sign_module: which request headers a
 * caller may not choose, removing them from r->headers_in without moving
 * an element, and the framing checks (Content-Type, Content-Encoding).
 */


#include "ngx_sg_sign_module.h"


static ngx_uint_t ngx_http_sg_sign_json_media_type(ngx_str_t *value);
static ngx_uint_t ngx_http_sg_sign_identity_coding(ngx_str_t *value);
static u_char *ngx_http_sg_sign_skip_ows(u_char *p, u_char *last);


ngx_table_elt_t *
ngx_http_sg_sign_header_first(ngx_http_request_t *r,
    ngx_http_sg_sign_header_iter_t *it)
{
    it->part = &r->headers_in.headers.part;
    it->i = 0;

    return ngx_http_sg_sign_header_next(it);
}


ngx_table_elt_t *
ngx_http_sg_sign_header_next(ngx_http_sg_sign_header_iter_t *it)
{
    while (it->i >= it->part->nelts) {
        if (it->part->next == NULL) {
            return NULL;
        }

        it->part = it->part->next;
        it->i = 0;
    }

    return (ngx_table_elt_t *) it->part->elts + it->i++;
}


/*
 * Whether a header's lower-case name is one of names (lower case, with
 * '-'), reading '_' as '-': with underscores_in_headers on (or
 * ignore_invalid_headers off) X_PARTNER_SIGN arrives, and CGI-style
 * servers read it as X-PARTNER-SIGN.
 */

ngx_uint_t
ngx_http_sg_sign_header_named(ngx_str_t *lowcase, ngx_str_t *names,
    ngx_uint_t n)
{
    u_char      c;
    ngx_uint_t  i, k;

    for (k = 0; k < n; k++) {

        if (lowcase->len != names[k].len) {
            continue;
        }

        for (i = 0; i < lowcase->len; i++) {
            c = lowcase->data[i];

            if (c == '_') {
                c = '-';
            }

            if (c != names[k].data[i]) {
                break;
            }
        }

        if (i == lowcase->len) {
            return 1;
        }
    }

    return 0;
}


/*
 * Removes every header named in names from r->headers_in.headers without
 * moving an element: r->headers_in keeps pointers into the list (host,
 * content_length, ...).  The kept elements are relinked as runs, each run
 * a part over the same memory, and no part after the first is ever empty
 * (nginx's loops read elts[0] of every next part).
 *
 * All memory is allocated before the list is touched.  With room > 0 a
 * fresh last part with room free elements is linked in, and the caller
 * must push at least one header into it at once: then those pushes cannot
 * fail.  Either way the last part reads as full to ngx_list_push() (nalloc
 * is set to its count), so a later push by anyone starts a part of its
 * own instead of writing past a run.
 *
 * If the allocation fails, the list is emptied: a request that keeps no
 * caller header at all is refused, never forwarded with a forged one.
 */

ngx_int_t
ngx_http_sg_sign_strip_headers(ngx_http_request_t *r, ngx_str_t *names,
    ngx_uint_t n, ngx_uint_t room)
{
    u_char           *mem;
    ngx_uint_t        i, start, nelts, runs, removed, in_run;
    ngx_list_t       *list;
    ngx_list_part_t  *part, *next, *prev, *run, *spare;
    ngx_table_elt_t  *h;
    ngx_str_t         key;

    list = &r->headers_in.headers;

    runs = 0;
    removed = 0;

    for (part = &list->part; part; part = part->next) {
        h = part->elts;
        in_run = 0;

        for (i = 0; i < part->nelts; i++) {
            key.data = h[i].lowcase_key;
            key.len = h[i].key.len;

            if (ngx_http_sg_sign_header_named(&key, names, n)) {
                removed++;
                in_run = 0;

            } else if (!in_run) {
                runs++;
                in_run = 1;
            }
        }
    }

    if (removed == 0 && room == 0) {
        return NGX_OK;
    }

    mem = ngx_http_sg_sign_alloc(ngx_palloc(r->pool,
                                   (runs + 1) * sizeof(ngx_list_part_t)
                                   + room * list->size));
    if (mem == NULL) {
        list->part.nelts = 0;
        list->part.next = NULL;
        list->last = &list->part;
        return NGX_ERROR;
    }

    spare = (ngx_list_part_t *) mem;
    prev = NULL;

    for (part = &list->part; part; part = next) {
        h = part->elts;
        nelts = part->nelts;
        next = part->next;
        start = 0;

        for (i = 0; i <= nelts; i++) {

            if (i < nelts) {
                key.data = h[i].lowcase_key;
                key.len = h[i].key.len;

                if (!ngx_http_sg_sign_header_named(&key, names, n)) {
                    continue;
                }
            }

            if (i > start) {
                /* the list's own head part holds the first run */
                run = (prev == NULL) ? &list->part : spare++;

                run->elts = &h[start];
                run->nelts = i - start;
                run->next = NULL;

                if (prev) {
                    prev->next = run;
                }

                prev = run;
            }

            start = i + 1;
        }
    }

    if (prev == NULL) {
        /* nothing kept: the head part's own memory is free again */
        list->part.nelts = 0;
        list->part.next = NULL;
        prev = &list->part;

        if (room == 0) {
            list->last = prev;
            return NGX_OK;
        }
    }

    if (room) {
        run = spare;
        run->elts = mem + (runs + 1) * sizeof(ngx_list_part_t);
        run->nelts = 0;
        run->next = NULL;

        if (prev != &list->part || prev->nelts) {
            prev->next = run;

        } else {
            /* an empty head part takes the fresh memory itself */
            *prev = *run;
            run = prev;
        }

        list->last = run;
        list->nalloc = room;
        return NGX_OK;
    }

    list->last = prev;
    list->nalloc = prev->nelts;

    return NGX_OK;
}


/*
 * Gives a subrequest a list of its own without the headers named: its
 * headers_in is a copy of its parent's, whose list parts it shares, so the
 * parent's list must not be touched.  If the allocation fails, the
 * subrequest's list is emptied.
 */

ngx_int_t
ngx_http_sg_sign_copy_headers(ngx_http_request_t *r, ngx_str_t *names,
    ngx_uint_t n)
{
    ngx_uint_t        i, room;
    ngx_list_t        old, *list;
    ngx_str_t         key;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *copy;

    list = &r->headers_in.headers;
    old = *list;

    room = 1;

    for (part = &old.part; part; part = part->next) {
        room += part->nelts;
    }

    if (ngx_http_sg_sign_fails()
        || ngx_list_init(list, r->pool, room, sizeof(ngx_table_elt_t))
           != NGX_OK)
    {
        /* a later push allocates a part of its own */
        list->part.nelts = 0;
        list->part.next = NULL;
        list->last = &list->part;
        list->nalloc = 0;
        return NGX_ERROR;
    }

    for (part = &old.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            key.data = h[i].lowcase_key;
            key.len = h[i].key.len;

            if (ngx_http_sg_sign_header_named(&key, names, n)) {
                continue;
            }

            /* one part with room for all: cannot fail */
            copy = ngx_list_push(list);
            *copy = h[i];
        }
    }

    return NGX_OK;
}


/* into room reserved by ngx_http_sg_sign_strip_headers(): no allocation */

ngx_table_elt_t *
ngx_http_sg_sign_push_header(ngx_http_request_t *r,
    ngx_http_sg_sign_header_name_t *name, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NULL;
    }

    h->key = name->name;
    h->value = *value;
    h->lowcase_key = name->lowcase.data;
    h->hash = ngx_hash_key(name->lowcase.data, name->lowcase.len);

    return h;
}


/*
 * The body the gateway signs is UTF-8 JSON, sent as it is: a charset
 * other than UTF-8 or a content coding would make the provider read other
 * bytes than those signed.  Every Content-Type and Content-Encoding line
 * is checked, not only the first nginx keeps.  Returns NULL, or the
 * description of the 415.
 */

const char *
ngx_http_sg_sign_check_framing(ngx_http_request_t *r)
{
    ngx_table_elt_t                 *h;
    ngx_http_sg_sign_header_iter_t   it;

    static ngx_str_t  content_type = ngx_string("content-type");
    static ngx_str_t  content_encoding = ngx_string("content-encoding");

    for (h = ngx_http_sg_sign_header_first(r, &it);
         h;
         h = ngx_http_sg_sign_header_next(&it))
    {
        if (h->key.len == content_type.len
            && ngx_strncmp(h->lowcase_key, content_type.data,
                           content_type.len) == 0
            && !ngx_http_sg_sign_json_media_type(&h->value))
        {
            return "the Content-Type must be application/json, "
                   "with no charset other than UTF-8";
        }

        if (h->key.len == content_encoding.len
            && ngx_strncmp(h->lowcase_key, content_encoding.data,
                           content_encoding.len) == 0
            && !ngx_http_sg_sign_identity_coding(&h->value))
        {
            return "the body must not be encoded: "
                   "Content-Encoding must be identity";
        }
    }

    return NULL;
}


/*
 * "application/json" in any case, optionally followed by parameters
 * (RFC 9110 8.3.1); a charset parameter, quoted or not, must be UTF-8.
 */

static ngx_uint_t
ngx_http_sg_sign_json_media_type(ngx_str_t *value)
{
    u_char  *p, *last, *name, *name_end, *v, *v_end;

    static u_char  json[] = "application/json";

    p = value->data;
    last = p + value->len;

    p = ngx_http_sg_sign_skip_ows(p, last);

    if ((size_t) (last - p) < sizeof(json) - 1
        || ngx_strncasecmp(p, json, sizeof(json) - 1) != 0)
    {
        return 0;
    }

    p += sizeof(json) - 1;

    for ( ;; ) {
        p = ngx_http_sg_sign_skip_ows(p, last);

        if (p == last) {
            return 1;
        }

        if (*p++ != ';') {
            return 0;
        }

        p = ngx_http_sg_sign_skip_ows(p, last);

        if (p == last) {
            return 1;
        }

        name = p;

        while (p < last && *p != '=' && *p != ';' && *p != ' '
               && *p != '\t')
        {
            p++;
        }

        name_end = p;

        if (p == last || *p != '=') {
            /* a parameter without a value: not a charset */
            continue;
        }

        p++;

        if (p < last && *p == '"') {
            v = ++p;

            while (p < last && *p != '"') {
                if (*p == '\\') {
                    /* an escaped character cannot be part of "utf-8" */
                    return 0;
                }

                p++;
            }

            if (p == last) {
                return 0;
            }

            v_end = p++;

        } else {
            v = p;

            while (p < last && *p != ';' && *p != ' ' && *p != '\t') {
                p++;
            }

            v_end = p;
        }

        if (name_end - name == sizeof("charset") - 1
            && ngx_strncasecmp(name, (u_char *) "charset",
                               sizeof("charset") - 1) == 0
            && (v_end - v != sizeof("utf-8") - 1
                || ngx_strncasecmp(v, (u_char *) "utf-8",
                                   sizeof("utf-8") - 1) != 0))
        {
            return 0;
        }
    }
}


/* a list of codings (RFC 9110 8.4) that are all "identity", or none */

static ngx_uint_t
ngx_http_sg_sign_identity_coding(ngx_str_t *value)
{
    u_char  *p, *last, *token;

    p = value->data;
    last = p + value->len;

    while (p < last) {
        p = ngx_http_sg_sign_skip_ows(p, last);
        token = p;

        while (p < last && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if (p > token
            && (p - token != sizeof("identity") - 1
                || ngx_strncasecmp(token, (u_char *) "identity",
                                   sizeof("identity") - 1) != 0))
        {
            return 0;
        }

        p = ngx_http_sg_sign_skip_ows(p, last);

        if (p < last && *p != ',') {
            return 0;
        }

        if (p < last) {
            p++;
        }
    }

    return 1;
}


static u_char *
ngx_http_sg_sign_skip_ows(u_char *p, u_char *last)
{
    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    return p;
}
