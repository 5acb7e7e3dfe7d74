/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_backend.h: the backends one httpd process talks to.
 *
 * The registry maps each distinct handler name ("fcgi:..." without the
 * prefix) to a backend: its address, parsed and resolved once per
 * process, and its pool of connections.  The pool keeps connections open
 * between requests (FCGI_KEEP_CONN) and bounds them: at most max_conns per
 * backend and process, busy and idle together.  When all are busy a
 * request waits, first come first served, for at most its queue timeout;
 * a kept connection given back goes straight to the first in line, with
 * that request sent on it.
 * Idle connections are closed after idle_timeout by a reaper thread, so
 * that a quiet process does not hold backend workers it does not use.
 */

#ifndef FCGI_BACKEND_H
#define FCGI_BACKEND_H

#include "httpd.h"
#include "apr_pools.h"
#include "apr_network_io.h"

#include "fcgi_addr.h"
#include "fcgi_conn.h"

/* No connection became free within the queue timeout. */
#define FCGI_EQUEUE (APR_OS_START_USERERR + 0x4640)

typedef struct {
    int max_conns;                     /* per backend and process, unless
                                          a request says otherwise */
    apr_interval_time_t idle_timeout;  /* idle connections closed after */
} fcgi_pool_limits;

typedef struct fcgi_registry fcgi_registry;
typedef struct fcgi_backend fcgi_backend;

/* The process's registry, with its reaper thread (stopped when pchild
 * is destroyed). */
fcgi_registry *fcgi_registry_create(apr_pool_t *pchild,
                                    const fcgi_pool_limits *limits);

/*
 * The backend for spec.  Parse failures are remembered (the string will
 * not get better); resolver failures for a few seconds (the name may
 * resolve later; meanwhile a dead name costs no lookup per request).  A
 * lookup holds up only requests for the same name.  On failure *errmsg
 * says why, from r's pool: APR_EINVAL for a malformed address, the
 * resolver's status otherwise.
 */
apr_status_t fcgi_registry_get(fcgi_registry *reg, const char *spec,
                               fcgi_backend **backend, const char **errmsg,
                               request_rec *r);

const fcgi_addr *fcgi_backend_addr(const fcgi_backend *backend);

/* What a request asks of its backend's pool. */
typedef struct {
    int max_conns;                     /* its FcgiMaxConns, 0: the default */
    apr_interval_time_t connect_timeout;
    apr_interval_time_t queue_timeout;
    apr_interval_time_t io_timeout;    /* bounds a wait for the answer to a
                                          request sent on hand-over */
    int fresh;                         /* a new connection, never a kept one
                                          (for a request that must not meet
                                          one the backend is closing) */
    /* The whole request, BEGIN_REQUEST to the empty STDIN, if it is small
     * and has no body to stream, else NULL.  Should the request have to
     * wait, whoever hands it a kept connection sends this on it at once,
     * so that the backend need not wait for the waiting thread to wake. */
    struct iovec *request;
    int nrequest;
    request_rec *r;                    /* for its pool and log lines */
} fcgi_acquire;

/*
 * A connection for one request: an idle one that is still good, else a
 * new one while fewer than max_conns are open, else the next one released
 * (waiting at most queue_timeout: FCGI_EQUEUE).  *sent says the request
 * (a->request) has gone out on it already, under the connection's
 * request id.  Connect failures are returned as they are.
 */
apr_status_t fcgi_backend_acquire(fcgi_backend *backend,
                                  const fcgi_acquire *a,
                                  fcgi_conn **conn, int *sent);

/* The request has gone out on conn; the answer has started to come back.
 * (What the pool needs to notice requests queued inside the backend.) */
void fcgi_backend_request_sent(fcgi_backend *backend, fcgi_conn *conn);
void fcgi_backend_answer_started(fcgi_backend *backend, fcgi_conn *conn);

/*
 * Give a connection back: kept for the next request when `keep` (the
 * request ended cleanly with FCGI_KEEP_CONN), closed otherwise.  A
 * connection is closed anyway when a request sent before this one's, on a
 * new connection, is queued in the backend (not accepted, where the
 * kernel tells; else still without an answer): the backend is serving us
 * on fewer workers than we hold connections, and that one waits behind
 * kept connections; closing frees a worker for it (no starvation).
 */
void fcgi_backend_release(fcgi_backend *backend, fcgi_conn *conn, int keep);

#endif /* FCGI_BACKEND_H */
