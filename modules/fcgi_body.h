/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_body.h: the request body, on its way to the backend as STDIN.
 *
 * A body with a Content-Length streams through as it arrives: each piece
 * the input filters deliver becomes STDIN records at once, so a 1 GiB
 * upload costs what one piece does.  A chunked body (no length) is
 * spooled first, in memory up to FCGI_SPOOL_MEM and then to a temporary
 * file, so that the backend gets an exact CONTENT_LENGTH: PHP-FPM and
 * most FastCGI applications do not read a body without one.
 */

#ifndef FCGI_BODY_H
#define FCGI_BODY_H

#include "fcgi_request.h"

#define FCGI_SPOOL_MEM (64 * 1024)

typedef struct fcgi_body fcgi_body;

/*
 * Look at r's body.  A chunked body is read and spooled now (before a
 * backend is tied up waiting for a slow client).  *spooled_length is its
 * length, or -1 when the body is streamed or absent.  Returns OK or the
 * HTTP status for a failed read (400, 408, 413, ...).
 */
int fcgi_body_prepare(fcgi_request *fr, fcgi_body **body,
                      apr_off_t *spooled_length);

/* Nonzero when there is no body to send. */
int fcgi_body_is_empty(const fcgi_body *body);

/* Nonzero when the body can be sent again (none, or spooled): what a
 * retry on a new connection needs once the body has gone out. */
int fcgi_body_is_replayable(const fcgi_body *body);

/*
 * Send the body as STDIN records, then the empty record that ends STDIN.
 * Returns OK, or an HTTP status when the client failed us (the backend
 * must then be dropped).  When the backend stops taking the body, that is
 * remembered in fr->stdin_error and OK returned: the backend may well
 * have answered (a 413 of its own, say), so its response is read next.
 * A write timeout returns 504.
 */
int fcgi_body_send(fcgi_request *fr, fcgi_body *body);

/*
 * The handler is done with the request.  A streamed body not read to its
 * end (the backend died or stopped taking it, or was never reached) would
 * be read and discarded by httpd before the response goes out, for as
 * long as the client takes to send the rest: instead the client's
 * connection is closed after the response, which then goes out at once.
 */
void fcgi_body_finish(fcgi_request *fr, fcgi_body *body);

#endif /* FCGI_BODY_H */
