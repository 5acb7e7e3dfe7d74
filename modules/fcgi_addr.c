/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_addr.c: parsing, resolving and caching backend addresses (see
 * fcgi_addr.h).
 */

#include <arpa/inet.h>
#include <string.h>
#include <sys/un.h>

#include "apr_hash.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include "fcgi_addr.h"

/* Handler names can be computed per request (SetHandler takes an
 * expression), so the cache is bounded; past this, addresses are parsed
 * per request instead of growing the process without limit. */
#define FCGI_ADDR_CACHE_MAX 512

struct fcgi_addr_cache {
    apr_pool_t *pool;
    apr_hash_t *entries;          /* spec -> fcgi_addr_entry */
#if APR_HAS_THREADS
    apr_thread_mutex_t *mutex;
#endif
};

typedef struct {
    fcgi_addr addr;
    const char *error;            /* a parse error, remembered */
} fcgi_addr_entry;

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

fcgi_addr_cache *fcgi_addr_cache_create(apr_pool_t *p)
{
    fcgi_addr_cache *cache = apr_pcalloc(p, sizeof(*cache));

    cache->pool = p;
    cache->entries = apr_hash_make(p);
#if APR_HAS_THREADS
    apr_thread_mutex_create(&cache->mutex, APR_THREAD_MUTEX_DEFAULT, p);
#endif
    return cache;
}

apr_status_t fcgi_addr_cache_get(fcgi_addr_cache *cache, const char *spec,
                                 const fcgi_addr **addr, const char **errmsg,
                                 apr_pool_t *request_pool)
{
    fcgi_addr_entry *entry;
    apr_status_t rv = APR_SUCCESS;
    apr_pool_t *p = cache->pool;

#if APR_HAS_THREADS
    apr_thread_mutex_lock(cache->mutex);
#endif
    entry = apr_hash_get(cache->entries, spec, APR_HASH_KEY_STRING);
    if (!entry) {
        if (apr_hash_count(cache->entries) >= FCGI_ADDR_CACHE_MAX) {
            p = request_pool;
        }
        entry = apr_pcalloc(p, sizeof(*entry));
        spec = apr_pstrdup(p, spec);
        entry->error = fcgi_addr_parse(spec, &entry->addr, p);
        if (p == cache->pool) {
            apr_hash_set(cache->entries, spec, APR_HASH_KEY_STRING, entry);
        }
    }
    if (entry->error) {
        *errmsg = entry->error;
        rv = APR_EINVAL;
    }
    else if (!entry->addr.sa) {
        /* Not resolved yet, or the resolver failed last time: try now. */
        rv = fcgi_addr_resolve(&entry->addr, p);
        if (rv != APR_SUCCESS) {
            entry->addr.sa = NULL;
            *errmsg = apr_psprintf(request_pool, "cannot resolve the host "
                                   "of '" FCGI_HANDLER_PREFIX "%s'", spec);
        }
    }
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(cache->mutex);
#endif
    *addr = &entry->addr;
    return rv;
}
