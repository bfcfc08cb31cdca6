
/*
 * The request machinery of sg_sign and sg_sign_verify: the rewrite-phase
 * start, the ctx that outlives internal redirects, the precontent phase
 * that reads the body, the one way to refuse, and the error filters.
 * Each module describes itself in an ngx_http_sg_sign_gate_t.
 */


#include "ngx_sg_sign_module.h"

#include "sg_error.h"


static ngx_flag_t ngx_http_sg_sign_gate_enabled(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate);
static ngx_int_t ngx_http_sg_sign_gate_exit(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate);
static void ngx_http_sg_sign_gate_drop_body(ngx_http_request_t *r);
static ngx_uint_t ngx_http_sg_sign_gate_nginx_error(
    ngx_http_sg_sign_gate_t *gate, ngx_uint_t status);
static ngx_int_t ngx_http_sg_sign_gate_error_body(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate, ngx_http_sg_sign_gate_ctx_t *ctx);


static ngx_flag_t
ngx_http_sg_sign_gate_enabled(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate)
{
    u_char  *conf;

    conf = ngx_http_get_module_loc_conf(r, (*gate->module));

    return *(ngx_flag_t *) (conf + gate->enable);
}


/*
 * The rewrite phase of a gate: the first phase that knows the location,
 * before access control, refusals or error_page can send the request
 * anywhere.  Subrequests are refused here: they skip the access phase,
 * share the main request's headers and body, and may carry bodies of
 * their own.
 */

ngx_int_t
ngx_http_sg_sign_gate_rewrite(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate)
{
    ngx_int_t                     rc;
    ngx_http_sg_sign_gate_ctx_t  *ctx;

    if (!ngx_http_sg_sign_gate_enabled(r, gate)) {
        return ngx_http_sg_sign_gate_exit(r, gate);
    }

    ctx = ngx_http_get_module_ctx(r, (*gate->module));

    if (ctx == NULL) {
        ctx = ngx_http_sg_sign_gate_create_ctx(r, gate);

        if (ctx == NULL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "%s: internal failure while creating the "
                          "request context; nothing forwarded", gate->name);

            /*
             * No mark keeps the body from an error_page fallback: let
             * nginx drop it, and the headers (or all, if that fails too).
             */
            if (r == r->main) {
                (void) ngx_http_discard_request_body(r);
                (void) ngx_http_sg_sign_strip_headers(r, gate->own_headers,
                                                      gate->nown_headers, 0);
            }

            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (r != r->main) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "%s: subrequest to \"%V\" refused", gate->name,
                      &r->uri);

        rc = ngx_http_sg_sign_gate_refuse(r, gate, ctx, gate->subrequest,
                                          NULL);

        if (gate->subrequest_refused) {
            gate->subrequest_refused(r);
        }

        return rc;
    }

    if (ngx_http_sg_sign_strip_headers(r, gate->own_headers,
                                       gate->nown_headers, 0)
        != NGX_OK)
    {
        return ngx_http_sg_sign_gate_fail(r, gate, ctx,
                                          "removing caller headers");
    }

    return NGX_DECLINED;
}


/*
 * A request that entered the gate and goes on to another location (an
 * error_page after the provider failed, try_files), or a subrequest it
 * makes into one (add_after_body, SSI, auth_request): with drop_on_exit,
 * the gate's own headers (the signature) and the body stay behind, so a
 * signed payout never reaches a second upstream.  The rewrite phase runs
 * after every internal redirect and named location, and in every
 * subrequest, before the location can use either.  A subrequest shares
 * its parent's header list and body: it gets a list of its own and an
 * empty body, as auth_request gives its subrequests.
 */

