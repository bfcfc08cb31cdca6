
/*
 * ngx_http_sg_sign_module: a signing gateway for the Smart Glocal API.
 * Reads an unsigned JSON body, validates and canonicalizes it (src/), signs
 * it with a key the master loaded, and hands the request to proxy_pass.
 *
 * The gateway owns the provider's auth headers, the body and its framing
 * of every request that enters an sg_sign location, from the rewrite phase
 * on, and on every path out: refusal, error_page, subrequests, failures.
 */


#include "ngx_sg_sign_module.h"

#include "sg_body.h"
#include "sg_error.h"
#include "sg_file.h"
#include "sg_pkcs11.h"
#include "sg_schema.h"
#include "sg_signer.h"


/* a schema file is rules, not data: far smaller */
#define NGX_HTTP_SG_SIGN_SCHEMA_FILE_MAX  (1024 * 1024)

#define NGX_HTTP_SG_SIGN_DEFAULT_SCHEMA   "session/start/payout"

/* what the private numbers of the largest key (RSA-16384) take in the
   secure heap, rounded as its buddy allocator does */
#define NGX_HTTP_SG_SIGN_SECURE_KEY_ROOM  8192

/*
 * The built-in that is no provider method: "any JSON object", what
 * "sg_sign_schema auto unknown=object" signs unknown methods with.
 * "auto" never routes a URI to it by name.
 */
#define NGX_HTTP_SG_SIGN_ANY_OBJECT       "object"


/* what happened to a request; indexes ngx_http_sg_sign_outcomes[] */
typedef enum {
    NGX_HTTP_SG_SIGN_PENDING = 0,
    NGX_HTTP_SG_SIGN_SIGNED,
    NGX_HTTP_SG_SIGN_INVALID_JSON,
    NGX_HTTP_SG_SIGN_INVALID_REQUEST,
    NGX_HTTP_SG_SIGN_SUBREQUEST_REFUSED,
    NGX_HTTP_SG_SIGN_UNKNOWN_METHOD,
    NGX_HTTP_SG_SIGN_METHOD_NOT_ALLOWED,
    NGX_HTTP_SG_SIGN_BODY_TOO_LARGE,
    NGX_HTTP_SG_SIGN_UNSUPPORTED_MEDIA_TYPE,
    NGX_HTTP_SG_SIGN_SIGNING_FAILED,
    NGX_HTTP_SG_SIGN_UPSTREAM_UNAVAILABLE,
    NGX_HTTP_SG_SIGN_UPSTREAM_TIMEOUT
} ngx_http_sg_sign_outcome_e;


typedef struct {
    ngx_str_t                   key;
    ngx_str_t                   passphrase_file;
    sg_signer_t                *signer;
} ngx_http_sg_sign_key_t;


/*
 * A compiled schema, by built-in name or by a file's full path; in the
 * tables of "sg_sign_schema auto", by the method it checks.
 */
typedef struct {
    ngx_str_t                   name;
    sg_schema_t                *schema;
} ngx_http_sg_sign_schema_t;


typedef struct {
    ngx_array_t                 keys;    /* ngx_http_sg_sign_key_t */
    ngx_array_t                 schemas; /* ngx_http_sg_sign_schema_t */
    sg_schema_t                *common;  /* sg:common, for schema files */

    /* auto's methods: every built-in but "object", compiled at first use */
    ngx_array_t                *methods; /* ngx_http_sg_sign_schema_t */

    ngx_str_t                   pkcs11_module;  /* "": p11-kit's proxy */
} ngx_http_sg_sign_main_conf_t;


typedef struct {
    ngx_flag_t                  enable;

    /*
     * Without auto, the one schema of the location.  With auto, the
     * schema of methods no table has (unknown=object), or NULL: refused.
     */
    sg_schema_t                *schema;
    ngx_uint_t                  auto_method;
    ngx_array_t                *methods; /* sg_sign_method_schema */
    ngx_str_t                   project;
    ngx_str_t                   key;
    ngx_str_t                   passphrase_file;
    ngx_uint_t                  encoding;
    ngx_http_complex_value_t   *submerchant;
    size_t                      max_body_size;
#if (NGX_THREADS)
    ngx_thread_pool_t          *thread_pool;
#endif
    ngx_msec_t                  sign_timeout;   /* PKCS#11 keys */

    sg_signer_t                *signer;

    /* where "sg_sign_thread_pool off" is: refused for PKCS#11 keys */
    ngx_str_t                   pool_off_file;
    ngx_uint_t                  pool_off_line;

    /* where "sg_sign on" and "sg_sign_key" were set, for nginx -t */
    ngx_str_t                   enable_file;
    ngx_uint_t                  enable_line;
    ngx_str_t                   key_file;
    ngx_uint_t                  key_line;

    /* where this location's first "sg_sign_method_schema" is */
    ngx_str_t                   methods_file;
    ngx_uint_t                  methods_line;
} ngx_http_sg_sign_loc_conf_t;


/*
 * One per visit of an sg_sign location, kept by the gate
 * (ngx_sg_sign_gate.c); gate.outcome is $sg_sign_status.
 */
typedef struct {
    ngx_http_sg_sign_gate_ctx_t  gate;         /* first: the gate's part */
    sg_schema_t                 *schema;       /* the rules applied */
    ngx_str_t                    method;       /* auto's, a table's name */
    ngx_str_t                    body;         /* canonical, as sent */
    ngx_str_t                    session_id;
    ngx_str_t                    signature;
    sg_signer_t                 *signer;       /* the key that signed */
    uint64_t                     sign_time;    /* ns, for the metrics */
#if (NGX_SG_SIGN_FAULTS)
    ngx_msec_t                   sign_delay;
#endif
    void                        *hsm_task;     /* a PKCS#11 signature runs */
    ngx_event_t                  resume;       /* after inline signing */
    unsigned                     hsm_timed_out:1;
    unsigned                     signed_ok:1;
    unsigned                     pooled:1;     /* signed in a thread pool */
} ngx_http_sg_sign_ctx_t;


#if (NGX_THREADS)

typedef struct {
    ngx_http_sg_sign_ctx_t     *ctx;
    ngx_uint_t                  encoding;
    ngx_atomic_t               *queued;      /* the metrics' gauge */
} ngx_http_sg_sign_task_ctx_t;


/*
 * A PKCS#11 signature: an HSM may not answer for a long time, and a
 * thread task cannot be cancelled.  So the task owns everything it
 * touches (one ngx_alloc()ed block: a copy of the body, its own
 * signature buffer), the request lets go of it after sg_sign_timeout or
 * when it ends, and the completion handler frees it.
 */
typedef struct {
    ngx_thread_task_t           task;
    ngx_http_request_t         *request;     /* NULL once it let go */
    ngx_http_sg_sign_ctx_t     *ctx;
    ngx_event_t                 timer;
    sg_signer_t                *signer;
    ngx_uint_t                  encoding;
    ngx_str_t                   body;
    ngx_str_t                   signature;
    ngx_atomic_t               *queued;      /* the metrics' gauge */
    uint64_t                    posted;      /* ns, for the metrics */
    uint64_t                    sign_time;   /* ns, in the thread */
#if (NGX_SG_SIGN_FAULTS)
    ngx_msec_t                  sign_delay;
#endif
    unsigned                    signed_ok:1;
} ngx_http_sg_sign_hsm_task_t;

#endif


/* the fault build's X-SG-Fault-Sign-Delay of a ctx or a task, else none */
#if (NGX_SG_SIGN_FAULTS)
#define ngx_http_sg_sign_delay(x)  (x)->sign_delay
#else
#define ngx_http_sg_sign_delay(x)  0
#endif


static ngx_int_t ngx_http_sg_sign_rewrite_handler(ngx_http_request_t *r);
static void ngx_http_sg_sign_ctx_cleanup(void *data);
static ngx_int_t ngx_http_sg_sign_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_sg_sign_route(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx);
static ngx_http_sg_sign_schema_t *ngx_http_sg_sign_method_find(
    ngx_array_t *methods, ngx_str_t *name);
static ngx_uint_t ngx_http_sg_sign_method_name(ngx_str_t *name);
static ngx_int_t ngx_http_sg_sign_check_request(ngx_http_request_t *r);
static ngx_int_t ngx_http_sg_sign_request_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static void ngx_http_sg_sign_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_sg_sign_process(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx);
static ngx_int_t ngx_http_sg_sign_canonicalize(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx,
    ngx_pool_t *pool);
static void *ngx_http_sg_sign_palloc(void *pool, size_t size);
static ngx_uint_t ngx_http_sg_sign_sign(sg_signer_t *signer,
    ngx_uint_t encoding, ngx_str_t *body, ngx_str_t *signature,
    ngx_msec_t delay, uint64_t *ns);
static ngx_int_t ngx_http_sg_sign_finish(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx);
static ngx_int_t ngx_http_sg_sign_wait(ngx_http_request_t *r,
    ngx_http_sg_sign_ctx_t *ctx);
static void ngx_http_sg_sign_resume_handler(ngx_event_t *ev);
static void ngx_http_sg_sign_block(ngx_http_request_t *r);
static void ngx_http_sg_sign_resume(ngx_http_request_t *r);
static void ngx_http_sg_sign_signed_handler(ngx_http_request_t *r);
#if (NGX_THREADS)
static ngx_int_t ngx_http_sg_sign_post_task(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx);
static void ngx_http_sg_sign_thread_handler(void *data, ngx_log_t *log);
static ngx_int_t ngx_http_sg_sign_post_hsm(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx);
static void ngx_http_sg_sign_hsm_thread_handler(void *data, ngx_log_t *log);
static void ngx_http_sg_sign_hsm_done_handler(ngx_event_t *ev);
static void ngx_http_sg_sign_hsm_timeout_handler(ngx_event_t *ev);
#endif
static void ngx_http_sg_sign_hsm_detach(ngx_http_sg_sign_ctx_t *ctx);
static void ngx_http_sg_sign_hsm_log(ngx_http_request_t *r,
    ngx_http_sg_sign_ctx_t *ctx, sg_pkcs11_key_t *p11);
static ngx_int_t ngx_http_sg_sign_install(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx);
static ngx_int_t ngx_http_sg_sign_refuse(ngx_http_request_t *r,
    ngx_http_sg_sign_ctx_t *ctx, ngx_http_sg_sign_outcome_e outcome,
    const char *description);
static ngx_int_t ngx_http_sg_sign_fail(ngx_http_request_t *r,
    ngx_http_sg_sign_ctx_t *ctx, const char *what);
static ngx_int_t ngx_http_sg_sign_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_sg_sign_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_sg_sign_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_sg_sign_add_variables(ngx_conf_t *cf);
static void *ngx_http_sg_sign_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_sg_sign_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_sg_sign_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static sg_signer_t *ngx_http_sg_sign_load_key(ngx_conf_t *cf,
    ngx_http_sg_sign_loc_conf_t *slcf);
