/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_headers.h: finding and checking the CGI header block at the start
 * of a response (RFC 3875, section 6).
 *
 * Pure (fuzz/ drives it): it finds where the block ends and refuses what
 * must never reach a client: control characters, header names that are
 * not tokens, folded lines, over-long lines, a Status that is not a
 * status or is an interim one (1xx, which can never end a request); and
 * it tells which headers are hop-by-hop.  What the headers mean (Status,
 * Location, Set-Cookie, ...) is left to httpd's own CGI code, through
 * fcgi_header_filter.c.
 */

#ifndef FCGI_HEADERS_H
#define FCGI_HEADERS_H

#include "apr.h"

typedef enum {
    FCGI_HEADERS_OK = 0,
    FCGI_HEADERS_NO_COLON,
    FCGI_HEADERS_BAD_NAME,
    FCGI_HEADERS_BAD_VALUE,
    FCGI_HEADERS_FOLDED,
    FCGI_HEADERS_LINE_TOO_LONG,
    FCGI_HEADERS_BAD_STATUS,
    FCGI_HEADERS_INTERIM_STATUS,   /* Status: 1xx */
    FCGI_HEADERS_STOPPED           /* the callback asked to stop */
} fcgi_headers_result;

/*
 * Look for the blank line that ends a header block in buf[0..len).
 * Scanning starts at *scan (0 at first; the caller keeps it between calls
 * as the buffer grows).  Returns the size of the block including the
 * blank line, or 0 when it is not complete yet.
 */
apr_size_t fcgi_headers_find_end(const char *buf, apr_size_t len,
                                 apr_size_t *scan);

/* Called for each header; value is trimmed of surrounding white space.
 * Returns nonzero to go on. */
typedef int (*fcgi_header_cb)(void *baton, const char *name,
                              apr_size_t name_len, const char *value,
                              apr_size_t value_len);

/*
 * Check a complete block (as measured by fcgi_headers_find_end()) and
 * call cb for each header.  Lines are at most line_max bytes.  On a bad
 * line, returns why and points bad and bad_len at the line.
 */
fcgi_headers_result fcgi_headers_parse(const char *block, apr_size_t len,
                                       apr_size_t line_max,
                                       fcgi_header_cb cb, void *baton,
                                       const char **bad, apr_size_t *bad_len);

const char *fcgi_headers_strerror(fcgi_headers_result result);

/* Whether a header is hop-by-hop (RFC 9110, 7.6.1): it describes the
 * connection it came on, not the message, so it goes no further.
 * Connection, Keep-Alive, Proxy-Connection, TE, Trailer (there are no
 * trailers on the way on), Transfer-Encoding and Upgrade. */
int fcgi_header_is_hop_by_hop(const char *name, apr_size_t name_len);

/* Whether a comma-separated list of tokens (a Connection header's value)
 * has `name` in it, case-insensitively. */
int fcgi_header_list_has(const char *list, apr_size_t list_len,
                         const char *name, apr_size_t name_len);

#endif /* FCGI_HEADERS_H */
