/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_bucket.h: the FCGI bucket, which stands for the rest of a
 * backend's response.
 *
 * Reading it reads and parses the next records from the backend socket:
 * STDOUT payload becomes heap buckets (slices of the read buffer, not
 * copies) in front of a new FCGI bucket; STDERR lines go to the error log;
 * END_REQUEST becomes EOS.  A non-blocking read returns APR_EAGAIN when
 * the backend has nothing yet; a blocking read that would wait first
 * sends a FLUSH down, so every filter passes on what it holds while the
 * backend is quiet.  A failure becomes an ERROR bucket and EOS: before
 * the headers the handler turns its status into the response, after them
 * the 502 makes httpd cut the response off (no last chunk, no keep-alive).
 */

#ifndef FCGI_BUCKET_H
#define FCGI_BUCKET_H

#include "apr_buckets.h"

#include "fcgi_request.h"

extern const apr_bucket_type_t fcgi_bucket_type;

#define FCGI_BUCKET_IS(e) ((e)->type == &fcgi_bucket_type)

apr_bucket *fcgi_bucket_create(fcgi_request *fr, apr_bucket_alloc_t *list);

/*
 * The header filter found the end of the header block and set
 * fr->body_left: account for the body bytes already read (from `from` up
 * to the FCGI bucket in bb) and cut them at the announced length.
 * Returns OK, or HTTP_BAD_GATEWAY (logged) when the response already
 * ended short of its Content-Length.
 */
int fcgi_bucket_body_start(fcgi_request *fr, apr_bucket_brigade *bb,
                           apr_bucket *from);

/* Give the connection back to the pool: kept for another request when
 * `keep`, closed otherwise.  Logs what STDERR had left. */
void fcgi_stream_release(fcgi_request *fr, int keep);

/*
 * The response was not read to its end (a redirect or 304 replaced it,
 * the client went away): with FCGI_KEEP_CONN, abort the request and keep
 * the connection if the backend ends it promptly; close it otherwise.
 */
void fcgi_stream_finish_early(fcgi_request *fr);

#endif /* FCGI_BUCKET_H */
