/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_bucket.c: the FCGI bucket (see fcgi_bucket.h).
 *
 * Like APR's socket bucket, reading morphs the bucket into data and puts
 * a new FCGI bucket after it.  Unlike it, one read can yield several data
 * buckets: all the STDOUT payload already in the read buffer, each a
 * slice of one shared, reference-counted heap block, so the payload is
 * never copied between the socket and the client.
 */

#include <string.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "fcgi_bucket.h"

APLOG_USE_MODULE(fastcgi_handler);

/* The read buffer.  One recv() takes up to this much, which is many
 * records from a fast backend.  A fresh block is taken when less than
 * FCGI_READ_MIN is left at the end of the current one. */
#define FCGI_READ_BUF (64 * 1024)
#define FCGI_READ_MIN (8 * 1024)

static apr_bucket *bucket_make_empty(apr_bucket *b)
{
    return apr_bucket_immortal_make(b, "", 0);
}

/* Give up our reference to the read buffer; the data buckets still
 * pointing into it keep it alive until they are gone. */
static void stream_buf_release(fcgi_request *fr)
{
    if (fr->buf && apr_bucket_shared_destroy(fr->buf)) {
        (*fr->buf->free_func)(fr->buf->base);
        apr_bucket_free(fr->buf);
    }
    fr->buf = NULL;
    fr->buf_filled = 0;
}

/* Make sure there is room to read into.  Memory no data bucket refers to
 * any more is reused in place. */
static void stream_buf_prepare(fcgi_request *fr, apr_bucket_alloc_t *list)
{
    apr_bucket_heap *h = fr->buf;

    if (h && h->refcount.refcount == 1) {
        fr->buf_filled = 0;
        return;
    }
    if (h && h->alloc_len - fr->buf_filled >= FCGI_READ_MIN) {
        return;
    }
    stream_buf_release(fr);
    h = apr_bucket_alloc(sizeof(*h), list);
    h->base = apr_bucket_alloc(FCGI_READ_BUF, list);
    h->alloc_len = FCGI_READ_BUF;
    h->free_func = apr_bucket_free;
    h->refcount.refcount = 1;
    fr->buf = h;
    fr->buf_filled = 0;
}

/* A heap bucket for buf[offset..offset+len), sharing the read buffer. */
static apr_bucket *stream_slice_create(fcgi_request *fr, const char *data,
                                       apr_size_t len,
                                       apr_bucket_alloc_t *list)
{
    apr_bucket *b = apr_bucket_alloc(sizeof(*b), list);

    APR_BUCKET_INIT(b);
    b->free = apr_bucket_free;
    b->list = list;
    b->type = &apr_bucket_type_heap;
    b->length = len;
    b->start = data - fr->buf->base;
    b->data = fr->buf;
    fr->buf->refcount.refcount++;
    return b;
}

/* Make b what d is, and free d's shell: b takes over d's reference. */
static void bucket_take_over(apr_bucket *b, apr_bucket *d)
{
    b->type = d->type;
    b->length = d->length;
    b->start = d->start;
    b->data = d->data;
    APR_BUCKET_REMOVE(d);
    apr_bucket_free(d);
}

/* httpd escapes control characters in error log messages itself, so a
 * backend cannot forge log lines through its STDERR. */
static void stderr_log_line(fcgi_request *fr, const char *line,
                            apr_size_t len)
{
    if (len && line[len - 1] == '\r') {
        len--;
    }
    if (fr->stderr_lines >= FCGI_STDERR_MAX_LINES) {
        fr->stderr_dropped += len + 1;
        return;
    }
    fr->stderr_lines++;
    ap_log_rerror(APLOG_MARK, fcgi_conf_stderr_level(fr->conf), 0, fr->r,
                  "FCGI0500: stderr of " FCGI_HANDLER_PREFIX "%s: %.*s",
                  fr->addr->spec, (int)len, line);
}

/* STDERR arrives as a byte stream; log it a line at a time. */
static void stderr_collect(fcgi_request *fr, const char *data, apr_size_t len)
{
    while (len) {
        const char *nl = memchr(data, '\n', len);
        apr_size_t take = nl ? (apr_size_t)(nl - data) : len;

        if (take > FCGI_STDERR_LINE_MAX - fr->errline_len) {
            take = FCGI_STDERR_LINE_MAX - fr->errline_len;
            nl = NULL;
        }
        if (!fr->errline) {
            fr->errline = apr_palloc(fr->r->pool, FCGI_STDERR_LINE_MAX);
        }
        memcpy(fr->errline + fr->errline_len, data, take);
        fr->errline_len += take;
        data += take + (nl ? 1 : 0);
        len -= take + (nl ? 1 : 0);
        if (nl || fr->errline_len == FCGI_STDERR_LINE_MAX) {
            stderr_log_line(fr, fr->errline, fr->errline_len);
            fr->errline_len = 0;
        }
    }
}

