
/*
 * ngx_http_sg_sign_metrics_module: what the gateway did, counted in a
 * shared zone by every worker, kept across reloads, and served in
 * Prometheus' text format (0.0.4) by "sg_sign_metrics".
 */


#include "ngx_sg_sign_module.h"

#include "sg_metrics.h"
#include "sg_schema.h"
#include "sg_signer.h"


/*
 * Bumped with every change to ngx_http_sg_sign_metrics_shm_t or to how a
 * counter is found in it: a zone kept by a reload is used only if it was
 * laid out by the same version with the same labels (its header says so),
 * else counting starts afresh rather than misreading it.  A reload does
 * not bring new module code today (the old .so stays loaded, RTLD_GLOBAL,
 * and the new one's symbols resolve to it; restarts and binary upgrades
 * make new zones), so this is the guard for whatever changes that.  The
 * fault build takes "layout=N" on sg_sign_metrics_zone to test it.
 */
#define NGX_HTTP_SG_SIGN_METRICS_LAYOUT     1

#define NGX_HTTP_SG_SIGN_METRICS_METHODS    32   /* built-ins + "other" */
#define NGX_HTTP_SG_SIGN_METRICS_OUTCOMES   24
#define NGX_HTTP_SG_SIGN_METRICS_POOLS      16
#define NGX_HTTP_SG_SIGN_METRICS_KEYS       32

#define NGX_HTTP_SG_SIGN_METRICS_INLINE     0
#define NGX_HTTP_SG_SIGN_METRICS_POOL       1

#define NGX_HTTP_SG_SIGN_METRICS_HSM_UNKNOWN  0
#define NGX_HTTP_SG_SIGN_METRICS_HSM_DOWN     1
#define NGX_HTTP_SG_SIGN_METRICS_HSM_UP       2

/* a line of the page, labels excepted: the buffers keep this much room */
#define NGX_HTTP_SG_SIGN_METRICS_LINE       256


/* what came back for a signed request; indexes the names below */
typedef enum {
    NGX_HTTP_SG_SIGN_METRICS_2XX = 0,
    NGX_HTTP_SG_SIGN_METRICS_3XX,
    NGX_HTTP_SG_SIGN_METRICS_4XX,
    NGX_HTTP_SG_SIGN_METRICS_5XX,
    NGX_HTTP_SG_SIGN_METRICS_UNAVAILABLE,
    NGX_HTTP_SG_SIGN_METRICS_TIMEOUT,
    NGX_HTTP_SG_SIGN_METRICS_ABORTED,
    NGX_HTTP_SG_SIGN_METRICS_CLASSES
} ngx_http_sg_sign_metrics_class_e;


static ngx_str_t  ngx_http_sg_sign_metrics_classes[] = {
    ngx_string("2xx"),
    ngx_string("3xx"),
    ngx_string("4xx"),
    ngx_string("5xx"),
    ngx_string("unavailable"),
    ngx_string("timeout"),
    ngx_string("aborted")
};


/*
 * The outcomes of a webhook verification (sg_sign_verify's table): a fixed
 * set, so that no caller string becomes a label.  A name not listed is
 * counted as "other".
 */
static ngx_str_t  ngx_http_sg_sign_metrics_webhook_outcomes[] = {
    ngx_string("verified"),
    ngx_string("invalid_signature"),
    ngx_string("subrequest_refused"),
    ngx_string("method_not_allowed"),
    ngx_string("body_too_large"),
    ngx_string("verification_failed"),
    ngx_string("other")
};

#define NGX_HTTP_SG_SIGN_METRICS_WEBHOOKS                                    \
    (sizeof(ngx_http_sg_sign_metrics_webhook_outcomes) / sizeof(ngx_str_t))


/*
 * sg_sign_signing_seconds' buckets, in ns and as printed: an RSA-2048
 * signature takes about a millisecond, an HSM's tens, sg_sign_timeout 5 s.
 */
static uint64_t  ngx_http_sg_sign_metrics_bounds[] = {
    500000, 1000000, 2500000, 5000000, 10000000, 25000000, 50000000,
    100000000, 250000000, 500000000, 1000000000, 2500000000ULL,
    5000000000ULL, 10000000000ULL
};

static char  *ngx_http_sg_sign_metrics_le[] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1", "0.25", "0.5", "1", "2.5", "5", "10"
};

#define NGX_HTTP_SG_SIGN_METRICS_BUCKETS                                     \
    (sizeof(ngx_http_sg_sign_metrics_bounds) / sizeof(uint64_t))


static ngx_str_t  ngx_http_sg_sign_metrics_modes[] = {
    ngx_string("inline"),
    ngx_string("pool")
};


/* a thread pool's gauge, found again by its name's hash after a reload */
typedef struct {
    uint64_t                    name;     /* 0: free */
    ngx_atomic_t                gen;      /* the last configuration with it */
    ngx_atomic_t                queued;   /* posted, not yet started */
} ngx_http_sg_sign_metrics_pool_slot_t;


typedef struct {
    u_char                      fingerprint[SG_SHA256_HEX_LEN];
    ngx_atomic_t                gen;      /* 0: free */
    ngx_atomic_t                loaded;   /* since: kept while configured */
    ngx_atomic_t                hsm;      /* NGX_HTTP_SG_SIGN_METRICS_HSM_* */
} ngx_http_sg_sign_metrics_key_slot_t;


