/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_conn.c: one connection to a backend (see fcgi_conn.h).
 *
 * APR does the hard parts: apr_socket_connect() with a positive timeout
 * is a non-blocking connect plus poll, and a socket with a timeout does
 * its own waiting on EAGAIN.  What is left is trying every address a name
 * resolved to, the partial-write bookkeeping of writev, draining an
 * aborted request, and asking the kernel whether the backend accepted
 * the connection (sock_diag, which APR does not know).  -DFCGI_PORTABLE
 * builds without the last, as off Linux.
 */

#include <string.h>
#if defined(__linux__) && !defined(FCGI_PORTABLE)
#define FCGI_SOCK_DIAG 1
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include <linux/unix_diag.h>
#endif

#include "apr_atomic.h"
#include "apr_portable.h"
#include "apr_poll.h"

#include "fcgi_conn.h"

/* How long a connection must stay quiet after the END_REQUEST of an
 * aborted request to be kept. */
#define FCGI_ABORT_SETTLE apr_time_from_msec(20)

apr_status_t fcgi_conn_open(fcgi_conn **connp, const fcgi_addr *addr,
                            apr_interval_time_t connect_timeout,
                            apr_pool_t *parent)
{
    apr_sockaddr_t *sa;
    apr_socket_t *sock = NULL;
    apr_status_t rv = APR_EINVAL;
    apr_pool_t *p;
    fcgi_conn *conn;
    int tcp = 1;

    if ((rv = apr_pool_create(&p, parent)) != APR_SUCCESS) {
        return rv;
    }
    apr_pool_tag(p, "fcgi_conn");
    for (sa = addr->sa; sa; sa = sa->next) {
        tcp = sa->family != APR_UNIX;
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
        apr_pool_destroy(p);
        return rv;
    }

    conn = apr_pcalloc(p, sizeof(*conn));
    conn->pool = p;
    conn->sock = sock;
    conn->unix_socket = !tcp;
    *connp = conn;
    return APR_SUCCESS;
}

#ifdef FCGI_SOCK_DIAG
/*
 * Whether the backend has accepted a connection, Linux tells through
 * sock_diag: we ask for the backend's end of it, which has no inode until
 * accept() takes it.  Over TCP that end is found only when the backend is
 * on this machine; elsewhere the kernel does not know it (-1).
 */

typedef union {
    struct nlmsghdr nlh;
    char bytes[1024];
} diag_answer;

/* Send one sock_diag request, read its answer: the answer's payload, of
 * at least min_len bytes, or NULL (an error, or nothing found). */
static void *diag_ask(void *request, size_t len, diag_answer *answer,
                      size_t min_len, int *payload_len)
{
    int nl, n;

    nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0) {
        return NULL;
    }
    n = send(nl, request, len, 0) == (ssize_t)len
        ? (int)recv(nl, answer, sizeof(*answer), 0) : -1;
    close(nl);
    if (n <= 0 || !NLMSG_OK(&answer->nlh, (unsigned)n)
        || answer->nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY
        || answer->nlh.nlmsg_len < NLMSG_LENGTH(min_len)) {
        return NULL;
    }
    *payload_len = (int)(answer->nlh.nlmsg_len - NLMSG_LENGTH(0));
    return NLMSG_DATA(&answer->nlh);
}

static long unix_peer_inode(int fd)
{
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req req;
    } ask;
    diag_answer answer;
    struct unix_diag_msg *msg;
    struct rtattr *attr;
    struct stat st;
    int len;

    if (fstat(fd, &st) != 0) {
        return -1;
    }
    memset(&ask, 0, sizeof(ask));
    ask.nlh.nlmsg_len = sizeof(ask);
    ask.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    ask.nlh.nlmsg_flags = NLM_F_REQUEST;
    ask.req.sdiag_family = AF_UNIX;
    ask.req.udiag_states = ~0U;
    ask.req.udiag_ino = (__u32)st.st_ino;
    ask.req.udiag_show = UDIAG_SHOW_PEER;
    ask.req.udiag_cookie[0] = ask.req.udiag_cookie[1] = ~0U; /* any */
    msg = diag_ask(&ask, sizeof(ask), &answer, sizeof(*msg), &len);
    if (!msg || msg->udiag_ino != (__u32)st.st_ino) {
        return -1;
    }
    len -= (int)sizeof(*msg);
    for (attr = (struct rtattr *)(msg + 1); RTA_OK(attr, len);
         attr = RTA_NEXT(attr, len)) {
        if (attr->rta_type == UNIX_DIAG_PEER
            && RTA_PAYLOAD(attr) >= sizeof(__u32)) {
            return *(__u32 *)RTA_DATA(attr);
        }
    }
    return -1;
}

