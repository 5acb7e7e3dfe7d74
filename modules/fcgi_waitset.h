/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_waitset.h: where a request waiting for a backend connection
 * sleeps.
 *
 * Its owner sleeps in it; other threads wake the owner, either at once
 * (fcgi_waitset_wake) or when a connection they handed it has something
 * to read, its answer (fcgi_waitset_watch).  Either wakes the owner once:
 * a wake given or a socket watched is forgotten once it has fired, and
 * fcgi_waitset_clear forgets those that did not, so a wait set can serve
 * one wait after another.
 */

#ifndef FCGI_WAITSET_H
#define FCGI_WAITSET_H

#include "apr_file_io.h"
#include "apr_network_io.h"
#include "apr_pools.h"

typedef struct fcgi_waitset fcgi_waitset;

/* A wait set living in p.  ready is a file that is always readable
 * (shared by all wait sets: being readable is what wakes them). */
apr_status_t fcgi_waitset_create(fcgi_waitset **ws, apr_file_t *ready,
                                 apr_pool_t *p);

/* From another thread, while the owner may be asleep (callers take turns:
 * one lock guards all calls for one wait set).  Wake the owner when sock
 * becomes readable; wake it now. */
apr_status_t fcgi_waitset_watch(fcgi_waitset *ws, apr_socket_t *sock);
apr_status_t fcgi_waitset_wake(fcgi_waitset *ws);

/* The owner: sleep until woken, for at most timeout.  Returns whether the
 * watched socket has become readable. */
int fcgi_waitset_sleep(fcgi_waitset *ws, apr_interval_time_t timeout);

/* The owner, done waiting (nobody else touches the wait set now): forget
 * whatever did not fire. */
void fcgi_waitset_clear(fcgi_waitset *ws);

#endif /* FCGI_WAITSET_H */
