/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_body.c: the request body as STDIN records (see fcgi_body.h).
 *
 * httpd's input filters do the HTTP work (de-chunking, LimitRequestBody,
 * 100-continue); this file turns what they deliver into records, several
 * per writev, pointing at the filters' own buffers rather than copying.
 */

#include <string.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "fcgi_body.h"

APLOG_USE_MODULE(fastcgi_handler);

/* How much to ask the input filters for at a time. */
#define FCGI_BODY_READ (64 * 1024)

/* The client did not deliver its body.  A client problem, not the
 * backend's: said at info level, without the backend's details.  When
 * httpd's input filter has answered already (413, say), it has said why. */
static int client_read_failed(fcgi_request *fr, apr_status_t rv)
{
    if (rv != AP_FILTER_ERROR) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, fr->r, "FCGI0210: reading "
                      "the request body from the client failed");
    }
    return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
}

/* Records gathered per writev (two iovecs each: header and payload). */
#define FCGI_STDIN_RECORDS 16

typedef enum {
    FCGI_BODY_NONE = 0,
    FCGI_BODY_STREAM,            /* Content-Length: sent as it arrives */
    FCGI_BODY_SPOOLED            /* chunked: read whole, then sent */
} fcgi_body_kind;

struct fcgi_body {
    fcgi_body_kind kind;
    apr_off_t length;
    int read_all;                /* the client's body was read to its end */
    char *mem;                   /* spooled body, while it fits in memory */
    apr_size_t mem_len;
    apr_file_t *file;            /* spooled body, once it did not */
};

typedef struct {
    fcgi_request *fr;
    struct iovec vec[2 * FCGI_STDIN_RECORDS];
    unsigned char hdr[FCGI_STDIN_RECORDS][AP_FCGI_HEADER_LEN];
    int nvec, nrec;
} stdin_writer;

static apr_status_t stdin_flush(stdin_writer *w)
{
    apr_size_t n;
    apr_status_t rv;

    if (!w->nvec) {
        return APR_SUCCESS;
    }
    rv = fcgi_conn_writev(w->fr->conn, w->vec, w->nvec, &n);
    w->fr->sent += n;
    w->nvec = w->nrec = 0;
    return rv;
}

/* Queue one record of at most FCGI_RECORD_PAYLOAD_MAX bytes (none for the
 * record that ends STDIN).  data must stay valid until the next flush. */
static apr_status_t stdin_record(stdin_writer *w, const char *data,
                                 apr_size_t len)
{
    apr_status_t rv;

    if (w->nrec == FCGI_STDIN_RECORDS
        && (rv = stdin_flush(w)) != APR_SUCCESS) {
        return rv;
    }
    fcgi_record_header_write(w->hdr[w->nrec], AP_FCGI_STDIN,
                             w->fr->request_id, (apr_uint16_t)len, 0);
    w->vec[w->nvec].iov_base = w->hdr[w->nrec++];
    w->vec[w->nvec++].iov_len = AP_FCGI_HEADER_LEN;
    if (len) {
        w->vec[w->nvec].iov_base = (void *)data;
        w->vec[w->nvec++].iov_len = len;
    }
    return APR_SUCCESS;
}

static apr_status_t stdin_data(stdin_writer *w, const char *data,
                               apr_size_t len)
{
    apr_status_t rv = APR_SUCCESS;

    while (len && rv == APR_SUCCESS) {
        apr_size_t n = len < FCGI_RECORD_PAYLOAD_MAX ? len
                                                     : FCGI_RECORD_PAYLOAD_MAX;

        rv = stdin_record(w, data, n);
        data += n;
        len -= n;
    }
    return rv;
}

/* Read the next piece of the body from the client.  Returns OK or the
 * HTTP status the failure calls for. */
static int body_read(fcgi_request *fr, apr_bucket_brigade *bb)
{
    apr_status_t rv = ap_get_brigade(fr->r->input_filters, bb,
                                     AP_MODE_READBYTES, APR_BLOCK_READ,
                                     FCGI_BODY_READ);

    if (rv != APR_SUCCESS) {
        return client_read_failed(fr, rv);
    }
    return OK;
}

/* The backend stopped taking the body.  A timeout is the end of it; any
 * other failure is remembered and the response read, see fcgi_body.h. */
static int stdin_failed(fcgi_request *fr, apr_status_t rv)
{
    if (APR_STATUS_IS_TIMEUP(rv)) {
        fcgi_request_log(fr, APLOG_ERR, rv, "FCGI0211: the backend did not "
                         "take the request body within FcgiIOTimeout");
        return HTTP_GATEWAY_TIME_OUT;
    }
    fr->stdin_error = rv;
    return OK;
}