/* the zone's block: counters by index, every one an atomic */
typedef struct {
    sg_metrics_header_t         header;
    ngx_atomic_t                generation;   /* of configurations */
    ngx_atomic_t                requests[NGX_HTTP_SG_SIGN_METRICS_METHODS]
                                        [NGX_HTTP_SG_SIGN_METRICS_OUTCOMES];
    ngx_atomic_t                upstream[NGX_HTTP_SG_SIGN_METRICS_METHODS]
                                        [NGX_HTTP_SG_SIGN_METRICS_CLASSES];
    ngx_atomic_t                webhooks[NGX_HTTP_SG_SIGN_METRICS_WEBHOOKS];
    ngx_atomic_t                signing[2][NGX_HTTP_SG_SIGN_METRICS_BUCKETS
                                           + 1];
    ngx_atomic_t                signing_ns[2];
    ngx_http_sg_sign_metrics_pool_slot_t
                                pools[NGX_HTTP_SG_SIGN_METRICS_POOLS];
    ngx_http_sg_sign_metrics_key_slot_t
                                keys[NGX_HTTP_SG_SIGN_METRICS_KEYS];
} ngx_http_sg_sign_metrics_shm_t;


/* a key of this configuration, by the hook of the module that loaded it */
typedef struct {
    u_char                      fingerprint[SG_SHA256_HEX_LEN];
    ngx_str_t                   kind;
    time_t                      loaded;
    ngx_http_sg_sign_metrics_key_slot_t  *slot;
} ngx_http_sg_sign_metrics_key_t;


#if (NGX_THREADS)

typedef struct {
    ngx_thread_pool_t          *pool;
    ngx_str_t                   name;
    ngx_http_sg_sign_metrics_pool_slot_t  *slot;
} ngx_http_sg_sign_metrics_pool_t;

#endif


typedef struct {
    ngx_shm_zone_t             *zone;
    ngx_http_sg_sign_metrics_shm_t  *shm;
    ngx_uint_t                  layout;       /* the version */

    /* the labels, in the order of the zone's arrays */
    ngx_str_t                   methods[NGX_HTTP_SG_SIGN_METRICS_METHODS];
    ngx_uint_t                  nmethods;     /* "other" is the last */
    ngx_str_t                   outcomes[NGX_HTTP_SG_SIGN_METRICS_OUTCOMES];
    ngx_uint_t                  noutcomes;

    ngx_array_t                 keys;         /* ..._metrics_key_t */
#if (NGX_THREADS)
    ngx_array_t                 pools;        /* ..._metrics_pool_t */
#endif

    /* the first "sg_sign_metrics", for the error without a zone */
    ngx_str_t                   page_file;
    ngx_uint_t                  page_line;
} ngx_http_sg_sign_metrics_main_conf_t;


static ngx_int_t ngx_http_sg_sign_metrics_log_handler(ngx_http_request_t *r);
static void ngx_http_sg_sign_metrics_count(ngx_http_request_t *r,
    ngx_http_sg_sign_metrics_main_conf_t *mcf);
static ngx_uint_t ngx_http_sg_sign_metrics_method(
    ngx_http_sg_sign_metrics_main_conf_t *mcf, ngx_str_t *name);
static ngx_uint_t ngx_http_sg_sign_metrics_class(
    ngx_http_upstream_state_t *state);
static ngx_http_sg_sign_metrics_main_conf_t *
    ngx_http_sg_sign_metrics_live(void);
static ngx_http_sg_sign_metrics_key_t *ngx_http_sg_sign_metrics_key_find(
    ngx_array_t *keys, const char *fingerprint);
static ngx_int_t ngx_http_sg_sign_metrics_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_sg_sign_metrics_page(ngx_http_request_t *r,
    ngx_http_sg_sign_metrics_main_conf_t *mcf, ngx_chain_t *out);
static u_char *ngx_http_sg_sign_metrics_room(ngx_http_request_t *r,
    ngx_chain_t **last, size_t need);
static u_char *ngx_http_sg_sign_metrics_label(u_char *p, ngx_str_t *value);
static ngx_int_t ngx_http_sg_sign_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static uint64_t ngx_http_sg_sign_metrics_layout(
    ngx_http_sg_sign_metrics_main_conf_t *mcf);
static ngx_int_t ngx_http_sg_sign_metrics_init_module(ngx_cycle_t *cycle);
static void *ngx_http_sg_sign_metrics_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_sg_sign_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_sg_sign_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_sg_sign_metrics_init(ngx_conf_t *cf);
#if (NGX_SG_SIGN_FAULTS)
static void ngx_http_sg_sign_metrics_fault(ngx_http_request_t *r,
    ngx_http_sg_sign_metrics_main_conf_t *mcf);
#endif