static long tcp_peer_inode(apr_socket_t *sock)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } ask;
    diag_answer answer;
    struct inet_diag_msg *msg;
    apr_sockaddr_t *ours, *theirs;
    int len;

    /* APR keeps both ends' addresses, either family, in one shape. */
    if (apr_socket_addr_get(&ours, APR_LOCAL, sock) != APR_SUCCESS
        || apr_socket_addr_get(&theirs, APR_REMOTE, sock) != APR_SUCCESS
        || ours->family != theirs->family
        || (ours->family != AF_INET && ours->family != AF_INET6)
        || (apr_size_t)theirs->ipaddr_len > sizeof(ask.req.id.idiag_src)) {
        return -1;
    }
    memset(&ask, 0, sizeof(ask));
    ask.nlh.nlmsg_len = sizeof(ask);
    ask.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    ask.nlh.nlmsg_flags = NLM_F_REQUEST;
    ask.req.sdiag_family = ours->family;
    ask.req.sdiag_protocol = IPPROTO_TCP;
    ask.req.idiag_states = ~0U;
    /* The backend's end: its address is the source, ours the
     * destination. */
    ask.req.id.idiag_sport = htons(theirs->port);
    ask.req.id.idiag_dport = htons(ours->port);
    memcpy(ask.req.id.idiag_src, theirs->ipaddr_ptr, theirs->ipaddr_len);
    memcpy(ask.req.id.idiag_dst, ours->ipaddr_ptr, ours->ipaddr_len);
    ask.req.id.idiag_cookie[0] = ask.req.id.idiag_cookie[1] = ~0U; /* any */
    msg = diag_ask(&ask, sizeof(ask), &answer, sizeof(*msg), &len);
    /* Found no connection, the kernel falls back to a listening socket on
     * the backend's port: that is not the backend's end. */
    if (!msg || msg->id.idiag_sport != ask.req.id.idiag_sport
        || msg->id.idiag_dport != ask.req.id.idiag_dport) {
        return -1;
    }
    return msg->idiag_inode;
}
#endif

int fcgi_conn_accepted(fcgi_conn *conn)
{
#ifdef FCGI_SOCK_DIAG
    apr_os_sock_t fd;
    long inode;

    if (conn->accepted) {
        return 1;
    }
    if (apr_os_sock_get(&fd, conn->sock) != APR_SUCCESS) {
        return -1;
    }
    inode = conn->unix_socket ? unix_peer_inode(fd)
                              : tcp_peer_inode(conn->sock);
    if (inode < 0) {
        return -1;
    }
    if (inode == 0) {
        /* Or the backend has closed its end, which then has no inode
         * either: our end has its EOF to read.  Not queued, anyway. */
        struct pollfd pfd;

        pfd.fd = fd;
        pfd.events = POLLIN;
        inode = poll(&pfd, 1, 0) > 0;
    }
    /* Accepted once is accepted for good. */
    conn->accepted = inode > 0;
    return conn->accepted;
#else
    (void)conn;
    return -1;
#endif
}

void fcgi_conn_set_timeout(fcgi_conn *conn, apr_interval_time_t io_timeout)
{
    conn->io_timeout = io_timeout;
    apr_socket_timeout_set(conn->sock, io_timeout);
}

