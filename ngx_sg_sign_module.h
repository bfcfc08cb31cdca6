
/*
 * What the glue files of ngx_http_sg_sign_module share: header surgery
 * (ngx_sg_sign_headers.c), the settings sg_sign cannot be combined with
 * (ngx_sg_sign_forbidden.c), the request machinery of sg_sign and
 * sg_sign_verify (ngx_sg_sign_gate.c), what sg_sign_verify
 * (ngx_sg_sign_verify.c) reuses, the metrics' hooks
 * (ngx_sg_sign_metrics.c), and the test build's allocation faults.
 */


#ifndef _NGX_SG_SIGN_MODULE_H_INCLUDED_
#define _NGX_SG_SIGN_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/*
 * Every allocation on the request path is written as
 * ngx_http_sg_sign_alloc(call).  The fault-injection build
 * (-DNGX_SG_SIGN_FAULTS=1, `make faults`) can make the N-th one of a
 * request fail, so a test can walk every site; elsewhere it is the call.
 */

#if (NGX_SG_SIGN_FAULTS)

ngx_uint_t ngx_http_sg_sign_fault(void);

#define ngx_http_sg_sign_fails()      ngx_http_sg_sign_fault()
#define ngx_http_sg_sign_alloc(call)  (ngx_http_sg_sign_fault() ? NULL : (call))

#else

#define ngx_http_sg_sign_fails()      0
#define ngx_http_sg_sign_alloc(call)  (call)

#endif


/* a static header name with its lower-case form, for pushing */
typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   lowcase;
} ngx_http_sg_sign_header_name_t;


/* for (h = ..._header_first(r, &it); h; h = ..._header_next(&it)) */
typedef struct {
    ngx_list_part_t            *part;
    ngx_uint_t                  i;
} ngx_http_sg_sign_header_iter_t;


ngx_table_elt_t *ngx_http_sg_sign_header_first(ngx_http_request_t *r,
    ngx_http_sg_sign_header_iter_t *it);
ngx_table_elt_t *ngx_http_sg_sign_header_next(
    ngx_http_sg_sign_header_iter_t *it);
ngx_uint_t ngx_http_sg_sign_header_named(ngx_str_t *lowcase, ngx_str_t *names,
    ngx_uint_t n);
ngx_int_t ngx_http_sg_sign_copy_headers(ngx_http_request_t *r,
    ngx_str_t *names, ngx_uint_t n);
ngx_int_t ngx_http_sg_sign_strip_headers(ngx_http_request_t *r,
    ngx_str_t *names, ngx_uint_t n, ngx_uint_t room);
ngx_table_elt_t *ngx_http_sg_sign_push_header(ngx_http_request_t *r,
    ngx_http_sg_sign_header_name_t *name, ngx_str_t *value);
const char *ngx_http_sg_sign_check_framing(ngx_http_request_t *r);

char *ngx_http_sg_sign_check_forbidden(ngx_conf_t *cf, ngx_str_t *file,
    ngx_uint_t line);

/*
 * The request machinery sg_sign and sg_sign_verify share (ngx_sg_sign_gate.c):
 * a "gate" is a location that owns the request from the rewrite phase on.
 * It strips the gateway's own headers and refuses subrequests there, reads
 * the body in the precontent phase (as the mirror module does), keeps its
 * ctx as the data of a pool cleanup so that an internal redirect does not
 * forget the request entered it, and gives its refusals and nginx's own
 * errors the provider's shape {"status":"error","error":{...}}.
 */

typedef struct {
    ngx_uint_t                  status;
    ngx_str_t                   code;
    char                       *description;   /* the default one */
    unsigned                    nginx:1;       /* nginx can make it too */
} ngx_http_sg_sign_outcome_t;


/* the first member of a gate's ctx */
typedef struct {
    ngx_int_t                   rc;          /* returned on re-entry */
    ngx_uint_t                  outcome;     /* the verdict, final once set */
    ngx_uint_t                  error;       /* the error response, if any */
    const char                 *description; /* of the error */
    off_t                       received;    /* body bytes, as read */
    ngx_str_t                   error_json;  /* the error body to send */
    ngx_buf_t                   error_buf;   /* sends it, allocation-free */
    ngx_http_upstream_state_t  *exit_state;  /* the gate's upstream's last
                                                try, when the request went
                                                on to another location */
    unsigned                    started:1;   /* the precontent phase ran */
    unsigned                    error_done:1;
    unsigned                    exited:1;    /* it went on to another one */
} ngx_http_sg_sign_gate_ctx_t;


/*
 * What a module tells the machinery.  Its outcome table starts with
 * "pending" (0) and the verdict that lets the request on (1).  nginx's
 * phase handlers and filters take only the request: each module passes
 * its own entry points, which hand over to ngx_http_sg_sign_gate_*().
 */