static ngx_command_t  ngx_http_sg_sign_metrics_commands[] = {

    { ngx_string("sg_sign_metrics_zone"),
#if (NGX_SG_SIGN_FAULTS)
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE23,
#else
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
#endif
      ngx_http_sg_sign_metrics_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("sg_sign_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_sg_sign_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_sg_sign_metrics_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_sg_sign_metrics_init,         /* postconfiguration */

    ngx_http_sg_sign_metrics_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_sg_sign_metrics_module = {
    NGX_MODULE_V1,
    &ngx_http_sg_sign_metrics_module_ctx,  /* module context */
    ngx_http_sg_sign_metrics_commands,     /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_sg_sign_metrics_init_module,  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * The log phase: once per request, whatever path it took (refusal,
 * error_page, the provider's answer, a client that went away), from the
 * outcome the gateway recorded.  Only a request whose signature was
 * installed is "signed"; what the provider answered it is a family of its
 * own, so a signed request that got a 502 is not counted twice.
 */

static ngx_int_t
ngx_http_sg_sign_metrics_log_handler(ngx_http_request_t *r)
{
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_sg_sign_metrics_module);

#if (NGX_SG_SIGN_FAULTS)
    ngx_http_sg_sign_metrics_fault(r, mcf);
#endif

    ngx_http_sg_sign_metrics_count(r, mcf);

    return NGX_OK;
}


/* a subrequest has no log phase: counted where it is refused */

void
ngx_http_sg_sign_metrics_request(ngx_http_request_t *r)
{
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_sg_sign_metrics_module);

    if (mcf->shm) {
        ngx_http_sg_sign_metrics_count(r, mcf);
    }
}


static void
ngx_http_sg_sign_metrics_count(ngx_http_request_t *r,
    ngx_http_sg_sign_metrics_main_conf_t *mcf)
{
    ngx_uint_t                        m, o;
    ngx_http_sg_sign_metrics_shm_t   *shm;
    ngx_http_sg_sign_request_info_t   info;

    if (ngx_http_sg_sign_request_info(r, &info) != NGX_OK) {
        return;
    }

    shm = mcf->shm;

    m = ngx_http_sg_sign_metrics_method(mcf, &info.method);
    o = (info.outcome < mcf->noutcomes) ? info.outcome : 0;

    (void) ngx_atomic_fetch_add(&shm->requests[m][o], 1);

    if (info.is_signed) {
        (void) ngx_atomic_fetch_add(
                   &shm->upstream[m][ngx_http_sg_sign_metrics_class(
                                         info.upstream)], 1);
    }
}


/* a built-in method's index, or "other's": never a caller's string */

static ngx_uint_t
ngx_http_sg_sign_metrics_method(ngx_http_sg_sign_metrics_main_conf_t *mcf,
    ngx_str_t *name)
{
    ngx_uint_t  i;

    for (i = 0; i < mcf->nmethods - 1; i++) {
        if (mcf->methods[i].len == name->len
            && ngx_strncmp(mcf->methods[i].data, name->data, name->len) == 0)
        {
            return i;
        }
    }

    return mcf->nmethods - 1;
}


/*
 * The provider's last answer to a signed request (its location's upstream,
 * not a later location's): the status class when
 * its header came (even a 502 of its own), else what nginx made of the
 * attempt: 504 timed out, 502 (refused, reset, closed, invalid header)
 * unavailable, and no status at all: the client went away first.
 */

static ngx_uint_t
ngx_http_sg_sign_metrics_class(ngx_http_upstream_state_t *state)
{
    if (state == NULL) {
        /* never sent: no peer to try (or no proxy_pass at all) */
        return NGX_HTTP_SG_SIGN_METRICS_UNAVAILABLE;
    }

    if (state->header_time != (ngx_msec_t) -1
        && state->status >= NGX_HTTP_OK && state->status < 600)
    {
        return NGX_HTTP_SG_SIGN_METRICS_2XX + state->status / 100 - 2;
    }

    if (state->status == NGX_HTTP_GATEWAY_TIME_OUT) {
        return NGX_HTTP_SG_SIGN_METRICS_TIMEOUT;
    }

    if (state->status == 0) {
        return NGX_HTTP_SG_SIGN_METRICS_ABORTED;
    }

    return NGX_HTTP_SG_SIGN_METRICS_UNAVAILABLE;
}


uint64_t
ngx_http_sg_sign_metrics_clock(void)
{
    struct timespec  ts;

    /* monotonic: a clock step during a signature is no latency */
    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


void
ngx_http_sg_sign_metrics_signing(ngx_http_request_t *r, ngx_uint_t pooled,
    uint64_t ns)
{
    ngx_uint_t                             mode;
    ngx_http_sg_sign_metrics_shm_t        *shm;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_sg_sign_metrics_module);

    shm = mcf->shm;

    if (shm == NULL) {
        return;
    }

    mode = pooled ? NGX_HTTP_SG_SIGN_METRICS_POOL
                  : NGX_HTTP_SG_SIGN_METRICS_INLINE;

    (void) ngx_atomic_fetch_add(&shm->signing[mode][
                                    sg_metrics_bucket(
                                        ngx_http_sg_sign_metrics_bounds,
                                        NGX_HTTP_SG_SIGN_METRICS_BUCKETS,
                                        ns)],
                                1);
    (void) ngx_atomic_fetch_add(&shm->signing_ns[mode], ns);
}


#if (NGX_THREADS)

/*
 * Counts a task about to be posted to tp; returns the gauge for the
 * thread that starts it to decrement, or NULL (no zone, a pool unknown).
 */

ngx_atomic_t *
ngx_http_sg_sign_metrics_queue_add(ngx_http_request_t *r,
    ngx_thread_pool_t *tp)
{
    ngx_uint_t                             i;
    ngx_atomic_t                          *queued;
    ngx_http_sg_sign_metrics_pool_t       *p;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_sg_sign_metrics_module);

    if (mcf->shm == NULL) {
        return NULL;
    }

    p = mcf->pools.elts;

    for (i = 0; i < mcf->pools.nelts; i++) {
        if (p[i].pool == tp && p[i].slot) {
            queued = &p[i].slot->queued;
            (void) ngx_atomic_fetch_add(queued, 1);
            return queued;
        }
    }

    return NULL;
}


/* in a pool's thread too: touches the one atomic */

void
ngx_http_sg_sign_metrics_queue_sub(ngx_atomic_t *queued)
{
    if (queued) {
        (void) ngx_atomic_fetch_add(queued, (ngx_atomic_int_t) -1);
    }
}


/* config time: the pool "sg_sign_thread_pool NAME" named */

ngx_int_t
ngx_http_sg_sign_metrics_pool(ngx_conf_t *cf, ngx_thread_pool_t *tp,
    ngx_str_t *name)
{
    ngx_uint_t                             i;
    ngx_http_sg_sign_metrics_pool_t       *p;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf,
                                             ngx_http_sg_sign_metrics_module);

    p = mcf->pools.elts;

    for (i = 0; i < mcf->pools.nelts; i++) {
        if (p[i].pool == tp) {
            return NGX_OK;
        }
    }

    p = ngx_array_push(&mcf->pools);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p->pool = tp;
    p->name = *name;
    p->slot = NULL;

    return NGX_OK;
}

#endif


/*
 * Config time, in the master: a key the configuration loaded, by the
 * SHA-256 of its public key: kind "file" (the partner's PEM key),
 * "pkcs11" (the partner's key in an HSM: it was just used there, so it
 * starts "up") or "webhook" (a provider's public key, sg_sign_verify_key).
 */

ngx_int_t
ngx_http_sg_sign_metrics_key(ngx_conf_t *cf, const char *fingerprint,
    const char *kind, time_t loaded)
{
    ngx_http_sg_sign_metrics_key_t        *k;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf,
                                             ngx_http_sg_sign_metrics_module);

    if (ngx_strlen(fingerprint) != SG_SHA256_HEX_LEN) {
        return NGX_ERROR;
    }

    if (ngx_http_sg_sign_metrics_key_find(&mcf->keys, fingerprint)) {
        return NGX_OK;
    }

    k = ngx_array_push(&mcf->keys);
    if (k == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(k->fingerprint, fingerprint, SG_SHA256_HEX_LEN);
    k->kind.data = (u_char *) kind;
    k->kind.len = ngx_strlen(kind);
    k->loaded = loaded;
    k->slot = NULL;

    return NGX_OK;
}


/*
 * In a worker (a pool's thread too): whether the last call to the HSM
 * holding this key succeeded.  The slot's fingerprint is compared again:
 * after a reload an old worker's key may have left the zone.
 */

void
ngx_http_sg_sign_metrics_hsm(const char *fingerprint, ngx_uint_t up)
{
    ngx_http_sg_sign_metrics_key_t        *k;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_http_sg_sign_metrics_live();

    if (mcf == NULL) {
        return;
    }

    k = ngx_http_sg_sign_metrics_key_find(&mcf->keys, fingerprint);

    if (k == NULL || k->slot == NULL
        || ngx_memcmp(k->slot->fingerprint, fingerprint, SG_SHA256_HEX_LEN)
           != 0)
    {
        return;
    }

    k->slot->hsm = up ? NGX_HTTP_SG_SIGN_METRICS_HSM_UP
                      : NGX_HTTP_SG_SIGN_METRICS_HSM_DOWN;
}


/* a webhook's verdict; a name not in the table is counted as "other" */

void
ngx_http_sg_sign_metrics_webhook(ngx_http_request_t *r, ngx_str_t *outcome)
{
    ngx_uint_t                             i, n;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_sg_sign_metrics_module);

    if (mcf->shm == NULL) {
        return;
    }

    n = NGX_HTTP_SG_SIGN_METRICS_WEBHOOKS - 1;

    for (i = 0; i < n; i++) {
        if (ngx_http_sg_sign_metrics_webhook_outcomes[i].len == outcome->len
            && ngx_strncmp(ngx_http_sg_sign_metrics_webhook_outcomes[i].data,
                           outcome->data, outcome->len)
               == 0)
        {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&mcf->shm->webhooks[i], 1);
}


/* the worker's configuration, where no request is at hand */

static ngx_http_sg_sign_metrics_main_conf_t *
ngx_http_sg_sign_metrics_live(void)
{
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_sg_sign_metrics_module);

    return (mcf && mcf->shm) ? mcf : NULL;
}


