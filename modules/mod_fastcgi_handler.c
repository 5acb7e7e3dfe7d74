/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * mod_fastcgi_handler.c: the module record, its hooks, and the handler's
 * main line.
 *
 *     AddHandler fcgi:/run/php/php-fpm.sock .php
 *     <Location /app>  SetHandler fcgi:127.0.0.1:3000  </Location>
 *
 * For a request whose handler is "fcgi:ADDRESS" the handler takes a
 * connection from the backend's pool (fcgi_backend.c), sends
 * BEGIN_REQUEST and the CGI environment as PARAMS, the body as STDIN, and
 * passes the response down the filter chain as one FCGI bucket
 * (fcgi_bucket.c) behind the CGI header filter (fcgi_header_filter.c).
 * Nothing is buffered: the filters pull the response out of the backend
 * as fast as the client takes it, and the connection goes back to the
 * pool the moment END_REQUEST is read.
 */

#include "apr_strings.h"
#include "ap_mpm.h"
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"

#include "fcgi_addr.h"
#include "fcgi_backend.h"
#include "fcgi_body.h"
#include "fcgi_bucket.h"
#include "fcgi_config.h"
#include "fcgi_conn.h"
#include "fcgi_env.h"
#include "fcgi_header_filter.h"
#include "fcgi_request.h"

/* Whether SetHandler (rather than AddHandler) chose this handler: then a
 * request need not name a file. */
static int handler_from_sethandler(request_rec *r)
{
    core_dir_config *core = ap_get_core_module_config(r->per_dir_config);

    return core->expr_handler != NULL;
}

/* Whatever happens to the request, its connection goes back to the pool
 * (closed) by the end of it at the latest. */
static apr_status_t request_cleanup(void *data)
{
    fcgi_request *fr = data;

    if (fr->conn) {
        fcgi_backend_release(fr->backend, fr->conn, 0);
        fr->conn = NULL;
    }
    return APR_SUCCESS;
}

/* The largest request the pool may send on a waiting request's behalf:
 * far below a socket's send buffer, so that sending does not wait. */
#define FCGI_HANDOVER_MAX (16 * 1024)