static void ngx_http_sg_sign_free_key(void *data);
static char *ngx_http_sg_sign_enable(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sg_sign_set_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sg_sign_set_schema(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sg_sign_set_method_schema(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_sg_sign_check_auto(ngx_conf_t *cf,
    ngx_http_sg_sign_loc_conf_t *slcf);
static ngx_array_t *ngx_http_sg_sign_auto_methods(ngx_conf_t *cf);
static sg_schema_t *ngx_http_sg_sign_schema_load(ngx_conf_t *cf,
    ngx_str_t *value);
static sg_schema_t *ngx_http_sg_sign_schema_builtin(ngx_conf_t *cf,
    ngx_str_t *name);
static sg_schema_t *ngx_http_sg_sign_schema_file(ngx_conf_t *cf,
    ngx_str_t *path);
static sg_schema_t *ngx_http_sg_sign_schema_common(ngx_conf_t *cf,
    ngx_http_sg_sign_main_conf_t *smcf);
static sg_schema_t *ngx_http_sg_sign_schema_find(
    ngx_http_sg_sign_main_conf_t *smcf, ngx_str_t *name);
static ngx_int_t ngx_http_sg_sign_schema_keep(ngx_conf_t *cf,
    ngx_http_sg_sign_main_conf_t *smcf, ngx_str_t *name, sg_schema_t *schema);
static void ngx_http_sg_sign_schema_error(ngx_conf_t *cf, const char *what,
    ngx_str_t *name, sg_schema_error_t *err);
static void ngx_http_sg_sign_free_schema(void *data);
#if (NGX_THREADS)
static char *ngx_http_sg_sign_set_thread_pool(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
#endif
#if (NGX_SG_SIGN_FAULTS)
static void ngx_http_sg_sign_fault_arm(ngx_http_request_t *r,
    ngx_msec_t *sign_delay);
static void ngx_http_sg_sign_fault_disarm(void);
static ngx_uint_t ngx_http_sg_sign_fault_resume(void);
#endif
static ngx_int_t ngx_http_sg_sign_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_sg_sign_init_process(ngx_cycle_t *cycle);
static void ngx_http_sg_sign_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_sg_sign_encodings[] = {
    { ngx_string("base64"), SG_ENCODING_BASE64 },
    { ngx_string("hex"), SG_ENCODING_HEX },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_sg_sign_commands[] = {

    { ngx_string("sg_sign"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_sg_sign_enable,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sg_sign_loc_conf_t, enable),
      NULL },

    { ngx_string("sg_sign_schema"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_sg_sign_set_schema,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sg_sign_method_schema"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_sg_sign_set_method_schema,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sg_sign_project"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sg_sign_loc_conf_t, project),
      NULL },

    { ngx_string("sg_sign_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_sg_sign_set_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sg_sign_loc_conf_t, key),
      NULL },

    { ngx_string("sg_sign_key_passphrase_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sg_sign_loc_conf_t, passphrase_file),
      NULL },

    { ngx_string("sg_sign_encoding"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sg_sign_loc_conf_t, encoding),
      &ngx_http_sg_sign_encodings },

    { ngx_string("sg_sign_submerchant"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sg_sign_loc_conf_t, submerchant),
      NULL },

    { ngx_string("sg_sign_max_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sg_sign_loc_conf_t, max_body_size),
      NULL },

#if (NGX_THREADS)
    { ngx_string("sg_sign_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_sg_sign_set_thread_pool,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },
#endif

    { ngx_string("sg_sign_pkcs11_module"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_sg_sign_main_conf_t, pkcs11_module),
      NULL },

    { ngx_string("sg_sign_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_sg_sign_loc_conf_t, sign_timeout),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_sg_sign_module_ctx = {
    ngx_http_sg_sign_add_variables,        /* preconfiguration */
    ngx_http_sg_sign_init,                 /* postconfiguration */

    ngx_http_sg_sign_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_sg_sign_create_loc_conf,      /* create location configuration */
    ngx_http_sg_sign_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_sg_sign_module = {
    NGX_MODULE_V1,
    &ngx_http_sg_sign_module_ctx,          /* module context */
    ngx_http_sg_sign_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_sg_sign_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_sg_sign_exit_process,         /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* the outcome table; README "Outcomes" is the same table */

static ngx_http_sg_sign_outcome_t  ngx_http_sg_sign_outcomes[] = {
    { 0, ngx_null_string, NULL, 0 },
    { 0, ngx_string("signed"), NULL, 0 },
    { NGX_HTTP_BAD_REQUEST, ngx_string("invalid_json"), NULL, 0 },
    { NGX_HTTP_BAD_REQUEST, ngx_string("invalid_request"), NULL, 0 },
    { NGX_HTTP_FORBIDDEN, ngx_string("subrequest_refused"),
      "a subrequest is never signed", 0 },
    { NGX_HTTP_NOT_FOUND, ngx_string("unknown_method"),
      "the URI names no method this gateway signs", 0 },
    { NGX_HTTP_NOT_ALLOWED, ngx_string("method_not_allowed"),
      "the method must be POST", 0 },
    { NGX_HTTP_REQUEST_ENTITY_TOO_LARGE, ngx_string("body_too_large"),
      "the request body is too large", 1 },
    { NGX_HTTP_UNSUPPORTED_MEDIA_TYPE, ngx_string("unsupported_media_type"),
      "the Content-Type must be application/json", 0 },
    { NGX_HTTP_INTERNAL_SERVER_ERROR, ngx_string("signing_failed"),
      "the request could not be signed", 1 },
    { NGX_HTTP_BAD_GATEWAY, ngx_string("upstream_unavailable"),
      "the provider could not be reached", 1 },
    { NGX_HTTP_GATEWAY_TIME_OUT, ngx_string("upstream_timeout"),
      "the provider did not answer in time", 1 }
};


/*
 * The provider's auth headers: a caller never chooses them, and any copy
 * is removed in the rewrite phase of an sg_sign location.
 */
#if (NGX_THREADS)
/* the pool a PKCS#11 key signs in when sg_sign_thread_pool names none */
static ngx_str_t  ngx_http_sg_sign_default_pool = ngx_string("default");
#endif


static ngx_str_t  ngx_http_sg_sign_auth_headers[] = {
    ngx_string("x-partner-project"),
    ngx_string("x-partner-sign"),
    ngx_string("x-partner-submerchant")
};


/*
 * What the signed request carries from the gateway only: the auth headers
 * again (after an internal redirect our own previous ones), the framing of
 * the body, and digests that would describe the caller's bytes.
 */
static ngx_str_t  ngx_http_sg_sign_signed_headers[] = {
    ngx_string("x-partner-project"),
    ngx_string("x-partner-sign"),
    ngx_string("x-partner-submerchant"),
    ngx_string("content-type"),
    ngx_string("content-length"),
    ngx_string("content-encoding"),
    ngx_string("transfer-encoding"),
    ngx_string("digest"),
    ngx_string("content-digest"),
    ngx_string("repr-digest"),
    ngx_string("content-md5")
};


#define NGX_HTTP_SG_SIGN_PUSHED  5     /* the most headers install() adds */

static ngx_http_sg_sign_header_name_t  ngx_http_sg_sign_h_project =
    { ngx_string("X-PARTNER-PROJECT"), ngx_string("x-partner-project") };
static ngx_http_sg_sign_header_name_t  ngx_http_sg_sign_h_sign =
    { ngx_string("X-PARTNER-SIGN"), ngx_string("x-partner-sign") };
static ngx_http_sg_sign_header_name_t  ngx_http_sg_sign_h_submerchant =
    { ngx_string("X-PARTNER-SUBMERCHANT"),
      ngx_string("x-partner-submerchant") };
static ngx_http_sg_sign_header_name_t  ngx_http_sg_sign_h_content_type =
    { ngx_string("Content-Type"), ngx_string("content-type") };
static ngx_http_sg_sign_header_name_t  ngx_http_sg_sign_h_content_length =
    { ngx_string("Content-Length"), ngx_string("content-length") };


static ngx_http_sg_sign_gate_t  ngx_http_sg_sign_gate = {
    &ngx_http_sg_sign_module,
    "sg_sign",
    sizeof(ngx_http_sg_sign_ctx_t),
    ngx_http_sg_sign_ctx_cleanup,
    offsetof(ngx_http_sg_sign_loc_conf_t, enable),
    ngx_http_sg_sign_outcomes,
    sizeof(ngx_http_sg_sign_outcomes) / sizeof(ngx_http_sg_sign_outcome_t),
    NGX_HTTP_SG_SIGN_SUBREQUEST_REFUSED,
    NGX_HTTP_SG_SIGN_BODY_TOO_LARGE,
    NGX_HTTP_SG_SIGN_SIGNING_FAILED,
    ngx_http_sg_sign_auth_headers,
    sizeof(ngx_http_sg_sign_auth_headers) / sizeof(ngx_str_t),
    ngx_http_sg_sign_check_request,
    ngx_http_sg_sign_body_handler,
    NULL,                                  /* counted in the log phase */
    ngx_http_sg_sign_metrics_request,      /* a subrequest has none */
    ngx_http_sg_sign_rewrite_handler,
    ngx_http_sg_sign_handler,
    ngx_http_sg_sign_header_filter,
    ngx_http_sg_sign_body_filter,
    ngx_http_sg_sign_request_body_filter,
    1,                                     /* 502, 504 after signing */
    1,                                     /* the signature stays here */
    NULL, NULL, NULL, ngx_null_string, { 0 }
};


static ngx_http_variable_t  ngx_http_sg_sign_vars[] = {

    { ngx_string("sg_sign_status"), NULL, ngx_http_sg_sign_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sg_sign_key_fingerprint"), NULL, ngx_http_sg_sign_variable,
      1, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sg_sign_body_sha256"), NULL, ngx_http_sg_sign_variable,
      2, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sg_sign_session_id"), NULL, ngx_http_sg_sign_variable,
      3, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("sg_sign_method"), NULL, ngx_http_sg_sign_variable,
      4, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/*
 * The rewrite phase: the gate's start.  The test build arms its faults
 * first, so that the ctx itself is the first allocation that can fail.
 */

static ngx_int_t
ngx_http_sg_sign_rewrite_handler(ngx_http_request_t *r)
{
#if (NGX_SG_SIGN_FAULTS)
    ngx_int_t                     rc;
    ngx_msec_t                    sign_delay;
    ngx_http_sg_sign_ctx_t       *ctx;
    ngx_http_sg_sign_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sg_sign_module);

    if (slcf->enable && r == r->main
        && ngx_http_get_module_ctx(r, ngx_http_sg_sign_module) == NULL)
    {
        sign_delay = 0;
        ngx_http_sg_sign_fault_arm(r, &sign_delay);

        rc = ngx_http_sg_sign_gate_rewrite(r, &ngx_http_sg_sign_gate);

        ctx = ngx_http_get_module_ctx(r, ngx_http_sg_sign_module);

        if (ctx) {
            ctx->sign_delay = sign_delay;
        }

        return rc;
    }

    if (!slcf->enable && r == r->main && ngx_http_sg_sign_fault_resume()) {
        rc = ngx_http_sg_sign_gate_rewrite(r, &ngx_http_sg_sign_gate);
        ngx_http_sg_sign_fault_disarm();
        return rc;
    }
#endif

    return ngx_http_sg_sign_gate_rewrite(r, &ngx_http_sg_sign_gate);
}


static void
ngx_http_sg_sign_ctx_cleanup(void *data)
{
    /* the handler marks the ctx as ours; a PKCS#11 task is let go */
    ngx_http_sg_sign_hsm_detach(data);
}


static ngx_int_t
ngx_http_sg_sign_handler(ngx_http_request_t *r)
{
    return ngx_http_sg_sign_gate_handler(r, &ngx_http_sg_sign_gate);
}


/*
 * The rules the body is checked with.  Under "sg_sign_schema auto" the
 * method is the URI after the location's name, looked up exactly in the
 * location's overrides, then in the built-ins: $sg_sign_method, which
 * proxy_pass sends upstream, is that table entry's name, so the method
 * checked is the method the provider receives.  The URI must be the one
 * the client wrote: nginx decodes %-escapes, resolves dot segments and
 * merges slashes before it matches locations, and a method found only in
 * the normalized URI would be forwarded under a name the caller did not
 * send (payout%2F, payout/., x/../payout).
 */

static ngx_int_t
ngx_http_sg_sign_route(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx)
{
    u_char                        *q;
    ngx_str_t                      raw, method, *prefix;
    ngx_http_sg_sign_schema_t     *m;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_sg_sign_main_conf_t  *smcf;

    if (!slcf->auto_method) {
        ctx->schema = slcf->schema;
        return NGX_OK;
    }

    /* rewritten or redirected here: the URI is not the client's */

    if (!r->valid_unparsed_uri || r->internal) {
        goto not_as_sent;
    }

    raw = r->unparsed_uri;

    q = ngx_strlchr(raw.data, raw.data + raw.len, '?');
    if (q) {
        raw.len = q - raw.data;
    }

    if (raw.len != r->uri.len
        || ngx_strncmp(raw.data, r->uri.data, raw.len) != 0)
    {
        goto not_as_sent;
    }

    /* the name of a prefix location (nginx -t refused any other kind) */

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    prefix = &clcf->name;

    if (r->uri.len < prefix->len
        || ngx_strncmp(r->uri.data, prefix->data, prefix->len) != 0)
    {
        /* matched some other way (a caseless file system): not by name */
        goto unknown;
    }

    method.data = r->uri.data + prefix->len;
    method.len = r->uri.len - prefix->len;

    if (prefix->len == 0 || prefix->data[prefix->len - 1] != '/') {
        /* "location /api/v1": "/api/v1/token", never "/api/v1token" */

        if (method.len == 0 || method.data[0] != '/') {
            goto unknown;
        }

        method.data++;
        method.len--;
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_sg_sign_module);

    m = ngx_http_sg_sign_method_find(slcf->methods, &method);

    if (m == NULL) {
        m = ngx_http_sg_sign_method_find(smcf->methods, &method);
    }

    if (m) {
        ctx->method = m->name;
        ctx->schema = m->schema;
        return NGX_OK;
    }

    if (slcf->schema && ngx_http_sg_sign_method_name(&method)) {
        /* unknown=object: a name that can only be a method's */
        ctx->method = method;
        ctx->schema = slcf->schema;
        return NGX_OK;
    }

unknown:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "sg_sign: refused: the URI names no method with a schema");

    return ngx_http_sg_sign_refuse(r, ctx, NGX_HTTP_SG_SIGN_UNKNOWN_METHOD,
                                   NULL);

not_as_sent:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "sg_sign: refused: the URI is not the method as sent");

    return ngx_http_sg_sign_refuse(r, ctx, NGX_HTTP_SG_SIGN_UNKNOWN_METHOD,
                                   "the URI must name the method as it is: "
                                   "no %-escapes, dot segments or repeated "
                                   "slashes");
}


static ngx_http_sg_sign_schema_t *
ngx_http_sg_sign_method_find(ngx_array_t *methods, ngx_str_t *name)
{
    ngx_uint_t                  i;
    ngx_http_sg_sign_schema_t  *m;

    if (methods == NULL) {
        return NULL;
    }

    m = methods->elts;

    for (i = 0; i < methods->nelts; i++) {
        if (m[i].name.len == name->len
            && ngx_strncmp(m[i].name.data, name->data, name->len) == 0)
        {
            return &m[i];
        }
    }

    return NULL;
}


/*
 * A method's name: segments of [a-z_] joined by single "/".  It goes into
 * the request line sent upstream, so nothing else: no "%", "?", ".",
 * space, control character, or empty segment.
 */

static ngx_uint_t
ngx_http_sg_sign_method_name(ngx_str_t *name)
{
    u_char      c;
    ngx_uint_t  i, segment;

    segment = 0;

    for (i = 0; i < name->len; i++) {
        c = name->data[i];

        if ((c >= 'a' && c <= 'z') || c == '_') {
            segment++;
            continue;
        }

        if (c != '/' || segment == 0) {
            return 0;
        }

        segment = 0;
    }

    return segment > 0;
}


/*
 * Before the body is read: the route (404), CONTRACT step 1 and the
 * Content-Length half of step 2 (405, 415, 413).
 */

static ngx_int_t
ngx_http_sg_sign_check_request(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    const char                   *why;
    ngx_http_sg_sign_ctx_t       *ctx;
    ngx_http_sg_sign_loc_conf_t  *slcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sg_sign_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sg_sign_module);

    rc = ngx_http_sg_sign_route(r, slcf, ctx);

    if (rc != NGX_OK) {
        return rc;
    }

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_sg_sign_refuse(r, ctx,
                                       NGX_HTTP_SG_SIGN_METHOD_NOT_ALLOWED,
                                       NULL);
    }

    why = ngx_http_sg_sign_check_framing(r);

    if (why) {
        return ngx_http_sg_sign_refuse(r, ctx,
                                       NGX_HTTP_SG_SIGN_UNSUPPORTED_MEDIA_TYPE,
                                       why);
    }

    if (r->headers_in.content_length_n > (off_t) slcf->max_body_size) {
        return ngx_http_sg_sign_refuse(r, ctx,
                                       NGX_HTTP_SG_SIGN_BODY_TOO_LARGE, NULL);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_sg_sign_request_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    return ngx_http_sg_sign_gate_request_body_filter(r, in,
                                                     &ngx_http_sg_sign_gate);
}


static void
ngx_http_sg_sign_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_sg_sign_ctx_t       *ctx;
    ngx_http_sg_sign_loc_conf_t  *slcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sg_sign_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sg_sign_module);

    rc = ngx_http_sg_sign_process(r, slcf, ctx);

    if (rc == NGX_AGAIN) {
        /* signed or signing: ngx_http_sg_sign_signed_handler goes on */
        return;
    }

    ngx_http_sg_sign_gate_done(r, &ctx->gate, rc);
}


/*
 * CONTRACT steps 3 to 7 on a body read whole.  The parse tree and the
 * canonical output are made in a pool of their own, freed before the
 * request goes on: while the provider answers, the request holds the
 * canonical body and its signature, not the work that made them.
 */

static ngx_int_t
ngx_http_sg_sign_process(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx)
{
    ngx_int_t    rc;
    ngx_pool_t  *pool;

    pool = ngx_http_sg_sign_alloc(ngx_create_pool(NGX_DEFAULT_POOL_SIZE,
                                                  r->connection->log));
    if (pool == NULL) {
        return ngx_http_sg_sign_fail(r, ctx, "creating a pool");
    }

    rc = ngx_http_sg_sign_canonicalize(r, slcf, ctx, pool);

    ngx_destroy_pool(pool);

    if (rc != NGX_OK) {
        return rc;
    }

    ctx->signer = slcf->signer;

    ctx->signature.len = sg_signer_signature_size(slcf->signer,
                                                  slcf->encoding);

    ctx->signature.data = ngx_http_sg_sign_alloc(ngx_pnalloc(r->pool,
                                                       ctx->signature.len));
    if (ctx->signature.data == NULL) {
        return ngx_http_sg_sign_fail(r, ctx, "allocating the signature");
    }

#if (NGX_THREADS)
    if (sg_signer_pkcs11(slcf->signer) != NULL) {
        return ngx_http_sg_sign_post_hsm(r, slcf, ctx);
    }

    if (slcf->thread_pool) {
        return ngx_http_sg_sign_post_task(r, slcf, ctx);
    }
#endif

    ctx->signed_ok = ngx_http_sg_sign_sign(ctx->signer, slcf->encoding,
                                           &ctx->body, &ctx->signature,
                                           ngx_http_sg_sign_delay(ctx),
                                           &ctx->sign_time);

    return ngx_http_sg_sign_wait(r, ctx);
}


/*
 * The body through the core in pool; what outlives it (the canonical
 * body, session_id, a refusal's description) is copied to r->pool.
 * Returns NGX_OK, or the status of a refusal.
 */

static ngx_int_t
ngx_http_sg_sign_canonicalize(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx,
    ngx_pool_t *pool)
{
    size_t      len;
    u_char      desc[256], *p;
    ngx_str_t   input;
    sg_body_t   body;
    sg_code_t   code;
    sg_alloc_t  alloc;
    sg_error_t  err;

    if (ngx_http_sg_sign_read_body(r, pool, &input) != NGX_OK) {
        return ngx_http_sg_sign_fail(r, ctx, "reading the body");
    }

    alloc.alloc = ngx_http_sg_sign_palloc;
    alloc.data = pool;

    code = sg_body_canonicalize(ctx->schema, (const char *) input.data,
                                input.len, &alloc, &body, &err);

    if (code == SG_ERR_NOMEM) {
        return ngx_http_sg_sign_fail(r, ctx, "canonicalizing");
    }

    if (code != SG_OK) {
        len = sg_error_describe(&err, (char *) desc, sizeof(desc));

        /* a client's mistake: info, as nginx logs "client sent invalid" */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "sg_sign: refused body: %s", desc);

        p = ngx_http_sg_sign_alloc(ngx_pnalloc(r->pool, len + 1));
        if (p == NULL) {
            return ngx_http_sg_sign_fail(r, ctx, "describing a refusal");
        }

        ngx_memcpy(p, desc, len + 1);

        return ngx_http_sg_sign_refuse(r, ctx,
                                       code == SG_ERR_INVALID_JSON
                                       ? NGX_HTTP_SG_SIGN_INVALID_JSON
                                       : NGX_HTTP_SG_SIGN_INVALID_REQUEST,
                                       (const char *) p);
    }

    p = ngx_http_sg_sign_alloc(ngx_pnalloc(r->pool,
                                           body.len + body.session_id_len));
    if (p == NULL) {
        return ngx_http_sg_sign_fail(r, ctx, "keeping the canonical body");
    }

    ctx->body.data = p;
    ctx->body.len = body.len;
    p = ngx_cpymem(p, body.data, body.len);

    if (body.session_id) {
        ctx->session_id.data = p;
        ctx->session_id.len = body.session_id_len;
        ngx_memcpy(p, body.session_id, body.session_id_len);
    }

    return NGX_OK;
}


/*
 * The body as one run of bytes, whatever nginx made of it: buffers in
 * memory, a temp file (client_body_in_file_only, large bodies), or both.
 */

ngx_int_t
ngx_http_sg_sign_read_body(ngx_http_request_t *r, ngx_pool_t *pool,
    ngx_str_t *body)
{
    off_t         size;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        body->data = cl->buf->pos;
        body->len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    size = 0;

    for ( /* void */ ; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    body->data = ngx_http_sg_sign_alloc(ngx_pnalloc(pool, size));
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    p = body->data;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "sg_sign: cannot read the request body from "
                          "\"%V\"", &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    body->len = p - body->data;

    return NGX_OK;
}


static void *
ngx_http_sg_sign_palloc(void *pool, size_t size)
{
    return ngx_http_sg_sign_alloc(ngx_palloc(pool, size));
}


/* for sg_sign_verify (ngx_sg_sign_verify.c): the one body size setting */

size_t
ngx_http_sg_sign_max_body_size(ngx_http_request_t *r)
{
    ngx_http_sg_sign_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sg_sign_module);

    return slcf->max_body_size;
}


/* whether "sg_sign" is on in the location being merged (merged already) */

ngx_flag_t
ngx_http_sg_sign_conf_enabled(ngx_conf_t *cf)
{
    ngx_http_sg_sign_loc_conf_t  *slcf;

    slcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_sg_sign_module);

    return slcf->enable == 1;
}


/*
 * Inline, in a pool's thread, or in a PKCS#11 task's: touches nothing but
 * the buffers it is given.  Returns whether body was signed into
 * signature; *ns is how long it took, for the metrics.
 */

static ngx_uint_t
ngx_http_sg_sign_sign(sg_signer_t *signer, ngx_uint_t encoding,
    ngx_str_t *body, ngx_str_t *signature, ngx_msec_t delay, uint64_t *ns)
{
    uint64_t    start;
    ngx_uint_t  ok;

    start = ngx_http_sg_sign_metrics_clock();

    if (delay) {
        /* the fault build's X-SG-Fault-Sign-Delay */
        ngx_msleep(delay);
    }

    ok = (sg_signer_sign(signer, encoding, body->data, body->len,
                         (char *) signature->data, &signature->len)
          == 0);

    *ns = ngx_http_sg_sign_metrics_clock() - start;

    return ok;
}


/* CONTRACT steps 6 and 7; fail closed: never an unsigned request */

static ngx_int_t
ngx_http_sg_sign_finish(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx)
{
    ngx_sg_sign_secure_heap_check(r->connection->log);
    ngx_http_sg_sign_metrics_signing(r, ctx->pooled, ctx->sign_time);

    if (!ctx->signed_ok) {
        if (sg_signer_pkcs11(ctx->signer) != NULL) {
            ngx_http_sg_sign_hsm_log(r, ctx, sg_signer_pkcs11(ctx->signer));

        } else {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "sg_sign: signing failed with key sha256:%s",
                          sg_signer_fingerprint(ctx->signer));
        }

        ctx->signer = NULL;

        return ngx_http_sg_sign_refuse(r, ctx,
                                       NGX_HTTP_SG_SIGN_SIGNING_FAILED, NULL);
    }

    if (sg_signer_pkcs11(ctx->signer) != NULL) {
        ngx_http_sg_sign_hsm_log(r, ctx, sg_signer_pkcs11(ctx->signer));
    }

    if (ngx_http_sg_sign_install(r, slcf, ctx) != NGX_OK) {
        ctx->signer = NULL;
        return ngx_http_sg_sign_fail(r, ctx, "installing the signed body");
    }

    ctx->gate.outcome = NGX_HTTP_SG_SIGN_SIGNED;

#if (NGX_SG_SIGN_FAULTS)
    /* what follows is proxying, not the gateway's */
    ngx_http_sg_sign_fault_disarm();
#endif

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "sg_sign: signed %uz bytes", ctx->body.len);

    return NGX_DECLINED;
}


/*
 * Inline signing blocks the worker: a client that left meanwhile (a
 * closed connection, an HTTP/2 RST_STREAM or GOAWAY) is still unread in
 * its socket.  The request goes on after one more pass of the event loop
 * (ngx_posted_next_events run after the next epoll_wait), which reads
 * that first, so a cancelled payout is never forwarded.
 */

static ngx_int_t
ngx_http_sg_sign_wait(ngx_http_request_t *r, ngx_http_sg_sign_ctx_t *ctx)
{
    ctx->resume.handler = ngx_http_sg_sign_resume_handler;
    ctx->resume.data = r;
    ctx->resume.log = r->connection->log;

    ngx_post_event(&ctx->resume, &ngx_posted_next_events);

    ngx_http_sg_sign_block(r);

    return NGX_AGAIN;
}


static void
ngx_http_sg_sign_resume_handler(ngx_event_t *ev)
{
    ngx_http_sg_sign_resume(ev->data);
}


/*
 * While a request waits for its signature it is blocked, so nginx cannot
 * free it, and ngx_http_test_reading notices a client that goes away; a
 * request terminated meanwhile has had its write handler replaced by
 * nginx's finalizer, and nothing is forwarded.
 */

static void
ngx_http_sg_sign_block(ngx_http_request_t *r)
{
    r->write_event_handler = ngx_http_sg_sign_signed_handler;
    r->read_event_handler = ngx_http_test_reading;

    r->main->blocked++;
    r->aio = 1;
}


static void
ngx_http_sg_sign_resume(ngx_http_request_t *r)
{
    r->main->blocked--;
    r->aio = 0;

    r->connection->write->handler(r->connection->write);
}


static void
ngx_http_sg_sign_signed_handler(ngx_http_request_t *r)
{
    ngx_http_sg_sign_ctx_t       *ctx;
    ngx_http_sg_sign_loc_conf_t  *slcf;

    if (r->aio) {
        /* a write event while the signature is made */
        return;
    }

    ngx_http_set_log_request(r->connection->log, r);

    r->read_event_handler = ngx_http_block_reading;

    ctx = ngx_http_get_module_ctx(r, ngx_http_sg_sign_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_sg_sign_module);

    ngx_http_sg_sign_gate_done(r, &ctx->gate,
                               ngx_http_sg_sign_finish(r, slcf, ctx));
}


#if (NGX_THREADS)

/*
 * An RSA signature costs a fraction of a millisecond of CPU: in a thread
 * pool it does not hold up the worker's other connections.  The request
 * waits blocked, as for inline signing, and the task's completion event
 * resumes it.
 */

static ngx_int_t
ngx_http_sg_sign_post_task(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx)
{
    ngx_thread_task_t            *task;
    ngx_http_sg_sign_task_ctx_t  *tctx;

    task = ngx_http_sg_sign_alloc(ngx_thread_task_alloc(r->pool,
                                         sizeof(ngx_http_sg_sign_task_ctx_t)));
    if (task == NULL) {
        return ngx_http_sg_sign_fail(r, ctx, "allocating a thread task");
    }

    tctx = task->ctx;
    tctx->ctx = ctx;
    tctx->encoding = slcf->encoding;
    tctx->queued = ngx_http_sg_sign_metrics_queue_add(r, slcf->thread_pool);

    ctx->pooled = 1;

    task->handler = ngx_http_sg_sign_thread_handler;
    task->event.handler = ngx_http_sg_sign_resume_handler;
    task->event.data = r;

    if (ngx_thread_task_post(slcf->thread_pool, task) != NGX_OK) {
        ngx_http_sg_sign_metrics_queue_sub(tctx->queued);
        return ngx_http_sg_sign_refuse(r, ctx,
                                       NGX_HTTP_SG_SIGN_SIGNING_FAILED, NULL);
    }

    ngx_http_sg_sign_block(r);

    return NGX_AGAIN;
}


static void
ngx_http_sg_sign_thread_handler(void *data, ngx_log_t *log)
{
    ngx_http_sg_sign_task_ctx_t  *tctx = data;
    ngx_http_sg_sign_ctx_t       *ctx = tctx->ctx;

    ngx_http_sg_sign_metrics_queue_sub(tctx->queued);

    ctx->signed_ok = ngx_http_sg_sign_sign(ctx->signer, tctx->encoding,
                                           &ctx->body, &ctx->signature,
                                           ngx_http_sg_sign_delay(ctx),
                                           &ctx->sign_time);
}


/*
 * A PKCS#11 key always signs in a thread (an HSM call blocks), and the
 * request waits sg_sign_timeout at most.  As in post_task, the request
 * resumes through ngx_http_sg_sign_signed_handler, blocked meanwhile, so
 * a client that goes away gets nothing forwarded.
 */

static ngx_int_t
ngx_http_sg_sign_post_hsm(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx)
{
    ngx_http_sg_sign_hsm_task_t  *t;

    t = ngx_http_sg_sign_alloc(ngx_alloc(sizeof(ngx_http_sg_sign_hsm_task_t)
                                         + ctx->body.len
                                         + ctx->signature.len,
                                         r->connection->log));
    if (t == NULL) {
        return ngx_http_sg_sign_fail(r, ctx, "allocating a PKCS#11 task");
    }

    ngx_memzero(t, sizeof(ngx_http_sg_sign_hsm_task_t));

    t->request = r;
    t->ctx = ctx;
    t->signer = ctx->signer;
    t->encoding = slcf->encoding;
#if (NGX_SG_SIGN_FAULTS)
    t->sign_delay = ctx->sign_delay;
#endif

    t->body.data = (u_char *) (t + 1);
    t->body.len = ctx->body.len;
    ngx_memcpy(t->body.data, ctx->body.data, ctx->body.len);

    t->signature.data = t->body.data + t->body.len;
    t->signature.len = ctx->signature.len;

    t->task.ctx = t;
    t->task.handler = ngx_http_sg_sign_hsm_thread_handler;
    t->task.event.handler = ngx_http_sg_sign_hsm_done_handler;
    t->task.event.data = t;
    t->task.event.log = ngx_cycle->log;

    t->timer.handler = ngx_http_sg_sign_hsm_timeout_handler;
    t->timer.data = t;
    t->timer.log = r->connection->log;

    t->queued = ngx_http_sg_sign_metrics_queue_add(r, slcf->thread_pool);
    t->posted = ngx_http_sg_sign_metrics_clock();

    ctx->pooled = 1;

    if (ngx_thread_task_post(slcf->thread_pool, &t->task) != NGX_OK) {
        ngx_http_sg_sign_metrics_queue_sub(t->queued);
        ngx_free(t);
        return ngx_http_sg_sign_refuse(r, ctx,
                                       NGX_HTTP_SG_SIGN_SIGNING_FAILED, NULL);
    }

    ctx->hsm_task = t;
    ngx_add_timer(&t->timer, slcf->sign_timeout);

    ngx_http_sg_sign_block(r);

    return NGX_AGAIN;
}


/* in a worker thread: touches nothing but the task's own block */

static void
ngx_http_sg_sign_hsm_thread_handler(void *data, ngx_log_t *log)
{
    ngx_http_sg_sign_hsm_task_t  *t = data;

    ngx_http_sg_sign_metrics_queue_sub(t->queued);

    t->signed_ok = ngx_http_sg_sign_sign(t->signer, t->encoding, &t->body,
                                         &t->signature,
                                         ngx_http_sg_sign_delay(t),
                                         &t->sign_time);
}


static void
ngx_http_sg_sign_hsm_done_handler(ngx_event_t *ev)
{
    ngx_http_request_t           *r;
    ngx_http_sg_sign_ctx_t       *ctx;
    ngx_http_sg_sign_hsm_task_t  *t;

    t = ev->data;
    r = t->request;

    if (r == NULL) {
        /* the request gave up on it (timeout) or is gone */
        ngx_free(t);
        return;
    }

    ctx = t->ctx;
    ctx->hsm_task = NULL;

    if (t->timer.timer_set) {
        ngx_del_timer(&t->timer);
    }

    ctx->signed_ok = t->signed_ok;
    ctx->sign_time = t->sign_time;

    if (t->signed_ok) {
        ngx_memcpy(ctx->signature.data, t->signature.data,
                   t->signature.len);
        ctx->signature.len = t->signature.len;
    }

    ngx_free(t);

    ngx_http_sg_sign_resume(r);
}


static void
ngx_http_sg_sign_hsm_timeout_handler(ngx_event_t *ev)
{
    ngx_http_request_t           *r;
    ngx_http_sg_sign_ctx_t       *ctx;
    ngx_http_sg_sign_hsm_task_t  *t;

    t = ev->data;
    r = t->request;
    ctx = t->ctx;

    /* the thread still owns the task: its completion frees it */
    t->request = NULL;
    ctx->hsm_task = NULL;

    ctx->signed_ok = 0;
    ctx->hsm_timed_out = 1;

    /* sg_sign_signing_seconds: it took sg_sign_timeout at least */
    ctx->sign_time = ngx_http_sg_sign_metrics_clock() - t->posted;

    ngx_http_sg_sign_resume(r);
}

#endif


/* the request ends while its PKCS#11 task runs: the task frees itself */

static void
ngx_http_sg_sign_hsm_detach(ngx_http_sg_sign_ctx_t *ctx)
{
#if (NGX_THREADS)
    ngx_http_sg_sign_hsm_task_t  *t;

    t = ctx->hsm_task;

    if (t == NULL) {
        return;
    }

    ctx->hsm_task = NULL;
    t->request = NULL;

    if (t->timer.timer_set) {
        ngx_del_timer(&t->timer);
    }
#endif
}


/*
 * A lost token fails every request until it is back: the log says so
 * once, then at most every SG_PKCS11_LOG_EVERY seconds, with a count, and
 * once more when the key signs again.
 */

static void
ngx_http_sg_sign_hsm_log(ngx_http_request_t *r, ngx_http_sg_sign_ctx_t *ctx,
    sg_pkcs11_key_t *p11)
{
    const char     *reason;
    unsigned long   count, rv;

    /* sg_sign_hsm_up: a call that has not returned in time is down too */
    ngx_http_sg_sign_metrics_hsm(sg_signer_fingerprint(ctx->signer),
                                 !ctx->hsm_timed_out && sg_pkcs11_up(p11));

    if (ctx->signed_ok) {
        if (sg_pkcs11_recovered(p11, &count)) {
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "sg_sign: PKCS#11 key sha256:%s (%s) signs again; "
                          "%uL failed since the last such line",
                          sg_signer_fingerprint(ctx->signer),
                          sg_pkcs11_uri(p11), (uint64_t) count);
        }

        return;
    }

    if (!sg_pkcs11_fault_log(p11, ngx_time(), &count)) {
        return;
    }

    if (ctx->hsm_timed_out) {
        reason = "the HSM did not answer within sg_sign_timeout";

    } else {
        rv = sg_pkcs11_last_error(p11);
        reason = (rv != 0) ? sg_pkcs11_strerror(rv)
                           : "waiting to open a session again";
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "sg_sign: signing failed with PKCS#11 key sha256:%s "
                  "(%s): %s; %uL failed since the last such line",
                  sg_signer_fingerprint(ctx->signer), sg_pkcs11_uri(p11),
                  reason, (uint64_t) count);
}


/*
 * Puts the signed body and the gateway's headers on the request: the
 * caller's copies of ngx_http_sg_sign_signed_headers go, ours are added.
 * Everything that can fail comes first; once the request is touched
 * nothing can, so a failure never leaves half a signed request behind.
 */

static ngx_int_t
ngx_http_sg_sign_install(ngx_http_request_t *r,
    ngx_http_sg_sign_loc_conf_t *slcf, ngx_http_sg_sign_ctx_t *ctx)
{
    u_char       *p;
    ngx_buf_t    *b;
    ngx_str_t     submerchant, length, type;
    ngx_chain_t  *cl;

    b = ngx_http_sg_sign_alloc(ngx_calloc_buf(r->pool));
    if (b == NULL) {
        return NGX_ERROR;
    }

    cl = ngx_http_sg_sign_alloc(ngx_alloc_chain_link(r->pool));
    if (cl == NULL) {
        return NGX_ERROR;
    }

    p = ngx_http_sg_sign_alloc(ngx_pnalloc(r->pool, NGX_OFF_T_LEN));
    if (p == NULL) {
        return NGX_ERROR;
    }

    length.data = p;
    length.len = ngx_sprintf(p, "%uz", ctx->body.len) - p;

    ngx_str_null(&submerchant);

    if (slcf->submerchant
        && (ngx_http_sg_sign_fails()
            || ngx_http_complex_value(r, slcf->submerchant, &submerchant)
               != NGX_OK))
    {
        return NGX_ERROR;
    }

    if (ngx_http_sg_sign_strip_headers(r, ngx_http_sg_sign_signed_headers,
                                  sizeof(ngx_http_sg_sign_signed_headers)
                                  / sizeof(ngx_str_t),
                                  NGX_HTTP_SG_SIGN_PUSHED)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* from here on nothing fails: the pushes go into reserved room */

    b->start = ctx->body.data;
    b->pos = b->start;
    b->last = b->start + ctx->body.len;
    b->end = b->last;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    cl->buf = b;
    cl->next = NULL;

    r->request_body->bufs = cl;

    /* the canonical body goes out with a Content-Length, never chunked */

    r->headers_in.chunked = 0;
    r->headers_in.transfer_encoding = NULL;
    r->headers_in.content_length_n = ctx->body.len;

    ngx_str_set(&type, "application/json");

    (void) ngx_http_sg_sign_push_header(r, &ngx_http_sg_sign_h_project,
                                        &slcf->project);
    (void) ngx_http_sg_sign_push_header(r, &ngx_http_sg_sign_h_sign,
                                        &ctx->signature);

    if (submerchant.len) {
        (void) ngx_http_sg_sign_push_header(r,
                                            &ngx_http_sg_sign_h_submerchant,
                                            &submerchant);
    }

    r->headers_in.content_type =
        ngx_http_sg_sign_push_header(r, &ngx_http_sg_sign_h_content_type,
                                     &type);
    r->headers_in.content_length =
        ngx_http_sg_sign_push_header(r, &ngx_http_sg_sign_h_content_length,
                                     &length);

    return NGX_OK;
}


/* the gate's refusal: a caller byte never leaves with an error */

static ngx_int_t
ngx_http_sg_sign_refuse(ngx_http_request_t *r, ngx_http_sg_sign_ctx_t *ctx,
    ngx_http_sg_sign_outcome_e outcome, const char *description)
{
    return ngx_http_sg_sign_gate_refuse(r, &ngx_http_sg_sign_gate,
                                        &ctx->gate, outcome, description);
}


/* one way to fail: 500 signing_failed, logged as the gateway's own error */

static ngx_int_t
ngx_http_sg_sign_fail(ngx_http_request_t *r, ngx_http_sg_sign_ctx_t *ctx,
    const char *what)
{
    return ngx_http_sg_sign_gate_fail(r, &ngx_http_sg_sign_gate, &ctx->gate,
                                      what);
}


/* the provider's error shape for refusals and nginx's errors of the table */

static ngx_int_t
ngx_http_sg_sign_header_filter(ngx_http_request_t *r)
{
    return ngx_http_sg_sign_gate_header_filter(r, &ngx_http_sg_sign_gate);
}


static ngx_int_t
ngx_http_sg_sign_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    return ngx_http_sg_sign_gate_body_filter(r, in, &ngx_http_sg_sign_gate);
}


static ngx_int_t
ngx_http_sg_sign_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                  *p;
    ngx_str_t                value;
    ngx_http_sg_sign_ctx_t  *ctx;

    /* after an error_page redirect too: the log says what the gateway did */
    ctx = ngx_http_sg_sign_gate_last_ctx(r, &ngx_http_sg_sign_gate);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (data == 4) {
        /* $sg_sign_method: known from the precontent phase on */
        if (ctx->method.len == 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        value = ctx->method;
        goto found;
    }

    if (ctx->gate.outcome == NGX_HTTP_SG_SIGN_PENDING) {
        v->not_found = 1;
        return NGX_OK;
    }

    switch (data) {

    case 0: /* $sg_sign_status */
        value = ngx_http_sg_sign_outcomes[ctx->gate.outcome].code;
        break;

    case 1: /* $sg_sign_key_fingerprint */
        if (ctx->signer == NULL) {
            v->not_found = 1;
            return NGX_OK;
        }

        value.data = (u_char *) sg_signer_fingerprint(ctx->signer);
        value.len = SG_SHA256_HEX_LEN;
        break;

    case 2: /* $sg_sign_body_sha256 */
        if (ctx->gate.outcome != NGX_HTTP_SG_SIGN_SIGNED) {
            v->not_found = 1;
            return NGX_OK;
        }

        p = ngx_pnalloc(r->pool, SG_SHA256_HEX_LEN + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        sg_sha256_hex(ctx->body.data, ctx->body.len, (char *) p);

        value.data = p;
        value.len = SG_SHA256_HEX_LEN;
        break;

    default: /* $sg_sign_session_id */
        if (ctx->session_id.data == NULL) {
            v->not_found = 1;
            return NGX_OK;
        }

        value = ctx->session_id;
        break;
    }

found:

    v->len = value.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = value.data;

    return NGX_OK;
}


/*
 * For the metrics (ngx_sg_sign_metrics.c): the outcome and the method of
 * the last sg_sign location the request entered, as $sg_sign_status and
 * $sg_sign_method say.  Without auto the method is the name of the
 * location's schema.
 */

ngx_int_t
ngx_http_sg_sign_request_info(ngx_http_request_t *r,
    ngx_http_sg_sign_request_info_t *info)
{
    ngx_uint_t                     i;
    sg_schema_t                   *schema;
    ngx_http_sg_sign_ctx_t        *ctx;
    ngx_http_sg_sign_schema_t     *s;
    ngx_http_sg_sign_loc_conf_t   *slcf;
    ngx_http_sg_sign_main_conf_t  *smcf;

    ctx = ngx_http_sg_sign_gate_last_ctx(r, &ngx_http_sg_sign_gate);

    if (ctx == NULL) {
        return NGX_DECLINED;
    }

    info->outcome = ctx->gate.outcome;
    info->is_signed = (ctx->gate.outcome == NGX_HTTP_SG_SIGN_SIGNED);
    info->method = ctx->method;

    if (ctx->gate.exited) {
        info->upstream = ctx->gate.exit_state;

    } else {
        info->upstream = r->upstream ? r->upstream->state : NULL;
    }

    if (info->method.len) {
        return NGX_OK;
    }

    schema = ctx->schema;

    if (schema == NULL) {
        /* refused before the precontent phase */
        slcf = ngx_http_get_module_loc_conf(r, ngx_http_sg_sign_module);

        if (slcf->enable && !slcf->auto_method) {
            schema = slcf->schema;
        }
    }

    smcf = ngx_http_get_module_main_conf(r, ngx_http_sg_sign_module);
    s = smcf->schemas.elts;

    for (i = 0; schema && i < smcf->schemas.nelts; i++) {
        if (s[i].schema == schema) {
            info->method = s[i].name;
            break;
        }
    }

    return NGX_OK;
}


/* an outcome's code, NULL past the table */

ngx_str_t *
ngx_http_sg_sign_outcome_code(ngx_uint_t outcome)
{
    if (outcome >= sizeof(ngx_http_sg_sign_outcomes)
                   / sizeof(ngx_http_sg_sign_outcome_t))
    {
        return NULL;
    }

    return &ngx_http_sg_sign_outcomes[outcome].code;
}


static ngx_int_t
ngx_http_sg_sign_add_variables(ngx_conf_t *cf)
{
    return ngx_http_sg_sign_gate_add_variables(cf, ngx_http_sg_sign_vars);
}


static void *
ngx_http_sg_sign_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_sg_sign_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_sg_sign_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&smcf->keys, cf->pool, 2,
                       sizeof(ngx_http_sg_sign_key_t))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&smcf->schemas, cf->pool, 4,
                       sizeof(ngx_http_sg_sign_schema_t))
        != NGX_OK)
    {
        return NULL;
    }

    return smcf;
}


static void *
ngx_http_sg_sign_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_sg_sign_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_sg_sign_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     slcf->project = { 0, NULL };
     *     slcf->key = { 0, NULL };
     *     slcf->passphrase_file = { 0, NULL };
     *     slcf->signer = NULL;
     *     slcf->methods_file = { 0, NULL };
     */

    slcf->enable = NGX_CONF_UNSET;
    slcf->schema = NGX_CONF_UNSET_PTR;
    slcf->auto_method = NGX_CONF_UNSET_UINT;
    slcf->methods = NGX_CONF_UNSET_PTR;
    slcf->encoding = NGX_CONF_UNSET_UINT;
    slcf->submerchant = NGX_CONF_UNSET_PTR;
    slcf->max_body_size = NGX_CONF_UNSET_SIZE;
#if (NGX_THREADS)
    slcf->thread_pool = NGX_CONF_UNSET_PTR;
#endif
    slcf->sign_timeout = NGX_CONF_UNSET_MSEC;

    return slcf;
}


static char *
ngx_http_sg_sign_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_sg_sign_loc_conf_t *prev = parent;
    ngx_http_sg_sign_loc_conf_t *conf = child;

    static ngx_str_t  default_schema =
                          ngx_string(NGX_HTTP_SG_SIGN_DEFAULT_SCHEMA);

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    /* "sg_sign_schema" sets both: inherited together */
    if (conf->auto_method == NGX_CONF_UNSET_UINT) {
        conf->auto_method = prev->auto_method;
        conf->schema = prev->schema;
    }

    if (conf->auto_method == NGX_CONF_UNSET_UINT) {
        conf->auto_method = 0;
    }

    if (conf->schema == NGX_CONF_UNSET_PTR) {
        conf->schema = NULL;
    }

    ngx_conf_merge_ptr_value(conf->methods, prev->methods, NULL);
    ngx_conf_merge_str_value(conf->project, prev->project, "");
    ngx_conf_merge_str_value(conf->passphrase_file, prev->passphrase_file,
                             "");
    ngx_conf_merge_uint_value(conf->encoding, prev->encoding,
                              SG_ENCODING_BASE64);
    ngx_conf_merge_ptr_value(conf->submerchant, prev->submerchant, NULL);
    ngx_conf_merge_size_value(conf->max_body_size, prev->max_body_size,
                              64 * 1024);
#if (NGX_THREADS)
    if (conf->thread_pool == NGX_CONF_UNSET_PTR) {
        conf->pool_off_file = prev->pool_off_file;
        conf->pool_off_line = prev->pool_off_line;
    }

    ngx_conf_merge_ptr_value(conf->thread_pool, prev->thread_pool, NULL);
#endif
    ngx_conf_merge_msec_value(conf->sign_timeout, prev->sign_timeout, 5000);

    if (conf->key.data == NULL) {
        conf->key = prev->key;
        conf->key_file = prev->key_file;
        conf->key_line = prev->key_line;
    }

    if (conf->enable_file.data == NULL) {
        conf->enable_file = prev->enable_file;
        conf->enable_line = prev->enable_line;
    }

    if (conf->methods_file.data && !conf->auto_method) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"sg_sign_method_schema\" needs \"sg_sign_schema "
                      "auto\" in %V:%ui", &conf->methods_file,
                      conf->methods_line);
        return NGX_CONF_ERROR;
    }

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    if (conf->project.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"sg_sign\" is on but \"sg_sign_project\" is not set "
                      "in %V:%ui", &conf->enable_file, conf->enable_line);
        return NGX_CONF_ERROR;
    }

    if (conf->key.len == 0) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"sg_sign\" is on but \"sg_sign_key\" is not set "
                      "in %V:%ui", &conf->enable_file, conf->enable_line);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_sg_sign_check_forbidden(cf, &conf->enable_file,
                                         conf->enable_line)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    conf->signer = ngx_http_sg_sign_load_key(cf, conf);
    if (conf->signer == NULL) {
        return NGX_CONF_ERROR;
    }

    if (sg_signer_pkcs11(conf->signer) != NULL) {
#if (NGX_THREADS)
        /* an HSM call blocks: never on the event loop */
        if (conf->thread_pool == NULL && conf->pool_off_line) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"sg_sign_thread_pool off\" in %V:%ui cannot "
                          "sign with the PKCS#11 key of %V:%ui: an HSM "
                          "call blocks, it runs in a thread pool",
                          &conf->pool_off_file, conf->pool_off_line,
                          &conf->key_file, conf->key_line);
            return NGX_CONF_ERROR;
        }

        if (conf->thread_pool == NULL) {
            conf->thread_pool = ngx_thread_pool_add(cf, NULL);
            if (conf->thread_pool == NULL) {
                return NGX_CONF_ERROR;
            }

            if (ngx_http_sg_sign_metrics_pool(cf, conf->thread_pool,
                                              &ngx_http_sg_sign_default_pool)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }
        }
