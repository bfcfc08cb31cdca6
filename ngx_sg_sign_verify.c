
/*
 * ngx_http_sg_sign_verify_module: verifies the provider's webhooks before
 * proxy_pass hands them to the app.  X-PARTNER-SIGN must be an RSA
 * PKCS#1 v1.5 SHA-256 signature of the exact body bytes by one of the
 * configured public keys (src/sg_verify.c); the body and the header pass
 * on untouched, with X-SG-Verified naming the key that verified.
 *
 * Built into the same .so as ngx_http_sg_sign_module, after it: it reuses
 * its request machinery (ngx_sg_sign_gate.c), header surgery, body reader,
 * body size setting and nginx -t checks.
 */


#include "ngx_sg_sign_module.h"

#include "sg_verify.h"


/* what happened to a webhook; indexes ngx_http_sg_sign_verify_outcomes[] */
typedef enum {
    NGX_HTTP_SG_SIGN_VERIFY_PENDING = 0,
    NGX_HTTP_SG_SIGN_VERIFY_VERIFIED,
    NGX_HTTP_SG_SIGN_VERIFY_INVALID_SIGNATURE,
    NGX_HTTP_SG_SIGN_VERIFY_SUBREQUEST_REFUSED,
    NGX_HTTP_SG_SIGN_VERIFY_METHOD_NOT_ALLOWED,
    NGX_HTTP_SG_SIGN_VERIFY_BODY_TOO_LARGE,
    NGX_HTTP_SG_SIGN_VERIFY_FAILED
} ngx_http_sg_sign_verify_outcome_e;


typedef struct {
    /* some location verifies: every location drops a caller's X-SG-Verified */
    ngx_flag_t                    used;
} ngx_http_sg_sign_verify_main_conf_t;


typedef struct {
    ngx_flag_t                    enable;
    ngx_array_t                  *keys;         /* sg_verifier_t * */

    /* where "sg_sign_verify on" was set, for nginx -t */
    ngx_str_t                     enable_file;
    ngx_uint_t                    enable_line;
} ngx_http_sg_sign_verify_loc_conf_t;


/*
 * One per visit of an sg_sign_verify location, kept by the gate
 * (ngx_sg_sign_gate.c): that a request ever entered such a location
 * outlives internal redirects, so no other location reads a body that was
 * not verified.
 */
typedef struct {
    ngx_http_sg_sign_gate_ctx_t        gate;        /* first */
    ngx_str_t                          sig;         /* decoded */
    const sg_verifier_t               *verifier;    /* the key that verified */
} ngx_http_sg_sign_verify_ctx_t;


static ngx_int_t ngx_http_sg_sign_verify_rewrite_handler(ngx_http_request_t *r);
static void *ngx_http_sg_sign_verify_create_main_conf(ngx_conf_t *cf);
static void ngx_http_sg_sign_verify_ctx_cleanup(void *data);
static ngx_int_t ngx_http_sg_sign_verify_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_sg_sign_verify_check_request(ngx_http_request_t *r);
static ngx_int_t ngx_http_sg_sign_verify_request_body_filter(
    ngx_http_request_t *r, ngx_chain_t *in);
static void ngx_http_sg_sign_verify_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_sg_sign_verify_body(ngx_http_request_t *r,
    ngx_http_sg_sign_verify_loc_conf_t *vlcf,
    ngx_http_sg_sign_verify_ctx_t *ctx);
static ngx_int_t ngx_http_sg_sign_verify_mismatch(ngx_http_request_t *r,
    ngx_http_sg_sign_verify_loc_conf_t *vlcf,
    ngx_http_sg_sign_verify_ctx_t *ctx, ngx_uint_t failed);
static ngx_int_t ngx_http_sg_sign_verify_install(ngx_http_request_t *r,
    ngx_http_sg_sign_verify_ctx_t *ctx, const sg_verifier_t *verifier);
static ngx_int_t ngx_http_sg_sign_verify_refuse(ngx_http_request_t *r,
    ngx_http_sg_sign_verify_ctx_t *ctx,
    ngx_http_sg_sign_verify_outcome_e outcome, const char *description);