static ngx_int_t
ngx_http_sg_sign_gate_exit(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate)
{
    ngx_int_t                     rc;
    ngx_http_request_body_t      *rb;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_sg_sign_gate_ctx_t  *ctx;

    if (!gate->drop_on_exit) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_sg_sign_gate_last_ctx(r->main, gate);

    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    if (r->request_body && r->request_body->bufs) {
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "%s: %s location \"%V\", which is not an %s "
                      "location: without the body and the gateway's headers",
                      gate->name,
                      (r == r->main) ? "the request went on to"
                                     : "subrequest to",
                      &clcf->name, gate->name);
    }

    if (r == r->main) {
        if (!ctx->exited) {
            /* the gate's upstream, before the next location replaces it */
            ctx->exited = 1;
            ctx->exit_state = r->upstream ? r->upstream->state : NULL;
        }

        ngx_http_sg_sign_gate_drop_body(r);

        rc = ngx_http_sg_sign_strip_headers(r, gate->own_headers,
                                            gate->nown_headers, 0);

    } else {
        rb = ngx_http_sg_sign_alloc(ngx_pcalloc(r->pool,
                                            sizeof(ngx_http_request_body_t)));

        r->request_body = rb;
        r->headers_in.content_length_n = 0;
        r->headers_in.chunked = 0;

        rc = (rb == NULL) ? NGX_ERROR
                          : ngx_http_sg_sign_copy_headers(r, gate->own_headers,
                                                          gate->nown_headers);
    }

    if (rc != NGX_OK) {
        /* the header list is empty then: nothing of the caller's or ours */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "%s: internal failure while removing the gateway's "
                      "headers from a request that went on to \"%V\"",
                      gate->name, &r->uri);

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


static void
ngx_http_sg_sign_gate_drop_body(ngx_http_request_t *r)
{
    if (r == r->main && r->request_body) {
        r->request_body->bufs = NULL;
        r->headers_in.content_length_n = 0;
        r->headers_in.chunked = 0;
    }
}


/*
 * One ctx per visit of a gate (internal redirects clear r->ctx).  In a
 * main request it is also the data of a pool cleanup, found again by its
 * handler: that the request ever entered the gate outlives the redirect.
 */

void *
ngx_http_sg_sign_gate_create_ctx(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate)
{
    void                *ctx;
    ngx_pool_cleanup_t  *cln;

    if (r != r->main) {
        /* the pool is the main request's: a subrequest leaves no mark */
        ctx = ngx_http_sg_sign_alloc(ngx_pcalloc(r->pool, gate->ctx_size));
        if (ctx == NULL) {
            return NULL;
        }

    } else {
        cln = ngx_http_sg_sign_alloc(ngx_pool_cleanup_add(r->pool,
                                                          gate->ctx_size));
        if (cln == NULL) {
            return NULL;
        }

        ctx = cln->data;
        ngx_memzero(ctx, gate->ctx_size);

        cln->handler = gate->cleanup;
    }

    ngx_http_set_ctx(r, ctx, (*gate->module));

    return ctx;
}


/* the ctx of the last visit of the gate, after a redirect too, or NULL */

void *
ngx_http_sg_sign_gate_last_ctx(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate)
{
    void                *ctx;
    ngx_pool_cleanup_t  *cln;

    ctx = ngx_http_get_module_ctx(r, (*gate->module));

    if (ctx || r != r->main) {
        return ctx;
    }

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == gate->cleanup) {
            return cln->data;
        }
    }

    return NULL;
}


/* the precontent phase: read the body, as the mirror module does */

ngx_int_t
ngx_http_sg_sign_gate_handler(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate)
{
    ngx_int_t                     rc;
    ngx_http_sg_sign_gate_ctx_t  *ctx;

    if (!ngx_http_sg_sign_gate_enabled(r, gate)) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, (*gate->module));

    if (ctx == NULL || r != r->main) {
        /* the rewrite phase made the ctx and refused subrequests */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->started) {
        return ctx->rc;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "%s handler", gate->name);

    ctx->started = 1;
    ctx->rc = NGX_DONE;

    rc = gate->check(r);

    if (rc != NGX_OK) {
        /* refused before reading: never invite the body with 100 Continue */
        r->expect_tested = 1;
        return rc;
    }

    rc = ngx_http_read_client_request_body(r, gate->body_handler);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    ngx_http_finalize_request(r, NGX_DONE);
    return NGX_DONE;
}


/* the body's step is over: the phases go on, and re-entry returns rc */

void
ngx_http_sg_sign_gate_done(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_ctx_t *ctx, ngx_int_t rc)
{
    ctx->rc = rc;

    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
}


/*
 * Counts the body as nginx reads it, so a chunked body over the limit is
 * refused as soon as it crosses it, not after it has all been read.  And
 * once a request has entered a gate, no other location may read its body
 * (say, an error_page fallback that proxies): the caller's bytes leave
 * only as the gate lets them.  NGX_OK: the next filter's turn.
 */