static ngx_http_sg_sign_metrics_key_t *
ngx_http_sg_sign_metrics_key_find(ngx_array_t *keys, const char *fingerprint)
{
    ngx_uint_t                       i;
    ngx_http_sg_sign_metrics_key_t  *k;

    k = keys->elts;

    for (i = 0; i < keys->nelts; i++) {
        if (ngx_memcmp(k[i].fingerprint, fingerprint, SG_SHA256_HEX_LEN)
            == 0)
        {
            return &k[i];
        }
    }

    return NULL;
}


/* "sg_sign_metrics": the page, for GET and HEAD */

static ngx_int_t
ngx_http_sg_sign_metrics_handler(ngx_http_request_t *r)
{
    off_t                                  len;
    ngx_int_t                              rc;
    ngx_chain_t                            out, *cl;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_sg_sign_metrics_module);

    out.buf = NULL;
    out.next = NULL;

    if (r->method == NGX_HTTP_GET
        && ngx_http_sg_sign_metrics_page(r, mcf, &out) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;
    r->headers_out.content_type_lowcase = NULL;

    /* a range of one snapshot and another would not add up */
    r->allow_ranges = 0;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
        r->headers_out.content_length_n = -1;
        return ngx_http_send_header(r);
    }

    len = 0;

    for (cl = &out; cl; cl = cl->next) {
        len += cl->buf->last - cl->buf->pos;
    }

    r->headers_out.content_length_n = len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, &out);
}


#define ngx_http_sg_sign_metrics_help(p, name, type, help)                   \
    ngx_sprintf(p, "# HELP " name " " help "\n# TYPE " name " " type "\n")