static ngx_int_t ngx_http_sg_sign_verify_fail(ngx_http_request_t *r,
    ngx_http_sg_sign_verify_ctx_t *ctx, const char *what);
static ngx_int_t ngx_http_sg_sign_verify_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_sg_sign_verify_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_sg_sign_verify_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_sg_sign_verify_add_variables(ngx_conf_t *cf);
static void *ngx_http_sg_sign_verify_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_sg_sign_verify_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_sg_sign_verify_enable(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sg_sign_verify_set_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void ngx_http_sg_sign_verify_free_key(void *data);
static ngx_int_t ngx_http_sg_sign_verify_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_sg_sign_verify_commands[] = {

    { ngx_string("sg_sign_verify"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_sg_sign_verify_enable,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sg_sign_verify_loc_conf_t, enable),
      NULL },

    { ngx_string("sg_sign_verify_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_sg_sign_verify_set_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_sg_sign_verify_module_ctx = {
    ngx_http_sg_sign_verify_add_variables,      /* preconfiguration */
    ngx_http_sg_sign_verify_init,               /* postconfiguration */

    ngx_http_sg_sign_verify_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_sg_sign_verify_create_loc_conf, /* create location configuration */
    ngx_http_sg_sign_verify_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_sg_sign_verify_module = {
    NGX_MODULE_V1,
    &ngx_http_sg_sign_verify_module_ctx,        /* module context */
    ngx_http_sg_sign_verify_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* the outcome table; README "Verifying the provider's webhooks" too */

static ngx_http_sg_sign_outcome_t  ngx_http_sg_sign_verify_outcomes[] = {
    { 0, ngx_null_string, NULL, 0 },
    { 0, ngx_string("verified"), NULL, 0 },
    { NGX_HTTP_UNAUTHORIZED, ngx_string("invalid_signature"),
      "the X-PARTNER-SIGN signature does not verify", 0 },
    { NGX_HTTP_FORBIDDEN, ngx_string("subrequest_refused"),
      "a subrequest is never verified", 0 },
    { NGX_HTTP_NOT_ALLOWED, ngx_string("method_not_allowed"),
      "the method must be POST", 0 },
    { NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, ngx_string("body_too_large"),
      "the request body is too large", 1 },
    { NGX_HTTP_INTERNAL_SERVER_ERROR, ngx_string("verification_failed"),
      "the webhook could not be verified", 1 }
};


/* the gateway's word on a webhook: never the caller's */
static ngx_str_t  ngx_http_sg_sign_verify_own_headers[] = {
    ngx_string("x-sg-verified")
};

static ngx_str_t  ngx_http_sg_sign_verify_sign_header =
    ngx_string("x-partner-sign");

static ngx_http_sg_sign_header_name_t  ngx_http_sg_sign_verify_h_verified =
    { ngx_string("X-SG-Verified"), ngx_string("x-sg-verified") };

#define NGX_HTTP_SG_SIGN_VERIFY_PREFIX  "sha256:"


static ngx_http_sg_sign_gate_t  ngx_http_sg_sign_verify_gate = {
    &ngx_http_sg_sign_verify_module,
    "sg_sign_verify",
    sizeof(ngx_http_sg_sign_verify_ctx_t),
    ngx_http_sg_sign_verify_ctx_cleanup,
    offsetof(ngx_http_sg_sign_verify_loc_conf_t, enable),
    ngx_http_sg_sign_verify_outcomes,
    sizeof(ngx_http_sg_sign_verify_outcomes)
        / sizeof(ngx_http_sg_sign_outcome_t),
    NGX_HTTP_SG_SIGN_VERIFY_SUBREQUEST_REFUSED,
    NGX_HTTP_SG_SIGN_VERIFY_BODY_TOO_LARGE,
    NGX_HTTP_SG_SIGN_VERIFY_FAILED,
    ngx_http_sg_sign_verify_own_headers,
    sizeof(ngx_http_sg_sign_verify_own_headers) / sizeof(ngx_str_t),
    ngx_http_sg_sign_verify_check_request,
    ngx_http_sg_sign_verify_body_handler,
    ngx_http_sg_sign_metrics_webhook,      /* counted once, at the verdict */
    NULL,
    ngx_http_sg_sign_verify_rewrite_handler,
    ngx_http_sg_sign_verify_handler,
    ngx_http_sg_sign_verify_header_filter,
    ngx_http_sg_sign_verify_body_filter,
    ngx_http_sg_sign_verify_request_body_filter,
    0,                                     /* the app's, once verified */
    0,                                     /* the bytes verified go on */
    NULL, NULL, NULL, ngx_null_string, { 0 }
};


static ngx_http_variable_t  ngx_http_sg_sign_verify_vars[] = {

    { ngx_string("sg_sign_verify_status"), NULL,
      ngx_http_sg_sign_verify_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sg_sign_verify_key_fingerprint"), NULL,
      ngx_http_sg_sign_verify_variable, 1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/*
 * The rewrite phase: the gate drops the caller's X-SG-Verified before
 * access control, refusals or error_page can send the request anywhere.
 * Once any location verifies, every other location drops it too: a caller
 * must not reach the app with one through, say, "location /app/".
 */

static ngx_int_t
ngx_http_sg_sign_verify_rewrite_handler(ngx_http_request_t *r)
{
    ngx_http_sg_sign_verify_loc_conf_t   *vlcf;
    ngx_http_sg_sign_verify_main_conf_t  *vmcf;

    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_sg_sign_verify_module);

    if (vlcf->enable) {
        return ngx_http_sg_sign_gate_rewrite(r,
                                             &ngx_http_sg_sign_verify_gate);
    }

    vmcf = ngx_http_get_module_main_conf(r, ngx_http_sg_sign_verify_module);

    /* a subrequest shares the main request's headers, stripped already */
    if (!vmcf->used || r != r->main) {
        return NGX_DECLINED;
    }

    if (ngx_http_sg_sign_strip_headers(r,
                                  ngx_http_sg_sign_verify_gate.own_headers,
                                  ngx_http_sg_sign_verify_gate.nown_headers, 0)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sg_sign_verify: internal failure while removing "
                      "X-SG-Verified");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


static void *
ngx_http_sg_sign_verify_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_sg_sign_verify_main_conf_t));
}


static void
ngx_http_sg_sign_verify_ctx_cleanup(void *data)
{
    /* nothing to free: the handler marks the ctx as ours */
}


static ngx_int_t
ngx_http_sg_sign_verify_handler(ngx_http_request_t *r)
{
    return ngx_http_sg_sign_gate_handler(r, &ngx_http_sg_sign_verify_gate);
}


/*
 * What can be refused before the body is read: the method, a declared
 * length over the limit, and X-PARTNER-SIGN itself, which must be there
 * once (a second copy, in any case or with '_', could be the one the app
 * reads) and decode strictly.
 */

static ngx_int_t
ngx_http_sg_sign_verify_check_request(ngx_http_request_t *r)
{
    size_t                           len;
    ngx_str_t                        key, *value;
    ngx_uint_t                       n;
    ngx_table_elt_t                 *h;
    ngx_http_sg_sign_verify_ctx_t   *ctx;
    ngx_http_sg_sign_header_iter_t   it;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sg_sign_verify_module);

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_sg_sign_verify_refuse(r, ctx,
                                   NGX_HTTP_SG_SIGN_VERIFY_METHOD_NOT_ALLOWED,
                                   NULL);
    }

    if (r->headers_in.content_length_n
        > (off_t) ngx_http_sg_sign_max_body_size(r))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "sg_sign_verify: client intended to send a body "
                      "larger than %uz bytes",
                      ngx_http_sg_sign_max_body_size(r));

        return ngx_http_sg_sign_verify_refuse(r, ctx,
                                         NGX_HTTP_SG_SIGN_VERIFY_BODY_TOO_LARGE,
                                         NULL);
    }

    n = 0;
    value = NULL;

    for (h = ngx_http_sg_sign_header_first(r, &it);
         h;
         h = ngx_http_sg_sign_header_next(&it))
    {
        key.data = h->lowcase_key;
        key.len = h->key.len;

        if (ngx_http_sg_sign_header_named(&key,
                                     &ngx_http_sg_sign_verify_sign_header, 1))
        {
            n++;
            value = &h->value;
        }
    }

    if (n != 1) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "sg_sign_verify: webhook refused: %s",
                      n ? "X-PARTNER-SIGN is repeated"
                        : "no X-PARTNER-SIGN header");

        return ngx_http_sg_sign_verify_refuse(r, ctx,
                                      NGX_HTTP_SG_SIGN_VERIFY_INVALID_SIGNATURE,
                                      n ? "X-PARTNER-SIGN must be sent once"
                                        : "X-PARTNER-SIGN is missing");
    }

    if (value->len == 0 || value->len > SG_VERIFY_MAX_B64) {
        goto malformed;
    }

    /* room for what it decodes to, padding aside */
    ctx->sig.data = ngx_http_sg_sign_alloc(ngx_pnalloc(r->pool,
                                                       value->len / 4 * 3));
    if (ctx->sig.data == NULL) {
        return ngx_http_sg_sign_verify_fail(r, ctx, "decoding the signature");
    }

    if (sg_base64_decode((const char *) value->data, value->len,
                         ctx->sig.data, value->len / 4 * 3, &len)
        != 0)
    {
        goto malformed;
    }

    ctx->sig.len = len;

    return NGX_OK;

