/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_env.c: the environment a backend sees (see fcgi_env.h).
 *
 * httpd's ap_add_common_vars() and ap_add_cgi_vars() do the CGI/1.1 work,
 * exactly as for mod_cgi (headers as HTTP_*, CGIPassAuth, CGIVar,
 * SetEnv/SetEnvIf, REDIRECT_*); this file adds what a FastCGI responder
 * expects on top, and the variables for a request no file backs.
 */

#include <string.h>

#include "httpd.h"
#include "apr_strings.h"
#include "util_script.h"

#include "fcgi_env.h"
#include "fcgi_proto.h"

void fcgi_env_build(request_rec *r, apr_off_t content_length,
                    int file_backed)
{
    apr_table_t *env = r->subprocess_env;
    char *path_info = r->path_info;

    ap_add_common_vars(r);
    if (!file_backed) {
        /* Without a file, PATH_INFO and PATH_TRANSLATED are ours to set
         * (below); hiding the path info from ap_add_cgi_vars() spares the
         * sub-request it makes to translate it. */
        r->path_info = NULL;
    }
    ap_add_cgi_vars(r);
    r->path_info = path_info;

    apr_table_setn(env, "FCGI_ROLE", AP_FCGI_RESPONDER_STR);

    /* httpoxy: HTTP_PROXY names an outgoing proxy to many libraries; a
     * client's "Proxy:" header must never set it.  httpd already skips
     * that header; SetEnv and friends must not bring it back either. */
    apr_table_unset(env, "HTTP_PROXY");

    if (content_length >= 0) {
        /* The body was chunked and we spooled it: the backend gets it
         * with a length, as PHP-FPM needs, and not as chunked. */
        apr_table_setn(env, "CONTENT_LENGTH",
                       apr_off_t_toa(r->pool, content_length));
        apr_table_unset(env, "HTTP_TRANSFER_ENCODING");
    }

    if (!file_backed) {
        /* No file: the application behind the location handles the
         * whole path, as an application mounted at the root would
         * (SCRIPT_NAME empty, the path in PATH_INFO; RFC 3875 4.1.13). */
        const char *filename = r->filename ? r->filename : "";

        apr_table_setn(env, "SCRIPT_NAME", "");
        apr_table_setn(env, "PATH_INFO", r->uri);
        apr_table_unset(env, "PATH_TRANSLATED");
        apr_table_setn(env, "SCRIPT_FILENAME",
                       apr_pstrcat(r->pool, filename,
                                   r->path_info ? r->path_info : "", NULL));
    }
}

/* Where PARAMS records end in the encoded stream. */
typedef struct {
    apr_size_t *ends;
    int n, max;
} record_cuts;

static void cut_at(record_cuts *cuts, apr_size_t end)
{
    cuts->ends[cuts->n++] = end;
}

int fcgi_env_encode(const apr_table_t *env, int keep_conn, int spare,
                    apr_pool_t *p, struct iovec **vecp,
                    const char **oversized)
{
    const apr_array_header_t *arr = apr_table_elts(env);
    const apr_table_entry_t *elts = (const apr_table_entry_t *)arr->elts;
    apr_size_t total = 0, start = 0, off;
    unsigned char *stream, *s, *hdrs;
    struct iovec *vec;
    record_cuts cuts;
    int i, r, nvec = 0;

    *oversized = NULL;
    for (i = 0; i < arr->nelts; i++) {
        if (elts[i].key && elts[i].val) {
            total += fcgi_param_encoded_len(strlen(elts[i].key),
                                            strlen(elts[i].val));
        }
    }
    /* At most one cut per pair, plus those inside pairs too big for one
     * record. */
    cuts.max = arr->nelts + (int)(total / FCGI_RECORD_PAYLOAD_MAX) + 2;
    cuts.ends = apr_palloc(p, sizeof(*cuts.ends) * cuts.max);
    cuts.n = 0;

    /*
     * Whole pairs per record: PHP-FPM (and others) decode each PARAMS
     * record on its own and drop the connection on a pair that runs into
     * the next.  Only a pair too big for any record is split across
     * records, as the PARAMS stream allows, for the applications that read
     * it as a stream (libfcgi does).
     */
    stream = s = apr_palloc(p, total ? total : 1);
    for (i = 0; i < arr->nelts; i++) {
        apr_size_t len, pos;

        if (!elts[i].key || !elts[i].val) {
            continue;
        }
        pos = (apr_size_t)(s - stream);
        len = fcgi_param_encoded_len(strlen(elts[i].key),
                                     strlen(elts[i].val));
        if (pos + len - start > FCGI_RECORD_PAYLOAD_MAX && pos > start) {
            cut_at(&cuts, pos);
            start = pos;
        }
        s = fcgi_param_encode(s, elts[i].key, strlen(elts[i].key),
                              elts[i].val, strlen(elts[i].val));
        if (len > FCGI_RECORD_PAYLOAD_MAX && !*oversized) {
            *oversized = elts[i].key;
        }
        while ((apr_size_t)(s - stream) - start > FCGI_RECORD_PAYLOAD_MAX) {
            start += FCGI_RECORD_PAYLOAD_MAX;
            cut_at(&cuts, start);
        }
    }
    if (total > start) {
        cut_at(&cuts, total);
    }

    hdrs = apr_palloc(p, FCGI_BEGIN_REQUEST_LEN
                         + AP_FCGI_HEADER_LEN * (cuts.n + 1));
    vec = apr_palloc(p, sizeof(*vec) * (2 + 2 * cuts.n + spare));

    fcgi_begin_request_write(hdrs, FCGI_REQUEST_ID_FIRST, AP_FCGI_RESPONDER,
                             keep_conn ? AP_FCGI_KEEP_CONN : 0);
    vec[nvec].iov_base = hdrs;
    vec[nvec++].iov_len = FCGI_BEGIN_REQUEST_LEN;
    hdrs += FCGI_BEGIN_REQUEST_LEN;

    for (r = 0, off = 0; r < cuts.n; off = cuts.ends[r++]) {
        apr_size_t n = cuts.ends[r] - off;

        fcgi_record_header_write(hdrs, AP_FCGI_PARAMS, FCGI_REQUEST_ID_FIRST,
                                 (apr_uint16_t)n, 0);
        vec[nvec].iov_base = hdrs;
        vec[nvec++].iov_len = AP_FCGI_HEADER_LEN;
        vec[nvec].iov_base = stream + off;
        vec[nvec++].iov_len = n;
        hdrs += AP_FCGI_HEADER_LEN;
    }
    fcgi_record_header_write(hdrs, AP_FCGI_PARAMS, FCGI_REQUEST_ID_FIRST, 0, 0);
    vec[nvec].iov_base = hdrs;
    vec[nvec++].iov_len = AP_FCGI_HEADER_LEN;

    *vecp = vec;
    return nvec;
}
