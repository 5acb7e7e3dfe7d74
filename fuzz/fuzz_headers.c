/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fuzz_headers.c: the CGI header block scanner (fcgi_headers.c).
 *
 * The first byte sets where the input is split.  Finding the end of the
 * block piece by piece must agree with finding it at once; every header
 * the checker lets through must be clean: a non-empty token for a name, a
 * value without control characters other than tab, and a Status that is
 * a final status (200 to 599).  A header listed in a Connection value is
 * found there whatever the case and the white space around it.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_headers.h"

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static int is_token_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
           || (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int check_header(void *baton, const char *name, apr_size_t name_len,
                        const char *value, apr_size_t value_len)
{
    apr_size_t i;

    (void)baton;
    check(name_len > 0);
    for (i = 0; i < name_len; i++) {
        check(is_token_char((unsigned char)name[i]));
    }
    for (i = 0; i < value_len; i++) {
        unsigned char c = (unsigned char)value[i];

        check(c == '\t' || (c >= 0x20 && c != 0x7f));
    }
    if (value_len) {
        check(value[0] != ' ' && value[0] != '\t');
        check(value[value_len - 1] != ' ' && value[value_len - 1] != '\t');
    }
    if (name_len == 6 && !strncasecmp(name, "status", 6)) {
        check(value_len >= 3 && value[0] >= '2' && value[0] <= '5');
    }
    /* Every header is in a list made of it, between other tokens. */
    {
        size_t len = name_len + 12;
        char *list = malloc(len);

        memcpy(list, "a, ", 3);
        memcpy(list + 3, name, name_len);
        memcpy(list + 3 + name_len, " ,\tb ,c  ", 9);
        check(fcgi_header_list_has(list, len, name, name_len));
        free(list);
    }
    (void)fcgi_header_is_hop_by_hop(name, name_len);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf;
    apr_size_t scan = 0, end_whole, end_split = 0, have, step;
    const char *bad;
    apr_size_t bad_len;

    if (size < 1) {
        return 0;
    }
    step = 1 + data[0] % 17;
    buf = (const char *)data + 1;
    size -= 1;

    end_whole = fcgi_headers_find_end(buf, size, &scan);
    check(end_whole <= size);

    /* The buffer grows as the socket delivers; scanning resumes. */
    scan = 0;
    for (have = 0; have < size && !end_split; ) {
        have = have + step < size ? have + step : size;
        end_split = fcgi_headers_find_end(buf, have, &scan);
        check(scan <= have);
    }
    check(end_split == end_whole);

    if (end_whole) {
        fcgi_headers_result r = fcgi_headers_parse(buf, end_whole, 8190,
                                                   check_header, NULL,
                                                   &bad, &bad_len);
        if (r != FCGI_HEADERS_OK) {
            check(bad >= buf && bad + bad_len <= buf + end_whole);
            check(fcgi_headers_strerror(r) != NULL);
        }
    }
    return 0;
}