malformed:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "sg_sign_verify: webhook refused: X-PARTNER-SIGN is not "
                  "standard padded base64 (%uz characters)", value->len);

    return ngx_http_sg_sign_verify_refuse(r, ctx,
                                      NGX_HTTP_SG_SIGN_VERIFY_INVALID_SIGNATURE,
                                      "X-PARTNER-SIGN is not standard "
                                      "base64 with padding");
}


static ngx_int_t
ngx_http_sg_sign_verify_request_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in)
{
    return ngx_http_sg_sign_gate_request_body_filter(r, in,
                                               &ngx_http_sg_sign_verify_gate);
}


static void
ngx_http_sg_sign_verify_body_handler(ngx_http_request_t *r)
{
    ngx_http_sg_sign_verify_ctx_t      *ctx;
    ngx_http_sg_sign_verify_loc_conf_t *vlcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sg_sign_verify_module);
    vlcf = ngx_http_get_module_loc_conf(r, ngx_http_sg_sign_verify_module);

    ngx_http_sg_sign_gate_done(r, &ctx->gate,
                               ngx_http_sg_sign_verify_body(r, vlcf, ctx));
}


/*
 * The body as received, digested once, against each key in the order
 * configured.  The body is only read: whatever nginx holds it in (buffers,
 * a temp file) is what proxy_pass sends.  Returns NGX_DECLINED to go on to
 * proxy_pass, or the status of a refusal.
 */