static void stderr_finish(fcgi_request *fr)
{
    if (fr->errline_len) {
        stderr_log_line(fr, fr->errline, fr->errline_len);
        fr->errline_len = 0;
    }
    if (fr->stderr_dropped) {
        ap_log_rerror(APLOG_MARK, fcgi_conf_stderr_level(fr->conf), 0, fr->r,
                      "FCGI0501: stderr of " FCGI_HANDLER_PREFIX "%s: %"
                      APR_OFF_T_FMT " more bytes not logged (only the first "
                      "%d lines of a request are)", fr->addr->spec,
                      fr->stderr_dropped, FCGI_STDERR_MAX_LINES);
        fr->stderr_dropped = 0;
    }
}

void fcgi_stream_release(fcgi_request *fr, int keep)
{
    stderr_finish(fr);
    if (fr->conn) {
        fcgi_backend_release(fr->backend, fr->conn, keep);
        fr->conn = NULL;
    }
    fr->done = 1;
    stream_buf_release(fr);
}

/* How long a backend has to end an aborted request on a kept
 * connection before the connection is closed instead. */
#define FCGI_ABORT_DRAIN apr_time_from_msec(100)

void fcgi_stream_finish_early(fcgi_request *fr)
{
    int keep = 0;

    if (fr->done) {
        return;
    }
    if (fr->conn && fr->keep_conn) {
        apr_status_t rv = fcgi_conn_abort_request(fr->conn, &fr->parser,
                                                  FCGI_ABORT_DRAIN);

        keep = rv == APR_SUCCESS;
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, fr->r, "FCGI0330: response "
                      "of " FCGI_HANDLER_PREFIX "%s not read to its end; "
                      "the backend %s", fr->addr->spec,
                      keep ? "ended the request: the connection is kept"
                           : "did not end it promptly: the connection is "
                             "closed");
    }
    fcgi_stream_release(fr, keep);
}

/* End the stream after tail: EOS, or an ERROR bucket and EOS.  The
 * connection is kept only after a complete, clean END_REQUEST, on a
 * stream that carried nothing of another request. */
static void stream_end(fcgi_request *fr, apr_bucket *tail, int status,
                       int clean_end)
{
    apr_bucket_alloc_t *list = tail->list;
    apr_bucket *e;

    fcgi_stream_release(fr, !status && clean_end && fr->keep_conn
                            && !fr->foreign);
    if (status) {
        if (fr->headers_done) {
            /* Maybe too late for an error page.  A 502 ERROR bucket is how
             * httpd is told to cut a response off: while the status line
             * has not gone out, the HTTP header filter turns it into a 502
             * page; after, no last chunk and no keep-alive follow (and
             * mod_http2 resets the stream).  Setting keep-alive off here
             * ourselves would make httpd frame the response by closing
             * the connection, which looks complete to the client. */
            status = HTTP_BAD_GATEWAY;
        }
        e = ap_bucket_error_create(status, NULL, fr->r->pool, list);
        APR_BUCKET_INSERT_AFTER(tail, e);
        tail = e;
    }
    APR_BUCKET_INSERT_AFTER(tail, apr_bucket_eos_create(list));
}

static void stream_fail(fcgi_request *fr, apr_bucket *tail, int status,
                        apr_status_t rv, const char *what)
{
    fr->phase = fr->headers_done ? FCGI_PHASE_BODY : FCGI_PHASE_HEADERS;
    fcgi_request_log(fr, APLOG_ERR, rv, "%s%s", what,
                     fr->headers_done ? "; the response to the client is "
                     "cut off" : "");
    stream_end(fr, tail, status, 0);
}

/* Hand on a STDOUT slice after tail, cut at the announced Content-Length.
 * Returns the new tail, or NULL when the stream ended here. */
