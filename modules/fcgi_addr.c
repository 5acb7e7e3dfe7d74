/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_addr.c: parsing and resolving backend addresses (see fcgi_addr.h).
 */

#include <arpa/inet.h>
#include <string.h>
#include <sys/un.h>

#include "apr_lib.h"
#include "apr_strings.h"

#include "fcgi_addr.h"

static const char *parse_port(const char *s, apr_port_t *port)
{
    apr_int64_t n = 0;
    const char *d = s;

    if (!*d) {
        return "the port is missing";
    }
    for (; *d; d++) {
        if (!apr_isdigit(*d) || d - s > 5) {
            return "the port is not a number from 1 to 65535";
        }
        n = n * 10 + (*d - '0');
    }
    if (n < 1 || n > 65535) {
        return "the port is not a number from 1 to 65535";
    }
    *port = (apr_port_t)n;
    return NULL;
}

static const char *parse_host(const char *s, const char *end)
{
    const char *c;

    if (s == end) {
        return "the host name is empty";
    }
    for (c = s; c < end; c++) {
        if (!apr_isalnum(*c) && *c != '.' && *c != '-' && *c != '_') {
            return "the host name has a character no host name has";
        }
    }
    return NULL;
}

const char *fcgi_addr_parse(const char *spec, fcgi_addr *addr, apr_pool_t *p)
{
    const char *why = NULL;
    const char *colon;

    memset(addr, 0, sizeof(*addr));
    addr->spec = spec;

    if (!strncmp(spec, "unix:", 5) || spec[0] == '/') {
        const char *path = spec[0] == '/' ? spec : spec + 5;

        if (path[0] != '/') {
            why = "a unix socket path must be absolute";
        }
        else if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            why = apr_psprintf(p, "a unix socket path can have at most %d "
                               "characters",
                               (int)sizeof(((struct sockaddr_un *)0)->sun_path)
                               - 1);
        }
        else {
            addr->path = path;
        }
    }
    else if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        struct in6_addr ignored;

        if (!close || close[1] != ':') {
            why = "an IPv6 address is written [ADDRESS]:PORT";
        }
        else {
            char *host = apr_pstrmemdup(p, spec + 1, close - spec - 1);

            if (inet_pton(AF_INET6, host, &ignored) != 1) {
                why = "the text in brackets is not an IPv6 address";
            }
            else if (!(why = parse_port(close + 2, &addr->port))) {
                addr->host = host;
            }
        }
    }
    else if (!(colon = strrchr(spec, ':'))) {
        why = "a TCP address needs a port (HOST:PORT)";
    }
    else if (!(why = parse_host(spec, colon))
             && !(why = parse_port(colon + 1, &addr->port))) {
        addr->host = apr_pstrmemdup(p, spec, colon - spec);
    }

    if (why) {
        return apr_psprintf(p, "'" FCGI_HANDLER_PREFIX "%s' is not a FastCGI "
                            "address: %s; write one of " FCGI_ADDR_EXAMPLES,
                            spec, why);
    }
    return NULL;
}

apr_status_t fcgi_addr_resolve(fcgi_addr *addr, apr_pool_t *p)
{
    if (addr->path) {
        return apr_sockaddr_info_get(&addr->sa, addr->path, APR_UNIX, 0, 0, p);
    }
    return apr_sockaddr_info_get(&addr->sa, addr->host, APR_UNSPEC,
                                 addr->port, 0, p);
}
