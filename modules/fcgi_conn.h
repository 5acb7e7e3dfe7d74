/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_conn.h: the connection to a backend: connecting with a deadline,
 * and moving bytes with the I/O timeout.
 */

#ifndef FCGI_CONN_H
#define FCGI_CONN_H

#include "apr_network_io.h"
#include "apr_buckets.h"

#include "fcgi_addr.h"

typedef struct {
    apr_socket_t *sock;
    const fcgi_addr *addr;
    apr_interval_time_t io_timeout;
} fcgi_conn;

/* Connect to addr (each resolved address in turn), with a non-blocking
 * connect bounded by connect_timeout.  The socket lives in p. */
apr_status_t fcgi_conn_open(fcgi_conn **conn, const fcgi_addr *addr,
                            apr_interval_time_t connect_timeout,
                            apr_interval_time_t io_timeout, apr_pool_t *p);

/* Write all of vec (which is consumed: entries are advanced in place),
 * waiting at most io_timeout each time the backend stops accepting.
 * *written counts what went out, also on failure. */
apr_status_t fcgi_conn_writev(fcgi_conn *conn, struct iovec *vec, int nvec,
                              apr_size_t *written);

/* Read what is there, up to *len bytes.  APR_NONBLOCK_READ returns
 * APR_EAGAIN when nothing is; APR_BLOCK_READ waits up to io_timeout
 * (APR_TIMEUP).  APR_EOF when the backend closed. */
apr_status_t fcgi_conn_read(fcgi_conn *conn, char *buf, apr_size_t *len,
                            apr_read_type_e block);

void fcgi_conn_close(fcgi_conn *conn);

#endif /* FCGI_CONN_H */