static ngx_int_t
ngx_http_sg_sign_metrics_page(ngx_http_request_t *r,
    ngx_http_sg_sign_metrics_main_conf_t *mcf, ngx_chain_t *out)
{
    u_char                           *p;
    size_t                            need;
    uint64_t                          ns;
    ngx_uint_t                        i, j, mode;
    ngx_atomic_uint_t                 n;
    ngx_chain_t                      *last;
    ngx_http_sg_sign_metrics_shm_t   *shm;
    ngx_http_sg_sign_metrics_key_t   *k;
#if (NGX_THREADS)
    ngx_http_sg_sign_metrics_pool_t  *tp;
#endif

    shm = mcf->shm;
    last = out;

#define room(n)                                                              \
    p = ngx_http_sg_sign_metrics_room(r, &last, n);                          \
    if (p == NULL) {                                                         \
        return NGX_ERROR;                                                    \
    }

#define done()  last->buf->last = p

    /* every series is printed, zeros too: a first increase is seen */

    room(NGX_HTTP_SG_SIGN_METRICS_LINE);
    p = ngx_http_sg_sign_metrics_help(p, "sg_sign_requests_total", "counter",
            "Requests that reached the gateway, by method and outcome "
            "($sg_sign_status; none: the request ended before a verdict).");
    done();

    for (i = 0; i < mcf->nmethods; i++) {
        for (j = 0; j < mcf->noutcomes; j++) {
            room(NGX_HTTP_SG_SIGN_METRICS_LINE);
            p = ngx_sprintf(p, "sg_sign_requests_total{method=\"%V\","
                            "outcome=\"%V\"} %uA\n", &mcf->methods[i],
                            &mcf->outcomes[j], shm->requests[i][j]);
            done();
        }
    }

    room(NGX_HTTP_SG_SIGN_METRICS_LINE);
    p = ngx_http_sg_sign_metrics_help(p, "sg_sign_upstream_responses_total",
            "counter",
            "What the provider answered to signed requests, by method and "
            "class (unavailable: no answer, timeout: none in time, aborted: "
            "the client went away first).");
    done();

    for (i = 0; i < mcf->nmethods; i++) {
        for (j = 0; j < NGX_HTTP_SG_SIGN_METRICS_CLASSES; j++) {
            room(NGX_HTTP_SG_SIGN_METRICS_LINE);
            p = ngx_sprintf(p, "sg_sign_upstream_responses_total{"
                            "method=\"%V\",class=\"%V\"} %uA\n",
                            &mcf->methods[i],
                            &ngx_http_sg_sign_metrics_classes[j],
                            shm->upstream[i][j]);
            done();
        }
    }

    room(NGX_HTTP_SG_SIGN_METRICS_LINE);
    p = ngx_http_sg_sign_metrics_help(p, "sg_sign_webhooks_total", "counter",
            "Webhooks verified or refused, by outcome.");
    done();

    for (i = 0; i < NGX_HTTP_SG_SIGN_METRICS_WEBHOOKS; i++) {
        room(NGX_HTTP_SG_SIGN_METRICS_LINE);
        p = ngx_sprintf(p, "sg_sign_webhooks_total{outcome=\"%V\"} %uA\n",
                        &ngx_http_sg_sign_metrics_webhook_outcomes[i],
                        shm->webhooks[i]);
        done();
    }

    room(NGX_HTTP_SG_SIGN_METRICS_LINE);
    p = ngx_http_sg_sign_metrics_help(p, "sg_sign_signing_seconds",
            "histogram",
            "Time to sign a request, in the worker (inline) or in a thread "
            "pool (pool).");
    done();

    for (mode = 0; mode < 2; mode++) {
        n = 0;

        for (i = 0; i <= NGX_HTTP_SG_SIGN_METRICS_BUCKETS; i++) {
            n += shm->signing[mode][i];

            room(NGX_HTTP_SG_SIGN_METRICS_LINE);
            p = ngx_sprintf(p, "sg_sign_signing_seconds_bucket{mode=\"%V\","
                            "le=\"%s\"} %uA\n",
                            &ngx_http_sg_sign_metrics_modes[mode],
                            i < NGX_HTTP_SG_SIGN_METRICS_BUCKETS
                            ? ngx_http_sg_sign_metrics_le[i] : "+Inf",
                            n);
            done();
        }

        ns = shm->signing_ns[mode];

        room(NGX_HTTP_SG_SIGN_METRICS_LINE);
        p = ngx_sprintf(p, "sg_sign_signing_seconds_sum{mode=\"%V\"} "
                        "%uL.%09uL\n"
                        "sg_sign_signing_seconds_count{mode=\"%V\"} %uA\n",
                        &ngx_http_sg_sign_metrics_modes[mode],
                        (uint64_t) (ns / 1000000000),
                        (uint64_t) (ns % 1000000000),
                        &ngx_http_sg_sign_metrics_modes[mode], n);
        done();
    }

    room(NGX_HTTP_SG_SIGN_METRICS_LINE);
    p = ngx_http_sg_sign_metrics_help(p, "sg_sign_thread_pool_queue",
            "gauge",
            "Signing tasks posted to a thread pool and not yet started.");
    done();

#if (NGX_THREADS)
    tp = mcf->pools.elts;

    for (i = 0; i < mcf->pools.nelts; i++) {
        if (tp[i].slot == NULL) {
            continue;
        }

        room(NGX_HTTP_SG_SIGN_METRICS_LINE + 2 * tp[i].name.len);
        p = ngx_sprintf(p, "sg_sign_thread_pool_queue{pool=\"");
        p = ngx_http_sg_sign_metrics_label(p, &tp[i].name);
        p = ngx_sprintf(p, "\"} %A\n",
                        (ngx_atomic_int_t) tp[i].slot->queued);
        done();
    }
#endif

    k = mcf->keys.elts;

    room(NGX_HTTP_SG_SIGN_METRICS_LINE);
    p = ngx_http_sg_sign_metrics_help(p, "sg_sign_key_info", "gauge",
            "1 for each key the configuration loaded.");
    done();

    for (i = 0; i < mcf->keys.nelts; i++) {
        need = NGX_HTTP_SG_SIGN_METRICS_LINE + 2 * k[i].kind.len;
        room(need);
        p = ngx_sprintf(p, "sg_sign_key_info{fingerprint=\"%*s\",kind=\"",
                        (size_t) SG_SHA256_HEX_LEN, k[i].fingerprint);
        p = ngx_http_sg_sign_metrics_label(p, &k[i].kind);
        p = ngx_sprintf(p, "\"} 1\n");
        done();
    }

    room(NGX_HTTP_SG_SIGN_METRICS_LINE);
    p = ngx_http_sg_sign_metrics_help(p,
            "sg_sign_key_loaded_timestamp_seconds", "gauge",
            "When the key was loaded, kept across reloads that keep it.");
    done();

    for (i = 0; i < mcf->keys.nelts; i++) {
        room(NGX_HTTP_SG_SIGN_METRICS_LINE);
        p = ngx_sprintf(p, "sg_sign_key_loaded_timestamp_seconds{"
                        "fingerprint=\"%*s\"} %T\n",
                        (size_t) SG_SHA256_HEX_LEN, k[i].fingerprint,
                        k[i].slot ? (time_t) k[i].slot->loaded
                                  : k[i].loaded);
        done();
    }

    room(NGX_HTTP_SG_SIGN_METRICS_LINE);
    p = ngx_http_sg_sign_metrics_help(p, "sg_sign_hsm_up", "gauge",
            "1 when the last call to the HSM holding the key succeeded.");
    done();

    for (i = 0; i < mcf->keys.nelts; i++) {
        if (k[i].slot == NULL
            || k[i].slot->hsm == NGX_HTTP_SG_SIGN_METRICS_HSM_UNKNOWN)
        {
            continue;
        }

        room(NGX_HTTP_SG_SIGN_METRICS_LINE);
        p = ngx_sprintf(p, "sg_sign_hsm_up{fingerprint=\"%*s\"} %d\n",
                        (size_t) SG_SHA256_HEX_LEN, k[i].fingerprint,
                        k[i].slot->hsm == NGX_HTTP_SG_SIGN_METRICS_HSM_UP);
        done();
    }

#undef room
#undef done

    last->buf->last_buf = 1;
    last->buf->last_in_chain = 1;

    return NGX_OK;
}