static ngx_int_t
ngx_http_sg_sign_verify_body(ngx_http_request_t *r,
    ngx_http_sg_sign_verify_loc_conf_t *vlcf,
    ngx_http_sg_sign_verify_ctx_t *ctx)
{
    ngx_int_t        rc;
    ngx_str_t        body;
    ngx_uint_t       i, failed;
    ngx_pool_t      *pool;
    sg_verifier_t  **keys;
    u_char           md[SG_VERIFY_DIGEST_LEN];

    /* a body in several buffers or a file is copied: freed at once */
    pool = ngx_http_sg_sign_alloc(ngx_create_pool(NGX_DEFAULT_POOL_SIZE,
                                                  r->connection->log));
    if (pool == NULL) {
        return ngx_http_sg_sign_verify_fail(r, ctx, "creating a pool");
    }

    if (ngx_http_sg_sign_read_body(r, pool, &body) != NGX_OK) {
        ngx_destroy_pool(pool);
        return ngx_http_sg_sign_verify_fail(r, ctx, "reading the body");
    }

    rc = sg_verify_digest(body.data, body.len, md);

    ngx_destroy_pool(pool);

    if (rc != 0) {
        return ngx_http_sg_sign_verify_fail(r, ctx, "digesting the body");
    }

    keys = vlcf->keys->elts;
    failed = 0;

    for (i = 0; i < vlcf->keys->nelts; i++) {
        switch (sg_verifier_check(keys[i], ctx->sig.data, ctx->sig.len, md)) {

        case 1:
            return ngx_http_sg_sign_verify_install(r, ctx, keys[i]);

        case 0:
            break;

        default:
            /* another key may still verify; if none does, fail closed */
            failed++;
            break;
        }
    }

    return ngx_http_sg_sign_verify_mismatch(r, vlcf, ctx, failed);
}