fcgi_idle_state fcgi_conn_idle_state(fcgi_conn *conn)
{
    apr_pollfd_t pfd;
    apr_int32_t nfd = 0;
    int at_eof = 1;

    memset(&pfd, 0, sizeof(pfd));
    pfd.p = conn->pool;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.desc.s = conn->sock;
    pfd.reqevents = APR_POLLIN;
    if (apr_poll(&pfd, 1, &nfd, 0) != APR_SUCCESS || nfd == 0) {
        return FCGI_IDLE_QUIET;
    }
    /* Readable: the end of the stream, or bytes (which APR peeks at). */
    if (apr_socket_atreadeof(conn->sock, &at_eof) != APR_SUCCESS || at_eof) {
        return FCGI_IDLE_CLOSED;
    }
    return FCGI_IDLE_UNREAD;
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

void fcgi_conn_data_waiting(fcgi_conn *conn)
{
    /* After a read that did not fill its buffer, APR polls before the
     * next read, to save a read that would find nothing: here that is a
     * poll that would find what we know is there. */
    apr_socket_opt_set(conn->sock, APR_INCOMPLETE_READ, 0);
}

apr_status_t fcgi_conn_read(fcgi_conn *conn, char *buf, apr_size_t *len,
                            apr_read_type_e block, apr_time_t deadline)
{
    apr_interval_time_t wait = block == APR_NONBLOCK_READ ? 0
                                                          : conn->io_timeout;
    int by_deadline = 0;
    apr_status_t rv;

    if (wait && deadline) {
        apr_interval_time_t left = deadline - apr_time_now();

        if (left <= 0) {
            *len = 0;
            return FCGI_EDEADLINE;
        }
        if (left < wait) {
            wait = left;
            by_deadline = 1;
        }
    }
    if (wait == conn->io_timeout) {
        return apr_socket_recv(conn->sock, buf, len);
    }
    apr_socket_timeout_set(conn->sock, wait);
    rv = apr_socket_recv(conn->sock, buf, len);
    apr_socket_timeout_set(conn->sock, conn->io_timeout);
    return by_deadline && APR_STATUS_IS_TIMEUP(rv) ? FCGI_EDEADLINE : rv;
}

apr_status_t fcgi_conn_abort_request(fcgi_conn *conn, fcgi_parser *parser,
                                     apr_interval_time_t bound)
{
    unsigned char abort_rec[AP_FCGI_HEADER_LEN];
    apr_time_t deadline = apr_time_now() + bound;
    apr_size_t len = sizeof(abort_rec);
    apr_status_t rv;
    char buf[8192];

    fcgi_record_header_write(abort_rec, AP_FCGI_ABORT_REQUEST,
                             conn->request_id, 0, 0);
    apr_socket_timeout_set(conn->sock, bound);
    rv = apr_socket_send(conn->sock, (const char *)abort_rec, &len);

    while (rv == APR_SUCCESS && parser->state != FCGI_PARSE_DONE) {
        apr_interval_time_t left = deadline - apr_time_now();
        apr_size_t n = sizeof(buf), pos = 0;

        if (left <= 0) {
            rv = APR_TIMEUP;
            break;
        }
        apr_socket_timeout_set(conn->sock, left);
        if ((rv = apr_socket_recv(conn->sock, buf, &n)) != APR_SUCCESS) {
            break;
        }
        while (pos < n && rv == APR_SUCCESS
               && parser->state != FCGI_PARSE_DONE) {
            fcgi_event ev;
            apr_size_t used;

            rv = fcgi_parser_feed(parser, buf + pos, n - pos, &used, &ev);
            pos += used;
            if (rv == APR_SUCCESS && ev.type == FCGI_EVENT_FOREIGN) {
                /* Another request's record: drained, but not kept. */
                rv = APR_EGENERAL;
            }
        }
        if (pos < n) {
            /* Bytes after END_REQUEST: the connection is not clean. */
            rv = APR_EGENERAL;
        }
    }
    if (rv == APR_SUCCESS) {
        /* END_REQUEST may just be the end the request had anyway, with
         * our ABORT_REQUEST still unread: a backend that reads it as the
         * next request and finds no BEGIN_REQUEST closes the connection
         * (PHP-FPM does).  Such a backend does so at once; one that took
         * the abort stays silent. */
        apr_pollfd_t pfd;
        apr_int32_t nfd = 0;

        memset(&pfd, 0, sizeof(pfd));
        pfd.p = conn->pool;
        pfd.desc_type = APR_POLL_SOCKET;
        pfd.desc.s = conn->sock;
        pfd.reqevents = APR_POLLIN;
        if (apr_poll(&pfd, 1, &nfd, FCGI_ABORT_SETTLE) == APR_SUCCESS
            && nfd > 0) {
            rv = APR_EOF;
        }
    }
    apr_socket_timeout_set(conn->sock, conn->io_timeout);
    return rv;
}

apr_time_t fcgi_conn_sent_at(fcgi_conn *conn)
{
    return (apr_time_t)apr_atomic_read64(&conn->sent_at);
}

void fcgi_conn_close(fcgi_conn *conn)
{
    /* The socket is closed by its pool's cleanup. */
    apr_pool_destroy(conn->pool);
}
