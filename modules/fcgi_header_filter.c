/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_header_filter.c: the CGI header output filter (see
 * fcgi_header_filter.h).
 *
 * The handler passes the response down as one FCGI bucket; this filter is
 * the first to read it.  It collects bytes until the blank line that ends
 * the header block, checks the block (fcgi_headers.c), lets httpd's CGI
 * code apply it exactly as mod_cgi would (Status, Location, Set-Cookie,
 * Last-Modified and conditional requests), then removes itself and passes
 * the rest on.  The body never comes through here again.
 *
 * Before httpd sees the headers, what only described the backend's
 * connection goes (hop-by-hop headers and those a Connection header
 * names), and a Content-Length the backend gave twice must agree.
 *
 * Decisions that replace the response (an error, a redirect, 304) are left
 * in fcgi_request for the handler, which returns them once the filter
 * chain is back, as mod_cgi does from its handler.
 */

#include <string.h>

#include "httpd.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_script.h"

#include "fcgi_bucket.h"
#include "fcgi_headers.h"
#include "fcgi_header_filter.h"

APLOG_USE_MODULE(fastcgi_handler);

typedef struct {
    fcgi_request *fr;
    char *block;                 /* the header block read so far */
    apr_size_t len, size, scan;
} header_ctx;

typedef struct {
    const char *name, *value;
    apr_size_t name_len, value_len;
} header_line;

/* What ap_scan_script_header_err_core_ex() reads its lines from. */
typedef struct {
    apr_array_header_t *lines;
    int next;
} header_reader;

static int collect_header(void *baton, const char *name, apr_size_t name_len,
                          const char *value, apr_size_t value_len)
{
    apr_array_header_t *lines = baton;
    header_line *h;

    h = apr_array_push(lines);
    h->name = name;
    h->name_len = name_len;
    h->value = value;
    h->value_len = value_len;
    return 1;
}

static int read_header_line(char *buf, int len, void *baton)
{
    header_reader *reader = baton;
    const header_line *h;

    if (reader->next >= reader->lines->nelts) {
        buf[0] = '\0';                   /* the blank line */
        return 1;
    }
    h = &APR_ARRAY_IDX(reader->lines, reader->next++, header_line);
    /* fcgi_headers_parse() kept lines under MAX_STRING_LEN, so this fits
     * the buffer httpd hands us. */
    apr_snprintf(buf, len, "%.*s: %.*s", (int)h->name_len, h->name,
                 (int)h->value_len, h->value);
    return 1;
}

static void header_fail(fcgi_request *fr, const char *what)
{
    fcgi_request_log(fr, APLOG_ERR, 0, "%s", what);
    fr->status = HTTP_BAD_GATEWAY;
}

static int line_is(const header_line *h, const char *name)
{
    return h->name_len == strlen(name)
           && !ap_cstr_casecmpn(h->name, name, h->name_len);
}

/* Whether two Content-Length lines say the same: the same number (or,
 * if either is no number, the same text: FCGI0403 will say so). */
static int same_length(apr_pool_t *p, const header_line *a,
                       const header_line *b)
{
    apr_off_t na, nb;

    if (ap_parse_strict_length(&na, apr_pstrmemdup(p, a->value, a->value_len))
        && ap_parse_strict_length(&nb, apr_pstrmemdup(p, b->value,
                                                      b->value_len))) {
        return na == nb;
    }
    return a->value_len == b->value_len
           && !memcmp(a->value, b->value, a->value_len);
}

/* Whether a Connection header among lines names h. */
static int named_by_connection(const apr_array_header_t *lines,
                               const header_line *h)
{
    int i;

    for (i = 0; i < lines->nelts; i++) {
        const header_line *c = &APR_ARRAY_IDX(lines, i, header_line);

        if (line_is(c, "Connection")
            && fcgi_header_list_has(c->value, c->value_len, h->name,
                                    h->name_len)) {
            return 1;
        }
    }
    return 0;
}

/*
 * The headers that go on to httpd, from those the backend sent: not the
 * hop-by-hop ones, which describe the backend's connection (httpd frames
 * the response and manages the client's connection itself; a backend's
 * Connection header would even stand in for httpd's), nor those a
 * Connection header names (RFC 9110, 7.6.1), but Status, the CGI's
 * status line, whatever a Connection header says; and one Content-Length
 * where the backend repeated it (RFC 9110, 8.6).  Returns NULL, or why
 * the response cannot be passed on.
 */
