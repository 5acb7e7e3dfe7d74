/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_request.h: the state of one request to a backend, shared by the
 * handler (which opens it), the FCGI bucket (which reads the response)
 * and the header filter (which parses the CGI header block); and the one
 * log line a failure gets.
 */

#ifndef FCGI_REQUEST_H
#define FCGI_REQUEST_H

#include "httpd.h"
#include "apr_buckets.h"

#include "fcgi_addr.h"
#include "fcgi_backend.h"
#include "fcgi_config.h"
#include "fcgi_conn.h"
#include "fcgi_proto.h"

/* Where a request stands, for log lines. */
typedef enum {
    FCGI_PHASE_CONNECT = 0,
    FCGI_PHASE_PARAMS,
    FCGI_PHASE_STDIN,
    FCGI_PHASE_HEADERS,
    FCGI_PHASE_BODY
} fcgi_phase;

/* Why a request goes to the backend again, on a new connection. */
typedef enum {
    FCGI_RETRY_NONE = 0,
    FCGI_RETRY_STALE,             /* its kept connection had been closed */
    FCGI_RETRY_FOREIGN            /* its kept connection brought records
                                     of another request first */
} fcgi_retry;

/* Longest STDERR line logged in one piece, and how many lines one
 * request may log before the rest are only counted. */
#define FCGI_STDERR_LINE_MAX  2048
#define FCGI_STDERR_MAX_LINES 100

typedef struct {
    request_rec *r;
    const fcgi_dir_conf *conf;
    const fcgi_addr *addr;
    fcgi_backend *backend;
    fcgi_conn *conn;              /* ours until given back to the pool */
    int keep_conn;                /* FCGI_KEEP_CONN asked for */
    int retry_ok;                 /* a kept connection found dead may be
                                     retried (first go, idempotent) */
    fcgi_retry retry;             /* ... and was: try again on a new one */
    apr_uint16_t request_id;      /* on this connection (fcgi_proto.h) */
    apr_time_t start;
    apr_time_t deadline;          /* FcgiResponseTimeout's, or 0 */
    fcgi_phase phase;
    apr_off_t sent;               /* bytes written to the backend */
    apr_off_t received;           /* bytes read from the backend */
    apr_status_t stdin_error;     /* why the body was not sent in full */
    const char *oversized_param;  /* a variable split across records */
    struct iovec *request;        /* BEGIN_REQUEST and PARAMS (and for a */
    int request_nvec;             /* request without a body the empty */
    apr_size_t request_len;       /* STDIN), encoded once for every go */
    int sent_by_pool;             /* the pool sent it on hand-over */
    apr_time_t first_byte_by;     /* ... so FcgiIOTimeout counts from
                                     then: the first byte is due by this */

    /* The response stream (fcgi_bucket.c). */
    fcgi_parser parser;
    apr_bucket_heap *buf;         /* read buffer, shared with data buckets */
    apr_size_t buf_filled;
    int unflushed;                /* data went down since the last FLUSH */
    int done;                     /* EOS (or ERROR+EOS) has been emitted */
    int answered;                 /* a record of our answer has come */
    int foreign;                  /* a record of another request came:
                                     the connection is not kept */
    apr_off_t stdout_bytes;       /* STDOUT payload seen, headers included */
    char *errline;                /* a STDERR line being collected */
    apr_size_t errline_len;
    apr_size_t stderr_lines;      /* lines logged */
    apr_off_t stderr_dropped;     /* bytes not logged past the line limit */

    /* Set by the header filter (fcgi_header_filter.c). */
    int headers_done;
    apr_off_t body_left;          /* of the backend's Content-Length; -1:
                                     no length to enforce */
    int status;                   /* non-zero: the handler returns this */
    const char *redirect;         /* a local Location to redirect to */
} fcgi_request;

/* The phase's name, for log lines. */
const char *fcgi_phase_name(fcgi_phase phase);

/*
 * Log a failure of the request once, where it is decided: the message,
 * then the backend, the phase, the bytes moved each way and the time
 * since the handler started.  msg starts with its FCGI message number.
 */
void fcgi_request_log(fcgi_request *fr, int level, apr_status_t rv,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* FCGI_REQUEST_H */
