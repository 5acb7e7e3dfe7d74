/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_backend.c: the backends one httpd process talks to, and their
 * connection pools (see fcgi_backend.h).
 *
 * Locking: the registry's read-write lock guards its table and each
 * backend's resolved address (requests only read them, once their backend
 * is known; nothing slow happens under the write lock: a name is looked
 * up under its backend's resolve_mutex, which only requests for that name
 * wait on); each backend's mutex guards its pool.  The reaper takes the
 * registry's lock, then a backend's mutex; nothing takes them the other
 * way round.  A request's own progress
 * (sent, answered) is published with atomics, not under the mutex.
 * Connection pools are subpools of the registry's pool, whose allocator
 * has a mutex of its own, so any thread may create and destroy them.
 *
 * Hand-over: a request that has to wait for a connection sleeps once, in
 * a wait set of its own (fcgi_waitset), until its answer arrives.
 * Whoever gives a kept connection back sends the waiting request on it
 * (the waiter handed its bytes over when it queued) and has the waiter's
 * wait set watch the connection.  So the backend gets the next request
 * the moment it finished the last, not once the waiting thread has been
 * scheduled, and the waiting thread is woken once, by its answer, rather
 * than once for the connection and again for the answer.  On this path the wake-ups are
 * what costs: thread switches, not our code, are most of a small
 * request's time in httpd (see bench/).
 */

#include "httpd.h"
#include "http_log.h"
#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"
#include "apr_thread_rwlock.h"

#include "fcgi_backend.h"
#include "fcgi_waitset.h"

APLOG_USE_MODULE(fastcgi_handler);

#if !APR_HAS_THREADS
#error "mod_fastcgi_handler needs APR with threads"
#endif

/* Handler names can be computed per request (SetHandler takes an
 * expression), so the registry is bounded; past this, a backend is made
 * for the request alone and keeps no connection, and all such backends
 * share one pool's bound (the registry's overflow). */
#define FCGI_REGISTRY_MAX 512

/* How long a name that did not resolve is answered from memory (503)
 * before it is looked up again: a dead name costs one lookup, not one per
 * request. */
#define FCGI_RESOLVE_RETRY apr_time_from_sec(5)

struct fcgi_registry {
    apr_pool_t *pool;
    apr_thread_rwlock_t *lock;         /* read: look up; write: add, resolve */
    apr_thread_mutex_t *reaper_mutex;
    apr_hash_t *backends;              /* spec -> fcgi_backend */
    fcgi_pool_limits limits;
    apr_thread_t *reaper;
    apr_thread_cond_t *reaper_wake;
    int stopping;
    /* Waiters not waiting, for any backend (a thread waits for one at a
     * time), most recently used first; the reaper frees those unused for
     * the idle timeout. */
    apr_thread_mutex_t *spares_mutex;
    struct fcgi_waiter *spare_waiters;
    /* The read end of a pipe with a byte in it that nobody reads: always
     * readable, which is what wakes a waiter (fcgi_waitset). */
    apr_file_t *ready;
    /* The pool of the backends past FCGI_REGISTRY_MAX (its address is
     * never used), and whether that was said (once: apr_atomic). */
    struct fcgi_backend *overflow;
    volatile apr_uint32_t overflow_said;
};

/* Where a waiting request stands. */
typedef enum {
    WAITER_QUEUED,                     /* in the queue */
    WAITER_HANDING,                    /* taken off it: a kept connection
                                          is on its way */
    WAITER_HANDED,                     /* conn is its own */
    WAITER_MAY_OPEN                    /* a slot is reserved for it */
} waiter_state;

/* A request waiting for a connection, first come first served.  Others
 * touch a waiter only while it is theirs to hand something to (taken off
 * the queue, not yet told), and wake it under its backend's mutex, with
 * the change of state: so a waiter that has moved on gets no late
 * wake-up, and can be reused or freed. */
