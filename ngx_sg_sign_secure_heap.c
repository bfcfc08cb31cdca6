
/*
 * sg_sign_secure_heap: OpenSSL's secure heap for the signing key, created in
 * the master before the http block loads any key.  A core module (the
 * directive is a main-context one) built into the same .so.
 */


#include "ngx_sg_sign_module.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <openssl/crypto.h>


#define NGX_SG_SIGN_SECURE_HEAP_MINSIZE  16

/* a heap this full warns: one more TLS handshake may not find room */
#define NGX_SG_SIGN_SECURE_HEAP_HIGH(size)  ((size) / 4 * 3)

/* seconds between two "nearly full" warnings of a worker */
#define NGX_SG_SIGN_SECURE_HEAP_WARN_EVERY  10


typedef struct {
    size_t                      size;
    size_t                      minsize;
    ngx_uint_t                  keys;      /* keys the http block loaded */
    ngx_str_t                   file;
    ngx_uint_t                  line;
} ngx_sg_sign_secure_heap_conf_t;


/* a heap as /proc/PID/smaps shows it */
typedef struct {
    uintptr_t                   start;
    uintptr_t                   end;
    unsigned                    dontdump:1;
} ngx_sg_sign_secure_heap_map_t;


static void *ngx_sg_sign_secure_heap_create_conf(ngx_cycle_t *cycle);
static char *ngx_sg_sign_secure_heap_init_conf(ngx_cycle_t *cycle,
    void *conf);
