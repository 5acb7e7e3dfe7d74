/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_backend.c: the backends one httpd process talks to, and their
 * connection pools (see fcgi_backend.h).
 *
 * Locking: the registry's read-write lock guards its table (requests
 * only read it, once their backend is known); each backend's mutex guards
 * its pool.  The reaper takes the registry's lock, then a backend's mutex;
 * nothing takes them the other way round.  A request's own progress
 * (sent, answered) is published with atomics, not under the mutex.  Connection pools are subpools
 * of the registry's pool, whose allocator has a mutex of its own, so any
 * thread may create and destroy them.
 */

#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"
#include "apr_thread_rwlock.h"

#include "fcgi_backend.h"

#if !APR_HAS_THREADS
#error "mod_fastcgi_handler needs APR with threads"
#endif

/* Handler names can be computed per request (SetHandler takes an
 * expression), so the registry is bounded; past this, a backend is made
 * for the request alone and keeps no connection. */
#define FCGI_REGISTRY_MAX 512

struct fcgi_registry {
    apr_pool_t *pool;
    apr_thread_rwlock_t *lock;         /* read: look up; write: add, resolve */
    apr_thread_mutex_t *reaper_mutex;
    apr_hash_t *backends;              /* spec -> fcgi_backend */
    fcgi_pool_limits limits;
    apr_thread_t *reaper;
    apr_thread_cond_t *reaper_wake;
    int stopping;
};

/* A request waiting for a connection, first come first served. */
typedef struct fcgi_waiter fcgi_waiter;
struct fcgi_waiter {
    fcgi_waiter *next;
    apr_thread_cond_t *cond;
    fcgi_conn *conn;                   /* a kept connection, handed over */
    int may_open;                      /* or a free slot, reserved for it */
};

struct fcgi_backend {
    fcgi_registry *reg;
    fcgi_addr addr;
    const char *error;                 /* a parse error, remembered */
    int transient;                     /* not in the registry: keeps nothing */
    apr_thread_mutex_t *mutex;
    int open;                          /* busy, idle and being opened */
    fcgi_conn *idle;                   /* most recently used first */
    fcgi_conn *busy;                   /* in use by a request */
    fcgi_waiter *waiters, *waiters_tail;
};

const fcgi_addr *fcgi_backend_addr(const fcgi_backend *backend)
{
    return &backend->addr;
}

/* ---- the pool; callers hold backend->mutex --------------------------- */

static fcgi_waiter *waiter_pop(fcgi_backend *b)
{
    fcgi_waiter *w = b->waiters;

    if (w) {
        b->waiters = w->next;
        if (!b->waiters) {
            b->waiters_tail = NULL;
        }
    }
    return w;
}

static void waiter_remove(fcgi_backend *b, fcgi_waiter *gone)
{
    fcgi_waiter **w, *prev = NULL;

    for (w = &b->waiters; *w; prev = *w, w = &(*w)->next) {
        if (*w == gone) {
            *w = gone->next;
            if (b->waiters_tail == gone) {
                b->waiters_tail = prev;
            }
            return;
        }
    }
}

static void busy_add(fcgi_backend *b, fcgi_conn *c)
{
    c->busy_prev = NULL;
    c->busy_next = b->busy;
    if (b->busy) {
        b->busy->busy_prev = c;
    }
    b->busy = c;
    apr_atomic_set32(&c->awaiting, 0);
}

static void busy_remove(fcgi_backend *b, fcgi_conn *c)
{
    if (c->busy_prev) {
        c->busy_prev->busy_next = c->busy_next;
    }
    else {
        b->busy = c->busy_next;
    }
    if (c->busy_next) {
        c->busy_next->busy_prev = c->busy_prev;
    }
    c->busy_prev = c->busy_next = NULL;
}

/* Whether a request sent before c's still waits for its first byte. */
static int earlier_request_waiting(fcgi_backend *b, fcgi_conn *c)
{
    apr_uint64_t sent = apr_atomic_read64(&c->sent_at);
    fcgi_conn *o;

    for (o = b->busy; o; o = o->busy_next) {
        if (apr_atomic_read32(&o->awaiting)
            && apr_atomic_read64(&o->sent_at) < sent) {
            return 1;
        }
    }
    return 0;
}