typedef struct fcgi_waiter fcgi_waiter;
struct fcgi_waiter {
    fcgi_waiter *next;                 /* in the queue, or the spares */
    apr_pool_t *pool;
    fcgi_waitset *ws;                  /* where it sleeps */
    apr_time_t spare_since;
    waiter_state state;
    int fresh;                         /* wants a new connection only */
    struct iovec *request;             /* to send on hand-over, or NULL */
    int nrequest;
    fcgi_conn *conn;                   /* handed over */
    int sent;                          /* ... with the request sent on it */
    int answered;                      /* ... and the answer coming in */
};

struct fcgi_backend {
    fcgi_registry *reg;
    fcgi_addr addr;
    const char *error;                 /* a parse error, remembered */
    int transient;                     /* not in the registry: keeps nothing,
                                          and its pool is reg->overflow */
    apr_thread_mutex_t *resolve_mutex; /* one lookup of the name at a time */
    apr_time_t resolve_failed;         /* when it last failed (under it) */
    apr_status_t resolve_rv;           /* ... and why */
    apr_thread_mutex_t *mutex;
    int open;                          /* busy, idle and being opened */
    fcgi_conn *idle;                   /* most recently used first */
    fcgi_conn *busy;                   /* in use by a request */
    fcgi_waiter *waiters, *waiters_tail;
    /* How many connections the backend serves at once, as far as we can
     * tell (0: no sign yet that it serves fewer than we may open).  See
     * learn_workers(). */
    int workers;
    apr_time_t workers_changed;
};

const fcgi_addr *fcgi_backend_addr(const fcgi_backend *backend)
{
    return &backend->addr;
}

/* The backend whose pool b's connections count in: its own, or for a
 * backend outside the registry the overflow pool all of those share. */