static char *ngx_sg_sign_secure_heap(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_sg_sign_secure_heap_create(ngx_conf_t *cf,
    ngx_sg_sign_secure_heap_conf_t *shcf);
static int ngx_sg_sign_secure_heap_lock(void);
static void ngx_sg_sign_secure_heap_atfork_child(void);
static ngx_int_t ngx_sg_sign_secure_heap_init_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_sg_sign_secure_heap_find(ngx_pid_t pid, uintptr_t addr,
    ngx_sg_sign_secure_heap_map_t *map);


static ngx_command_t  ngx_sg_sign_secure_heap_commands[] = {

    { ngx_string("sg_sign_secure_heap"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE12,
      ngx_sg_sign_secure_heap,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_core_module_t  ngx_sg_sign_secure_heap_module_ctx = {
    ngx_string("sg_sign_secure_heap"),
    ngx_sg_sign_secure_heap_create_conf,
    ngx_sg_sign_secure_heap_init_conf
};


ngx_module_t  ngx_sg_sign_secure_heap_module = {
    NGX_MODULE_V1,
    &ngx_sg_sign_secure_heap_module_ctx,   /* module context */
    ngx_sg_sign_secure_heap_commands,      /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_sg_sign_secure_heap_init_process,  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/*
 * The heap this process created: OpenSSL sizes it once per process, and
 * workers inherit it (and these) across fork().
 */
static size_t     ngx_sg_sign_secure_heap_size;
static uintptr_t  ngx_sg_sign_secure_heap_start;
static uintptr_t  ngx_sg_sign_secure_heap_end;
static time_t     ngx_sg_sign_secure_heap_warned;


/*
 * Called by the http module for each key it loads: a key loaded before the
 * heap exists is in ordinary memory, so the directive must come first.
 */

void
ngx_sg_sign_secure_heap_key_loaded(ngx_conf_t *cf)
{
    ngx_sg_sign_secure_heap_conf_t  *shcf;

    shcf = (ngx_sg_sign_secure_heap_conf_t *)
               ngx_get_conf(cf->cycle->conf_ctx,
                            ngx_sg_sign_secure_heap_module);

    if (shcf != NULL) {
        shcf->keys++;
    }
}


/* for a key that failed to load: how much room the heap had left */

size_t
ngx_sg_sign_secure_heap_free(void)
{
    size_t  used;

    if (ngx_sg_sign_secure_heap_size == 0) {
        return NGX_MAX_SIZE_T_VALUE;
    }

    used = CRYPTO_secure_used();

    return (used < ngx_sg_sign_secure_heap_size)
           ? ngx_sg_sign_secure_heap_size - used : 0;
}


/*
 * After each signature, in a worker: OpenSSL puts TLS ephemeral keys in the
 * same heap, and a full heap fails handshakes with a bare "malloc failure".
 * Say which directive to raise before that happens, once in a while.
 */

void
ngx_sg_sign_secure_heap_check(ngx_log_t *log)
{
    size_t  used;

    if (ngx_sg_sign_secure_heap_size == 0) {
        return;
    }

    /* CRYPTO_secure_used() crashes in OpenSSL 3.0 without a heap */
    used = CRYPTO_secure_used();

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, log, 0,
                   "sg_sign: secure heap %uz of %uz bytes used",
                   used, ngx_sg_sign_secure_heap_size);

    if (used < NGX_SG_SIGN_SECURE_HEAP_HIGH(ngx_sg_sign_secure_heap_size)
        || ngx_time() - ngx_sg_sign_secure_heap_warned
           < NGX_SG_SIGN_SECURE_HEAP_WARN_EVERY)
    {
        return;
    }

    ngx_sg_sign_secure_heap_warned = ngx_time();

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "sg_sign: the secure heap is %uz of %uz bytes full: TLS "
                  "handshakes fail when it is full; raise "
                  "\"sg_sign_secure_heap\" (takes effect at restart)",
                  used, ngx_sg_sign_secure_heap_size);
}


static void *
ngx_sg_sign_secure_heap_create_conf(ngx_cycle_t *cycle)
{
    ngx_sg_sign_secure_heap_conf_t  *shcf;

    shcf = ngx_pcalloc(cycle->pool, sizeof(ngx_sg_sign_secure_heap_conf_t));
    if (shcf == NULL) {
        return NULL;
    }

    shcf->size = NGX_CONF_UNSET_SIZE;

    return shcf;
}


/*
 * "nginx -t" is a process of its own with a heap of its own: what it can
 * say about a change is what the running master's smaps show.
 */

static char *
ngx_sg_sign_secure_heap_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_sg_sign_secure_heap_conf_t *shcf = conf;

    ngx_fd_t                        fd;
    ssize_t                         n;
    ngx_pid_t                       pid;
    ngx_core_conf_t                *ccf;
    u_char                          buf[NGX_INT64_LEN + 2];
    ngx_sg_sign_secure_heap_map_t   map;

    if (!ngx_test_config) {
        return NGX_CONF_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (ccf == NULL || ccf->pid.len == 0) {
        return NGX_CONF_OK;
    }

    fd = ngx_open_file(ccf->pid.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        return NGX_CONF_OK;     /* nothing runs: nothing to compare */
    }

    n = ngx_read_fd(fd, buf, sizeof(buf) - 1);
    (void) ngx_close_file(fd);

    if (n <= 0) {
        return NGX_CONF_OK;
    }

    while (n > 0 && (buf[n - 1] == LF || buf[n - 1] == CR)) {
        n--;
    }

    pid = ngx_atoi(buf, n);
    if (pid == NGX_ERROR || pid == ngx_pid) {
        return NGX_CONF_OK;
    }

    switch (ngx_sg_sign_secure_heap_find(pid, 0, &map)) {

    case NGX_DECLINED:
        if (shcf->size != NGX_CONF_UNSET_SIZE) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "sg_sign: the running nginx (pid %P) has no secure "
                          "heap: a reload creates one, but keys loaded "
                          "before it stay where they are in old workers",
                          pid);
        }
        break;

    case NGX_OK:
        if (shcf->size == NGX_CONF_UNSET_SIZE) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "sg_sign: the running nginx (pid %P) has a %uz "
                          "byte secure heap: removing \"sg_sign_secure_heap\" "
                          "takes effect at restart, not at reload",
                          pid, (size_t) (map.end - map.start));

        } else if (map.end - map.start != shcf->size) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "sg_sign: \"sg_sign_secure_heap %uz\" in %V:%ui "
                          "differs from the running nginx's (pid %P) %uz "
                          "byte heap: the new size takes effect at restart, "
                          "a reload keeps the old one",
                          shcf->size, &shcf->file, shcf->line, pid,
                          (size_t) (map.end - map.start));
        }
        break;

    default:
        /* not ours to read (another user's nginx) or already gone */
        ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                      "sg_sign: cannot compare the secure heap with the "
                      "running nginx (pid %P)", pid);
    }

    return NGX_CONF_OK;
}


