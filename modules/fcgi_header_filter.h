/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_header_filter.h: the output filter that turns the CGI header block
 * at the start of a backend's response into the response's status and
 * headers, then steps out of the way of the body.
 */

#ifndef FCGI_HEADER_FILTER_H
#define FCGI_HEADER_FILTER_H

#include "util_filter.h"

#include "fcgi_request.h"

#define FCGI_HEADER_FILTER_NAME "FCGI_HEADERS"

apr_status_t fcgi_header_filter(ap_filter_t *f, apr_bucket_brigade *bb);

/* Put the filter in front of r's output filters, for fr's response. */
void fcgi_header_filter_insert(fcgi_request *fr);

#endif /* FCGI_HEADER_FILTER_H */