typedef struct {
    ngx_module_t                       *module;
    const char                         *name;          /* in log lines */
    size_t                              ctx_size;
    ngx_pool_cleanup_pt                 cleanup;       /* marks the ctx */
    ngx_uint_t                          enable;        /* offset of the
                                                          loc conf's flag */
    ngx_http_sg_sign_outcome_t         *outcomes;
    ngx_uint_t                          noutcomes;
    ngx_uint_t                          subrequest;    /* an outcome each */
    ngx_uint_t                          too_large;
    ngx_uint_t                          failed;
    ngx_str_t                          *own_headers;   /* a caller's go */
    ngx_uint_t                          nown_headers;

    /* before the body is read: NGX_OK, or the status of a refusal */
    ngx_int_t                         (*check)(ngx_http_request_t *r);
    ngx_http_client_body_handler_pt     body_handler;

    /* the first verdict of a request, and a subrequest refused: NULL-able */
    void                              (*verdict)(ngx_http_request_t *r,
                                                 ngx_str_t *code);
    void                              (*subrequest_refused)(
                                                 ngx_http_request_t *r);

    ngx_http_handler_pt                 rewrite_handler;
    ngx_http_handler_pt                 handler;
    ngx_http_output_header_filter_pt    header_filter;
    ngx_http_output_body_filter_pt      body_filter;
    ngx_http_request_body_filter_pt     request_body_filter;

    /* nginx's errors after verdict 1 take the error shape too */
    unsigned                            errors_after:1;

    /* another location a request goes on to gets no own header, no body */
    unsigned                            drop_on_exit:1;

    /* set by ngx_http_sg_sign_gate_init() */
    ngx_http_output_header_filter_pt    next_header_filter;
    ngx_http_output_body_filter_pt      next_body_filter;
    ngx_http_request_body_filter_pt     next_request_body_filter;
    ngx_str_t                           failed_json;
    u_char                              failed_buf[160];
} ngx_http_sg_sign_gate_t;


ngx_int_t ngx_http_sg_sign_gate_rewrite(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate);
void *ngx_http_sg_sign_gate_create_ctx(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate);
void *ngx_http_sg_sign_gate_last_ctx(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate);
ngx_int_t ngx_http_sg_sign_gate_handler(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate);
void ngx_http_sg_sign_gate_done(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_ctx_t *ctx, ngx_int_t rc);
ngx_int_t ngx_http_sg_sign_gate_request_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in, ngx_http_sg_sign_gate_t *gate);
void ngx_http_sg_sign_gate_verdict(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate, ngx_http_sg_sign_gate_ctx_t *ctx,
    ngx_uint_t outcome);
ngx_int_t ngx_http_sg_sign_gate_refuse(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate, ngx_http_sg_sign_gate_ctx_t *ctx,
    ngx_uint_t outcome, const char *description);
ngx_int_t ngx_http_sg_sign_gate_fail(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate, ngx_http_sg_sign_gate_ctx_t *ctx,
    const char *what);
ngx_int_t ngx_http_sg_sign_gate_header_filter(ngx_http_request_t *r,
    ngx_http_sg_sign_gate_t *gate);
ngx_int_t ngx_http_sg_sign_gate_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in, ngx_http_sg_sign_gate_t *gate);
ngx_int_t ngx_http_sg_sign_gate_init(ngx_conf_t *cf,
    ngx_http_sg_sign_gate_t *gate);
ngx_int_t ngx_http_sg_sign_gate_add_variables(ngx_conf_t *cf,
    ngx_http_variable_t *vars);

/* shared with sg_sign_verify (ngx_sg_sign_verify.c) */
ngx_int_t ngx_http_sg_sign_read_body(ngx_http_request_t *r, ngx_pool_t *pool,
    ngx_str_t *body);
size_t ngx_http_sg_sign_max_body_size(ngx_http_request_t *r);
ngx_flag_t ngx_http_sg_sign_conf_enabled(ngx_conf_t *cf);
char *ngx_http_sg_sign_verify_check_forbidden(ngx_conf_t *cf,
    ngx_str_t *file, ngx_uint_t line);

/* sg_sign_secure_heap (ngx_sg_sign_secure_heap.c) */
void ngx_sg_sign_secure_heap_key_loaded(ngx_conf_t *cf);
size_t ngx_sg_sign_secure_heap_free(void);
void ngx_sg_sign_secure_heap_check(ngx_log_t *log);


/* what ngx_sg_sign_metrics.c learns of a request that entered sg_sign */
typedef struct {
    ngx_uint_t                  outcome;     /* in the outcome table; 0:
                                                no verdict ($sg_sign_status
                                                empty) */
    ngx_str_t                   method;      /* empty: not known */
    ngx_http_upstream_state_t  *upstream;    /* the provider's last try */
    unsigned                    is_signed:1; /* the signature was installed */
} ngx_http_sg_sign_request_info_t;

ngx_int_t ngx_http_sg_sign_request_info(ngx_http_request_t *r,
    ngx_http_sg_sign_request_info_t *info);
ngx_str_t *ngx_http_sg_sign_outcome_code(ngx_uint_t outcome);


/*
 * ngx_sg_sign_metrics.c: one call where a thing to count happens, each a
 * no-op without "sg_sign_metrics_zone".  Requests are counted in the log
 * phase; a subrequest (no log phase) where it is refused.
 */
void ngx_http_sg_sign_metrics_request(ngx_http_request_t *r);
uint64_t ngx_http_sg_sign_metrics_clock(void);
void ngx_http_sg_sign_metrics_signing(ngx_http_request_t *r,
    ngx_uint_t pooled, uint64_t ns);
#if (NGX_THREADS)
ngx_atomic_t *ngx_http_sg_sign_metrics_queue_add(ngx_http_request_t *r,
    ngx_thread_pool_t *tp);
void ngx_http_sg_sign_metrics_queue_sub(ngx_atomic_t *queued);
ngx_int_t ngx_http_sg_sign_metrics_pool(ngx_conf_t *cf, ngx_thread_pool_t *tp,
    ngx_str_t *name);
#endif
ngx_int_t ngx_http_sg_sign_metrics_key(ngx_conf_t *cf,
    const char *fingerprint, const char *kind, time_t loaded);
void ngx_http_sg_sign_metrics_hsm(const char *fingerprint, ngx_uint_t up);
void ngx_http_sg_sign_metrics_webhook(ngx_http_request_t *r,
    ngx_str_t *outcome);


#endif /* _NGX_SG_SIGN_MODULE_H_INCLUDED_ */