static int connect_backend(fcgi_request *fr, int fresh, int empty_body)
{
    fcgi_acquire a;
    apr_status_t rv;

    fr->phase = FCGI_PHASE_CONNECT;
    a.max_conns = fcgi_conf_max_conns(fr->conf);
    a.connect_timeout = fcgi_conf_connect_timeout(fr->conf);
    a.queue_timeout = fcgi_conf_queue_timeout(fr->conf);
    a.io_timeout = fcgi_conf_io_timeout(fr->conf, fr->r);
    a.fresh = fresh;
    a.request = NULL;
    a.nrequest = 0;
    if (empty_body && fr->request_len <= FCGI_HANDOVER_MAX) {
        a.request = fr->request;
        a.nrequest = fr->request_nvec;
    }
    a.r = fr->r;
    rv = fcgi_backend_acquire(fr->backend, &a, &fr->conn, &fr->sent_by_pool);
    if (rv == APR_SUCCESS) {
        fcgi_conn_set_timeout(fr->conn, a.io_timeout);
        /* The connection's id for this request: ours to send under (the
         * pool has, if it sent), and the only one whose records are our
         * answer. */
        fr->request_id = fr->conn->request_id;
        fcgi_parser_init(&fr->parser, fr->request_id);
        if (fr->sent_by_pool) {
            fr->first_byte_by = fcgi_conn_sent_at(fr->conn) + a.io_timeout;
        }
        return OK;
    }
    if (rv == FCGI_EQUEUE) {
        fcgi_request_log(fr, APLOG_ERR, 0, "FCGI0104: every connection to "
                         "the backend (FcgiMaxConns) stayed busy for "
                         "FcgiQueueTimeout");
        apr_table_setn(fr->r->err_headers_out, "Retry-After", "1");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (APR_STATUS_IS_TIMEUP(rv)) {
        fcgi_request_log(fr, APLOG_ERR, rv, "FCGI0101: connecting to the "
                         "backend took longer than FcgiConnectTimeout");
        return HTTP_GATEWAY_TIME_OUT;
    }
    if (APR_STATUS_IS_ENOENT(rv) && fr->addr->path) {
        fcgi_request_log(fr, APLOG_ERR, rv, "FCGI0102: the backend's socket "
                         "does not exist (is the backend running? httpd "
                         "lowercases handler names, so the path must be "
                         "lowercase)");
    }
    else if (APR_STATUS_IS_EAGAIN(rv)) {
        fcgi_request_log(fr, APLOG_ERR, rv, "FCGI0103: the backend's listen "
                         "queue is full");
    }
    else {
        fcgi_request_log(fr, APLOG_ERR, rv, "FCGI0100: cannot connect to "
                         "the backend");
    }
    return HTTP_SERVICE_UNAVAILABLE;
}

/* The most CGI environment we send.  httpd's default request limits make
 * well under 1 MiB of headers; more than this is a configuration that
 * lets too much through, not a request to pass on. */
#define FCGI_PARAMS_MAX (4 * 1024 * 1024)

/* BEGIN_REQUEST and PARAMS, and for a request without a body the empty
 * STDIN record too, encoded once (a retry sends them again). */
static int encode_params(fcgi_request *fr, int empty_body)
{
    struct iovec *vec;
    apr_size_t total = 0;
    int nvec, i;

    nvec = fcgi_env_encode(fr->r->subprocess_env, fr->keep_conn, 1,
                           fr->r->pool, &vec, &fr->oversized_param);
    if (empty_body) {
        unsigned char *hdr = apr_palloc(fr->r->pool, AP_FCGI_HEADER_LEN);

        fcgi_record_header_write(hdr, AP_FCGI_STDIN, FCGI_REQUEST_ID_FIRST,
                                 0, 0);
        vec[nvec].iov_base = hdr;
        vec[nvec++].iov_len = AP_FCGI_HEADER_LEN;
    }
    for (i = 0; i < nvec; i++) {
        total += vec[i].iov_len;
    }
    if (total > FCGI_PARAMS_MAX) {
        fr->phase = FCGI_PHASE_PARAMS;
        fcgi_request_log(fr, APLOG_ERR, 0, "FCGI0202: the CGI environment is "
                         "%" APR_SIZE_T_FMT " bytes, more than the %d we "
                         "send a backend (see LimitRequestFieldSize and "
                         "LimitRequestFields)", total, FCGI_PARAMS_MAX);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    fr->request = vec;
    fr->request_nvec = nvec;
    fr->request_len = total;
    return OK;
}

/* The encoded request in one writev, unless the pool sent it already. */
static int send_params(fcgi_request *fr)
{
    struct iovec *vec;
    apr_size_t written;
    apr_status_t rv;

    fr->phase = FCGI_PHASE_PARAMS;
    if (fr->sent_by_pool) {
        fr->sent += fr->request_len;
        return OK;
    }
    /* Writing consumes the vector: a copy, for a retry. */
    fcgi_records_set_request_id(fr->request, fr->request_nvec,
                                fr->request_id);
    vec = apr_pmemdup(fr->r->pool, fr->request,
                      fr->request_nvec * sizeof(*vec));
    rv = fcgi_conn_writev(fr->conn, vec, fr->request_nvec, &written);
    fr->sent += written;
    if (rv == APR_SUCCESS) {
        return OK;
    }
    if (fr->retry_ok
        && (APR_STATUS_IS_EPIPE(rv) || APR_STATUS_IS_ECONNRESET(rv))) {
        /* A kept connection the backend had closed: nothing of the
         * request body has been read yet, so try again on a new one. */
        fr->retry = FCGI_RETRY_STALE;
        return HTTP_BAD_GATEWAY;
    }
    if (APR_STATUS_IS_TIMEUP(rv)) {
        fcgi_request_log(fr, APLOG_ERR, rv, "FCGI0201: the backend did not "
                         "take the request within FcgiIOTimeout");
        return HTTP_GATEWAY_TIME_OUT;
    }
    fcgi_request_log(fr, APLOG_ERR, rv, "FCGI0200: sending the request to "
                     "the backend failed");
    return HTTP_BAD_GATEWAY;
}

/* Pass the response down as one FCGI bucket behind the header filter,
 * then act on what the filter decided. */
static int send_response(fcgi_request *fr)
{
    request_rec *r = fr->r;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool,
                                                r->connection->bucket_alloc);
    apr_status_t rv;

    fr->phase = FCGI_PHASE_HEADERS;
    if (!fr->sent_by_pool) {
        fcgi_backend_request_sent(fr->backend, fr->conn);
    }
    fcgi_header_filter_insert(fr);
    APR_BRIGADE_INSERT_TAIL(bb, fcgi_bucket_create(fr,
                                                   r->connection->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, bb);
    apr_brigade_cleanup(bb);

    /* Not read to its end: replaced by a decision, or the client left. */
    if (!fr->done) {
        if (fr->status >= HTTP_INTERNAL_SERVER_ERROR) {
            fcgi_stream_release(fr, 0);
        }
        else {
            fcgi_stream_finish_early(fr);
        }
    }

    if (fr->retry != FCGI_RETRY_NONE) {
        return HTTP_BAD_GATEWAY;
    }
    if (fr->redirect) {
        /* As mod_cgi does: the redirected request is a GET without a
         * body (we have consumed it). */
        r->method = "GET";
        r->method_number = M_GET;
        apr_table_unset(r->headers_in, "Content-Length");
        apr_table_unset(r->headers_in, "Transfer-Encoding");
        ap_internal_redirect_handler(fr->redirect, r);
        return OK;
    }
    if (fr->status == HTTP_NOT_MODIFIED) {
        /* As mod_cgi does, so that mod_cache's own conditionals work. */
        r->status = HTTP_NOT_MODIFIED;
        return OK;
    }
    if (fr->status) {
        return fr->status;
    }
    if (rv == AP_FILTER_ERROR) {
        return AP_FILTER_ERROR;
    }
    if (rv != APR_SUCCESS && !r->connection->aborted) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, "FCGI0001: passing the "
                      "response on failed");
    }
    /* A client that went away is not an error of ours; httpd logs the
     * request with what was sent. */
    return OK;
}