static fcgi_backend *pool_of(fcgi_backend *b)
{
    return b->transient ? b->reg->overflow : b;
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

/* c goes to a request: kept from before (reused), or new.  Set here,
 * under the mutex, since others judge a request by it; the request gets
 * the connection's next request id. */
static void busy_add(fcgi_backend *b, fcgi_conn *c, int reused)
{
    c->uses++;
    c->request_id = fcgi_request_id_next(c->request_id);
    c->busy_prev = NULL;
    c->busy_next = b->busy;
    if (b->busy) {
        b->busy->busy_prev = c;
    }
    b->busy = c;
    c->reused = reused;
    c->probe = 0;
    c->rescued_at = 0;
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

/* How long a new connection may wait for the backend to accept it before
 * its request counts as queued.  A backend that accepts
 * slowly (forking for each connection, or starting up) leaves connections
 * waiting a while with workers to spare, and a lesson wrongly learned
 * costs throughput; but a connection opened to try one more worker (a
 * probe), still waiting while another completes, says at once that there
 * is none. */
#define FCGI_QUEUED_PROBE apr_time_from_msec(1)
#define FCGI_QUEUED_AFTER apr_time_from_msec(50)

/*
 * Whether a request sent before c's is queued inside the backend, behind
 * the connections we keep, rather than being worked on: 0 no, 1 it may be,
 * 2 it is.  Only a request on a new connection can be: a kept connection
 * is held by the worker that served it, which reads the next request at
 * once, so a request on one that is slow to answer is slow work.  Where
 * the kernel can tell (fcgi_conn_accepted: a unix socket, or TCP to this
 * machine) it is plain: a connection the backend has not accepted for
 * FCGI_QUEUED_AFTER waits in its listen queue (2).  (Whether the backend
 * has read the request would not do: PHP-FPM leaves the end of an empty
 * body unread until it has answered.)  Elsewhere nothing tells, so such a
 * request still waiting for its first byte may be queued (1); the price
 * of a mistake is a connection closed that could have been kept.
 *
 * The connection closed for a request found frees a worker, which
 * accepts the oldest connection in the listen queue: so the oldest is the
 * one found, and it is not found again while that worker is on its way.
 * Should it still not be accepted FCGI_QUEUED_AFTER later (another took
 * the worker), it is found again: left marked, it would wait for as long
 * as kept connections hold every worker.  Where nothing tells, a request
 * counts once.  *found is the one found.
 */
static int earlier_request_starving(fcgi_backend *b, fcgi_conn *c,
                                    fcgi_conn **found)
{
    apr_uint64_t sent = apr_atomic_read64(&c->sent_at), oldest_sent = 0;
    apr_time_t now = 0;
    fcgi_conn *o;
    int verdict = 0;

    for (o = b->busy; o; o = o->busy_next) {
        apr_uint64_t o_sent;
        int accepted;

        if (o->reused || !apr_atomic_read32(&o->awaiting)
            || (o_sent = apr_atomic_read64(&o->sent_at)) >= sent
            || (verdict && o_sent >= oldest_sent)) {
            continue;
        }
        /* Asking the kernel takes a few system calls: only once the
         * request has waited long enough to count. */
        if (!now) {
            now = apr_time_now();
        }
        if (now - (apr_time_t)o_sent
            <= (o->probe ? FCGI_QUEUED_PROBE : FCGI_QUEUED_AFTER)
            || (o->rescued_at && now - o->rescued_at <= FCGI_QUEUED_AFTER)) {
            continue;
        }
        accepted = fcgi_conn_accepted(o);
        if (accepted == 1 || (o->rescued_at && accepted != 0)) {
            continue;
        }
        *found = o;
        oldest_sent = o_sent;
        verdict = accepted == 0 ? 2 : 1;
    }
    if (verdict) {
        (*found)->rescued_at = now;
    }
    return verdict;
}

/* Whether a worker holds c or is on its way to it, as far as we can
 * tell: c is kept (held by the worker that served it), or the backend
 * accepted it, or a worker was freed for it a moment ago. */
static int conn_has_worker(fcgi_conn *c, apr_time_t now)
{
    return c->reused || fcgi_conn_accepted(c) == 1
           || (c->rescued_at && now - c->rescued_at <= FCGI_QUEUED_AFTER);
}

/* Wake w, a waiter whose state just changed; under the mutex. */
static void waiter_wake(fcgi_waiter *w)
{
    fcgi_waitset_wake(w->ws);
}

/* A connection was closed: its slot goes to the first waiter, if any
 * (waiters queue only when the backend is at their limit, so the slot is
 * theirs to take), unless the pool is shrinking. */
static void slot_freed(fcgi_backend *b)
{
    fcgi_waiter *w;

    b->open--;
    if (b->workers && b->open >= b->workers) {
        /* The pool shrinks to what the backend serves. */
        return;
    }
    if ((w = waiter_pop(b))) {
        w->state = WAITER_MAY_OPEN;
        b->open++;
        waiter_wake(w);
    }
}

/* A waiter from the spares, or a new one. */
static apr_status_t waiter_get(fcgi_registry *reg, fcgi_waiter **wp)
{
    fcgi_waiter *w;
    apr_pool_t *p;
    apr_status_t rv;

    apr_thread_mutex_lock(reg->spares_mutex);
    if ((w = reg->spare_waiters)) {
        reg->spare_waiters = w->next;
    }
    apr_thread_mutex_unlock(reg->spares_mutex);
    if (w) {
        *wp = w;
        return APR_SUCCESS;
    }
    /* A pool of its own: pools are not shared between threads, and
     * making a subpool of the registry's is safe from any thread. */
    if ((rv = apr_pool_create(&p, reg->pool)) != APR_SUCCESS) {
        return rv;
    }
    apr_pool_tag(p, "fcgi_waiter");
    w = apr_pcalloc(p, sizeof(*w));
    w->pool = p;
    if ((rv = fcgi_waitset_create(&w->ws, reg->ready, p)) != APR_SUCCESS) {
        apr_pool_destroy(p);
        return rv;
    }
    *wp = w;
    return APR_SUCCESS;
}

/* w is done waiting: back to the spares, its wait set cleared. */
static void waiter_put(fcgi_registry *reg, fcgi_waiter *w)
{
    fcgi_waitset_clear(w->ws);
    w->spare_since = apr_time_now();
    apr_thread_mutex_lock(reg->spares_mutex);
    w->next = reg->spare_waiters;
    reg->spare_waiters = w;
    apr_thread_mutex_unlock(reg->spares_mutex);
}

/* Free the waiters unused for the idle timeout (their wait sets hold a
 * file descriptor each). */
static void spares_reap(fcgi_registry *reg, apr_time_t now)
{
    fcgi_waiter **link, *w, *expired = NULL;

    apr_thread_mutex_lock(reg->spares_mutex);
    link = &reg->spare_waiters;
    while ((w = *link)) {
        if (now - w->spare_since >= reg->limits.idle_timeout) {
            *link = w->next;
            w->next = expired;
            expired = w;
        }
        else {
            link = &w->next;
        }
    }
    apr_thread_mutex_unlock(reg->spares_mutex);
    while ((w = expired)) {
        expired = w->next;
        apr_pool_destroy(w->pool);
    }
}

/*
 * Wait for a connection or a slot: queue w, then sleep in its wait set
 * until its state changes, for at most the queue timeout while it is
 * still queued.  Called and returns with the mutex held.
 */
static apr_status_t queue_wait(fcgi_backend *b, fcgi_waiter *w,
                               const fcgi_acquire *a)
{
    apr_time_t deadline = apr_time_now() + a->queue_timeout;

    w->next = NULL;
    w->state = WAITER_QUEUED;
    w->conn = NULL;
    w->sent = w->answered = 0;
    if (b->waiters_tail) {
        b->waiters_tail->next = w;
    }
    else {
        b->waiters = w;
    }
    b->waiters_tail = w;

    while (w->state == WAITER_QUEUED || w->state == WAITER_HANDING) {
        apr_interval_time_t left = deadline - apr_time_now();

        if (w->state == WAITER_HANDING) {
            /* Its connection is being sent on: a moment, whatever the
             * deadline says. */
            left = apr_time_from_msec(1);
        }
        else if (left <= 0) {
            waiter_remove(b, w);
            return FCGI_EQUEUE;
        }
        else if (a->io_timeout > 0 && left > a->io_timeout) {
            /* Once handed over with its request sent, the sleep is the
             * wait for the answer, which FcgiIOTimeout bounds. */
            left = a->io_timeout;
        }
        apr_thread_mutex_unlock(b->mutex);
        w->answered = fcgi_waitset_sleep(w->ws, left);
        apr_thread_mutex_lock(b->mutex);
    }
    return APR_SUCCESS;
}

/*
 * Outside the mutex: send w's request on c, a connection just given back
 * after a clean END_REQUEST, and have w's wait set wake w when the answer
 * comes.  The request is small (fcgi_backend_acquire's limit) and the
 * connection's send buffer empty, so the write does not wait.  The
 * connection is watched under the mutex, with w's new state: w
 * then never wakes to an answer while still being handed its connection,
 * nor clears its wait set before the connection was watched.
 */
static void hand_over(fcgi_backend *b, fcgi_waiter *w, fcgi_conn *c)
{
    apr_status_t rv = APR_SUCCESS;
    int watched = 0;

    if (w->request) {
        apr_size_t written;

        fcgi_records_set_request_id(w->request, w->nrequest, c->request_id);
        rv = fcgi_conn_writev(c, w->request, w->nrequest, &written);
        if (rv == APR_SUCCESS) {
            fcgi_backend_request_sent(b, c);
        }
    }

    apr_thread_mutex_lock(b->mutex);
    if (rv == APR_SUCCESS) {
        w->conn = c;
        w->sent = w->request != NULL;
        w->state = WAITER_HANDED;
        if (w->sent) {
            watched = fcgi_waitset_watch(w->ws, c->sock) == APR_SUCCESS;
        }
    }
    else {
        /* The connection broke under the request: its slot is the
         * waiter's, for a new connection (the request went out from a
         * copy; the waiter's own is whole). */
        busy_remove(b, c);
        w->state = WAITER_MAY_OPEN;
    }
    if (!watched) {
        /* No answer on a connection it watches will wake it. */
        waiter_wake(w);
    }
    apr_thread_mutex_unlock(b->mutex);
    if (rv != APR_SUCCESS) {
        fcgi_conn_close(c);
    }
}

/*
 * A backend serving fewer connections than FcgiMaxConns lets us open
 * leaves the others' requests in its listen queue, where no fairness of
 * ours reaches them.  So the pool learns how many the backend serves:
 * when a request is found starving for certain (where that can be told)
 * while a kept connection completes, that is while the
 * backend holds workers on our kept connections (not while it starts up,
 * say), as many connections as the backend is serving; and it tries one
 * more each FCGI_WORKERS_PROBE that requests had to wait, in case the
 * backend has grown.  Within what it learned the pool queues requests
 * itself, first come first served, on kept connections.  On a mere
 * suspicion it learns nothing: taking a slow backend for a small one
 * would queue requests here while it had workers to spare.
 */
#define FCGI_WORKERS_PROBE apr_time_from_sec(1)

static void learn_workers(fcgi_backend *b, fcgi_conn *starving)
{
    int served = 1;
    apr_time_t now = apr_time_now();
    fcgi_conn *o;

    /* Besides the one just done, whose worker goes to the connection
     * found starving, every connection a worker holds or is on its way
     * to: idle ones (kept, so held), and of the busy ones those kept, new
     * ones the backend has accepted (answering or not, its request sent
     * yet or not), and those found starving a moment before, for which a
     * worker was freed the same way.  Only the others wait in the backend
     * with no worker for them. */
    for (o = b->idle; o; o = o->next) {
        served++;
    }
    for (o = b->busy; o; o = o->busy_next) {
        if (o != starving && conn_has_worker(o, now)) {
            served++;
        }
    }
    if (!b->workers || served < b->workers) {
        b->workers = served;
        b->workers_changed = now;
    }
}

/* Requests have to wait, with fewer connections open than allowed: one
 * more, if the last change is a while ago. */
static int probe_more_workers(fcgi_backend *b, int max_conns)
{
    apr_time_t now;

    if (!b->workers || b->workers >= max_conns) {
        return 0;
    }
    now = apr_time_now();
    if (now - b->workers_changed < FCGI_WORKERS_PROBE) {
        return 0;
    }
    b->workers++;
    b->workers_changed = now;
    return 1;
}

/*
 * Under the mutex, take a connection or a slot: *conn is a kept one (to
 * be checked unless *waiter was handed it), or NULL with a slot reserved
 * for a new one.  A request that had to queue comes back with its waiter
 * (*waiter), for the caller to put away.  Nothing slow happens under the
 * mutex: checking, connecting and closing come after.
 */
static apr_status_t pool_take(fcgi_backend *b, const fcgi_acquire *a,
                              int max_conns, fcgi_conn **conn,
                              fcgi_conn **to_close, fcgi_waiter **waiter,
                              int *probe)
{
    apr_status_t rv = APR_SUCCESS;
    fcgi_conn *c = NULL;
    fcgi_waiter *w;
    int limit = b->workers && b->workers < max_conns ? b->workers
                                                     : max_conns;

    *to_close = NULL;
    *waiter = NULL;
    *probe = 0;
    if (b->idle && (!a->fresh || b->open >= limit)) {
        /* A kept one, or (for a new one) the room it takes up. */
        c = b->idle;
        b->idle = c->next;
        c->next = NULL;
        if (a->fresh) {
            *to_close = c;
            c = NULL;
        }
        else {
            busy_add(b, c, 1);
        }
    }
    else if (b->open < limit
             || (*probe = probe_more_workers(b, max_conns))) {
        b->open++;
    }
    else if ((rv = waiter_get(b->reg, &w)) == APR_SUCCESS) {
        w->fresh = a->fresh;
        w->request = NULL;
        if (a->request) {
            /* A copy: sending consumes the vector, and should it fail the
             * request goes out again from the original. */
            w->request = apr_pmemdup(a->r->pool, a->request,
                                     a->nrequest * sizeof(*a->request));
            w->nrequest = a->nrequest;
        }
        *waiter = w;
        rv = queue_wait(b, w, a);
        if (rv == APR_SUCCESS && w->state == WAITER_HANDED) {
            c = w->conn;                /* in the busy list already */
        }
    }
    *conn = c;
    return rv;
}

apr_status_t fcgi_backend_acquire(fcgi_backend *backend,
                                  const fcgi_acquire *a,
                                  fcgi_conn **connp, int *sent)
{
    fcgi_backend *b = pool_of(backend);
    int max_conns = a->max_conns > 0 ? a->max_conns
                                     : b->reg->limits.max_conns;
    fcgi_conn *c, *to_close;
    fcgi_waiter *w;
    apr_status_t rv;
    fcgi_idle_state idle;
    int handed, probe;

    *sent = 0;
    for (;;) {
        apr_thread_mutex_lock(b->mutex);
        rv = pool_take(b, a, max_conns, &c, &to_close, &w, &probe);
        apr_thread_mutex_unlock(b->mutex);
        if (to_close) {
            fcgi_conn_close(to_close);
        }
        handed = 0;
        if (w) {
            handed = w->state == WAITER_HANDED;
            *sent = handed && w->sent;
            if (*sent && w->answered) {
                fcgi_conn_data_waiting(w->conn);
            }
            waiter_put(b->reg, w);
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        /* A connection handed over comes straight from a clean
         * END_REQUEST, and may hold our answer already: not checked (a
         * record the backend wrote after that END_REQUEST still cannot
         * pass for our answer: it has the last request's id). */
        if (!c || handed) {
            break;
        }
        if ((idle = fcgi_conn_idle_state(c)) == FCGI_IDLE_QUIET) {
            break;
        }
        /* Closed by the backend while idle, or holding bytes nobody asked
         * for (which must never reach a request): drop it, try again. */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, a->r, "FCGI0110: a kept "
                      "connection to " FCGI_HANDLER_PREFIX "%s %s; it is "
                      "closed and another taken", backend->addr.spec,
                      idle == FCGI_IDLE_CLOSED
                      ? "had been closed by the backend"
                      : "had bytes waiting that no request asked for");
        fcgi_backend_release(b, c, 0);
    }

    if (!c) {
        /* A slot is ours: connect. */
        rv = fcgi_conn_open(&c, &backend->addr, a->connect_timeout,
                            b->reg->pool);
        apr_thread_mutex_lock(b->mutex);
        if (rv != APR_SUCCESS) {
            slot_freed(b);
            /* Down, or restarting: what it serves once back is to be
             * learned anew. */
            b->workers = 0;
        }
        else {
            busy_add(b, c, 0);
            c->probe = probe;
        }
        apr_thread_mutex_unlock(b->mutex);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
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

void fcgi_backend_release(fcgi_backend *backend, fcgi_conn *c, int keep)
{
    fcgi_backend *b = pool_of(backend);
    fcgi_waiter *w = NULL;
    int close_it = 0;

    apr_thread_mutex_lock(b->mutex);
    busy_remove(b, c);
    if (keep && !b->transient) {
        fcgi_conn *found = NULL;
        int starving = earlier_request_starving(b, c, &found);

        if (starving) {
            if (starving == 2 && c->reused) {
                learn_workers(b, found);
            }
            keep = 0;
        }
    }
    if (!keep || b->transient || (b->workers && b->open > b->workers)) {
        slot_freed(b);
        close_it = 1;
    }
    else if ((w = waiter_pop(b))) {
        if (w->fresh) {
            /* It wants a new connection: this one's slot is its. */
            w->state = WAITER_MAY_OPEN;
            waiter_wake(w);
            w = NULL;
            close_it = 1;
        }
        else {
            w->state = WAITER_HANDING;
            busy_add(b, c, 1);
        }
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
    if (w) {
        hand_over(b, w, c);
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
    apr_status_t rv;

    b->reg = reg;
    b->error = fcgi_addr_parse(spec, &b->addr, p);
    if ((rv = apr_thread_mutex_create(&b->resolve_mutex,
                                      APR_THREAD_MUTEX_DEFAULT, p))
        != APR_SUCCESS) {
        return rv;
    }
    return apr_thread_mutex_create(&b->mutex, APR_THREAD_MUTEX_DEFAULT, p);
}

/* Whether b can be used as it is: parsed, and resolved.  Under the
 * registry's lock. */
static int backend_ready(const fcgi_backend *b)
{
    return !b->error && b->addr.sa;
}

/*
 * Resolve b's name, outside the registry's lock: only requests for this
 * name wait (on resolve_mutex) for the lookup, which they need anyway;
 * a failure is remembered for FCGI_RESOLVE_RETRY.  The answer lives in a
 * pool of its own (a subpool of the registry's, which is safe to create
 * from any thread), and is published under the registry's write lock.
 */
static apr_status_t backend_resolve(fcgi_backend *b, apr_pool_t *request_pool,
                                    const char **errmsg)
{
    fcgi_registry *reg = b->reg;
    apr_status_t rv = APR_SUCCESS;
    apr_time_t now;
    int ready;

    apr_thread_mutex_lock(b->resolve_mutex);
    apr_thread_rwlock_rdlock(reg->lock);
    ready = backend_ready(b);
    apr_thread_rwlock_unlock(reg->lock);
    now = apr_time_now();
    if (ready) {
        /* Another request for the name resolved it meanwhile. */
    }
    else if (b->resolve_failed
             && now - b->resolve_failed < FCGI_RESOLVE_RETRY) {
        rv = b->resolve_rv;
        *errmsg = apr_psprintf(request_pool, "cannot resolve the host of '"
                               FCGI_HANDLER_PREFIX "%s' (the lookup %"
                               APR_TIME_T_FMT " ms ago failed; it is tried "
                               "again %" APR_TIME_T_FMT " s after that)",
                               b->addr.spec,
                               apr_time_as_msec(now - b->resolve_failed),
                               apr_time_sec(FCGI_RESOLVE_RETRY));
    }
    else {
        fcgi_addr resolved = b->addr;
        apr_pool_t *p;

        if ((rv = apr_pool_create(&p, b->transient ? request_pool
                                                   : reg->pool))
            == APR_SUCCESS) {
            apr_pool_tag(p, "fcgi_resolved");
            rv = fcgi_addr_resolve(&resolved, p);
            if (rv == APR_SUCCESS) {
                apr_thread_rwlock_wrlock(reg->lock);
                b->addr.sa = resolved.sa;
                apr_thread_rwlock_unlock(reg->lock);
                b->resolve_failed = 0;
            }
            else {
                apr_pool_destroy(p);
            }
        }
        if (rv != APR_SUCCESS) {
            b->resolve_failed = apr_time_now();
            b->resolve_rv = rv;
            *errmsg = apr_psprintf(request_pool, "cannot resolve the host "
                                   "of '" FCGI_HANDLER_PREFIX "%s'",
                                   b->addr.spec);
        }
    }
    apr_thread_mutex_unlock(b->resolve_mutex);
    return rv;
}

/* Past FCGI_REGISTRY_MAX: said once per process, at the first such name. */
static void overflow_say(fcgi_registry *reg, const char *spec,
                         request_rec *r)
{
    if (apr_atomic_cas32(&reg->overflow_said, 1, 0) == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "FCGI0006: more than "
                      "%d distinct handler names in this process (this one: '"
                      FCGI_HANDLER_PREFIX "%.80s'); their connections are not "
                      "kept, and all such names together have no more open "
                      "than FcgiMaxConns.  A handler computed per request (an "
                      "expression in SetHandler) makes a backend per value: "
                      "name the backends in the configuration instead",
                      FCGI_REGISTRY_MAX, spec);
    }
}

apr_status_t fcgi_registry_get(fcgi_registry *reg, const char *spec,
                               fcgi_backend **backendp, const char **errmsg,
                               request_rec *r)
{
    apr_pool_t *request_pool = r->pool;
    fcgi_backend *b;
    apr_status_t rv = APR_SUCCESS;
    apr_pool_t *p = reg->pool;
    int ready;

    /* The common case: a backend met before, resolved (which it then
     * stays for good). */
    apr_thread_rwlock_rdlock(reg->lock);
    b = apr_hash_get(reg->backends, spec, APR_HASH_KEY_STRING);
    ready = b && backend_ready(b);
    apr_thread_rwlock_unlock(reg->lock);
    if (ready) {
        *backendp = b;
        return APR_SUCCESS;
    }

    if (!b) {
        /* New: parsed and entered under the write lock (nothing slow). */
        apr_thread_rwlock_wrlock(reg->lock);
        b = apr_hash_get(reg->backends, spec, APR_HASH_KEY_STRING);
        if (!b) {
            if (apr_hash_count(reg->backends) >= FCGI_REGISTRY_MAX) {
                p = request_pool;
            }
            b = apr_pcalloc(p, sizeof(*b));
            spec = apr_pstrdup(p, spec);
            rv = backend_init(b, reg, spec, p);
            b->transient = p != reg->pool;
            if (rv == APR_SUCCESS && !b->transient) {
                apr_hash_set(reg->backends, spec, APR_HASH_KEY_STRING, b);
            }
        }
        apr_thread_rwlock_unlock(reg->lock);
        if (b->transient) {
            overflow_say(reg, spec, r);
        }
    }
    *backendp = b;
    if (rv != APR_SUCCESS) {
        *errmsg = "cannot create a mutex";
        return rv;
    }
    if (b->error) {
        *errmsg = b->error;
        return APR_EINVAL;
    }
    /* Not resolved yet, or the resolver failed last time. */
    return backend_resolve(b, request_pool, errmsg);
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
        spares_reap(reg, now);
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
    apr_file_t *ready_out;
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
    apr_thread_mutex_create(&reg->spares_mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (apr_file_pipe_create_ex(&reg->ready, &ready_out, APR_FULL_NONBLOCK,
                                p) == APR_SUCCESS) {
        apr_file_putc(1, ready_out);
    }
    else {
        reg->ready = NULL;              /* no waiting: a 503 (EINVAL) */
    }
    /* The pool the backends past FCGI_REGISTRY_MAX share. */
    reg->overflow = apr_pcalloc(p, sizeof(*reg->overflow));
    reg->overflow->reg = reg;
    reg->overflow->transient = 1;
    reg->overflow->addr.spec = "(handler names past the registry's bound)";
    apr_thread_mutex_create(&reg->overflow->mutex, APR_THREAD_MUTEX_DEFAULT,
                            p);
    if (apr_thread_create(&reg->reaper, NULL, reaper_main, reg, p)
        != APR_SUCCESS) {
        reg->reaper = NULL;
    }
    apr_pool_pre_cleanup_register(pchild, reg, registry_stop);
    return reg;
}