/* the chain's last buffer with need bytes free, a new one if it has not */

static u_char *
ngx_http_sg_sign_metrics_room(ngx_http_request_t *r, ngx_chain_t **last,
    size_t need)
{
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    cl = *last;

    if (cl->buf && (size_t) (cl->buf->end - cl->buf->last) >= need) {
        return cl->buf->last;
    }

    b = ngx_create_temp_buf(r->pool, ngx_max(need, 16384));
    if (b == NULL) {
        return NULL;
    }

    if (cl->buf) {
        cl->next = ngx_alloc_chain_link(r->pool);
        if (cl->next == NULL) {
            return NULL;
        }

        cl = cl->next;
        cl->next = NULL;
    }

    cl->buf = b;
    *last = cl;

    return b->last;
}


/* a configuration's string as a label value: room for 2 * len is there */

static u_char *
ngx_http_sg_sign_metrics_label(u_char *p, ngx_str_t *value)
{
    return p + sg_metrics_escape((char *) p, 2 * value->len,
                                 (const char *) value->data, value->len);
}


/*
 * The zone of the previous configuration (data) is kept, counters and
 * all, when its block has this module's layout: the same version and the
 * same labels in the same places.  Otherwise counting starts afresh.  The
 * block is found through the slab pool's data, never through data's
 * pointer, which another module build may have laid out otherwise.
 */

static ngx_int_t
ngx_http_sg_sign_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    uint64_t                               hash;
    ngx_slab_pool_t                       *shpool;
    ngx_http_sg_sign_metrics_shm_t        *shm;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    hash = ngx_http_sg_sign_metrics_layout(mcf);

    if (data) {
        shm = shpool->data;

        if (sg_metrics_header_match(shm ? &shm->header : NULL,
                                    mcf->layout, hash,
                                    sizeof(ngx_http_sg_sign_metrics_shm_t)))
        {
            mcf->shm = shm;
            return NGX_OK;
        }

        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "sg_sign: the metrics zone \"%V\" was laid out by "
                      "another module version; counting starts afresh",
                      &shm_zone->shm.name);

        if (shm) {
            ngx_slab_free(shpool, shm);
        }
    }

    shm = ngx_slab_calloc(shpool, sizeof(ngx_http_sg_sign_metrics_shm_t));
    if (shm == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "sg_sign: the metrics zone \"%V\" is too small: it "
                      "needs %uz bytes of counters", &shm_zone->shm.name,
                      sizeof(ngx_http_sg_sign_metrics_shm_t));
        return NGX_ERROR;
    }

    sg_metrics_header_set(&shm->header, mcf->layout, hash,
                          sizeof(ngx_http_sg_sign_metrics_shm_t));

    shpool->data = shm;
    mcf->shm = shm;

    return NGX_OK;
}


/* everything that decides where a counter is */

