
/*
 * The settings an sg_sign location refuses at nginx -t: they would make
 * the provider receive other bytes or headers than those the gateway
 * signed, or hand the signed payout to a second upstream.  An
 * sg_sign_verify location refuses the same, and X-SG-Verified: the app
 * must receive the bytes verified, with the gateway's word on them only.
 */


#include "ngx_sg_sign_module.h"


typedef enum {
    NGX_HTTP_SG_SIGN_SET_STR = 0,   /* refused when set */
    NGX_HTTP_SG_SIGN_OFF,           /* refused when off */
    NGX_HTTP_SG_SIGN_HEADERS,       /* refused for the names below */
    NGX_HTTP_SG_SIGN_ARRAY,         /* refused when set */
    NGX_HTTP_SG_SIGN_PASS,          /* refused when it has an upstream */
    NGX_HTTP_SG_SIGN_CACHE          /* refused when it caches */
} ngx_http_sg_sign_forbid_e;


/* whose location is checked, for the messages */
typedef struct {
    char                       *directive;  /* "sg_sign" */
    char                       *why;        /* what a setting would break */
    char                       *header_why; /* ... a proxy_set_header */
    char                       *strip;      /* what nginx's 413 skips */
    ngx_uint_t                  verify;     /* X-SG-Verified is ours too */
} ngx_http_sg_sign_guard_t;


typedef struct {
    char                       *module;
    ngx_str_t                   directive;
    ngx_http_sg_sign_forbid_e   what;
    char                       *setting;    /* for the message */
    char                       *why;        /* NULL: the guard's */
} ngx_http_sg_sign_forbidden_t;


/* the upstream conf of a module's location conf, from a directive in it */
#define ngx_http_sg_sign_upstream_conf(conf, cmd)                             \
    ((ngx_http_upstream_conf_t *)                                             \
        ((conf) + (cmd)->offset                                               \
         - offsetof(ngx_http_upstream_conf_t, connect_timeout)))

#if (NGX_HTTP_CACHE)
/* proxy_cache: -1 never set, 0 off */
#define ngx_http_sg_sign_caches(ucf)  ((ucf)->cache == 1)
#else
#define ngx_http_sg_sign_caches(ucf)  0
#endif


static char *ngx_http_sg_sign_check_settings(ngx_conf_t *cf,
    ngx_http_sg_sign_guard_t *g, ngx_str_t *file, ngx_uint_t line);
static char *ngx_http_sg_sign_check_one(ngx_conf_t *cf,
    ngx_http_sg_sign_guard_t *g, ngx_http_sg_sign_forbidden_t *f,
    ngx_str_t *file, ngx_uint_t line);
static ngx_command_t *ngx_http_sg_sign_find_command(ngx_conf_t *cf,
    char *module, ngx_str_t *directive, ngx_uint_t *ctx_index);
static ngx_uint_t ngx_http_sg_sign_header_forbidden(
    ngx_http_sg_sign_guard_t *g, ngx_str_t *name);
static char *ngx_http_sg_sign_check_error_pages(ngx_conf_t *cf,
    ngx_http_sg_sign_guard_t *g, ngx_str_t *file, ngx_uint_t line);


static ngx_http_sg_sign_guard_t  ngx_http_sg_sign_guard = {
    "sg_sign",
    "the provider would not receive exactly what was signed",
    "the gateway sets this header",
    "takes the caller's headers",
    0
};


static ngx_http_sg_sign_guard_t  ngx_http_sg_sign_verify_guard = {
    "sg_sign_verify",
    "the app would not receive exactly what was verified",
    "the app must receive it as verified",
    "removes the caller's X-SG-Verified",
    1
};


/*
 * The proxy and mirror modules' location confs are private: each
 * directive's offset comes from the module's own commands[], so the check
 * reads the running binary's layout, and their merge has run before ours.
 */

