/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fuzz_params.c: the PARAMS name-value encoding (fcgi_proto.c), round
 * trip.  The input is cut into names and values (lengths from the input
 * itself, some of them long enough to need the four-byte form); what is
 * encoded must decode to exactly the same pairs, and a stream cut short
 * must be reported as incomplete, never misread.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_proto.h"

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

#define MAX_PAIRS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *names[MAX_PAIRS], *values[MAX_PAIRS];
    apr_size_t nlen[MAX_PAIRS], vlen[MAX_PAIRS];
    apr_size_t total = 0, pos = 0, off;
    unsigned char *stream, *s;
    int n = 0, i;

    /* Each pair: a length byte for the name, one for the value (doubled
     * up to reach past 127 often), then the bytes. */
    while (pos + 2 <= size && n < MAX_PAIRS) {
        apr_size_t nl = data[pos] * (data[pos] & 1 ? 3 : 1);
        apr_size_t vl = data[pos + 1] * (data[pos + 1] & 1 ? 5 : 1);

        pos += 2;
        if (nl > size - pos) {
            nl = size - pos;
        }
        names[n] = (const char *)data + pos;
        nlen[n] = nl;
        pos += nl;
        if (vl > size - pos) {
            vl = size - pos;
        }
        values[n] = (const char *)data + pos;
        vlen[n] = vl;
        pos += vl;
        total += fcgi_param_encoded_len(nl, vl);
        n++;
    }

    stream = s = malloc(total + 1);
    for (i = 0; i < n; i++) {
        s = fcgi_param_encode(s, names[i], nlen[i], values[i], vlen[i]);
    }
    check((apr_size_t)(s - stream) == total);

    for (i = 0, off = 0; i < n; i++) {
        const char *name, *value;
        apr_size_t nl, vl, used;

        check(fcgi_param_decode(stream + off, total - off, &name, &nl,
                                &value, &vl, &used) == APR_SUCCESS);
        check(nl == nlen[i] && !memcmp(name, names[i], nl));
        check(vl == vlen[i] && !memcmp(value, values[i], vl));
        check(used == fcgi_param_encoded_len(nl, vl));

        /* The same pair cut short anywhere is incomplete. */
        if (used > 1) {
            apr_size_t cut = (nl + vl) % (used - 1) + 1;

            check(fcgi_param_decode(stream + off, cut, &name, &nl, &value,
                                    &vl, &used) == APR_INCOMPLETE);
            used = fcgi_param_encoded_len(nlen[i], vlen[i]);
        }
        off += used;
    }
    check(off == total);
    free(stream);
    return 0;
}