static apr_bucket *stream_stdout(fcgi_request *fr, apr_bucket *tail,
                                 const char *data, apr_size_t len)
{
    apr_bucket *e;
    int overrun = 0;

    fr->stdout_bytes += len;
    if (fr->headers_done && fr->body_left >= 0) {
        if ((apr_off_t)len > fr->body_left) {
            len = (apr_size_t)fr->body_left;
            overrun = 1;
        }
        fr->body_left -= len;
    }
    if (len) {
        e = stream_slice_create(fr, data, len, tail->list);
        APR_BUCKET_INSERT_AFTER(tail, e);
        tail = e;
        fr->unflushed = 1;
    }
    if (overrun) {
        fr->phase = FCGI_PHASE_BODY;
        fcgi_request_log(fr, APLOG_ERR, 0, "FCGI0310: the backend sent more "
                         "body than its Content-Length; the rest is dropped");
        stream_end(fr, tail, 0, 0);
        return NULL;
    }
    return tail;
}

/*
 * Whether the connection is clean after our END_REQUEST: nothing came
 * after it, neither in the same read (`trailing` bytes) nor since (one
 * poll).  A backend that writes after ending a request would have the
 * next request on the connection read it as its answer (were it not for
 * the request ids); a connection it closed is no use either.
 */
static int stream_clean_after_end(fcgi_request *fr, apr_size_t trailing)
{
    fcgi_idle_state idle = trailing ? FCGI_IDLE_UNREAD
                                    : fcgi_conn_idle_state(fr->conn);

    if (idle == FCGI_IDLE_UNREAD) {
        fr->phase = FCGI_PHASE_BODY;
        fcgi_request_log(fr, APLOG_WARNING, 0, "FCGI0324: the backend sent "
                         "more after END_REQUEST (%s); the response is "
                         "complete, but the connection is closed, not kept",
                         trailing ? "in the same read" : "at once");
    }
    return idle == FCGI_IDLE_QUIET;
}

/* END_REQUEST: the response is complete, unless the backend refused it.
 * `trailing` bytes came after it in the same read. */
static void stream_finish(fcgi_request *fr, apr_bucket *tail,
                          const fcgi_event *ev, apr_size_t trailing)
{
    if (ev->protocol_status == FCGI_OVERLOADED) {
        stream_fail(fr, tail, HTTP_SERVICE_UNAVAILABLE, 0, "FCGI0320: the "
                    "backend refused the request: FCGI_OVERLOADED");
    }
    else if (ev->protocol_status != FCGI_REQUEST_COMPLETE) {
        char what[160];

        apr_snprintf(what, sizeof(what), "FCGI0321: the backend refused the "
                     "request: %s (%d)",
                     fcgi_protocol_status_name(ev->protocol_status),
                     ev->protocol_status);
        stream_fail(fr, tail, HTTP_BAD_GATEWAY, 0, what);
    }
    else if (fr->headers_done && fr->body_left > 0) {
        char what[160];

        apr_snprintf(what, sizeof(what), "FCGI0311: the backend ended the "
                     "response %" APR_OFF_T_FMT " bytes short of its "
                     "Content-Length", fr->body_left);
        stream_fail(fr, tail, HTTP_BAD_GATEWAY, 0, what);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, fr->r, "FCGI0322: "
                      "END_REQUEST from " FCGI_HANDLER_PREFIX "%s, "
                      "appStatus %u", fr->addr->spec,
                      (unsigned)ev->app_status);
        stream_end(fr, tail, 0, fr->keep_conn && !fr->foreign
                                && stream_clean_after_end(fr, trailing));
    }
}

/*
 * A record for another request id on our connection: written by the
 * backend after an earlier request on it had ended, or the backend does
 * not answer with the request's id.  The connection is not kept.  While
 * nothing of our answer has come, a request that may be sent again is,
 * on a new connection (the one that brought the record could hold more);
 * after that, the record is skipped.
 */
static apr_bucket *stream_foreign(fcgi_request *fr, apr_bucket *tail,
                                  const fcgi_event *ev)
{
    int again = fr->retry_ok && !fr->answered;

    if (!fr->foreign) {
        fr->phase = fr->headers_done ? FCGI_PHASE_BODY : FCGI_PHASE_HEADERS;
        fcgi_request_log(fr, APLOG_WARNING, 0, "FCGI0323: the backend sent "
                         "a record (type %u) for request id %u on the "
                         "connection now serving request id %u: written "
                         "after an earlier request had ended, or the backend "
                         "does not answer with the request's id; %s",
                         ev->record_type, ev->request_id, fr->request_id,
                         again ? "the request is sent again on a new "
                                 "connection"
                               : "it is skipped, and the connection closed "
                                 "after this request");
    }
    fr->foreign = 1;
    if (again) {
        fr->retry = FCGI_RETRY_FOREIGN;
        stream_end(fr, tail, HTTP_BAD_GATEWAY, 0);
        return NULL;
    }
    return tail;
}

