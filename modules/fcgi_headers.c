/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_headers.c: finding and checking the CGI header block (see
 * fcgi_headers.h).  Lines end in LF or CRLF, as httpd's own CGI code
 * accepts.
 */

#include <string.h>

#include "apr_lib.h"

#include "fcgi_headers.h"

apr_size_t fcgi_headers_find_end(const char *buf, apr_size_t len,
                                 apr_size_t *scan)
{
    apr_size_t i;

    for (i = *scan; i < len; i++) {
        if (buf[i] != '\n') {
            continue;
        }
        /* A line feed ends the block when the line it ends is empty:
         * it is the first byte, or follows a LF, or a CR that starts
         * a line. */
        if (i == 0 || buf[i - 1] == '\n'
            || (buf[i - 1] == '\r' && (i == 1 || buf[i - 2] == '\n'))) {
            *scan = i + 1;
            return i + 1;
        }
    }
    *scan = len;
    return 0;
}

/* RFC 9110 token characters. */
static int is_tchar(unsigned char c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Field content: visible ASCII, obs-text, space and tab; never CR, LF,
 * NUL or any other control character. */
static int is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Whether name[0..len) is `lower`, case-insensitively. */
static int name_is(const char *name, apr_size_t len, const char *lower)
{
    apr_size_t i;

    for (i = 0; i < len && lower[i]; i++) {
        if (apr_tolower(name[i]) != lower[i]) {
            return 0;
        }
    }
    return i == len && !lower[i];
}

static int is_status_header(const char *name, apr_size_t len)
{
    return name_is(name, len, "status");
}

/* "NNN" or "NNN reason", NNN from 100 to 599, as httpd can send. */
static int is_valid_status(const char *v, apr_size_t len)
{
    if (len < 3 || !apr_isdigit(v[0]) || !apr_isdigit(v[1])
        || !apr_isdigit(v[2]) || v[0] < '1' || v[0] > '5') {
        return 0;
    }
    return len == 3 || v[3] == ' ';
}

fcgi_headers_result fcgi_headers_parse(const char *block, apr_size_t len,
                                       apr_size_t line_max,
                                       fcgi_header_cb cb, void *baton,
                                       const char **bad, apr_size_t *bad_len)
{
    const char *line = block, *end = block + len;

    while (line < end) {
        const char *nl = memchr(line, '\n', end - line);
        const char *eol = nl ? nl : end;
        const char *colon, *name_end, *v, *v_end, *c;
        fcgi_headers_result why = FCGI_HEADERS_OK;

        if (eol > line && eol[-1] == '\r') {
            eol--;
        }
        if (eol == line) {
            break;                         /* the blank line */
        }
        *bad = line;
        *bad_len = eol - line;

        if ((apr_size_t)(eol - line) > line_max) {
            return FCGI_HEADERS_LINE_TOO_LONG;
        }
        if (*line == ' ' || *line == '\t') {
            return FCGI_HEADERS_FOLDED;
        }
        if (!(colon = memchr(line, ':', eol - line))) {
            return FCGI_HEADERS_NO_COLON;
        }
        name_end = colon;
        if (name_end == line) {
            return FCGI_HEADERS_BAD_NAME;
        }
        for (c = line; c < name_end; c++) {
            if (!is_tchar((unsigned char)*c)) {
                return FCGI_HEADERS_BAD_NAME;
            }
        }
        for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++) {
        }
        for (v_end = eol; v_end > v && (v_end[-1] == ' '
                                        || v_end[-1] == '\t'); v_end--) {
        }
        for (c = v; c < v_end; c++) {
            if (!is_value_char((unsigned char)*c)) {
                why = FCGI_HEADERS_BAD_VALUE;
                break;
            }
        }
        if (why == FCGI_HEADERS_OK && is_status_header(line, name_end - line)) {
            if (!is_valid_status(v, v_end - v)) {
                why = FCGI_HEADERS_BAD_STATUS;
            }
            else if (v[0] == '1') {
                /* 100 Continue, 101 Switching Protocols, 103 Early
                 * Hints: interim answers, sent as the final one they
                 * would leave a client or an intermediary reading the
                 * rest of the stream as another response. */
                why = FCGI_HEADERS_INTERIM_STATUS;
            }
        }
        if (why != FCGI_HEADERS_OK) {
            return why;
        }
        if (!cb(baton, line, name_end - line, v, v_end - v)) {
            return FCGI_HEADERS_STOPPED;
        }
        line = nl ? nl + 1 : end;
    }
    *bad = NULL;
    *bad_len = 0;
    return FCGI_HEADERS_OK;
}

const char *fcgi_headers_strerror(fcgi_headers_result result)
{
    switch (result) {
    case FCGI_HEADERS_OK:
        return "no error";
    case FCGI_HEADERS_NO_COLON:
        return "a header line without a colon";
    case FCGI_HEADERS_BAD_NAME:
        return "a header name that is empty or not a token";
    case FCGI_HEADERS_BAD_VALUE:
        return "a control character in a header value";
    case FCGI_HEADERS_FOLDED:
        return "a folded header line (starting with white space)";
    case FCGI_HEADERS_LINE_TOO_LONG:
        return "a header line longer than httpd accepts";
    case FCGI_HEADERS_BAD_STATUS:
        return "a Status header that is not a status code from 100 to 599";
    case FCGI_HEADERS_INTERIM_STATUS:
        return "an interim Status (1xx), which cannot be the response";
    case FCGI_HEADERS_STOPPED:
        return "a header the server refused";
    }
    return "an unknown error";
}

int fcgi_header_is_hop_by_hop(const char *name, apr_size_t name_len)
{
    static const char *const hop[] = {
        "connection", "keep-alive", "proxy-connection", "te", "trailer",
        "transfer-encoding", "upgrade", NULL
    };
    int i;

    for (i = 0; hop[i]; i++) {
        if (name_is(name, name_len, hop[i])) {
            return 1;
        }
    }
    return 0;
}

int fcgi_header_list_has(const char *list, apr_size_t list_len,
                         const char *name, apr_size_t name_len)
{
    const char *s = list, *end = list + list_len;

    while (s < end) {
        const char *comma = memchr(s, ',', end - s);
        const char *e = comma ? comma : end;
        const char *t = e;

        while (s < e && (*s == ' ' || *s == '\t')) {
            s++;
        }
        while (t > s && (t[-1] == ' ' || t[-1] == '\t')) {
            t--;
        }
        if ((apr_size_t)(t - s) == name_len) {
            apr_size_t i;

            for (i = 0; i < name_len
                        && apr_tolower(s[i]) == apr_tolower(name[i]); i++) {
            }
            if (i == name_len) {
                return 1;
            }
        }
        s = comma ? comma + 1 : end;
    }
    return 0;
}
