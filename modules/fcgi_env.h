/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_env.h: the CGI/1.1 environment a request hands its backend, and
 * its encoding as the BEGIN_REQUEST and PARAMS records that open it.
 */

#ifndef FCGI_ENV_H
#define FCGI_ENV_H

#include "httpd.h"
#include "apr_network_io.h"

/*
 * Build the environment in r->subprocess_env (httpd's own CGI helpers,
 * plus what FastCGI applications expect).  content_length is the body's
 * length when the body was spooled (-1 otherwise, when the request's own
 * Content-Length header says it).  file_backed says whether r names an
 * existing file (the AddHandler case) or not (SetHandler on a location).
 */
void fcgi_env_build(request_rec *r, apr_off_t content_length,
                    int file_backed);

/*
 * Encode BEGIN_REQUEST and the PARAMS stream (whole pairs per record,
 * ended by an empty record) as iovecs from p, leaving `spare` free iovec
 * slots at the end for the caller.  Returns the iovec count.  *oversized
 * names a variable too big for one record (split across records, which
 * PHP-FPM cannot read), or is NULL.
 */
int fcgi_env_encode(const apr_table_t *env, int keep_conn, int spare,
                    apr_pool_t *p, struct iovec **vec,
                    const char **oversized);

#endif /* FCGI_ENV_H */
