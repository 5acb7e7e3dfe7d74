/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fuzz_addr.c: the handler address parser (fcgi_addr.c).  Whatever the
 * text after "fcgi:", the parser either says why it is not an address or
 * gives an absolute unix path that fits a sockaddr, or a host and a port.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "apr_general.h"
#include "fcgi_addr.h"

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    fcgi_addr addr;
    const char *err;

    memcpy(spec, data, size);
    spec[size] = '\0';

    err = fcgi_addr_parse(spec, &addr, pool);
    if (err) {
        check(strstr(err, "write one of") != NULL);
        check(!addr.path && !addr.host);
    }
    else {
        check(!addr.path != !addr.host);
        if (addr.path) {
            check(addr.path[0] == '/');
            check(strlen(addr.path) < sizeof(((struct sockaddr_un *)0)->sun_path));
        }
        else {
            check(addr.port >= 1);
            check(addr.host[0] != '\0');
        }
    }
    apr_pool_clear(pool);
    free(spec);
    return 0;
}