static const char *headers_sanitize(fcgi_request *fr,
                                    apr_array_header_t *lines)
{
    request_rec *r = fr->r;
    apr_array_header_t *kept = apr_array_make(r->pool, lines->nelts,
                                              sizeof(header_line));
    const header_line *length = NULL;
    const char *dropped = NULL;
    int i;

    for (i = 0; i < lines->nelts; i++) {
        const header_line *h = &APR_ARRAY_IDX(lines, i, header_line);

        if (fcgi_header_is_hop_by_hop(h->name, h->name_len)
            || (!line_is(h, "Status") && named_by_connection(lines, h))) {
            dropped = apr_psprintf(r->pool, "%s%s%.*s", dropped ? dropped : "",
                                   dropped ? ", " : "", (int)h->name_len,
                                   h->name);
            continue;
        }
        if (line_is(h, "Content-Length")) {
            if (length && !same_length(r->pool, length, h)) {
                return apr_psprintf(r->pool, "FCGI0408: the backend sent two "
                                    "Content-Lengths that disagree: '%.*s' "
                                    "and '%.*s'",
                                    (int)(length->value_len > 40
                                          ? 40 : length->value_len),
                                    length->value,
                                    (int)(h->value_len > 40 ? 40
                                                            : h->value_len),
                                    h->value);
            }
            if (length) {
                continue;               /* the same again: one will do */
            }
            length = h;
        }
        *(header_line *)apr_array_push(kept) = *h;
    }
    if (dropped) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "FCGI0407: hop-by-hop "
                      "headers from " FCGI_HANDLER_PREFIX "%s not passed on: "
                      "%s", fr->addr->spec, dropped);
    }
    *lines = *kept;
    return NULL;
}

/*
 * Apply a complete header block to the request.  Returns OK to go on with
 * the body, or leaves a decision in fr (status or redirect) and returns
 * DONE.
 */
static int headers_apply(header_ctx *ctx)
{
    fcgi_request *fr = ctx->fr;
    request_rec *r = fr->r;
    header_reader reader;
    fcgi_headers_result result;
    const char *bad, *location, *clen, *why;
    apr_size_t bad_len;
    int cond;

    reader.lines = apr_array_make(r->pool, 16, sizeof(header_line));
    reader.next = 0;
    result = fcgi_headers_parse(ctx->block, ctx->len, MAX_STRING_LEN - 2,
                                collect_header, reader.lines, &bad, &bad_len);
    if (result != FCGI_HEADERS_OK) {
        char what[300], line[64];
        apr_size_t i;

        for (i = 0; i < bad_len && i < sizeof(line) - 1; i++) {
            line[i] = apr_isprint(bad[i]) ? bad[i] : '?';
        }
        line[i] = '\0';
        apr_snprintf(what, sizeof(what), "FCGI0402: the backend sent %s: "
                     "'%s%s'", fcgi_headers_strerror(result), line,
                     bad_len >= sizeof(line) ? "..." : "");
        header_fail(fr, what);
        return DONE;
    }
    if ((why = headers_sanitize(fr, reader.lines))) {
        header_fail(fr, why);
        return DONE;
    }

    cond = ap_scan_script_header_err_core_ex(r, NULL, read_header_line,
                                             &reader, APLOG_MODULE_INDEX);

    clen = apr_table_get(r->headers_out, "Content-Length");
    fr->body_left = -1;
    if (clen) {
        apr_off_t n;

        if (!ap_parse_strict_length(&n, clen)) {
            char what[200];

            apr_snprintf(what, sizeof(what), "FCGI0403: the backend sent "
                         "an invalid Content-Length: '%.40s'", clen);
            apr_table_clear(r->err_headers_out);
            header_fail(fr, what);
            return DONE;
        }
        /* The body must match, unless there is no body to send. */
        if (!r->header_only && r->status != HTTP_NO_CONTENT
            && r->status != HTTP_NOT_MODIFIED
            && !ap_is_HTTP_INFO(r->status)) {
            fr->body_left = n;
        }
    }

    location = apr_table_get(r->headers_out, "Location");
    if (location && r->status == HTTP_OK) {
        /* As in mod_cgi: a local path is an internal redirect, anything
         * else a 302; the backend's body is not sent either way. */
        if (location[0] == '/') {
            fr->redirect = location;
        }
        else {
            fr->status = HTTP_MOVED_TEMPORARILY;
        }
        return DONE;
    }
    if (cond == HTTP_NOT_MODIFIED) {
        fr->status = HTTP_NOT_MODIFIED;
        return DONE;
    }
    if (cond != OK) {
        /* Not expected with a block we checked; keep what httpd said. */
        fr->status = cond;
        return DONE;
    }
    return OK;
}