/* A connection was closed: its slot goes to the first waiter, if any
 * (waiters queue only when the backend is at their limit, so the slot is
 * theirs to take). */
static void slot_freed(fcgi_backend *b)
{
    fcgi_waiter *w;

    b->open--;
    if ((w = waiter_pop(b))) {
        w->may_open = 1;
        b->open++;
        apr_thread_cond_signal(w->cond);
    }
}

/* Wait for a connection or a slot; returns with the mutex held. */
static apr_status_t queue_wait(fcgi_backend *b, apr_interval_time_t timeout,
                               apr_pool_t *rp, fcgi_conn **conn)
{
    apr_time_t deadline = apr_time_now() + timeout;
    fcgi_waiter w = { NULL, NULL, NULL, 0 };
    apr_status_t rv;

    if ((rv = apr_thread_cond_create(&w.cond, rp)) != APR_SUCCESS) {
        return rv;
    }
    if (b->waiters_tail) {
        b->waiters_tail->next = &w;
    }
    else {
        b->waiters = &w;
    }
    b->waiters_tail = &w;

    while (!w.conn && !w.may_open) {
        apr_interval_time_t left = deadline - apr_time_now();

        if (left <= 0) {
            break;
        }
        apr_thread_cond_timedwait(w.cond, b->mutex, left);
    }
    apr_thread_cond_destroy(w.cond);
    if (w.conn) {
        *conn = w.conn;
        return APR_SUCCESS;
    }
    if (w.may_open) {
        *conn = NULL;
        return APR_SUCCESS;
    }
    waiter_remove(b, &w);
    return FCGI_EQUEUE;
}

/*
 * Under the mutex, take a connection or a slot: *conn is a kept one (to
 * be checked), or NULL with a slot reserved for a new one.  Nothing slow
 * happens under the mutex: checking, connecting and closing come after.
 */
static apr_status_t pool_take(fcgi_backend *b, int max_conns, int fresh,
                              apr_interval_time_t queue_timeout,
                              apr_pool_t *rp, fcgi_conn **conn,
                              fcgi_conn **to_close)
{
    apr_status_t rv = APR_SUCCESS;
    fcgi_conn *c = NULL;

    *to_close = NULL;
    if (b->idle && (!fresh || b->open >= max_conns)) {
        /* A kept one, or (for a new one) the room it takes up. */
        c = b->idle;
        b->idle = c->next;
        c->next = NULL;
        if (fresh) {
            *to_close = c;
            c = NULL;
        }
    }
    else if (b->transient || b->open < max_conns) {
        b->open++;
    }
    else if ((rv = queue_wait(b, queue_timeout, rp, &c)) == APR_SUCCESS
             && c && fresh) {
        /* Handed a kept connection, but a new one was asked for: the slot
         * is ours, the connection goes. */
        *to_close = c;
        c = NULL;
    }
    if (c) {
        busy_add(b, c);
    }
    *conn = c;
    return rv;
}

