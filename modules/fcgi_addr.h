/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_addr.h: backend addresses, the part of the handler name after
 * "fcgi:".  Parsing is pure (fuzz/ drives it); fcgi_backend.c calls it
 * once per distinct handler name and process.
 */

#ifndef FCGI_ADDR_H
#define FCGI_ADDR_H

#include "apr_network_io.h"
#include "apr_pools.h"

#define FCGI_HANDLER_PREFIX "fcgi:"

typedef struct {
    const char *spec;        /* as written, after "fcgi:"; for log lines */
    const char *path;        /* unix domain socket path, or NULL */
    const char *host;        /* TCP host (no brackets), or NULL */
    apr_port_t port;
    apr_sockaddr_t *sa;      /* resolved; NULL until fcgi_addr_resolve() */
} fcgi_addr;

/* What a valid address looks like, for error messages. */
#define FCGI_ADDR_EXAMPLES \
    "fcgi:/run/php/php-fpm.sock, fcgi:unix:/run/app.sock, " \
    "fcgi:127.0.0.1:9000, fcgi:localhost:9000 or fcgi:[::1]:9000"

/* Parse spec (the text after "fcgi:") into *addr.  Returns NULL, or a
 * message saying what is wrong (allocated from p). */
const char *fcgi_addr_parse(const char *spec, fcgi_addr *addr,
                            apr_pool_t *p);

/* Resolve a parsed address (names through the resolver). */
apr_status_t fcgi_addr_resolve(fcgi_addr *addr, apr_pool_t *p);

#endif /* FCGI_ADDR_H */