/* Append data to the header block, growing it up to the limit; what
 * does not fit is left out. */
static void block_append(header_ctx *ctx, const char *data, apr_size_t len,
                         apr_size_t limit)
{
    if (len > limit - ctx->len) {
        len = limit - ctx->len;
    }
    if (ctx->len + len > ctx->size) {
        apr_size_t size = ctx->size ? ctx->size : 1024;
        char *block;

        while (size < ctx->len + len) {
            size *= 2;
        }
        if (size > limit) {
            size = limit;
        }
        block = apr_palloc(ctx->fr->r->pool, size);
        if (ctx->len) {
            memcpy(block, ctx->block, ctx->len);
        }
        ctx->block = block;
        ctx->size = size;
    }
    memcpy(ctx->block + ctx->len, data, len);
    ctx->len += len;
}

apr_status_t fcgi_header_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    header_ctx *ctx = f->ctx;
    fcgi_request *fr = ctx->fr;
    apr_size_t limit = fcgi_conf_header_limit(fr->conf);
    apr_bucket *e, *next;

    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = next) {
        const char *data;
        apr_size_t len, before, end;
        apr_status_t rv;

        if (APR_BUCKET_IS_EOS(e)) {
            header_fail(fr, ctx->len
                        ? "FCGI0401: the backend's response ended inside "
                          "its CGI header block"
                        : "FCGI0400: the backend's response has no CGI "
                          "header block (it sent no output)");
            break;
        }
        if (AP_BUCKET_IS_ERROR(e)) {
            /* The bucket logged why; the status is the handler's answer. */
            fr->status = ((ap_bucket_error *)e->data)->status;
            break;
        }
        if (APR_BUCKET_IS_METADATA(e)) {
            next = APR_BUCKET_NEXT(e);
            apr_bucket_delete(e);
            continue;
        }
        rv = apr_bucket_read(e, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) {
            fcgi_request_log(fr, APLOG_ERR, rv, "FCGI0404: reading the "
                             "response failed");
            fr->status = HTTP_BAD_GATEWAY;
            break;
        }
        next = APR_BUCKET_NEXT(e);

        before = ctx->len;
        block_append(ctx, data, len, limit);
        end = fcgi_headers_find_end(ctx->block, ctx->len, &ctx->scan);
        if (!end) {
            if (ctx->len == limit) {
                char what[160];

                apr_snprintf(what, sizeof(what), "FCGI0405: the backend's "
                             "CGI header block is larger than %" APR_SIZE_T_FMT
                             " bytes (FcgiResponseHeaderLimit)", limit);
                header_fail(fr, what);
                break;
            }
            apr_bucket_delete(e);
            continue;
        }

        /* The block ends inside this bucket: what follows is body. */
        ctx->len = end;
        if (end - before < len) {
            apr_bucket_split(e, end - before);
            next = APR_BUCKET_NEXT(e);
        }
        apr_bucket_delete(e);

        if (headers_apply(ctx) != OK) {
            break;
        }
        if ((fr->status = fcgi_bucket_body_start(fr, bb, next)) != OK) {
            apr_table_clear(fr->r->err_headers_out);
            break;
        }
        fr->headers_done = 1;
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }

    /* A decision was made: drop the response. */
    if (!fr->status && !fr->redirect) {
        /* The brigade ran out, which the handler's never does. */
        header_fail(fr, "FCGI0406: the response ended before its CGI "
                    "header block");
    }
    apr_brigade_cleanup(bb);
    ap_remove_output_filter(f);
    return APR_SUCCESS;
}

void fcgi_header_filter_insert(fcgi_request *fr)
{
    header_ctx *ctx = apr_pcalloc(fr->r->pool, sizeof(*ctx));

    ctx->fr = fr;
    ap_add_output_filter(FCGI_HEADER_FILTER_NAME, ctx, fr->r,
                         fr->r->connection);
}