static char *
ngx_sg_sign_secure_heap(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_sg_sign_secure_heap_conf_t *shcf = conf;

    ssize_t     size, minsize;
    ngx_str_t  *value;

    if (shcf->size != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    if (shcf->keys) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"sg_sign_secure_heap\" must come before the "
                           "http block: %ui key(s) were already loaded "
                           "outside the secure heap", shcf->keys);
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);
    minsize = NGX_SG_SIGN_SECURE_HEAP_MINSIZE;

    if (cf->args->nelts == 3) {
        minsize = ngx_parse_size(&value[2]);
    }

    /* OpenSSL aborts the process on sizes that are not powers of two */

    if (size == NGX_ERROR || size < (ssize_t) ngx_pagesize
        || size > 1024 * 1024 * 1024 || (size & (size - 1)) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid secure heap size \"%V\": a power of two "
                           "from %uz to 1g (e.g. 64k, 1m)", &value[1],
                           ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    if (minsize == NGX_ERROR || minsize < NGX_SG_SIGN_SECURE_HEAP_MINSIZE
        || (minsize & (minsize - 1)) != 0 || minsize > size / 4)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid secure heap minimum size \"%V\": a power "
                           "of two from %d to a quarter of the heap",
                           &value[2], NGX_SG_SIGN_SECURE_HEAP_MINSIZE);
        return NGX_CONF_ERROR;
    }

    shcf->size = size;
    shcf->minsize = minsize;
    shcf->file = cf->conf_file->file.name;
    shcf->line = cf->conf_file->line;

    /* "nginx -s reload" parses the file only to find the pid */
    if (ngx_process == NGX_PROCESS_SIGNALLER) {
        return NGX_CONF_OK;
    }

    if (ngx_sg_sign_secure_heap_create(cf, shcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_sg_sign_secure_heap_create(ngx_conf_t *cf,
    ngx_sg_sign_secure_heap_conf_t *shcf)
{
    int                             rc;
    void                           *p;
    struct rlimit                   rl;
    ngx_sg_sign_secure_heap_map_t   map;

    if (CRYPTO_secure_malloc_initialized()) {

        if (ngx_sg_sign_secure_heap_size == 0) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "OpenSSL's secure heap was created by another "
                               "part of nginx; its size stays as it is");

        } else if (ngx_sg_sign_secure_heap_size != shcf->size) {
            /* a reload: the master's heap is sized once */
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "the secure heap stays %uz bytes until "
                               "restart: a reload cannot resize it",
                               ngx_sg_sign_secure_heap_size);
        }

        return NGX_OK;
    }

    rc = CRYPTO_secure_malloc_init(shcf->size, shcf->minsize);

    if (rc == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "cannot create a %uz byte secure heap (OpenSSL "
                           "CRYPTO_secure_malloc_init() failed)", shcf->size);
        return NGX_ERROR;
    }

    ngx_sg_sign_secure_heap_size = shcf->size;

    /* where it is: workers lock the same pages again */
    p = CRYPTO_secure_malloc(1, __FILE__, __LINE__);

    if (p != NULL
        && ngx_sg_sign_secure_heap_find(ngx_pid, (uintptr_t) p, &map) == NGX_OK
        && map.end - map.start == shcf->size)
    {
        ngx_sg_sign_secure_heap_start = map.start;
        ngx_sg_sign_secure_heap_end = map.end;

    } else {
        ngx_memzero(&map, sizeof(ngx_sg_sign_secure_heap_map_t));
    }

    CRYPTO_secure_free(p, __FILE__, __LINE__);

    if (rc == 2) {
        /* created, but OpenSSL does not say what failed: smaps does */

        if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0
            && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < shcf->size)
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "the secure heap is not locked in memory: "
                               "RLIMIT_MEMLOCK (%uz bytes) is below its %uz "
                               "bytes, so its pages may be swapped out; "
                               "raise the limit (\"ulimit -l\", systemd's "
                               "LimitMEMLOCK=) or run the master as root",
                               (size_t) rl.rlim_cur, shcf->size);

        } else {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "the secure heap is not fully protected "
                               "(OpenSSL could not lock it or mark it as "
                               "left out of core dumps)");
        }

        if (map.start != 0 && !map.dontdump) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "the secure heap is not left out of core "
                               "dumps (madvise(MADV_DONTDUMP) failed)");
        }
    }

    /*
     * mlock() is not inherited across fork(): not by the daemonized
     * master, not by workers.  A child locks its copy again at once, while
     * it is still root (no RLIMIT_MEMLOCK then).  glibc forgets the handler
     * when the module is unloaded (dlclose).
     */
    if (ngx_sg_sign_secure_heap_start != 0
        && pthread_atfork(NULL, NULL, ngx_sg_sign_secure_heap_atfork_child)
           != 0)
    {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "pthread_atfork() failed: workers lock the "
                           "secure heap within RLIMIT_MEMLOCK only");
    }

    return NGX_OK;
}