static uint64_t
ngx_http_sg_sign_metrics_layout(ngx_http_sg_sign_metrics_main_conf_t *mcf)
{
    uint64_t    h;
    ngx_uint_t  i;

#define hash_strs(a, n)                                                      \
    h = sg_metrics_hash_u64(h, n);                                           \
    for (i = 0; i < n; i++) {                                                \
        h = sg_metrics_hash_str(h, (const char *) (a)[i].data, (a)[i].len);  \
    }

    h = sg_metrics_hash_u64(SG_METRICS_HASH_INIT,
                            sizeof(ngx_http_sg_sign_metrics_shm_t));
    h = sg_metrics_hash_u64(h, sizeof(ngx_atomic_t));

    hash_strs(mcf->methods, mcf->nmethods);
    hash_strs(mcf->outcomes, mcf->noutcomes);
    hash_strs(ngx_http_sg_sign_metrics_classes,
              NGX_HTTP_SG_SIGN_METRICS_CLASSES);
    hash_strs(ngx_http_sg_sign_metrics_webhook_outcomes,
              NGX_HTTP_SG_SIGN_METRICS_WEBHOOKS);

#undef hash_strs

    for (i = 0; i < NGX_HTTP_SG_SIGN_METRICS_BUCKETS; i++) {
        h = sg_metrics_hash_u64(h, ngx_http_sg_sign_metrics_bounds[i]);
    }

    return h;
}


/*
 * In the master, once the new configuration's zone is ready: its keys and
 * pools get their slots.  A key that the previous configuration had keeps
 * its load time (the key's age is what an operator's rotation alert
 * wants, not the last reload's); a slot is given to another key or pool
 * only after a configuration that did not use it, so that the workers of
 * the previous one, still finishing requests, never count into it.
 */

static ngx_int_t
ngx_http_sg_sign_metrics_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                             i, j, gen;
    ngx_http_sg_sign_metrics_shm_t        *shm;
    ngx_http_sg_sign_metrics_key_t        *k;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;
    ngx_http_sg_sign_metrics_key_slot_t   *ks, *kfree;
#if (NGX_THREADS)
    uint64_t                               name;
    ngx_http_sg_sign_metrics_pool_t       *p;
    ngx_http_sg_sign_metrics_pool_slot_t  *ps, *pfree;
#endif

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_sg_sign_metrics_module);

    if (mcf == NULL || mcf->shm == NULL) {
        return NGX_OK;
    }

    shm = mcf->shm;
    gen = ++shm->generation;

    k = mcf->keys.elts;

    for (i = 0; i < mcf->keys.nelts; i++) {
        ks = NULL;
        kfree = NULL;

        for (j = 0; j < NGX_HTTP_SG_SIGN_METRICS_KEYS; j++) {
            if (shm->keys[j].gen
                && ngx_memcmp(shm->keys[j].fingerprint, k[i].fingerprint,
                              SG_SHA256_HEX_LEN)
                   == 0)
            {
                ks = &shm->keys[j];
                break;
            }

            if ((shm->keys[j].gen == 0 || shm->keys[j].gen + 1 < gen)
                && (kfree == NULL || shm->keys[j].gen < kfree->gen))
            {
                kfree = &shm->keys[j];
            }
        }

        if (ks == NULL || ks->gen + 1 < gen) {
            /* new, or back after a configuration without it */

            if (ks == NULL) {
                ks = kfree;
            }

            if (ks == NULL) {
                ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                              "sg_sign: the metrics zone has no room for "
                              "key sha256:%*s", (size_t) SG_SHA256_HEX_LEN,
                              k[i].fingerprint);
                continue;
            }

            ngx_memcpy(ks->fingerprint, k[i].fingerprint, SG_SHA256_HEX_LEN);
            ks->loaded = k[i].loaded;
        }

        /* a "pkcs11" key was just loaded through its HSM; others have none */
        ks->hsm = (k[i].kind.len == 6
                   && ngx_strncmp(k[i].kind.data, "pkcs11", 6) == 0)
                  ? NGX_HTTP_SG_SIGN_METRICS_HSM_UP
                  : NGX_HTTP_SG_SIGN_METRICS_HSM_UNKNOWN;
        ks->gen = gen;
        k[i].slot = ks;
    }

#if (NGX_THREADS)
    p = mcf->pools.elts;

    for (i = 0; i < mcf->pools.nelts; i++) {
        name = sg_metrics_hash_str(SG_METRICS_HASH_INIT,
                                   (const char *) p[i].name.data,
                                   p[i].name.len);
        name |= 1;      /* 0 marks a free slot */

        ps = NULL;
        pfree = NULL;

        for (j = 0; j < NGX_HTTP_SG_SIGN_METRICS_POOLS; j++) {
            if (shm->pools[j].name == name) {
                ps = &shm->pools[j];
                break;
            }

            if ((shm->pools[j].name == 0
                 || (shm->pools[j].gen + 1 < gen
                     && shm->pools[j].queued == 0))
                && pfree == NULL)
            {
                pfree = &shm->pools[j];
            }
        }

        if (ps == NULL) {
            ps = pfree;

            if (ps == NULL) {
                ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                              "sg_sign: the metrics zone has no room for "
                              "thread pool \"%V\"", &p[i].name);
                continue;
            }

            ps->name = name;
            ps->queued = 0;
        }

        ps->gen = gen;
        p[i].slot = ps;
    }
#endif

    return NGX_OK;
}


