/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fuzz_records.c: the FastCGI record stream parser (fcgi_proto.c), fed the
 * way a socket feeds it: in pieces of any size.
 *
 * The first two bytes seed where the stream is split; the rest is the
 * stream.  The parser is run twice, on the whole stream at once and in
 * pieces, and must report the same STDOUT and STDERR bytes, the same end
 * and the same error.  Slices must lie inside what was fed; after
 * END_REQUEST nothing more may be consumed.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_proto.h"

typedef struct {
    unsigned char *out, *err;
    size_t out_len, err_len;
    int ended;
    apr_uint32_t app_status;
    unsigned char protocol_status;
    apr_status_t error;
    size_t consumed;
} outcome;

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

/* Feed data[0..len) in pieces whose sizes come from seed (0: all at once). */
static void run(const unsigned char *data, size_t len, unsigned seed,
                outcome *o)
{
    fcgi_parser p;
    size_t pos = 0;

    memset(o, 0, sizeof(*o));
    o->out = malloc(len + 1);
    o->err = malloc(len + 1);
    fcgi_parser_init(&p);

    while (pos < len && !o->ended && !o->error) {
        size_t piece = len - pos;

        if (seed) {
            seed = seed * 1103515245u + 12345u;
            piece = 1 + (seed >> 16) % 23;
            if (piece > len - pos) {
                piece = len - pos;
            }
        }
        /* Feed the piece until it is used up, as the bucket does. */
        {
            const char *in = (const char *)data + pos;
            size_t left = piece;

            while (left && !o->ended && !o->error) {
                fcgi_event ev;
                apr_size_t used = 0;
                apr_status_t rv = fcgi_parser_feed(&p, in, left, &used, &ev);

                check(used <= left);
                if (rv != APR_SUCCESS) {
                    check(fcgi_proto_strerror(rv) != NULL);
                    o->error = rv;
                    o->consumed += used;
                    break;
                }
                if (ev.type == FCGI_EVENT_STDOUT
                    || ev.type == FCGI_EVENT_STDERR) {
                    /* A slice of what was just consumed, never empty. */
                    check(ev.len > 0);
                    check(ev.data >= in && ev.data + ev.len <= in + used);
                    if (ev.type == FCGI_EVENT_STDOUT) {
                        memcpy(o->out + o->out_len, ev.data, ev.len);
                        o->out_len += ev.len;
                    }
                    else {
                        memcpy(o->err + o->err_len, ev.data, ev.len);
                        o->err_len += ev.len;
                    }
                }
                else if (ev.type == FCGI_EVENT_END) {
                    o->ended = 1;
                    o->app_status = ev.app_status;
                    o->protocol_status = ev.protocol_status;
                    check(fcgi_parser_between_records(&p));
                }
                else {
                    /* No event: the whole piece must have been used. */
                    check(used == left);
                }
                in += used;
                left -= used;
                o->consumed += used;
            }
        }
        pos += piece;
    }
    if (o->ended) {
        /* Nothing more is consumed after the end. */
        fcgi_event ev;
        apr_size_t used = 1;

        check(fcgi_parser_feed(&p, "x", 1, &used, &ev) == APR_SUCCESS);
        check(used == 0 && ev.type == FCGI_EVENT_NONE);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome whole, split;
    unsigned seed;

    if (size < 2) {
        return 0;
    }
    seed = (unsigned)data[0] << 8 | data[1] | 1;
    data += 2;
    size -= 2;

    run(data, size, 0, &whole);
    run(data, size, seed, &split);

    check(whole.error == split.error);
    check(whole.ended == split.ended);
    check(whole.consumed == split.consumed);
    check(whole.out_len == split.out_len
          && !memcmp(whole.out, split.out, whole.out_len));
    check(whole.err_len == split.err_len
          && !memcmp(whole.err, split.err, whole.err_len));
    if (whole.ended) {
        check(whole.app_status == split.app_status);
        check(whole.protocol_status == split.protocol_status);
    }
    free(whole.out);
    free(whole.err);
    free(split.out);
    free(split.err);
    return 0;
}