static apr_status_t spool_write(fcgi_request *fr, fcgi_body *body,
                                const char *data, apr_size_t len)
{
    apr_status_t rv;

    if (!body->file && body->mem_len + len <= FCGI_SPOOL_MEM) {
        if (!body->mem) {
            body->mem = apr_palloc(fr->r->pool, FCGI_SPOOL_MEM);
        }
        memcpy(body->mem + body->mem_len, data, len);
        body->mem_len += len;
        return APR_SUCCESS;
    }
    if (!body->file) {
        const char *dir;
        char *tmpl;

        if ((rv = apr_temp_dir_get(&dir, fr->r->pool)) != APR_SUCCESS) {
            return rv;
        }
        tmpl = apr_pstrcat(fr->r->pool, dir, "/fcgi-body-XXXXXX", NULL);
        rv = apr_file_mktemp(&body->file, tmpl,
                             APR_FOPEN_CREATE | APR_FOPEN_READ
                             | APR_FOPEN_WRITE | APR_FOPEN_EXCL
                             | APR_FOPEN_DELONCLOSE | APR_FOPEN_BUFFERED,
                             fr->r->pool);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (body->mem_len
            && (rv = apr_file_write_full(body->file, body->mem, body->mem_len,
                                         NULL)) != APR_SUCCESS) {
            return rv;
        }
    }
    return apr_file_write_full(body->file, data, len, NULL);
}

/* What body_pump() hands each piece of the body to, and calls after each
 * brigade (while the pieces are still valid). */
typedef apr_status_t (*body_piece_fn)(void *baton, const char *data,
                                      apr_size_t len);
typedef apr_status_t (*body_batch_fn)(void *baton);

/*
 * Read the body from the client to its end, a brigade at a time, handing
 * each piece to `piece` and calling `batch` (if any) after each brigade.
 * Returns OK, or the HTTP status of a client that failed; when `piece` or
 * `batch` fails, returns OK with *failed set to why.
 */
static int body_pump(fcgi_request *fr, fcgi_body *body, body_piece_fn piece,
                     body_batch_fn batch, void *baton, apr_status_t *failed)
{
    apr_bucket_brigade *bb = apr_brigade_create(fr->r->pool,
                                                fr->r->connection->bucket_alloc);
    int seen_eos = 0;

    *failed = APR_SUCCESS;
    while (!seen_eos && *failed == APR_SUCCESS) {
        apr_bucket *e;
        int status = body_read(fr, bb);

        if (status != OK) {
            return status;
        }
        for (e = APR_BRIGADE_FIRST(bb);
             e != APR_BRIGADE_SENTINEL(bb) && *failed == APR_SUCCESS;
             e = APR_BUCKET_NEXT(e)) {
            const char *data;
            apr_size_t len;
            apr_status_t rv;

            if (APR_BUCKET_IS_EOS(e)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(e)) {
                continue;
            }
            if ((rv = apr_bucket_read(e, &data, &len, APR_BLOCK_READ))
                != APR_SUCCESS) {
                apr_brigade_cleanup(bb);
                return client_read_failed(fr, rv);
            }
            *failed = piece(baton, data, len);
        }
        if (*failed == APR_SUCCESS && batch) {
            *failed = batch(baton);
        }
        apr_brigade_cleanup(bb);
    }
    body->read_all = seen_eos;
    return OK;
}

typedef struct {
    fcgi_request *fr;
    fcgi_body *body;
} spool_ctx;

static apr_status_t spool_piece(void *baton, const char *data, apr_size_t len)
{
    spool_ctx *ctx = baton;

    ctx->body->length += len;
    return spool_write(ctx->fr, ctx->body, data, len);
}