/*
 * No key verified: the log names every key tried, so an operator can tell
 * a forged webhook from a provider key that was rotated but not configured.
 */

static ngx_int_t
ngx_http_sg_sign_verify_mismatch(ngx_http_request_t *r,
    ngx_http_sg_sign_verify_loc_conf_t *vlcf,
    ngx_http_sg_sign_verify_ctx_t *ctx, ngx_uint_t failed)
{
    u_char          *p, *last;
    ngx_str_t        tried;
    ngx_uint_t       i;
    sg_verifier_t  **keys;

    keys = vlcf->keys->elts;

    tried.len = vlcf->keys->nelts
                * (sizeof(", " NGX_HTTP_SG_SIGN_VERIFY_PREFIX " (RSA-16384)")
                   - 1 + SG_SHA256_HEX_LEN);

    tried.data = ngx_http_sg_sign_alloc(ngx_pnalloc(r->pool, tried.len));

    if (tried.data == NULL) {
        ngx_str_set(&tried, "(not listed)");

    } else {
        p = tried.data;
        last = p + tried.len;

        for (i = 0; i < vlcf->keys->nelts; i++) {
            p = ngx_slprintf(p, last, "%s" NGX_HTTP_SG_SIGN_VERIFY_PREFIX "%s "
                             "(RSA-%d)", i ? ", " : "",
                             sg_verifier_fingerprint(keys[i]),
                             sg_verifier_bits(keys[i]));
        }

        tried.len = p - tried.data;
    }

    if (failed) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "sg_sign_verify: internal failure while verifying "
                      "with %ui of the keys %V; nothing forwarded", failed,
                      &tried);

        return ngx_http_sg_sign_verify_refuse(r, ctx,
                                              NGX_HTTP_SG_SIGN_VERIFY_FAILED,
                                              NULL);
    }

    /* warn: it is a forgery, or the provider's new key is missing here */
    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "sg_sign_verify: webhook refused: the %uz-byte signature "
                  "verifies with none of the keys tried: %V",
                  ctx->sig.len, &tried);

    return ngx_http_sg_sign_verify_refuse(r, ctx,
                                     NGX_HTTP_SG_SIGN_VERIFY_INVALID_SIGNATURE,
                                     NULL);
}


/*
 * The gateway's word for the app.  The caller's copies went in the
 * rewrite phase; stripping again reserves the room, so the push that
 * follows cannot fail halfway.
 */