static ngx_http_sg_sign_forbidden_t  ngx_http_sg_sign_forbidden[] = {

    { "ngx_http_proxy_module", ngx_string("proxy_set_body"),
      NGX_HTTP_SG_SIGN_SET_STR, "", NULL },

    { "ngx_http_proxy_module", ngx_string("proxy_pass_request_body"),
      NGX_HTTP_SG_SIGN_OFF, " off", NULL },

    { "ngx_http_proxy_module", ngx_string("proxy_pass_request_headers"),
      NGX_HTTP_SG_SIGN_OFF, " off", NULL },

    { "ngx_http_proxy_module", ngx_string("proxy_set_header"),
      NGX_HTTP_SG_SIGN_HEADERS, "", NULL },

    { "ngx_http_mirror_module", ngx_string("mirror"),
      NGX_HTTP_SG_SIGN_ARRAY, "",
      "a copy of the request would go to another location" },

    /* after the response, the request, as signed, goes to another location */
    { "ngx_http_core_module", ngx_string("post_action"),
      NGX_HTTP_SG_SIGN_SET_STR, "",
      "a copy of the request would go to another location" },

    /*
     * proxy_cache, found like the *_pass below: one payout's answer would
     * be given to another (with proxy_cache_methods POST), and a
     * background update would send the payout again.
     */
    { "ngx_http_proxy_module", ngx_string("proxy_connect_timeout"),
      NGX_HTTP_SG_SIGN_CACHE, "proxy_cache",
      "one request's cached answer would be given to another" },

    /*
     * The other upstream modules: the payout would go out in another
     * protocol, the gateway's framing lost.  Their *_pass keeps its
     * upstream in the module's ngx_http_upstream_conf_t, found through
     * the offset of its *_connect_timeout.  A *_pass with variables keeps
     * it in private fields instead and is not seen here (README).
     */

    { "ngx_http_fastcgi_module", ngx_string("fastcgi_connect_timeout"),
      NGX_HTTP_SG_SIGN_PASS, "fastcgi_pass", "use proxy_pass" },

    { "ngx_http_uwsgi_module", ngx_string("uwsgi_connect_timeout"),
      NGX_HTTP_SG_SIGN_PASS, "uwsgi_pass", "use proxy_pass" },

    { "ngx_http_scgi_module", ngx_string("scgi_connect_timeout"),
      NGX_HTTP_SG_SIGN_PASS, "scgi_pass", "use proxy_pass" },

    { "ngx_http_grpc_module", ngx_string("grpc_connect_timeout"),
      NGX_HTTP_SG_SIGN_PASS, "grpc_pass", "use proxy_pass" },

    { "ngx_http_memcached_module", ngx_string("memcached_connect_timeout"),
      NGX_HTTP_SG_SIGN_PASS, "memcached_pass", "use proxy_pass" }
};


/* the framing headers, and every X-PARTNER-* name */

static ngx_str_t  ngx_http_sg_sign_framing_headers[] = {
    ngx_string("content-type"),
    ngx_string("content-length"),
    ngx_string("transfer-encoding"),
    ngx_string("content-encoding")
};


char *
ngx_http_sg_sign_check_forbidden(ngx_conf_t *cf, ngx_str_t *file,
    ngx_uint_t line)
{
    return ngx_http_sg_sign_check_settings(cf, &ngx_http_sg_sign_guard, file,
                                           line);
}


char *
ngx_http_sg_sign_verify_check_forbidden(ngx_conf_t *cf, ngx_str_t *file,
    ngx_uint_t line)
{
    return ngx_http_sg_sign_check_settings(cf, &ngx_http_sg_sign_verify_guard,
                                           file, line);
}