/*
 * Parse what the read buffer holds past *pos, putting data buckets (and
 * at the end of the response EOS) after b.  Returns the last bucket
 * added, b if none, or NULL when the stream ended.
 */
static apr_bucket *stream_parse(fcgi_request *fr, apr_bucket *b,
                                apr_size_t *pos)
{
    apr_bucket *tail = b;
    const char *base = fr->buf->base;

    while (*pos < fr->buf_filled) {
        fcgi_event ev;
        apr_size_t used;
        apr_status_t rv = fcgi_parser_feed(&fr->parser, base + *pos,
                                           fr->buf_filled - *pos, &used, &ev);

        *pos += used;
        if (rv != APR_SUCCESS) {
            char what[200];

            apr_snprintf(what, sizeof(what), "FCGI0301: malformed response: "
                         "%s", fcgi_proto_strerror(rv));
            stream_fail(fr, tail, HTTP_BAD_GATEWAY, 0, what);
            return NULL;
        }
        switch (ev.type) {
        case FCGI_EVENT_STDOUT:
            fr->answered = 1;
            if (!(tail = stream_stdout(fr, tail, ev.data, ev.len))) {
                return NULL;
            }
            break;
        case FCGI_EVENT_STDERR:
            fr->answered = 1;
            stderr_collect(fr, ev.data, ev.len);
            break;
        case FCGI_EVENT_END:
            fr->answered = 1;
            stream_finish(fr, tail, &ev, fr->buf_filled - *pos);
            return NULL;
        case FCGI_EVENT_FOREIGN:
            if (!(tail = stream_foreign(fr, tail, &ev))) {
                return NULL;
            }
            break;
        case FCGI_EVENT_NONE:
            break;
        }
    }
    return tail;
}

static apr_status_t fcgi_bucket_read(apr_bucket *b, const char **str,
                                     apr_size_t *len, apr_read_type_e block)
{
    fcgi_request *fr = b->data;
    apr_bucket_alloc_t *list = b->list;
    apr_bucket *tail = b, *first, *old_next = APR_BUCKET_NEXT(b);

    while (!fr->done) {
        apr_size_t pos, n;
        apr_status_t rv;
        /* Only a wait that would hold data back from the filters must be
         * noticed first; with nothing unflushed, just wait. */
        apr_read_type_e mode = block == APR_BLOCK_READ && !fr->unflushed
                               ? APR_BLOCK_READ : APR_NONBLOCK_READ;
        apr_time_t deadline = fr->deadline;
        /* A request the pool sent while we slept: FcgiIOTimeout has been
         * running since, so the first byte is due by a time of its own. */
        int by_first_byte = !fr->received && fr->first_byte_by
                            && (!deadline || fr->first_byte_by < deadline);

        if (by_first_byte) {
            deadline = fr->first_byte_by;
        }
        stream_buf_prepare(fr, list);
        pos = fr->buf_filled;
        n = fr->buf->alloc_len - pos;
        rv = fcgi_conn_read(fr->conn, fr->buf->base + pos, &n, mode,
                            deadline);

        if (APR_STATUS_IS_EAGAIN(rv)) {
            if (block == APR_NONBLOCK_READ) {
                return APR_EAGAIN;
            }
            /* The backend is quiet: let every filter pass on what it
             * holds before we wait. */
            fr->unflushed = 0;
            tail = apr_bucket_flush_create(list);
            APR_BUCKET_INSERT_AFTER(b, tail);
            break;
        }
        if (rv == APR_SUCCESS) {
            if (!fr->received) {
                fcgi_backend_answer_started(fr->backend, fr->conn);
            }
            fr->received += n;
            fr->buf_filled += n;
            if (!(tail = stream_parse(fr, b, &pos))) {
                break;
            }
            if (tail != b) {
                break;
            }
            continue;
        }
        tail = b;
        if (fr->retry_ok && !fr->received
            && (APR_STATUS_IS_EOF(rv) || APR_STATUS_IS_ECONNRESET(rv)
                || APR_STATUS_IS_EPIPE(rv))) {
            /* A kept connection the backend had closed meanwhile: nothing
             * was lost, the handler tries again on a new one. */
            fr->retry = FCGI_RETRY_STALE;
            stream_end(fr, b, HTTP_BAD_GATEWAY, 0);
        }
        else if (APR_STATUS_IS_EOF(rv)) {
            stream_fail(fr, b, HTTP_BAD_GATEWAY, 0,
                        fcgi_parser_between_records(&fr->parser)
                        ? "FCGI0302: the backend closed the connection "
                          "without ending the request (no END_REQUEST)"
                        : "FCGI0303: the backend closed the connection in "
                          "the middle of a record");
        }
        else if (rv == FCGI_EDEADLINE && !by_first_byte) {
            stream_fail(fr, b, HTTP_GATEWAY_TIME_OUT, 0,
                        "FCGI0306: the response took longer than "
                        "FcgiResponseTimeout");
        }
        else if (APR_STATUS_IS_TIMEUP(rv) || rv == FCGI_EDEADLINE) {
            stream_fail(fr, b, HTTP_GATEWAY_TIME_OUT,
                        rv == FCGI_EDEADLINE ? APR_SUCCESS : rv,
                        "FCGI0304: the backend sent nothing for longer than "
                        "FcgiIOTimeout");
        }
        else {
            stream_fail(fr, b, HTTP_BAD_GATEWAY, rv,
                        "FCGI0305: reading from the backend failed");
        }
        break;
    }

    if (!fr->done && tail) {
        APR_BUCKET_INSERT_AFTER(tail, fcgi_bucket_create(fr, list));
    }
    /* b becomes the first thing we produced, if that is data. */
    first = APR_BUCKET_NEXT(b);
    if (first != old_next && first->type == &apr_bucket_type_heap) {
        bucket_take_over(b, first);
        *str = ((apr_bucket_heap *)b->data)->base + b->start;
        *len = b->length;
    }
    else {
        bucket_make_empty(b);
        *str = b->data;
        *len = 0;
    }
    return APR_SUCCESS;
}