#else
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "a PKCS#11 key needs nginx built with threads "
                      "(--with-threads) in %V:%ui", &conf->key_file,
                      conf->key_line);
        return NGX_CONF_ERROR;
#endif
    }

    if (conf->auto_method) {
        return ngx_http_sg_sign_check_auto(cf, conf);
    }

    if (conf->schema == NULL) {
        conf->schema = ngx_http_sg_sign_schema_builtin(cf, &default_schema);
        if (conf->schema == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * Loads each (key, passphrase file) pair once per configuration, here in
 * the master: workers inherit the key and never open the file.
 */

static sg_signer_t *
ngx_http_sg_sign_load_key(ngx_conf_t *cf, ngx_http_sg_sign_loc_conf_t *slcf)
{
    char                           errbuf[SG_SIGNER_ERRBUF_SIZE * 2];
    ngx_str_t                      key, pass, module;
    ngx_uint_t                     i;
    ngx_pool_cleanup_t            *cln;
    ngx_http_sg_sign_key_t        *k;
    ngx_http_sg_sign_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_sg_sign_module);

    k = smcf->keys.elts;

    for (i = 0; i < smcf->keys.nelts; i++) {
        if (k[i].key.data == slcf->key.data
            && k[i].passphrase_file.len == slcf->passphrase_file.len
            && ngx_strncmp(k[i].passphrase_file.data,
                           slcf->passphrase_file.data,
                           slcf->passphrase_file.len)
               == 0)
        {
            return k[i].signer;
        }
    }

    /* resolved against the prefix and NUL-terminated for the core */

    key = slcf->key;

    /* a PKCS#11 URI is no file name; its value is NUL-terminated */
    if (!sg_pkcs11_is_uri((const char *) key.data)
        && ngx_conf_full_name(cf->cycle, &key, 1) != NGX_OK)
    {
        return NULL;
    }

    pass = slcf->passphrase_file;

    if (pass.len && ngx_conf_full_name(cf->cycle, &pass, 1) != NGX_OK) {
        return NULL;
    }

    k = ngx_array_push(&smcf->keys);
    if (k == NULL) {
        return NULL;
    }

    k->key = slcf->key;
    k->passphrase_file = slcf->passphrase_file;

    if (sg_pkcs11_is_uri((const char *) key.data)) {
        module = smcf->pkcs11_module;

        if (module.len
            && ngx_conf_full_name(cf->cycle, &module, 0) != NGX_OK)
        {
            return NULL;
        }

        /* the passphrase file is the token's user PIN */
        k->signer = sg_signer_load_pkcs11((const char *) key.data,
                                          module.len
                                          ? (const char *) module.data : NULL,
                                          pass.len
                                          ? (const char *) pass.data : NULL,
                                          errbuf, sizeof(errbuf));

    } else {
        k->signer = sg_signer_load((const char *) key.data,
                                   pass.len ? (const char *) pass.data : NULL,
                                   errbuf, sizeof(errbuf));
    }

    if (k->signer == NULL) {
        smcf->keys.nelts--;

        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "sg_sign: %s in %V:%ui",
                      errbuf, &slcf->key_file, slcf->key_line);

        /* OpenSSL's decoder says "unsupported" when the heap is full */
        if (ngx_sg_sign_secure_heap_free()
            < NGX_HTTP_SG_SIGN_SECURE_KEY_ROOM)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "sg_sign: the secure heap has %uz bytes free, "
                          "maybe too few for this key: raise "
                          "\"sg_sign_secure_heap\"",
                          ngx_sg_sign_secure_heap_free());
        }

        return NULL;
    }

    ngx_sg_sign_secure_heap_key_loaded(cf);

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        sg_signer_free(k->signer);
        return NULL;
    }

    cln->handler = ngx_http_sg_sign_free_key;
    cln->data = k->signer;

    ngx_log_error(NGX_LOG_NOTICE, cf->log, 0,
                  "sg_sign: loaded RSA-%d key sha256:%s from %V",
                  sg_signer_bits(k->signer), sg_signer_fingerprint(k->signer),
                  &key);

    if (ngx_http_sg_sign_metrics_key(cf, sg_signer_fingerprint(k->signer),
                                     sg_signer_pkcs11(k->signer) ? "pkcs11"
                                                                 : "file",
                                     ngx_time())
        != NGX_OK)
    {
        return NULL;
    }

    return k->signer;
}