/* Methods a client may repeat without changing the outcome (RFC 9110,
 * 9.2.2): the only ones retried once the backend may have seen them. */
static int method_is_idempotent(const request_rec *r)
{
    switch (r->method_number) {
    case M_GET:
    case M_PUT:
    case M_DELETE:
    case M_OPTIONS:
        return 1;
    default:
        return 0;
    }
}

/* One go at the backend: connection, request, response. */
static int run_request(fcgi_request *fr, fcgi_body *body, int attempt)
{
    int status, empty = fcgi_body_is_empty(body);
    /* A kept connection may be one the backend is closing just now (its
     * worker recycled, say), which shows only once the request went out:
     * then the request is sent again.  That is safe only when the backend
     * cannot act on it twice to any harm, an idempotent method with a
     * body that can be sent again; any other request gets a new
     * connection, which cannot be stale. */
    int retryable = method_is_idempotent(fr->r)
                    && fcgi_body_is_replayable(body);

    if ((status = connect_backend(fr, attempt > 0 || !retryable, empty))
        != OK) {
        return status;
    }
    fr->retry_ok = fr->conn->reused && !attempt;
    if ((status = send_params(fr)) != OK
        || (!empty && (status = fcgi_body_send(fr, body)) != OK)) {
        fcgi_stream_release(fr, 0);
        return status;
    }
    return send_response(fr);
}

/* Back to square one for another go on a new connection. */
static void request_reset(fcgi_request *fr)
{
    fr->retry = FCGI_RETRY_NONE;
    fr->retry_ok = 0;
    fr->sent_by_pool = 0;
    fr->first_byte_by = 0;
    fr->done = fr->unflushed = 0;
    fr->answered = fr->foreign = 0;
    fr->status = 0;
    fr->sent = fr->received = 0;
    fr->stdin_error = APR_SUCCESS;
    fr->stdout_bytes = 0;
}

