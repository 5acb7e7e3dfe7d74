/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_waitset.c: where a request waiting for a backend connection
 * sleeps (see fcgi_waitset.h).
 *
 * Written by hand on Linux, with epoll's one-shot events, which APR's
 * pollsets do not offer: a socket or the ready pipe that has fired stays
 * in the set, disarmed, so arming it again next time is one epoll_ctl,
 * and nothing needs taking out afterwards (a closed socket leaves every
 * epoll set by itself).  An APR pollset needs an add and a remove for
 * each connection handed over, and a small request's time in httpd is
 * mostly such system calls.  Elsewhere an APR pollset does the job; it
 * must be thread-safe (epoll, kqueue, event ports), since others add to
 * it while its owner sleeps in it.  Build with -DFCGI_PORTABLE to use it
 * on Linux too.
 */

#include "apr_poll.h"
#include "apr_portable.h"

#include "fcgi_waitset.h"

#if defined(__linux__) && !defined(FCGI_PORTABLE)
#define FCGI_WAITSET_EPOLL 1
#include <errno.h>
#include <unistd.h>
#include <sys/epoll.h>
#endif

#ifdef FCGI_WAITSET_EPOLL

/* What fired, in epoll_event.data. */
#define FIRED_SOCKET 1
#define FIRED_READY 2

struct fcgi_waitset {
    int epfd;
    int ready_fd;
    int sock_fd;                       /* watched, or -1 (others set it) */
    int woken;                         /* a wake was given (others set it) */
    int fired;                         /* FIRED_*, what woke the owner */
};

static apr_status_t waitset_cleanup(void *data)
{
    fcgi_waitset *ws = data;

    close(ws->epfd);
    return APR_SUCCESS;
}

apr_status_t fcgi_waitset_create(fcgi_waitset **wsp, apr_file_t *ready,
                                 apr_pool_t *p)
{
    fcgi_waitset *ws = apr_pcalloc(p, sizeof(*ws));
    apr_os_file_t fd;
    apr_status_t rv;

    if (!ready) {
        return APR_EINVAL;
    }
    if ((rv = apr_os_file_get(&fd, ready)) != APR_SUCCESS) {
        return rv;
    }
    if ((ws->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        return errno;
    }
    ws->ready_fd = fd;
    ws->sock_fd = -1;
    apr_pool_cleanup_register(p, ws, waitset_cleanup, apr_pool_cleanup_null);
    *wsp = ws;
    return APR_SUCCESS;
}

/* Arm fd to fire once: it is most likely in the set already, disarmed. */
static apr_status_t waitset_arm(fcgi_waitset *ws, int fd, int what)
{
    struct epoll_event ev;

    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = what;
    if (epoll_ctl(ws->epfd, EPOLL_CTL_MOD, fd, &ev) == 0
        || (errno == ENOENT
            && epoll_ctl(ws->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)) {
        return APR_SUCCESS;
    }
    return errno;
}

apr_status_t fcgi_waitset_watch(fcgi_waitset *ws, apr_socket_t *sock)
{
    apr_os_sock_t fd;
    apr_status_t rv;

    if ((rv = apr_os_sock_get(&fd, sock)) != APR_SUCCESS
        || (rv = waitset_arm(ws, fd, FIRED_SOCKET)) != APR_SUCCESS) {
        return rv;
    }
    ws->sock_fd = fd;
    return APR_SUCCESS;
}

apr_status_t fcgi_waitset_wake(fcgi_waitset *ws)
{
    apr_status_t rv = APR_SUCCESS;

    if (!ws->woken && (rv = waitset_arm(ws, ws->ready_fd, FIRED_READY))
                      == APR_SUCCESS) {
        ws->woken = 1;
    }
    return rv;
}

int fcgi_waitset_sleep(fcgi_waitset *ws, apr_interval_time_t timeout)
{
    struct epoll_event ev[2];
    int ms = -1, n;

    if (timeout >= 0) {
        /* Rounded up: a wait shorter than a millisecond is not none. */
        apr_interval_time_t up = (timeout + 999) / 1000;

        ms = up > 1000000 ? 1000000 : (int)up;
    }
    n = epoll_wait(ws->epfd, ev, 2, ms);
    while (n-- > 0) {
        ws->fired |= (int)ev[n].data.u64;
    }
    return (ws->fired & FIRED_SOCKET) != 0;
}

void fcgi_waitset_clear(fcgi_waitset *ws)
{
    /* Rare: a wait given up before its answer, or woken while the wake
     * was already on its way.  Still armed, it would end a later sleep. */
    if (ws->sock_fd >= 0 && !(ws->fired & FIRED_SOCKET)) {
        epoll_ctl(ws->epfd, EPOLL_CTL_DEL, ws->sock_fd, NULL);
    }
    if (ws->woken && !(ws->fired & FIRED_READY)) {
        epoll_ctl(ws->epfd, EPOLL_CTL_DEL, ws->ready_fd, NULL);
    }
    ws->sock_fd = -1;
    ws->woken = ws->fired = 0;
}

#else /* an APR pollset */

struct fcgi_waitset {
    apr_pollset_t *pollset;
    apr_pollfd_t ready;
    apr_pollfd_t sock;
    int watching;                      /* sock is in pollset */
    int woken;                         /* ready is in pollset */
    int answered;
};

apr_status_t fcgi_waitset_create(fcgi_waitset **wsp, apr_file_t *ready,
                                 apr_pool_t *p)
{
    fcgi_waitset *ws = apr_pcalloc(p, sizeof(*ws));
    apr_status_t rv;

    if (!ready) {
        return APR_EINVAL;
    }
    rv = apr_pollset_create(&ws->pollset, 2, p, APR_POLLSET_THREADSAFE);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ws->ready.p = ws->sock.p = p;
    ws->ready.desc_type = APR_POLL_FILE;
    ws->ready.reqevents = APR_POLLIN;
    ws->ready.desc.f = ready;
    ws->sock.desc_type = APR_POLL_SOCKET;
    ws->sock.reqevents = APR_POLLIN;
    *wsp = ws;
    return APR_SUCCESS;
}

apr_status_t fcgi_waitset_watch(fcgi_waitset *ws, apr_socket_t *sock)
{
    apr_status_t rv;

    ws->sock.desc.s = sock;
    if ((rv = apr_pollset_add(ws->pollset, &ws->sock)) == APR_SUCCESS) {
        ws->watching = 1;
    }
    return rv;
}

apr_status_t fcgi_waitset_wake(fcgi_waitset *ws)
{
    apr_status_t rv = APR_SUCCESS;

    if (!ws->woken
        && (rv = apr_pollset_add(ws->pollset, &ws->ready)) == APR_SUCCESS) {
        ws->woken = 1;
    }
    return rv;
}

int fcgi_waitset_sleep(fcgi_waitset *ws, apr_interval_time_t timeout)
{
    const apr_pollfd_t *fired;
    apr_int32_t n;

    if (apr_pollset_poll(ws->pollset, timeout, &n, &fired) == APR_SUCCESS) {
        while (n-- > 0) {
            ws->answered |= fired[n].desc_type == APR_POLL_SOCKET;
        }
    }
    return ws->answered;
}

void fcgi_waitset_clear(fcgi_waitset *ws)
{
    if (ws->watching) {
        apr_pollset_remove(ws->pollset, &ws->sock);
    }
    if (ws->woken) {
        apr_pollset_remove(ws->pollset, &ws->ready);
    }
    ws->watching = ws->woken = ws->answered = 0;
}

#endif