ngx_int_t
ngx_http_sg_sign_gate_request_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in, ngx_http_sg_sign_gate_t *gate)
{
    size_t                        max;
    ngx_chain_t                  *cl;
    ngx_http_sg_sign_gate_ctx_t  *ctx;

    if (!ngx_http_sg_sign_gate_enabled(r, gate)) {
        if (ngx_http_sg_sign_gate_last_ctx(r, gate) == NULL) {
            return gate->next_request_body_filter(r, in);
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "%s: \"%V\" tried to read the body of a request "
                      "that entered an %s location; refused", gate->name,
                      &r->uri, gate->name);

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_get_module_ctx(r, (*gate->module));

    if (ctx == NULL || ctx->outcome != 0) {
        return gate->next_request_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        ctx->received += ngx_buf_size(cl->buf);
    }

    max = ngx_http_sg_sign_max_body_size(r);

    if (ctx->received > (off_t) max) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "%s: client intended to send a body larger "
                      "than %uz bytes", gate->name, max);

        return ngx_http_sg_sign_gate_refuse(r, gate, ctx, gate->too_large,
                                            NULL);
    }

    return gate->next_request_body_filter(r, in);
}


/* the one place a verdict is recorded; gate->verdict hears the first */

void
ngx_http_sg_sign_gate_verdict(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate, ngx_http_sg_sign_gate_ctx_t *ctx,
    ngx_uint_t outcome)
{
    if (ctx->outcome == 0 && gate->verdict) {
        gate->verdict(r, &gate->outcomes[outcome].code);
    }

    ctx->outcome = outcome;
}


/*
 * Records why the request is refused (NULL: the outcome's own description)
 * and returns its status: nginx then finalizes it, and the header and body
 * filters below give the response the provider's error shape.  A body
 * already read is dropped, so an error_page fallback that forwards the
 * request forwards no caller byte.
 */

ngx_int_t
ngx_http_sg_sign_gate_refuse(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate, ngx_http_sg_sign_gate_ctx_t *ctx,
    ngx_uint_t outcome, const char *description)
{
    ctx->description = description
                       ? description
                       : gate->outcomes[outcome].description;

    ngx_http_sg_sign_gate_verdict(r, gate, ctx, outcome);

    ctx->error = outcome;
    ctx->rc = gate->outcomes[outcome].status;

    ngx_http_sg_sign_gate_drop_body(r);

    return ctx->rc;
}


/* one way to fail: the gate's 500, logged as the gateway's own error */

ngx_int_t
ngx_http_sg_sign_gate_fail(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate, ngx_http_sg_sign_gate_ctx_t *ctx,
    const char *what)
{
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "%s: internal failure while %s; nothing forwarded",
                  gate->name, what);

    return ngx_http_sg_sign_gate_refuse(r, gate, ctx, gate->failed, NULL);
}


/*
 * Replaces nginx's own error pages in a gate with the provider's error
 * JSON, so that callers handle one format: the requests the gate refused,
 * and the errors of its table nginx makes itself.  Responses from
 * upstream (r->err_status unset) pass unchanged.
 */

ngx_int_t
ngx_http_sg_sign_gate_header_filter(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate)
{
    ngx_uint_t                    error;
    ngx_table_elt_t              *h;
    ngx_http_sg_sign_gate_ctx_t  *ctx;

    if (r->err_status == 0 || !ngx_http_sg_sign_gate_enabled(r, gate)) {
        return gate->next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, (*gate->module));

    if (ctx == NULL || ctx->error == 0) {

        if (r != r->main
            || (ctx && ctx->outcome == 1 && !gate->errors_after))
        {
            return gate->next_header_filter(r);
        }

        error = ngx_http_sg_sign_gate_nginx_error(gate,
                                                  r->headers_out.status);

        if (error == 0) {
            return gate->next_header_filter(r);
        }

        if (ctx == NULL) {
            /* e.g. client_max_body_size refused it before our phases */

            ctx = ngx_http_sg_sign_gate_create_ctx(r, gate);
            if (ctx == NULL) {
                return NGX_ERROR;
            }
        }

        ctx->error = error;
        ctx->description = gate->outcomes[error].description;

        if (ctx->outcome == 0) {
            ngx_http_sg_sign_gate_verdict(r, gate, ctx, error);
        }
    }

    if (r->headers_out.status != gate->outcomes[ctx->error].status) {
        return gate->next_header_filter(r);
    }

    h = NULL;

    if (ngx_http_sg_sign_gate_error_body(r, gate, ctx) != NGX_OK
        || (gate->outcomes[ctx->error].status == NGX_HTTP_NOT_ALLOWED
            && (h = ngx_http_sg_sign_alloc(
                        ngx_list_push(&r->headers_out.headers)))
               == NULL))
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "%s: internal failure while describing an "
                      "error; nothing forwarded", gate->name);

        ctx->error = gate->failed;
        ctx->outcome = gate->failed;
        ctx->error_json = gate->failed_json;

        r->headers_out.status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        r->err_status = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (h) {
        /* RFC 9110 15.5.6: a 405 lists the allowed methods */
        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "POST");
    }

    r->headers_out.content_type_len = sizeof("application/json") - 1;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    r->headers_out.content_length_n = ctx->error_json.len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    return gate->next_header_filter(r);
}