static int fcgi_handler(request_rec *r)
{
    fcgi_server_conf *sconf;
    fcgi_request *fr;
    fcgi_body *body;
    const char *errmsg = NULL;
    apr_off_t spooled_length;
    apr_status_t rv;
    int status, file_backed, attempt;

    if (!r->handler || strncmp(r->handler, FCGI_HANDLER_PREFIX,
                               sizeof(FCGI_HANDLER_PREFIX) - 1)) {
        return DECLINED;
    }
    sconf = ap_get_module_config(r->server->module_config,
                                 &fastcgi_handler_module);

    fr = apr_pcalloc(r->pool, sizeof(*fr));
    fr->r = r;
    fr->start = apr_time_now();
    fr->conf = ap_get_module_config(r->per_dir_config,
                                    &fastcgi_handler_module);
    fr->keep_conn = fcgi_conf_keep_conn(fr->conf);
    if (fcgi_conf_response_timeout(fr->conf)) {
        fr->deadline = fr->start + fcgi_conf_response_timeout(fr->conf);
    }
    fr->body_left = -1;
    fcgi_parser_init(&fr->parser, FCGI_REQUEST_ID_FIRST);

    rv = fcgi_registry_get(sconf->registry,
                           r->handler + sizeof(FCGI_HANDLER_PREFIX) - 1,
                           &fr->backend, &errmsg, r);
    fr->addr = fcgi_backend_addr(fr->backend);
    if (rv == APR_EINVAL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "FCGI0002: handler '%s' "
                      "in the configuration: %s", r->handler, errmsg);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rv != APR_SUCCESS) {
        fcgi_request_log(fr, APLOG_ERR, rv, "FCGI0003: %s", errmsg);
        return HTTP_SERVICE_UNAVAILABLE;
    }

    file_backed = r->finfo.filetype == APR_REG;
    if (!file_backed && !handler_from_sethandler(r)) {
        /* AddHandler maps a file by its name; without the file there is
         * nothing to run, as with mod_cgi. */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "FCGI0004: no such "
                      "script: %s", r->filename);
        return HTTP_NOT_FOUND;
    }

    if ((status = fcgi_body_prepare(fr, &body, &spooled_length)) != OK) {
        return status;
    }
    fcgi_env_build(r, spooled_length, file_backed);
    if ((status = encode_params(fr, fcgi_body_is_empty(body))) != OK) {
        return status;
    }
    apr_pool_cleanup_register(r->pool, fr, request_cleanup,
                              apr_pool_cleanup_null);

    for (attempt = 0; ; attempt++) {
        status = run_request(fr, body, attempt);
        if (fr->retry == FCGI_RETRY_NONE || attempt > 0) {
            fcgi_body_finish(fr, body);
            return status;
        }
        if (fr->retry == FCGI_RETRY_STALE) {
            /* (A retry for another request's records was logged where
             * they were found, FCGI0323.) */
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "FCGI0105: a kept "
                          "connection to " FCGI_HANDLER_PREFIX "%s had been "
                          "closed by the backend; trying again on a new one",
                          fr->addr->spec);
        }
        request_reset(fr);
    }
}

/* FcgiMaxConns by default: one connection per thread of a process (more
 * could never be busy at once), at most FCGI_DEFAULT_MAX_CONNS. */
static int default_max_conns(void)
{
    int threads = 1;

    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS
        || threads < 1) {
        threads = 1;
    }
    return threads < FCGI_DEFAULT_MAX_CONNS ? threads
                                            : FCGI_DEFAULT_MAX_CONNS;
}

static void fcgi_child_init(apr_pool_t *pchild, server_rec *s)
{
    fcgi_server_conf *main_conf = ap_get_module_config(s->module_config,
                                                       &fastcgi_handler_module);
    fcgi_pool_limits limits;
    fcgi_registry *registry;
    server_rec *vs;

    limits.max_conns = default_max_conns();
    limits.idle_timeout = main_conf->idle_timeout >= 0
                          ? main_conf->idle_timeout
                          : FCGI_DEFAULT_IDLE_TIMEOUT;
    registry = fcgi_registry_create(pchild, &limits);

    /* One registry per process, shared by every virtual host. */
    for (vs = s; vs; vs = vs->next) {
        fcgi_server_conf *sconf = ap_get_module_config(vs->module_config,
                                                       &fastcgi_handler_module);
        sconf->registry = registry;
    }
}

static void fcgi_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(fcgi_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(fcgi_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* Just above the content-setting filters, so that it sees the
     * backend's bytes before any other filter does. */
    ap_register_output_filter(FCGI_HEADER_FILTER_NAME, fcgi_header_filter,
                              NULL, AP_FTYPE_CONTENT_SET - 1);
}

AP_DECLARE_MODULE(fastcgi_handler) = {
    STANDARD20_MODULE_STUFF,
    fcgi_dir_conf_create,
    fcgi_dir_conf_merge,
    fcgi_server_conf_create,
    NULL,
    fcgi_directives,
    fcgi_register_hooks,
    AP_MODULE_FLAG_NONE
};
