/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_conn.h: one connection to a backend: connecting with a deadline,
 * moving bytes with the I/O timeout, telling whether a kept connection is
 * still good, and ending a request early without losing the connection.
 *
 * A connection has its own memory pool, so that it can outlive the
 * request that opened it (fcgi_backend.c keeps it for the next one).
 */

#ifndef FCGI_CONN_H
#define FCGI_CONN_H

#include "apr_network_io.h"
#include "apr_buckets.h"

#include "fcgi_addr.h"
#include "fcgi_proto.h"

typedef struct fcgi_conn fcgi_conn;

struct fcgi_conn {
    apr_pool_t *pool;             /* the connection's own; the socket's */
    apr_socket_t *sock;
    int unix_socket;              /* not TCP */
    int accepted;                 /* seen accepted by the backend */
    apr_interval_time_t io_timeout;
    apr_time_t idle_since;        /* when it was last put back */
    apr_uint32_t uses;            /* requests started on it */
    apr_uint16_t request_id;      /* of the request now on it (see
                                     fcgi_proto.h: 1, then the next) */
    int reused;                   /* this request got it from the pool
                                     (set under the backend's mutex) */
    fcgi_conn *next;              /* in its backend's idle list */
    /* While busy (fcgi_backend.c): in the backend's busy list, and when
     * the request went out if no byte of the answer has come back yet. */
    fcgi_conn *busy_prev, *busy_next;
    apr_time_t rescued_at;        /* found starving, a worker freed for it */
    int probe;                    /* opened to try one more worker */
    volatile apr_uint64_t sent_at;      /* written by the request's thread, */
    volatile apr_uint32_t awaiting;     /* read by others: apr_atomic_* */
};

/* Connect to addr (each resolved address in turn), with a non-blocking
 * connect bounded by connect_timeout.  The connection's pool is a new
 * subpool of parent (which must be safe to use from any thread). */
apr_status_t fcgi_conn_open(fcgi_conn **conn, const fcgi_addr *addr,
                            apr_interval_time_t connect_timeout,
                            apr_pool_t *parent);

/* The I/O timeout of the request now using the connection. */
void fcgi_conn_set_timeout(fcgi_conn *conn, apr_interval_time_t io_timeout);

/* What a connection between two requests has to say for itself. */
typedef enum {
    FCGI_IDLE_QUIET = 0,          /* nothing: it can serve another */
    FCGI_IDLE_CLOSED,             /* the backend closed it (or it broke) */
    FCGI_IDLE_UNREAD              /* bytes nobody asked for are waiting */
} fcgi_idle_state;

/* Whether a connection without a request on it is still usable.  An idle
 * FastCGI connection has nothing to read: anything readable means the
 * backend closed it or broke the protocol.  One poll, without waiting. */
fcgi_idle_state fcgi_conn_idle_state(fcgi_conn *conn);

/* Write all of vec (which is consumed: entries are advanced in place),
 * waiting at most io_timeout each time the backend stops accepting.
 * *written counts what went out, also on failure. */
apr_status_t fcgi_conn_writev(fcgi_conn *conn, struct iovec *vec, int nvec,
                              apr_size_t *written);

/* The wait for data ended at the caller's deadline (not io_timeout). */
#define FCGI_EDEADLINE (APR_OS_START_USERERR + 0x4650)

/* Read what is there, up to *len bytes.  APR_NONBLOCK_READ returns
 * APR_EAGAIN when nothing is; APR_BLOCK_READ waits up to io_timeout
 * (APR_TIMEUP), and not past deadline if there is one (FCGI_EDEADLINE).
 * APR_EOF when the backend closed. */
apr_status_t fcgi_conn_read(fcgi_conn *conn, char *buf, apr_size_t *len,
                            apr_read_type_e block, apr_time_t deadline);

/* The backend has sent something (a poll said so): the next read need
 * not wait for it. */
void fcgi_conn_data_waiting(fcgi_conn *conn);

/*
 * End the request on the connection early: send FCGI_ABORT_REQUEST and
 * read (discarding) until its END_REQUEST, for at most `bound`.  The
 * parser is the request's, wherever it stands.  APR_SUCCESS means the
 * backend cooperated and the connection can serve another request (it
 * sent nothing else: no record of another request, nothing after the
 * END_REQUEST).
 */
apr_status_t fcgi_conn_abort_request(fcgi_conn *conn, fcgi_parser *parser,
                                     apr_interval_time_t bound);

/* Whether the backend has accepted the connection, that is whether a
 * worker of its holds it, rather than its listen queue: 1 or 0, or -1
 * where that cannot be told (a backend on another machine; systems other
 * than Linux, where the kernel tells through sock_diag).  Called by one
 * thread at a time (the pool's lock). */
int fcgi_conn_accepted(fcgi_conn *conn);

/* When the request now on it went out (fcgi_backend_request_sent). */
apr_time_t fcgi_conn_sent_at(fcgi_conn *conn);

/* Close the connection and free its pool. */
void fcgi_conn_close(fcgi_conn *conn);

#endif /* FCGI_CONN_H */