static void
ngx_http_sg_sign_free_key(void *data)
{
    sg_signer_free(data);
}


static char *
ngx_http_sg_sign_enable(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sg_sign_loc_conf_t *slcf = conf;

    slcf->enable_file = cf->conf_file->file.name;
    slcf->enable_line = cf->conf_file->line;

    return ngx_conf_set_flag_slot(cf, cmd, conf);
}


static char *
ngx_http_sg_sign_set_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sg_sign_loc_conf_t *slcf = conf;

    char  *rv;

    rv = ngx_conf_set_str_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (slcf->key.len == 0) {
        return "must name a key file";
    }

    slcf->key_file = cf->conf_file->file.name;
    slcf->key_line = cf->conf_file->line;

    return NGX_CONF_OK;
}


/*
 * "sg_sign_schema NAME | FILE | auto [unknown=object]", compiled here, in
 * the master, at start, "nginx -t" and reload: a schema that does not
 * compile fails the configuration, and on reload the old one keeps
 * serving.
 */

static char *
ngx_http_sg_sign_set_schema(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sg_sign_loc_conf_t *slcf = conf;

    ngx_str_t  *value, object;

    if (slcf->auto_method != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "auto") != 0) {
        if (cf->args->nelts > 2) {
            return "takes one schema (only \"auto\" takes \"unknown=\")";
        }

        slcf->auto_method = 0;
        slcf->schema = ngx_http_sg_sign_schema_load(cf, &value[1]);

        return (slcf->schema != NULL) ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    slcf->auto_method = 1;
    slcf->schema = NULL;

    if (cf->args->nelts > 2) {
        if (ngx_strcmp(value[2].data, "unknown=object") != 0) {
            return "takes \"unknown=object\" after \"auto\", or nothing";
        }

        ngx_str_set(&object, NGX_HTTP_SG_SIGN_ANY_OBJECT);

        slcf->schema = ngx_http_sg_sign_schema_builtin(cf, &object);
        if (slcf->schema == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    /* compiled now, so that a failure names this line */

    if (ngx_http_sg_sign_auto_methods(cf) == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * "sg_sign_method_schema METHOD SCHEMA": under auto, METHOD's rules are
 * SCHEMA instead of its built-in's, or METHOD is added if no built-in
 * has it.
 */

static char *
ngx_http_sg_sign_set_method_schema(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_sg_sign_loc_conf_t *slcf = conf;

    ngx_str_t                  *value;
    sg_schema_t                *schema;
    ngx_http_sg_sign_schema_t  *m;

    value = cf->args->elts;

    if (!ngx_http_sg_sign_method_name(&value[1])) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "sg_sign: \"%V\" is not a method name: "
                           "segments of a-z and \"_\" joined by single "
                           "\"/\", as in \"session/start/payout\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    if (slcf->methods == NGX_CONF_UNSET_PTR) {
        slcf->methods = ngx_array_create(cf->pool, 4,
                                         sizeof(ngx_http_sg_sign_schema_t));
        if (slcf->methods == NULL) {
            return NGX_CONF_ERROR;
        }

        slcf->methods_file = cf->conf_file->file.name;
        slcf->methods_line = cf->conf_file->line;
    }

    if (ngx_http_sg_sign_method_find(slcf->methods, &value[1]) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "sg_sign: the method \"%V\" already has a "
                           "schema in this location", &value[1]);
        return NGX_CONF_ERROR;
    }

    schema = ngx_http_sg_sign_schema_load(cf, &value[2]);
    if (schema == NULL) {
        return NGX_CONF_ERROR;
    }

    m = ngx_array_push(slcf->methods);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    m->name = value[1];
    m->schema = schema;

    return NGX_CONF_OK;
}


/*
 * "sg_sign_schema auto" where sg_sign is on: the method is the URI after
 * the location's name, which only a prefix location has (an "if" block
 * or "limit_except" carries the name of the location around it).
 */

static char *
ngx_http_sg_sign_check_auto(ngx_conf_t *cf, ngx_http_sg_sign_loc_conf_t *slcf)
{
    char                      *kind;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    kind = NULL;

    if (clcf->named) {
        kind = "a named location";

    } else if (clcf->exact_match) {
        kind = "an exact location";

#if (NGX_PCRE)
    } else if (clcf->regex) {
        kind = "a regex location";
#endif
    }

    if (kind) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"sg_sign_schema auto\" cannot be used in %s "
                      "(\"%V\"): the method is the URI after the name of a "
                      "prefix location, as in \"location /api/v1/\", "
                      "in %V:%ui", kind, &clcf->name, &slcf->enable_file,
                      slcf->enable_line);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_sg_sign_auto_methods(cf) == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * auto's table: every built-in schema but "object" (any JSON object, no
 * method), by its name, compiled once per configuration.  The names come
 * from the schema files' paths; one that is not a method's name would go
 * into the request line sent upstream: refused.
 */

static ngx_array_t *
ngx_http_sg_sign_auto_methods(ngx_conf_t *cf)
{
    ngx_str_t                      name;
    ngx_uint_t                     i;
    ngx_array_t                   *methods;
    sg_schema_t                   *schema;
    ngx_http_sg_sign_schema_t     *m;
    ngx_http_sg_sign_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_sg_sign_module);

    if (smcf->methods) {
        return smcf->methods;
    }

    methods = ngx_array_create(cf->pool, 16,
                               sizeof(ngx_http_sg_sign_schema_t));
    if (methods == NULL) {
        return NULL;
    }

    for (i = 0; sg_schema_builtin_names[i] != NULL; i++) {
        name.data = (u_char *) sg_schema_builtin_names[i];
        name.len = ngx_strlen(name.data);

        if (name.len == sizeof(NGX_HTTP_SG_SIGN_ANY_OBJECT) - 1
            && ngx_strncmp(name.data, NGX_HTTP_SG_SIGN_ANY_OBJECT,
                           name.len)
               == 0)
        {
            continue;
        }

        if (!ngx_http_sg_sign_method_name(&name)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "sg_sign: the built-in schema \"%V\" is "
                               "not named as a method (schemas/ in the "
                               "module's source)", &name);
            return NULL;
        }

        schema = ngx_http_sg_sign_schema_builtin(cf, &name);
        if (schema == NULL) {
            return NULL;
        }

        m = ngx_array_push(methods);
        if (m == NULL) {
            return NULL;
        }

        m->name = name;
        m->schema = schema;
    }

    smcf->methods = methods;

    return methods;
}