/* Nothing to free: the stream belongs to the request.  A response
 * dropped before its end is finished by the handler, which always gets
 * control back after passing it down (fcgi_stream_finish_early()). */
static void fcgi_bucket_destroy(void *data)
{
    (void)data;
}

apr_bucket *fcgi_bucket_create(fcgi_request *fr, apr_bucket_alloc_t *list)
{
    apr_bucket *b = apr_bucket_alloc(sizeof(*b), list);

    APR_BUCKET_INIT(b);
    b->free = apr_bucket_free;
    b->list = list;
    b->type = &fcgi_bucket_type;
    b->length = (apr_size_t)-1;
    b->start = -1;
    b->data = fr;
    return b;
}

int fcgi_bucket_body_start(fcgi_request *fr, apr_bucket_brigade *bb,
                           apr_bucket *from)
{
    apr_bucket *e;

    fr->phase = FCGI_PHASE_BODY;
    if (fr->body_left < 0) {
        return OK;
    }
    for (e = from; e != APR_BRIGADE_SENTINEL(bb) && !APR_BUCKET_IS_METADATA(e)
                   && !FCGI_BUCKET_IS(e); e = APR_BUCKET_NEXT(e)) {
        if ((apr_off_t)e->length > fr->body_left) {
            apr_bucket *after;
            int was_done = fr->done;

            apr_bucket_split(e, (apr_size_t)fr->body_left);
            fr->body_left = 0;
            fcgi_request_log(fr, APLOG_ERR, 0, "FCGI0312: the backend sent "
                             "more body than its Content-Length; the rest "
                             "is dropped");
            /* Drop the rest of what was read and the FCGI bucket, up to
             * the end the bucket may already have put there. */
            while ((after = APR_BUCKET_NEXT(e)) != APR_BRIGADE_SENTINEL(bb)
                   && !APR_BUCKET_IS_METADATA(after)) {
                apr_bucket_delete(after);
            }
            if (!was_done) {
                stream_end(fr, e, 0, 0);
            }
            return OK;
        }
        fr->body_left -= e->length;
    }
    if (fr->body_left > 0 && e != APR_BRIGADE_SENTINEL(bb)
        && APR_BUCKET_IS_EOS(e)) {
        /* The whole response came in one read, short of its length:
         * nothing has gone out yet, so the client gets a clean 502. */
        fcgi_request_log(fr, APLOG_ERR, 0, "FCGI0313: the backend's response "
                         "is %" APR_OFF_T_FMT " bytes short of its "
                         "Content-Length", fr->body_left);
        return HTTP_BAD_GATEWAY;
    }
    return OK;
}

const apr_bucket_type_t fcgi_bucket_type = {
    "FCGI", 5, APR_BUCKET_DATA,
    fcgi_bucket_destroy,
    fcgi_bucket_read,
    apr_bucket_setaside_notimpl,
    apr_bucket_split_notimpl,
    apr_bucket_copy_notimpl
};