/* the errors nginx itself makes that callers get in the provider's shape */

static ngx_uint_t
ngx_http_sg_sign_gate_nginx_error(ngx_http_sg_sign_gate_t *gate,
    ngx_uint_t status)
{
    ngx_uint_t  i;

    for (i = 2; i < gate->noutcomes; i++) {
        if (gate->outcomes[i].nginx && gate->outcomes[i].status == status) {
            return i;
        }
    }

    return 0;
}


/* the provider's error JSON for ctx->error, into ctx->error_json */

static ngx_int_t
ngx_http_sg_sign_gate_error_body(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate, ngx_http_sg_sign_gate_ctx_t *ctx)
{
    size_t       len;
    const char  *code;

    code = (const char *) gate->outcomes[ctx->error].code.data;

    len = sg_error_json(code, ctx->description, NULL, 0);

    ctx->error_json.data = ngx_http_sg_sign_alloc(ngx_pnalloc(r->pool,
                                                              len + 1));
    if (ctx->error_json.data == NULL) {
        return NGX_ERROR;
    }

    ctx->error_json.len = sg_error_json(code, ctx->description,
                                        (char *) ctx->error_json.data,
                                        len + 1);

    return NGX_OK;
}


ngx_int_t
ngx_http_sg_sign_gate_body_filter(ngx_http_request_t *r, ngx_chain_t *in,
    ngx_http_sg_sign_gate_t *gate)
{
    ngx_buf_t                    *b;
    ngx_chain_t                   out;
    ngx_http_sg_sign_gate_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, (*gate->module));

    if (ctx == NULL || ctx->error_json.data == NULL) {
        return gate->next_body_filter(r, in);
    }

    if (ctx->error_done) {
        /* the error body went out already: swallow nginx's page */
        return NGX_OK;
    }

    ctx->error_done = 1;

    b = &ctx->error_buf;

    b->pos = ctx->error_json.data;
    b->last = b->pos + ctx->error_json.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return gate->next_body_filter(r, &out);
}


/*
 * Registers the gate's phase handlers and filters, and writes its 500 now:
 * it is what a failure to describe an error becomes, so needs no
 * allocation.
 */

ngx_int_t
ngx_http_sg_sign_gate_init(ngx_conf_t *cf, ngx_http_sg_sign_gate_t *gate)
{
    ngx_http_handler_pt         *h;
    ngx_http_core_main_conf_t   *cmcf;
    ngx_http_sg_sign_outcome_t  *failed;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = gate->rewrite_handler;

    /*
     * The precontent phase, not access: a handler that returned NGX_OK in
     * the access phase would grant access under "satisfy any".
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = gate->handler;

    gate->next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = gate->header_filter;

    gate->next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = gate->body_filter;

    gate->next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = gate->request_body_filter;

    failed = &gate->outcomes[gate->failed];

    gate->failed_json.data = gate->failed_buf;
    gate->failed_json.len = sg_error_json((const char *) failed->code.data,
                                          failed->description,
                                          (char *) gate->failed_buf,
                                          sizeof(gate->failed_buf));

    return NGX_OK;
}


/* a gate's variables, from its table ending in ngx_http_null_variable */

ngx_int_t
ngx_http_sg_sign_gate_add_variables(ngx_conf_t *cf, ngx_http_variable_t *vars)
{
    ngx_http_variable_t  *var, *v;

    for (v = vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}