/* a schema file (a path: "/...", "./..." or "*.json") or a built-in name */

static sg_schema_t *
ngx_http_sg_sign_schema_load(ngx_conf_t *cf, ngx_str_t *value)
{
    ngx_str_t  name;

    name = *value;

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "sg_sign: an empty name: name a built-in schema "
                           "or a schema file");
        return NULL;
    }

    /* a built-in's name is never one of these: no guessing between them */

    if (name.data[0] == '/'
        || (name.len >= 2 && ngx_strncmp(name.data, "./", 2) == 0)
        || (name.len >= 5
            && ngx_strncmp(name.data + name.len - 5, ".json", 5) == 0))
    {
        /* as ssl_certificate: relative to the configuration's directory */
        if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
            return NULL;
        }

        return ngx_http_sg_sign_schema_file(cf, &name);
    }

    return ngx_http_sg_sign_schema_builtin(cf, &name);
}


/* each built-in is compiled once per configuration, shared by locations */

static sg_schema_t *
ngx_http_sg_sign_schema_builtin(ngx_conf_t *cf, ngx_str_t *name)
{
    u_char                        *list, *p;
    size_t                         len;
    ngx_uint_t                     i;
    sg_schema_t                   *schema;
    const char                    *n;
    sg_schema_error_t              err;
    ngx_http_sg_sign_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_sg_sign_module);

    schema = ngx_http_sg_sign_schema_find(smcf, name);
    if (schema != NULL) {
        return schema;
    }

    /* the listed names only: "sg:common" is a built-in, not a schema */

    for (i = 0; sg_schema_builtin_names[i] != NULL; i++) {
        n = sg_schema_builtin_names[i];

        if (ngx_strlen(n) == name->len
            && ngx_strncmp(n, name->data, name->len) == 0)
        {
            break;
        }
    }

    if (sg_schema_builtin_names[i] == NULL) {
        len = 0;

        for (i = 0; sg_schema_builtin_names[i] != NULL; i++) {
            len += ngx_strlen(sg_schema_builtin_names[i])
                   + sizeof("\"\", ") - 1;
        }

        list = ngx_pnalloc(cf->temp_pool, len + 1);
        if (list == NULL) {
            return NULL;
        }

        p = list;

        for (i = 0; sg_schema_builtin_names[i] != NULL; i++) {
            if (i > 0) {
                p = ngx_cpymem(p, ", ", 2);
            }

            *p++ = '"';
            p = ngx_cpymem(p, sg_schema_builtin_names[i],
                           ngx_strlen(sg_schema_builtin_names[i]));
            *p++ = '"';
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "sg_sign: no built-in schema \"%V\": the "
                           "built-in schemas are %*s (a schema file's path "
                           "starts with \"/\" or \"./\" or ends in \".json\")",
                           name, (size_t) (p - list), list);
        return NULL;
    }

    schema = sg_schema_compile_builtin((const char *) name->data, name->len,
                                       &err);
    if (schema == NULL) {
        ngx_http_sg_sign_schema_error(cf, "built-in schema", name, &err);
        return NULL;
    }

    if (ngx_http_sg_sign_schema_keep(cf, smcf, name, schema) != NGX_OK) {
        return NULL;
    }

    return schema;
}