static void *
ngx_http_sg_sign_metrics_create_main_conf(ngx_conf_t *cf)
{
    ngx_str_t                             *code;
    ngx_uint_t                             i, n;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_sg_sign_metrics_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * The method labels: every built-in schema's name (what "auto" routes
     * by, and what a location's "sg_sign_schema NAME" signs as), then
     * "other" for the rest: a schema file, an override by a new name,
     * unknown=object, a refusal before the method was known.
     */

    for (n = 0; sg_schema_builtin_names[n] != NULL; n++) {
        if (n == NGX_HTTP_SG_SIGN_METRICS_METHODS - 1) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "sg_sign: more built-in schemas than the "
                               "metrics zone counts (%d)",
                               NGX_HTTP_SG_SIGN_METRICS_METHODS - 1);
            return NULL;
        }

        mcf->methods[n].data = (u_char *) sg_schema_builtin_names[n];
        mcf->methods[n].len = ngx_strlen(sg_schema_builtin_names[n]);
    }

    ngx_str_set(&mcf->methods[n], "other");
    mcf->nmethods = n + 1;

    /* the outcome table's codes; its first entry is "no verdict yet" */

    ngx_str_set(&mcf->outcomes[0], "none");

    for (i = 1; (code = ngx_http_sg_sign_outcome_code(i)) != NULL; i++) {
        if (i == NGX_HTTP_SG_SIGN_METRICS_OUTCOMES) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "sg_sign: more outcomes than the metrics "
                               "zone counts (%d)",
                               NGX_HTTP_SG_SIGN_METRICS_OUTCOMES);
            return NULL;
        }

        mcf->outcomes[i] = *code;
    }

    mcf->noutcomes = i;

    if (ngx_array_init(&mcf->keys, cf->pool, 2,
                       sizeof(ngx_http_sg_sign_metrics_key_t))
        != NGX_OK)
    {
        return NULL;
    }

#if (NGX_THREADS)
    if (ngx_array_init(&mcf->pools, cf->pool, 2,
                       sizeof(ngx_http_sg_sign_metrics_pool_t))
        != NGX_OK)
    {
        return NULL;
    }
#endif

    return mcf;
}


/* "sg_sign_metrics_zone NAME SIZE" */

static char *
ngx_http_sg_sign_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_sg_sign_metrics_main_conf_t *mcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (mcf->zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "sg_sign: metrics zone \"%V\" is too small "
                           "(\"%V\"): at least %uz bytes", &value[1],
                           &value[2], 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    mcf->zone = ngx_shared_memory_add(cf, &value[1], size,
                                      &ngx_http_sg_sign_metrics_module);
    if (mcf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (mcf->zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "sg_sign: zone \"%V\" is already used",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    mcf->zone->init = ngx_http_sg_sign_metrics_init_zone;
    mcf->zone->data = mcf;

    mcf->layout = NGX_HTTP_SG_SIGN_METRICS_LAYOUT;

#if (NGX_SG_SIGN_FAULTS)
    /* the test build: "layout=N" plays another module version */
    if (cf->args->nelts == 4) {
        if (ngx_strncmp(value[3].data, "layout=", 7) != 0) {
            return "takes \"layout=N\" after the size (test build)";
        }

        mcf->layout = ngx_atoi(value[3].data + 7, value[3].len - 7);

        if (mcf->layout == (ngx_uint_t) NGX_ERROR) {
            return "takes \"layout=N\" after the size (test build)";
        }
    }
#endif

    return NGX_CONF_OK;
}


/* "sg_sign_metrics": this location serves the page */

static char *
ngx_http_sg_sign_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t              *clcf;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf,
                                             ngx_http_sg_sign_metrics_module);

    if (mcf->page_file.data == NULL) {
        mcf->page_file = cf->conf_file->file.name;
        mcf->page_line = cf->conf_file->line;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_sg_sign_metrics_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_sg_sign_metrics_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt                   *h;
    ngx_http_core_main_conf_t             *cmcf;
    ngx_http_sg_sign_metrics_main_conf_t  *mcf;

    mcf = ngx_http_conf_get_module_main_conf(cf,
                                             ngx_http_sg_sign_metrics_module);

    if (mcf->zone == NULL) {
        if (mcf->page_file.data) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"sg_sign_metrics\" needs \"sg_sign_metrics_zone\" "
                          "in the http block, in %V:%ui", &mcf->page_file,
                          mcf->page_line);
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_sg_sign_metrics_log_handler;

    return NGX_OK;
}


#if (NGX_SG_SIGN_FAULTS)

/*
 * The test build: until webhooks and HSM keys call their hooks, a request
 * carrying "X-SG-Fault-Metrics-Webhook: OUTCOME" reports a webhook verdict
 * and "X-SG-Fault-Metrics-Hsm: 0|1" an HSM state for every key.
 */

static void
ngx_http_sg_sign_metrics_fault(ngx_http_request_t *r,
    ngx_http_sg_sign_metrics_main_conf_t *mcf)
{
    u_char                           fp[SG_SHA256_HEX_LEN + 1];
    ngx_uint_t                       i;
    ngx_table_elt_t                 *h;
    ngx_http_sg_sign_metrics_key_t  *k;
    ngx_http_sg_sign_header_iter_t   it;

    for (h = ngx_http_sg_sign_header_first(r, &it);
         h;
         h = ngx_http_sg_sign_header_next(&it))
    {
        if (h->key.len == sizeof("x-sg-fault-metrics-webhook") - 1
            && ngx_strncmp(h->lowcase_key, "x-sg-fault-metrics-webhook",
                           h->key.len) == 0)
        {
            ngx_http_sg_sign_metrics_webhook(r, &h->value);

        } else if (h->key.len == sizeof("x-sg-fault-metrics-hsm") - 1
                   && ngx_strncmp(h->lowcase_key, "x-sg-fault-metrics-hsm",
                                  h->key.len) == 0)
        {
            k = mcf->keys.elts;

            for (i = 0; i < mcf->keys.nelts; i++) {
                ngx_memcpy(fp, k[i].fingerprint, SG_SHA256_HEX_LEN);
                fp[SG_SHA256_HEX_LEN] = '\0';

                ngx_http_sg_sign_metrics_hsm((const char *) fp,
                                             h->value.len == 1
                                             && h->value.data[0] == '1');
            }
        }
    }
}

#endif
