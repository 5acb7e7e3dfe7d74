/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fuzz_records.c: the FastCGI record stream parser (fcgi_proto.c), fed the
 * way a socket feeds it: in pieces of any size.
 *
 * The first two bytes seed where the stream is split and which request
 * id the parser expects (1 to 4, so that records for other ids come up);
 * the rest is the stream.  The parser is run twice, on the whole stream
 * at once and in pieces, and must report the same STDOUT and STDERR
 * bytes, the same records of other requests, the same end and the same
 * error.  Slices must lie inside what was fed; after END_REQUEST nothing
 * more may be consumed.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/uio.h>

#include "fcgi_proto.h"

typedef struct {
    unsigned char *out, *err;
    size_t out_len, err_len;
    int ended;
    apr_uint32_t app_status;
    unsigned char protocol_status;
    apr_status_t error;
    size_t consumed;
    size_t foreign;              /* records of other requests */
    unsigned long foreign_sum;   /* their ids and types, summed */
} outcome;

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

/* Feed data[0..len) in pieces whose sizes come from seed (0: all at once). */
static void run(const unsigned char *data, size_t len, unsigned seed,
                apr_uint16_t expect, outcome *o)
{
    fcgi_parser p;
    size_t pos = 0;

    memset(o, 0, sizeof(*o));
    o->out = malloc(len + 1);
    o->err = malloc(len + 1);
    fcgi_parser_init(&p, expect);

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
                else if (ev.type == FCGI_EVENT_FOREIGN) {
                    check(ev.request_id != expect && ev.request_id != 0);
                    o->foreign++;
                    o->foreign_sum += ev.request_id * 256ul + ev.record_type;
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
    apr_uint16_t expect;

    if (size < 2) {
        return 0;
    }
    seed = (unsigned)data[0] << 8 | data[1] | 1;
    expect = (apr_uint16_t)(1 + (data[0] >> 6));
    data += 2;
    size -= 2;

    run(data, size, 0, expect, &whole);
    run(data, size, seed, expect, &split);

    check(whole.error == split.error);
    check(whole.ended == split.ended);
    check(whole.consumed == split.consumed);
    check(whole.foreign == split.foreign
          && whole.foreign_sum == split.foreign_sum);
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

    /* Relabelled for another request (as a kept connection's next request
     * is), split across iovecs at seeded points, the stream holds nothing
     * for any other request. */
    if (size) {
        unsigned char *copy = malloc(size);
        struct iovec vec[16];
        apr_uint16_t id = (apr_uint16_t)(seed % 3 + 2);
        outcome again;
        size_t pos = 0;
        int n = 0;

        memcpy(copy, data, size);
        while (pos < size && n < 16) {
            size_t piece = n == 15 ? size - pos : 1 + (seed >> (n % 16)) % 31;

            if (piece > size - pos) {
                piece = size - pos;
            }
            vec[n].iov_base = copy + pos;
            vec[n++].iov_len = piece;
            pos += piece;
        }
        fcgi_records_set_request_id(vec, n, id);
        run(copy, pos, seed, id, &again);
        check(again.foreign == 0);
        free(again.out);
        free(again.err);
        free(copy);
    }
    return 0;
}