/*
 * An operator's schema file: the key files' ownership and write checks,
 * since whoever can write it can loosen the rules; its "$ref"s to
 * "sg:common#/definitions/..." resolve against the built-in definitions.
 */

static sg_schema_t *
ngx_http_sg_sign_schema_file(ngx_conf_t *cf, ngx_str_t *path)
{
    char                           errbuf[1024];
    char                           sha[SG_SHA256_HEX_LEN + 1];
    size_t                         len;
    unsigned char                 *text;
    sg_schema_t                   *schema, *common;
    sg_schema_error_t              err;
    ngx_http_sg_sign_main_conf_t  *smcf;

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_sg_sign_module);

    schema = ngx_http_sg_sign_schema_find(smcf, path);
    if (schema != NULL) {
        return schema;
    }

    /* compiled (and its cleanup added) before the first file's: freed last */
    common = ngx_http_sg_sign_schema_common(cf, smcf);
    if (common == NULL) {
        return NULL;
    }

    /* path is NUL-terminated: by the parser, or by ngx_conf_full_name() */
    text = sg_file_read((const char *) path->data, "schema file",
                        SG_FILE_RULES, NGX_HTTP_SG_SIGN_SCHEMA_FILE_MAX,
                        &len, errbuf, sizeof(errbuf));
    if (text == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "sg_sign: %s", errbuf);
        return NULL;
    }

    schema = sg_schema_compile((const char *) text, len, common, &err);

    /* which rules are live, for an operator to compare with the file */
    sg_sha256_hex(text, len, sha);

    free(text);

    if (schema == NULL) {
        ngx_http_sg_sign_schema_error(cf, "schema file", path, &err);
        return NULL;
    }

    if (ngx_http_sg_sign_schema_keep(cf, smcf, path, schema) != NGX_OK) {
        return NULL;
    }

    ngx_log_error(NGX_LOG_NOTICE, cf->log, 0,
                  "sg_sign: loaded schema file \"%V\" sha256:%s", path, sha);

    return schema;
}