static ngx_int_t
ngx_http_sg_sign_verify_install(ngx_http_request_t *r,
    ngx_http_sg_sign_verify_ctx_t *ctx, const sg_verifier_t *verifier)
{
    u_char     *p;
    ngx_str_t   value;

    value.len = sizeof(NGX_HTTP_SG_SIGN_VERIFY_PREFIX) - 1 + SG_SHA256_HEX_LEN;

    p = ngx_http_sg_sign_alloc(ngx_pnalloc(r->pool, value.len));
    if (p == NULL) {
        return ngx_http_sg_sign_verify_fail(r, ctx, "adding X-SG-Verified");
    }

    value.data = p;
    p = ngx_cpymem(p, NGX_HTTP_SG_SIGN_VERIFY_PREFIX,
                   sizeof(NGX_HTTP_SG_SIGN_VERIFY_PREFIX) - 1);
    ngx_memcpy(p, sg_verifier_fingerprint(verifier), SG_SHA256_HEX_LEN);

    if (ngx_http_sg_sign_strip_headers(r,
                                  ngx_http_sg_sign_verify_gate.own_headers,
                                  ngx_http_sg_sign_verify_gate.nown_headers, 1)
        != NGX_OK)
    {
        return ngx_http_sg_sign_verify_fail(r, ctx, "adding X-SG-Verified");
    }

    (void) ngx_http_sg_sign_push_header(r, &ngx_http_sg_sign_verify_h_verified,
                                        &value);

    ctx->verifier = verifier;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "sg_sign_verify: verified with sha256:%s",
                   sg_verifier_fingerprint(verifier));

    ngx_http_sg_sign_gate_verdict(r, &ngx_http_sg_sign_verify_gate,
                                  &ctx->gate,
                                  NGX_HTTP_SG_SIGN_VERIFY_VERIFIED);

    return NGX_DECLINED;
}


/*
 * Records why the webhook is refused (NULL: the outcome's own
 * description) and returns its status; the gate counts the verdict once
 * (sg_sign_webhooks_total) and drops a body already read.
 */

static ngx_int_t
ngx_http_sg_sign_verify_refuse(ngx_http_request_t *r,
    ngx_http_sg_sign_verify_ctx_t *ctx,
    ngx_http_sg_sign_verify_outcome_e outcome, const char *description)
{
    return ngx_http_sg_sign_gate_refuse(r, &ngx_http_sg_sign_verify_gate,
                                        &ctx->gate, outcome, description);
}


/* one way to fail: 500 verification_failed, logged as our own error */

static ngx_int_t
ngx_http_sg_sign_verify_fail(ngx_http_request_t *r,
    ngx_http_sg_sign_verify_ctx_t *ctx, const char *what)
{
    return ngx_http_sg_sign_gate_fail(r, &ngx_http_sg_sign_verify_gate,
                                      &ctx->gate, what);
}


/*
 * The provider's error shape for our refusals and for nginx's own 413 and
 * 500 before a webhook was verified.  What the app answers (r->err_status
 * unset) and nginx's errors after verification pass unchanged.
 */

static ngx_int_t
ngx_http_sg_sign_verify_header_filter(ngx_http_request_t *r)
{
    return ngx_http_sg_sign_gate_header_filter(r,
                                               &ngx_http_sg_sign_verify_gate);
}


static ngx_int_t
ngx_http_sg_sign_verify_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    return ngx_http_sg_sign_gate_body_filter(r, in,
                                             &ngx_http_sg_sign_verify_gate);
}


/* $sg_sign_verify_status, $sg_sign_verify_key_fingerprint */

static ngx_int_t
ngx_http_sg_sign_verify_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_sg_sign_verify_ctx_t  *ctx;

    ctx = ngx_http_sg_sign_gate_last_ctx(r, &ngx_http_sg_sign_verify_gate);

    if (ctx == NULL || ctx->gate.outcome == NGX_HTTP_SG_SIGN_VERIFY_PENDING
        || (data == 1 && ctx->verifier == NULL))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    if (data == 0) {
        v->data = ngx_http_sg_sign_verify_outcomes[ctx->gate.outcome].code.data;
        v->len = ngx_http_sg_sign_verify_outcomes[ctx->gate.outcome].code.len;

    } else {
        v->data = (u_char *) sg_verifier_fingerprint(ctx->verifier);
        v->len = SG_SHA256_HEX_LEN;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_sg_sign_verify_add_variables(ngx_conf_t *cf)
{
    return ngx_http_sg_sign_gate_add_variables(cf,
                                               ngx_http_sg_sign_verify_vars);
}


static void *
ngx_http_sg_sign_verify_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_sg_sign_verify_loc_conf_t  *vlcf;

    vlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_sg_sign_verify_loc_conf_t));
    if (vlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     vlcf->enable_file = { 0, NULL };
     *     vlcf->enable_line = 0;
     */

    vlcf->enable = NGX_CONF_UNSET;
    vlcf->keys = NGX_CONF_UNSET_PTR;

    return vlcf;
}