/* the fallback when the fork handler could not lock (not root) */

static ngx_int_t
ngx_sg_sign_secure_heap_init_process(ngx_cycle_t *cycle)
{
    struct rlimit  rl;

    if (ngx_sg_sign_secure_heap_start == 0
        || ngx_sg_sign_secure_heap_lock() == 0)
    {
        return NGX_OK;
    }

    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0) {
        rl.rlim_cur = 0;
    }

    /* not fatal: the pages are still left out of core dumps */
    ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                  "sg_sign: cannot lock the secure heap in this worker "
                  "(RLIMIT_MEMLOCK %uz bytes, heap %uz): its pages may be "
                  "swapped out", (size_t) rl.rlim_cur,
                  (size_t) (ngx_sg_sign_secure_heap_end
                            - ngx_sg_sign_secure_heap_start));

    return NGX_OK;
}


static void
ngx_sg_sign_secure_heap_atfork_child(void)
{
    if (ngx_sg_sign_secure_heap_start != 0) {
        (void) ngx_sg_sign_secure_heap_lock();
    }
}


/* as OpenSSL does: pages are locked as they are touched, not all at once */

static int
ngx_sg_sign_secure_heap_lock(void)
{
    int      rc;
    void    *start;
    size_t   len;

    start = (void *) ngx_sg_sign_secure_heap_start;
    len = ngx_sg_sign_secure_heap_end - ngx_sg_sign_secure_heap_start;

#if defined(SYS_mlock2) && defined(MLOCK_ONFAULT)
    rc = syscall(SYS_mlock2, start, len, MLOCK_ONFAULT);

    if (rc == -1 && ngx_errno == NGX_ENOSYS) {
        rc = mlock(start, len);
    }
#else
    rc = mlock(start, len);
#endif

    return rc;
}


/*
 * Finds a heap in /proc/PID/smaps: the mapping holding addr, or (addr 0)
 * the first private anonymous read-write mapping marked "dd" (left out of
 * core dumps: nothing else in nginx asks for that).  NGX_OK, NGX_DECLINED
 * (none), or NGX_ERROR (smaps unreadable).
 */

static ngx_int_t
ngx_sg_sign_secure_heap_find(ngx_pid_t pid, uintptr_t addr,
    ngx_sg_sign_secure_heap_map_t *map)
{
    int            in;
    FILE          *f;
    char           path[64], line[512], perms[8];
    unsigned long  start, end, inode;
    ngx_int_t      rc;

    ngx_memzero(map, sizeof(ngx_sg_sign_secure_heap_map_t));

    (void) ngx_sprintf((u_char *) path, "/proc/%P/smaps%Z", pid);

    f = fopen(path, "re");
    if (f == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_DECLINED;
    in = 0;

    while (fgets(line, sizeof(line), f) != NULL) {

        if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &start, &end, perms,
                   &inode)
            == 4)
        {
            /* a mapping's header line; its VmFlags line comes last */
            if (addr != 0) {
                in = (addr >= start && addr < end);

            } else {
                in = (inode == 0 && ngx_strcmp(perms, "rw-p") == 0);
            }

            map->start = start;
            map->end = end;
            continue;
        }

        if (!in || ngx_strncmp(line, "VmFlags:", 8) != 0) {
            continue;
        }

        map->dontdump = (ngx_strstr(line, " dd") != NULL);

        if (addr != 0 || map->dontdump) {
            rc = NGX_OK;
            break;
        }

        in = 0;
    }

    fclose(f);

    if (rc != NGX_OK) {
        ngx_memzero(map, sizeof(ngx_sg_sign_secure_heap_map_t));
    }

    return rc;
}