static sg_schema_t *
ngx_http_sg_sign_schema_common(ngx_conf_t *cf,
    ngx_http_sg_sign_main_conf_t *smcf)
{
    sg_schema_error_t  err;

    static ngx_str_t   name = ngx_string("sg:common");

    if (smcf->common != NULL) {
        return smcf->common;
    }

    smcf->common = sg_schema_compile_builtin((const char *) name.data,
                                             name.len, &err);
    if (smcf->common == NULL) {
        ngx_http_sg_sign_schema_error(cf, "built-in schema", &name, &err);
        return NULL;
    }

    if (ngx_http_sg_sign_schema_keep(cf, smcf, NULL, smcf->common) != NGX_OK)
    {
        smcf->common = NULL;
        return NULL;
    }

    return smcf->common;
}


static sg_schema_t *
ngx_http_sg_sign_schema_find(ngx_http_sg_sign_main_conf_t *smcf,
    ngx_str_t *name)
{
    ngx_uint_t                  i;
    ngx_http_sg_sign_schema_t  *s;

    s = smcf->schemas.elts;

    for (i = 0; i < smcf->schemas.nelts; i++) {
        if (s[i].name.len == name->len
            && ngx_strncmp(s[i].name.data, name->data, name->len) == 0)
        {
            return s[i].schema;
        }
    }

    return NULL;
}