static char *
ngx_http_sg_sign_check_settings(ngx_conf_t *cf, ngx_http_sg_sign_guard_t *g,
    ngx_str_t *file, ngx_uint_t line)
{
    ngx_uint_t  i;

    for (i = 0;
         i < sizeof(ngx_http_sg_sign_forbidden)
             / sizeof(ngx_http_sg_sign_forbidden_t);
         i++)
    {
        if (ngx_http_sg_sign_check_one(cf, g, &ngx_http_sg_sign_forbidden[i],
                                       file, line)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    return ngx_http_sg_sign_check_error_pages(cf, g, file, line);
}


/*
 * nginx refuses a Content-Length over client_max_body_size when it finds
 * the location, before the rewrite phase where the gateway takes the
 * caller's headers and body: an error_page for 413 would hand both, as
 * sent, to its fallback.  With client_max_body_size 0 only the gateway's
 * own limit, sg_sign_max_body_size, applies, after the rewrite phase.
 */

static char *
ngx_http_sg_sign_check_error_pages(ngx_conf_t *cf, ngx_http_sg_sign_guard_t *g,
    ngx_str_t *file, ngx_uint_t line)
{
    ngx_uint_t                 i;
    ngx_http_err_page_t       *err_page;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->error_pages == NULL || clcf->client_max_body_size == 0) {
        return NGX_CONF_OK;
    }

    err_page = clcf->error_pages->elts;

    for (i = 0; i < clcf->error_pages->nelts; i++) {
        if (err_page[i].status == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"error_page 413\" needs \"client_max_body_size "
                          "0\" where \"%s\" is on: nginx refuses a "
                          "body over client_max_body_size before %s "
                          "%s "
                          "(sg_sign_max_body_size still applies), "
                          "in %V:%ui", g->directive, g->directive, g->strip,
                          file, line);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_sg_sign_check_one(ngx_conf_t *cf, ngx_http_sg_sign_guard_t *g,
    ngx_http_sg_sign_forbidden_t *f, ngx_str_t *file, ngx_uint_t line)
{
    char                      *conf;
    ngx_str_t                 *s, lowcase;
    ngx_uint_t                 i, ctx_index;
    ngx_array_t               *a;
    ngx_keyval_t              *kv;
    ngx_command_t             *cmd;
    ngx_http_upstream_conf_t  *ucf;
    u_char                     buf[64];

    cmd = ngx_http_sg_sign_find_command(cf, f->module, &f->directive,
                                        &ctx_index);
    if (cmd == NULL) {
        /* the module is not built in: nothing to combine with */
        return NGX_CONF_OK;
    }

    if (cmd->conf != NGX_HTTP_LOC_CONF_OFFSET) {
        goto unknown;
    }

    conf = ((ngx_http_conf_ctx_t *) cf->ctx)->loc_conf[ctx_index];

    switch (f->what) {

    case NGX_HTTP_SG_SIGN_SET_STR:
        if (cmd->set != ngx_conf_set_str_slot) {
            goto unknown;
        }

        s = (ngx_str_t *) (conf + cmd->offset);

        if (s->len == 0) {
            return NGX_CONF_OK;
        }

        break;

    case NGX_HTTP_SG_SIGN_OFF:
        if (cmd->set != ngx_conf_set_flag_slot) {
            goto unknown;
        }

        if (*(ngx_flag_t *) (conf + cmd->offset) != 0) {
            return NGX_CONF_OK;
        }

        break;

    case NGX_HTTP_SG_SIGN_HEADERS:
        if (cmd->set != ngx_conf_set_keyval_slot) {
            goto unknown;
        }

        a = *(ngx_array_t **) (conf + cmd->offset);

        if (a == NULL || a == NGX_CONF_UNSET_PTR) {
            return NGX_CONF_OK;
        }

        kv = a->elts;

        for (i = 0; i < a->nelts; i++) {
            /* a longer name is no framing header; its prefix still counts */
            lowcase.data = buf;
            lowcase.len = ngx_min(kv[i].key.len, sizeof(buf));
            ngx_strlow(buf, kv[i].key.data, lowcase.len);

            if (ngx_http_sg_sign_header_forbidden(g, &lowcase)) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "\"%V %V\" cannot be used where \"%s\" "
                              "is on: %s, in %V:%ui", &f->directive,
                              &kv[i].key, g->directive, g->header_why, file,
                              line);
                return NGX_CONF_ERROR;
            }
        }

        return NGX_CONF_OK;

    case NGX_HTTP_SG_SIGN_PASS:
    case NGX_HTTP_SG_SIGN_CACHE:
        if (cmd->set != ngx_conf_set_msec_slot) {
            goto unknown;
        }

        ucf = ngx_http_sg_sign_upstream_conf(conf, cmd);

        if (f->what == NGX_HTTP_SG_SIGN_PASS ? ucf->upstream == NULL
                                             : !ngx_http_sg_sign_caches(ucf))
        {
            return NGX_CONF_OK;
        }

        /* the directive found is the locator: name the setting */
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"%s\" cannot be used where \"%s\" is on: %s, "
                      "in %V:%ui", f->setting, g->directive, f->why, file,
                      line);

        return NGX_CONF_ERROR;

    default: /* NGX_HTTP_SG_SIGN_ARRAY */
        a = *(ngx_array_t **) (conf + cmd->offset);

        if (a == NULL || a == NGX_CONF_UNSET_PTR || a->nelts == 0) {
            return NGX_CONF_OK;
        }

        break;
    }

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "\"%V%s\" cannot be used where \"%s\" is on: %s, "
                  "in %V:%ui", &f->directive, f->setting, g->directive,
                  f->why ? f->why : g->why, file, line);

    return NGX_CONF_ERROR;

unknown:

    /* fail closed: a layout this module does not know cannot be checked */

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "%s cannot check \"%V\" in this nginx build, in %V:%ui",
                  g->directive, &f->directive, file, line);

    return NGX_CONF_ERROR;
}


static ngx_command_t *
ngx_http_sg_sign_find_command(ngx_conf_t *cf, char *module,
    ngx_str_t *directive, ngx_uint_t *ctx_index)
{
    ngx_uint_t      m;
    ngx_module_t  **modules;
    ngx_command_t  *cmd;

    modules = cf->cycle->modules;

    for (m = 0; modules[m]; m++) {

        if (modules[m]->type != NGX_HTTP_MODULE
            || ngx_strcmp(modules[m]->name, module) != 0)
        {
            continue;
        }

        for (cmd = modules[m]->commands; cmd && cmd->name.len; cmd++) {
            if (cmd->name.len == directive->len
                && ngx_strncmp(cmd->name.data, directive->data,
                               directive->len) == 0)
            {
                *ctx_index = modules[m]->ctx_index;
                return cmd;
            }
        }
    }

    return NULL;
}


static ngx_uint_t
ngx_http_sg_sign_header_forbidden(ngx_http_sg_sign_guard_t *g,
    ngx_str_t *lowcase)
{
    ngx_str_t  prefix;

    static ngx_str_t  partner = ngx_string("x-partner-");
    static ngx_str_t  verified = ngx_string("x-sg-verified");

    if (g->verify && ngx_http_sg_sign_header_named(lowcase, &verified, 1)) {
        return 1;
    }

    if (ngx_http_sg_sign_header_named(lowcase,
                                ngx_http_sg_sign_framing_headers,
                                sizeof(ngx_http_sg_sign_framing_headers)
                                / sizeof(ngx_str_t)))
    {
        return 1;
    }

    /* any X-PARTNER-* name, reading '_' as '-' */

    if (lowcase->len < partner.len) {
        return 0;
    }

    prefix.data = lowcase->data;
    prefix.len = partner.len;

    return ngx_http_sg_sign_header_named(&prefix, &partner, 1);
}