/* Read a chunked body to its end into memory or a temporary file. */
static int body_spool(fcgi_request *fr, fcgi_body *body)
{
    spool_ctx ctx = { fr, body };
    apr_status_t failed;
    int status = body_pump(fr, body, spool_piece, NULL, &ctx, &failed);

    if (status == OK && failed != APR_SUCCESS) {
        fr->phase = FCGI_PHASE_STDIN;
        fcgi_request_log(fr, APLOG_ERR, failed, "FCGI0212: spooling the "
                         "chunked request body failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return status;
}

int fcgi_body_prepare(fcgi_request *fr, fcgi_body **bodyp,
                      apr_off_t *spooled_length)
{
    request_rec *r = fr->r;
    fcgi_body *body = apr_pcalloc(r->pool, sizeof(*body));
    const char *clen = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t limit = ap_get_limit_req_body(r);
    int status;

    *bodyp = body;
    *spooled_length = -1;

    if (apr_table_get(r->headers_in, "Transfer-Encoding")) {
        body->kind = FCGI_BODY_SPOOLED;
        if ((status = body_spool(fr, body)) != OK) {
            return status;
        }
        *spooled_length = body->length;
        return OK;
    }
    if (clen) {
        /* httpd has checked the header already; this cannot fail. */
        if (!ap_parse_strict_length(&body->length, clen)) {
            return HTTP_BAD_REQUEST;
        }
        if (limit && body->length > limit) {
            /* Said before a backend is bothered; httpd would say it at the
             * first read. */
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "FCGI0213: request "
                          "body of %" APR_OFF_T_FMT " bytes is over "
                          "LimitRequestBody (%" APR_OFF_T_FMT ")",
                          body->length, limit);
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
        if (body->length > 0) {
            body->kind = FCGI_BODY_STREAM;
        }
    }
    return OK;
}

int fcgi_body_is_empty(const fcgi_body *body)
{
    return body->kind == FCGI_BODY_NONE
           || (body->kind == FCGI_BODY_SPOOLED && body->length == 0);
}

int fcgi_body_is_replayable(const fcgi_body *body)
{
    return body->kind != FCGI_BODY_STREAM;
}

static apr_status_t stdin_piece(void *baton, const char *data,
                                apr_size_t len)
{
    return stdin_data(baton, data, len);
}

static apr_status_t stdin_batch(void *baton)
{
    return stdin_flush(baton);
}

static int send_streamed(fcgi_request *fr, fcgi_body *body, stdin_writer *w)
{
    apr_status_t failed;
    int status = body_pump(fr, body, stdin_piece, stdin_batch, w, &failed);

    if (status == OK && failed != APR_SUCCESS) {
        return stdin_failed(fr, failed);
    }
    return status;
}

static int send_spooled(fcgi_request *fr, fcgi_body *body, stdin_writer *w)
{
    apr_status_t rv;
    apr_off_t offset = 0;
    char *buf;

    if (!body->file) {
        rv = stdin_data(w, body->mem, body->mem_len);
        return rv == APR_SUCCESS ? OK : stdin_failed(fr, rv);
    }
    if ((rv = apr_file_seek(body->file, APR_SET, &offset)) != APR_SUCCESS) {
        fcgi_request_log(fr, APLOG_ERR, rv, "FCGI0214: rewinding the "
                         "spooled request body failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    buf = apr_palloc(fr->r->pool, FCGI_BODY_READ);
    for (;;) {
        apr_size_t len = FCGI_BODY_READ;

        rv = apr_file_read(body->file, buf, &len);
        if (APR_STATUS_IS_EOF(rv) || (rv == APR_SUCCESS && len == 0)) {
            return OK;
        }
        if (rv != APR_SUCCESS) {
            fcgi_request_log(fr, APLOG_ERR, rv, "FCGI0215: reading the "
                             "spooled request body failed");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if ((rv = stdin_data(w, buf, len)) != APR_SUCCESS
            || (rv = stdin_flush(w)) != APR_SUCCESS) {
            return stdin_failed(fr, rv);
        }
    }
}

int fcgi_body_send(fcgi_request *fr, fcgi_body *body)
{
    stdin_writer w;
    apr_status_t rv;
    int status = OK;

    memset(&w, 0, sizeof(w));
    w.fr = fr;
    fr->phase = FCGI_PHASE_STDIN;

    if (body->kind == FCGI_BODY_STREAM) {
        status = send_streamed(fr, body, &w);
    }
    else if (body->kind == FCGI_BODY_SPOOLED) {
        status = send_spooled(fr, body, &w);
    }
    if (status != OK || fr->stdin_error) {
        return status;
    }
    if ((rv = stdin_record(&w, NULL, 0)) != APR_SUCCESS
        || (rv = stdin_flush(&w)) != APR_SUCCESS) {
        return stdin_failed(fr, rv);
    }
    return OK;
}

void fcgi_body_finish(fcgi_request *fr, fcgi_body *body)
{
    if (body->kind != FCGI_BODY_STREAM || body->read_all
        || fr->r->connection->keepalive == AP_CONN_CLOSE) {
        return;
    }
    fr->r->connection->keepalive = AP_CONN_CLOSE;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, fr->r, "FCGI0216: the request "
                  "body was not read to its end (%" APR_OFF_T_FMT " bytes "
                  "announced); the client's connection is closed after the "
                  "response, rather than read to its end first",
                  body->length);
}