static char *
ngx_http_sg_sign_verify_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_sg_sign_verify_loc_conf_t *prev = parent;
    ngx_http_sg_sign_verify_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    /* a level's keys replace, not extend, those it inherits */
    ngx_conf_merge_ptr_value(conf->keys, prev->keys, NULL);

    if (conf->enable_file.data == NULL) {
        conf->enable_file = prev->enable_file;
        conf->enable_line = prev->enable_line;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    /* sg_sign's merge ran first (config lists it first): enable is final */
    if (ngx_http_sg_sign_conf_enabled(cf)) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"sg_sign\" and \"sg_sign_verify\" cannot both be on "
                      "in one location: one signs what the partner sends, "
                      "the other verifies what the provider sends, "
                      "in %V:%ui", &conf->enable_file, conf->enable_line);
        return NGX_CONF_ERROR;
    }

    if (conf->keys == NULL || conf->keys->nelts == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"sg_sign_verify\" is on but no "
                      "\"sg_sign_verify_key\" is set in %V:%ui",
                      &conf->enable_file, conf->enable_line);
        return NGX_CONF_ERROR;
    }

    return ngx_http_sg_sign_verify_check_forbidden(cf, &conf->enable_file,
                                                   conf->enable_line);
}


static char *
ngx_http_sg_sign_verify_enable(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sg_sign_verify_loc_conf_t *vlcf = conf;

    char                                 *rv;
    ngx_http_sg_sign_verify_main_conf_t  *vmcf;

    vlcf->enable_file = cf->conf_file->file.name;
    vlcf->enable_line = cf->conf_file->line;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);

    if (rv == NGX_CONF_OK && vlcf->enable) {
        vmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_sg_sign_verify_module);
        vmcf->used = 1;
    }

    return rv;
}


/*
 * Loads the key here, in the master, as the directive is read: a refusal
 * names this line, and a key set at http level is loaded once for every
 * location that inherits it.
 */

static char *
ngx_http_sg_sign_verify_set_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sg_sign_verify_loc_conf_t *vlcf = conf;

    char                 errbuf[SG_VERIFY_ERRBUF_SIZE];
    ngx_str_t           *value, path;
    sg_verifier_t      **k;
    ngx_pool_cleanup_t  *cln;

    value = cf->args->elts;

    if (vlcf->keys == NGX_CONF_UNSET_PTR) {
        vlcf->keys = ngx_array_create(cf->pool, 2, sizeof(sg_verifier_t *));
        if (vlcf->keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    path = value[1];

    if (path.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"sg_sign_verify_key\" needs a file name");
        return NGX_CONF_ERROR;
    }

    /* resolved against the prefix and NUL-terminated for the core */
    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    k = ngx_array_push(vlcf->keys);
    if (k == NULL) {
        return NGX_CONF_ERROR;
    }

    *k = sg_verifier_load((const char *) path.data, errbuf, sizeof(errbuf));

    if (*k == NULL) {
        vlcf->keys->nelts--;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "sg_sign_verify: %s",
                           errbuf);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        sg_verifier_free(*k);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_sg_sign_verify_free_key;
    cln->data = *k;

    ngx_log_error(NGX_LOG_NOTICE, cf->log, 0,
                  "sg_sign_verify: loaded RSA-%d public key sha256:%s "
                  "from %V", sg_verifier_bits(*k),
                  sg_verifier_fingerprint(*k), &path);

    /* the provider's keys are listed with the partner's: kind="webhook" */
    if (ngx_http_sg_sign_metrics_key(cf, sg_verifier_fingerprint(*k),
                                     "webhook", ngx_time())
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_sg_sign_verify_free_key(void *data)
{
    sg_verifier_free(data);
}


static ngx_int_t
ngx_http_sg_sign_verify_init(ngx_conf_t *cf)
{
    return ngx_http_sg_sign_gate_init(cf, &ngx_http_sg_sign_verify_gate);
}
