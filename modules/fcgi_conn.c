/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_conn.c: the connection to a backend (see fcgi_conn.h).
 *
 * APR does the hard parts: apr_socket_connect() with a positive timeout
 * is a non-blocking connect plus poll, and a socket with a timeout does
 * its own waiting on EAGAIN.  What is left is trying every address a name
 * resolved to, and the partial-write bookkeeping of writev.
 */

#include "fcgi_conn.h"

apr_status_t fcgi_conn_open(fcgi_conn **connp, const fcgi_addr *addr,
                            apr_interval_time_t connect_timeout,
                            apr_interval_time_t io_timeout, apr_pool_t *p)
{
    apr_sockaddr_t *sa;
    apr_socket_t *sock = NULL;
    apr_status_t rv = APR_EINVAL;
    fcgi_conn *conn;

    for (sa = addr->sa; sa; sa = sa->next) {
        int tcp = sa->family != APR_UNIX;

        rv = apr_socket_create(&sock, sa->family, SOCK_STREAM,
                               tcp ? APR_PROTO_TCP : 0, p);
        if (rv != APR_SUCCESS) {
            continue;
        }
        apr_socket_timeout_set(sock, connect_timeout);
        rv = apr_socket_connect(sock, sa);
        if (rv == APR_SUCCESS) {
            if (tcp) {
                /* Records are written whole; Nagle would only hold the
                 * last one of a request back for an ACK. */
                apr_socket_opt_set(sock, APR_TCP_NODELAY, 1);
            }
            break;
        }
        apr_socket_close(sock);
        sock = NULL;
        if (APR_STATUS_IS_TIMEUP(rv)) {
            /* The deadline is for the whole connect, not per address. */
            break;
        }
    }
    if (!sock) {
        return rv;
    }
    apr_socket_timeout_set(sock, io_timeout);

    conn = apr_palloc(p, sizeof(*conn));
    conn->sock = sock;
    conn->addr = addr;
    conn->io_timeout = io_timeout;
    *connp = conn;
    return APR_SUCCESS;
}

apr_status_t fcgi_conn_writev(fcgi_conn *conn, struct iovec *vec, int nvec,
                              apr_size_t *written)
{
    apr_status_t rv = APR_SUCCESS;

    *written = 0;
    while (nvec > 0) {
        apr_size_t n = 0;

        rv = apr_socket_sendv(conn->sock, vec, nvec, &n);
        *written += n;
        if (rv != APR_SUCCESS) {
            return rv;
        }
        while (nvec > 0 && n >= vec->iov_len) {
            n -= vec->iov_len;
            vec++;
            nvec--;
        }
        if (nvec > 0) {
            vec->iov_base = (char *)vec->iov_base + n;
            vec->iov_len -= n;
        }
    }
    return rv;
}

apr_status_t fcgi_conn_read(fcgi_conn *conn, char *buf, apr_size_t *len,
                            apr_read_type_e block)
{
    apr_status_t rv;

    if (block == APR_NONBLOCK_READ) {
        apr_socket_timeout_set(conn->sock, 0);
        rv = apr_socket_recv(conn->sock, buf, len);
        apr_socket_timeout_set(conn->sock, conn->io_timeout);
        return rv;
    }
    return apr_socket_recv(conn->sock, buf, len);
}

void fcgi_conn_close(fcgi_conn *conn)
{
    if (conn->sock) {
        apr_socket_close(conn->sock);
        conn->sock = NULL;
    }
}