/*
 * Frees the schema with the configuration's pool (cleanups run last added
 * first) and, with a name, lists it for the next location that names it.
 */

static ngx_int_t
ngx_http_sg_sign_schema_keep(ngx_conf_t *cf,
    ngx_http_sg_sign_main_conf_t *smcf, ngx_str_t *name, sg_schema_t *schema)
{
    ngx_pool_cleanup_t         *cln;
    ngx_http_sg_sign_schema_t  *s;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        sg_schema_free(schema);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_sg_sign_free_schema;
    cln->data = schema;

    if (name == NULL) {
        return NGX_OK;
    }

    s = ngx_array_push(&smcf->schemas);
    if (s == NULL) {
        return NGX_ERROR;
    }

    s->name = *name;
    s->schema = schema;

    return NGX_OK;
}


/* where the schema is wrong: its line and the keyword's JSON pointer */

static void
ngx_http_sg_sign_schema_error(ngx_conf_t *cf, const char *what,
    ngx_str_t *name, sg_schema_error_t *err)
{
    if (err->line == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "sg_sign: %s \"%V\": %s",
                           what, name, err->message);

    } else if (err->pointer[0] == '\0') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "sg_sign: %s \"%V\" line %ud: %s",
                           what, name, err->line, err->message);

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "sg_sign: %s \"%V\" line %ud, at %s: %s",
                           what, name, err->line, err->pointer,
                           err->message);
    }
}


static void
ngx_http_sg_sign_free_schema(void *data)
{
    sg_schema_free(data);
}


#if (NGX_THREADS)

static char *
ngx_http_sg_sign_set_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_sg_sign_loc_conf_t *slcf = conf;

    ngx_str_t  *value;

    if (slcf->thread_pool != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        slcf->thread_pool = NULL;
        slcf->pool_off_file = cf->conf_file->file.name;
        slcf->pool_off_line = cf->conf_file->line;
        return NGX_CONF_OK;
    }

    /* nginx itself refuses a pool no "thread_pool" defines (but "default") */

    slcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);
    if (slcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_sg_sign_metrics_pool(cf, slcf->thread_pool, &value[1])
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}

#endif


#if (NGX_SG_SIGN_FAULTS)

/*
 * The test build: a request carrying "X-SG-Fault-Alloc: N" fails its N-th
 * allocation in this module (and logs it), "X-SG-Fault-Sign-Delay: ms"
 * makes its signing that slow.  One request at a time per worker.
 */

static ngx_uint_t  ngx_http_sg_sign_fault_at;
static ngx_uint_t  ngx_http_sg_sign_fault_seen;
static ngx_uint_t  ngx_http_sg_sign_fault_paused;   /* while proxying */


ngx_uint_t
ngx_http_sg_sign_fault(void)
{
    if (ngx_http_sg_sign_fault_at == 0
        || ++ngx_http_sg_sign_fault_seen != ngx_http_sg_sign_fault_at)
    {
        return 0;
    }

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "sg_sign: test fault at allocation %ui",
                  ngx_http_sg_sign_fault_seen);

    return 1;
}


static void
ngx_http_sg_sign_fault_arm(ngx_http_request_t *r, ngx_msec_t *sign_delay)
{
    ngx_int_t                        n;
    ngx_table_elt_t                 *h;
    ngx_http_sg_sign_header_iter_t   it;

    ngx_http_sg_sign_fault_at = 0;
    ngx_http_sg_sign_fault_seen = 0;
    ngx_http_sg_sign_fault_paused = 0;

    for (h = ngx_http_sg_sign_header_first(r, &it);
         h;
         h = ngx_http_sg_sign_header_next(&it))
    {
        n = ngx_atoi(h->value.data, h->value.len);

        if (n == NGX_ERROR) {
            continue;
        }

        if (h->key.len == sizeof("x-sg-fault-alloc") - 1
            && ngx_strncmp(h->lowcase_key, "x-sg-fault-alloc",
                           sizeof("x-sg-fault-alloc") - 1) == 0)
        {
            ngx_http_sg_sign_fault_at = n;

        } else if (h->key.len == sizeof("x-sg-fault-sign-delay") - 1
                   && ngx_strncmp(h->lowcase_key, "x-sg-fault-sign-delay",
                                  sizeof("x-sg-fault-sign-delay") - 1) == 0)
        {
            *sign_delay = n;
        }
    }
}


static void
ngx_http_sg_sign_fault_disarm(void)
{
    ngx_http_sg_sign_fault_paused = ngx_http_sg_sign_fault_at;
    ngx_http_sg_sign_fault_at = 0;
}


/* a location the request goes on to counts on from there: the way out */

static ngx_uint_t
ngx_http_sg_sign_fault_resume(void)
{
    if (ngx_http_sg_sign_fault_paused == 0) {
        return 0;
    }

    ngx_http_sg_sign_fault_at = ngx_http_sg_sign_fault_paused;
    ngx_http_sg_sign_fault_paused = 0;

    return 1;
}

#endif


static ngx_int_t
ngx_http_sg_sign_init(ngx_conf_t *cf)
{
    return ngx_http_sg_sign_gate_init(cf, &ngx_http_sg_sign_gate);
}


/*
 * PKCS#11 is not fork-safe: each worker initializes the module and opens
 * its own session before it serves.  A token that is not there yet does
 * not stop the worker: signing fails and retries, with a backoff.
 */

static ngx_int_t
ngx_http_sg_sign_init_process(ngx_cycle_t *cycle)
{
    char                           errbuf[SG_SIGNER_ERRBUF_SIZE * 2];
    ngx_uint_t                     i;
    sg_pkcs11_key_t               *p11;
    ngx_http_sg_sign_key_t        *k;
    ngx_http_sg_sign_main_conf_t  *smcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_sg_sign_module);
    if (smcf == NULL) {
        return NGX_OK;
    }

    k = smcf->keys.elts;

    for (i = 0; i < smcf->keys.nelts; i++) {
        p11 = sg_signer_pkcs11(k[i].signer);

        if (p11 == NULL) {
            continue;
        }

        if (sg_pkcs11_open(p11, errbuf, sizeof(errbuf)) != 0) {
            ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                          "sg_sign: %s; signing with key sha256:%s fails "
                          "until a session opens", errbuf,
                          sg_signer_fingerprint(k[i].signer));
            continue;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, cycle->log, 0,
                       "sg_sign: PKCS#11 key sha256:%s open",
                       sg_signer_fingerprint(k[i].signer));
    }

    return NGX_OK;
}


static void
ngx_http_sg_sign_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                     i;
    sg_pkcs11_key_t               *p11;
    ngx_http_sg_sign_key_t        *k;
    ngx_http_sg_sign_main_conf_t  *smcf;

    smcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_sg_sign_module);
    if (smcf == NULL) {
        return;
    }

    k = smcf->keys.elts;

    for (i = 0; i < smcf->keys.nelts; i++) {
        p11 = sg_signer_pkcs11(k[i].signer);

        if (p11 != NULL) {
            sg_pkcs11_close(p11);
        }
    }
}