apr_status_t fcgi_backend_acquire(fcgi_backend *b, int max_conns,
                                  apr_interval_time_t connect_timeout,
                                  apr_interval_time_t queue_timeout,
                                  int fresh, apr_pool_t *rp,
                                  fcgi_conn **connp)
{
    fcgi_conn *c, *to_close;
    apr_status_t rv;

    if (max_conns <= 0) {
        max_conns = b->reg->limits.max_conns;
    }
    for (;;) {
        apr_thread_mutex_lock(b->mutex);
        rv = pool_take(b, max_conns, fresh, queue_timeout, rp, &c,
                       &to_close);
        apr_thread_mutex_unlock(b->mutex);
        if (to_close) {
            fcgi_conn_close(to_close);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (!c || fcgi_conn_is_alive(c)) {
            break;
        }
        /* The backend closed it while it was idle: drop it, try again. */
        fcgi_backend_release(b, c, 0);
    }

    if (c) {
        c->reused = 1;
    }
    else {
        /* A slot is ours: connect. */
        rv = fcgi_conn_open(&c, &b->addr, connect_timeout, b->reg->pool);
        apr_thread_mutex_lock(b->mutex);
        if (rv != APR_SUCCESS) {
            slot_freed(b);
        }
        else {
            busy_add(b, c);
        }
        apr_thread_mutex_unlock(b->mutex);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        c->reused = 0;
    }
    c->uses++;
    *connp = c;
    return APR_SUCCESS;
}

void fcgi_backend_request_sent(fcgi_backend *b, fcgi_conn *c)
{
    (void)b;
    apr_atomic_set64(&c->sent_at, (apr_uint64_t)apr_time_now());
    apr_atomic_set32(&c->awaiting, 1);
}

void fcgi_backend_answer_started(fcgi_backend *b, fcgi_conn *c)
{
    (void)b;
    apr_atomic_set32(&c->awaiting, 0);
}

void fcgi_backend_release(fcgi_backend *b, fcgi_conn *c, int keep)
{
    fcgi_waiter *w;
    int close_it = 0;

    apr_thread_mutex_lock(b->mutex);
    busy_remove(b, c);
    if (!keep || b->transient || earlier_request_waiting(b, c)) {
        slot_freed(b);
        close_it = 1;
    }
    else if ((w = waiter_pop(b))) {
        /* The waiter puts it in the busy list when it wakes. */
        w->conn = c;
        apr_thread_cond_signal(w->cond);
    }
    else {
        c->idle_since = apr_time_now();
        c->next = b->idle;
        b->idle = c;
    }
    apr_thread_mutex_unlock(b->mutex);
    if (close_it) {
        fcgi_conn_close(c);
    }
}

/* Close the connections idle for longer than the idle timeout. */
static void backend_reap(fcgi_backend *b, apr_time_t now)
{
    apr_interval_time_t timeout = b->reg->limits.idle_timeout;
    fcgi_conn **link, *c, *expired = NULL;

    apr_thread_mutex_lock(b->mutex);
    link = &b->idle;
    while ((c = *link)) {
        if (now - c->idle_since >= timeout) {
            *link = c->next;
            c->next = expired;
            expired = c;
            slot_freed(b);
        }
        else {
            link = &c->next;
        }
    }
    apr_thread_mutex_unlock(b->mutex);
    while ((c = expired)) {
        expired = c->next;
        fcgi_conn_close(c);
    }
}

/* ---- the registry ----------------------------------------------------- */

static apr_status_t backend_init(fcgi_backend *b, fcgi_registry *reg,
                                 const char *spec, apr_pool_t *p)
{
    b->reg = reg;
    b->error = fcgi_addr_parse(spec, &b->addr, p);
    return apr_thread_mutex_create(&b->mutex, APR_THREAD_MUTEX_DEFAULT, p);
}

apr_status_t fcgi_registry_get(fcgi_registry *reg, const char *spec,
                               fcgi_backend **backendp, const char **errmsg,
                               apr_pool_t *request_pool)
{
    fcgi_backend *b;
    apr_status_t rv = APR_SUCCESS;
    apr_pool_t *p = reg->pool;
    int ready;

    /* The common case: a backend met before, resolved (which it then
     * stays for good). */
    apr_thread_rwlock_rdlock(reg->lock);
    b = apr_hash_get(reg->backends, spec, APR_HASH_KEY_STRING);
    ready = b && !b->error && b->addr.sa;
    apr_thread_rwlock_unlock(reg->lock);
    if (ready) {
        *backendp = b;
        return APR_SUCCESS;
    }

    apr_thread_rwlock_wrlock(reg->lock);
    b = apr_hash_get(reg->backends, spec, APR_HASH_KEY_STRING);
    if (!b) {
        if (apr_hash_count(reg->backends) >= FCGI_REGISTRY_MAX) {
            p = request_pool;
        }
        b = apr_pcalloc(p, sizeof(*b));
        spec = apr_pstrdup(p, spec);
        rv = backend_init(b, reg, spec, p);
        if (rv == APR_SUCCESS && p == reg->pool) {
            apr_hash_set(reg->backends, spec, APR_HASH_KEY_STRING, b);
        }
        b->transient = p != reg->pool;
    }
    if (rv != APR_SUCCESS) {
        *errmsg = "cannot create a mutex";
    }
    else if (b->error) {
        *errmsg = b->error;
        rv = APR_EINVAL;
    }
    else if (!b->addr.sa) {
        /* Not resolved yet, or the resolver failed last time: try now. */
        rv = fcgi_addr_resolve(&b->addr, p);
        if (rv != APR_SUCCESS) {
            b->addr.sa = NULL;
            *errmsg = apr_psprintf(request_pool, "cannot resolve the host "
                                   "of '" FCGI_HANDLER_PREFIX "%s'", spec);
        }
    }
    apr_thread_rwlock_unlock(reg->lock);
    *backendp = b;
    return rv;
}

static void *APR_THREAD_FUNC reaper_main(apr_thread_t *thread, void *data)
{
    fcgi_registry *reg = data;
    apr_interval_time_t every = reg->limits.idle_timeout / 2;

    if (every > apr_time_from_sec(1)) {
        every = apr_time_from_sec(1);
    }
    if (every < apr_time_from_msec(50)) {
        every = apr_time_from_msec(50);
    }
    apr_thread_mutex_lock(reg->reaper_mutex);
    while (!reg->stopping) {
        apr_hash_index_t *hi;
        apr_time_t now;

        apr_thread_cond_timedwait(reg->reaper_wake, reg->reaper_mutex, every);
        now = apr_time_now();
        apr_thread_rwlock_rdlock(reg->lock);
        for (hi = apr_hash_first(NULL, reg->backends); hi;
             hi = apr_hash_next(hi)) {
            backend_reap(apr_hash_this_val(hi), now);
        }
        apr_thread_rwlock_unlock(reg->lock);
    }
    apr_thread_mutex_unlock(reg->reaper_mutex);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* Runs before pchild's subpools go: the reaper must stop first. */
static apr_status_t registry_stop(void *data)
{
    fcgi_registry *reg = data;
    apr_status_t ignored;

    if (reg->reaper) {
        apr_thread_mutex_lock(reg->reaper_mutex);
        reg->stopping = 1;
        apr_thread_cond_signal(reg->reaper_wake);
        apr_thread_mutex_unlock(reg->reaper_mutex);
        apr_thread_join(&ignored, reg->reaper);
        reg->reaper = NULL;
    }
    return APR_SUCCESS;
}

fcgi_registry *fcgi_registry_create(apr_pool_t *pchild,
                                    const fcgi_pool_limits *limits)
{
    fcgi_registry *reg;
    apr_allocator_t *allocator;
    apr_thread_mutex_t *alloc_mutex;
    apr_pool_t *p;

    /* A pool of our own whose allocator is locked, so that connection
     * pools can come and go from any thread. */
    apr_allocator_create(&allocator);
    apr_pool_create_ex(&p, pchild, NULL, allocator);
    apr_allocator_owner_set(allocator, p);
    apr_thread_mutex_create(&alloc_mutex, APR_THREAD_MUTEX_DEFAULT, p);
    apr_allocator_mutex_set(allocator, alloc_mutex);
    apr_pool_tag(p, "fcgi_registry");

    reg = apr_pcalloc(p, sizeof(*reg));
    reg->pool = p;
    reg->limits = *limits;
    reg->backends = apr_hash_make(p);
    apr_thread_rwlock_create(&reg->lock, p);
    apr_thread_mutex_create(&reg->reaper_mutex, APR_THREAD_MUTEX_DEFAULT, p);
    apr_thread_cond_create(&reg->reaper_wake, p);
    if (apr_thread_create(&reg->reaper, NULL, reaper_main, reg, p)
        != APR_SUCCESS) {
        reg->reaper = NULL;
    }
    apr_pool_pre_cleanup_register(pchild, reg, registry_stop);
    return reg;
}
