/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_proto.c: the FastCGI wire format (see fcgi_proto.h).
 *
 * The record parser follows the shape of nginx's FastCGI parser: an
 * explicit state per position in the record (header, content, padding),
 * fed any number of bytes at a time.  It never copies payload: STDOUT and
 * STDERR come back as slices of the caller's buffer.
 */

#include <string.h>
#include <sys/uio.h>

#include "fcgi_proto.h"

apr_uint16_t fcgi_request_id_next(apr_uint16_t id)
{
    return id == 0xffff ? FCGI_REQUEST_ID_FIRST : (apr_uint16_t)(id + 1);
}

void fcgi_records_set_request_id(struct iovec *vec, int nvec,
                                 apr_uint16_t request_id)
{
    apr_size_t skip = 0;         /* content and padding left to pass */
    apr_size_t at = 0;           /* position inside a header, 0..7 */
    apr_size_t body = 0;         /* the header's content + padding */
    int i;

    for (i = 0; i < nvec; i++) {
        unsigned char *b = vec[i].iov_base;
        apr_size_t len = vec[i].iov_len, pos = 0;

        while (pos < len) {
            if (skip) {
                apr_size_t n = skip < len - pos ? skip : len - pos;

                pos += n;
                skip -= n;
                continue;
            }
            switch (at) {
            case AP_FCGI_HDR_REQUEST_ID_B1_OFFSET:
                b[pos] = (unsigned char)(request_id >> 8);
                break;
            case AP_FCGI_HDR_REQUEST_ID_B0_OFFSET:
                b[pos] = (unsigned char)request_id;
                break;
            case AP_FCGI_HDR_CONTENT_LEN_B1_OFFSET:
                body = (apr_size_t)b[pos] << 8;
                break;
            case AP_FCGI_HDR_CONTENT_LEN_B0_OFFSET:
                body |= b[pos];
                break;
            case AP_FCGI_HDR_PADDING_LEN_OFFSET:
                body += b[pos];
                break;
            }
            pos++;
            if (++at == AP_FCGI_HEADER_LEN) {
                at = 0;
                skip = body;
            }
        }
    }
}

void fcgi_record_header_write(unsigned char *dst, unsigned char type,
                              apr_uint16_t request_id,
                              apr_uint16_t content_len,
                              unsigned char padding_len)
{
    dst[AP_FCGI_HDR_VERSION_OFFSET] = AP_FCGI_VERSION_1;
    dst[AP_FCGI_HDR_TYPE_OFFSET] = type;
    dst[AP_FCGI_HDR_REQUEST_ID_B1_OFFSET] = (unsigned char)(request_id >> 8);
    dst[AP_FCGI_HDR_REQUEST_ID_B0_OFFSET] = (unsigned char)request_id;
    dst[AP_FCGI_HDR_CONTENT_LEN_B1_OFFSET] = (unsigned char)(content_len >> 8);
    dst[AP_FCGI_HDR_CONTENT_LEN_B0_OFFSET] = (unsigned char)content_len;
    dst[AP_FCGI_HDR_PADDING_LEN_OFFSET] = padding_len;
    dst[AP_FCGI_HDR_RESERVED_OFFSET] = 0;
}

void fcgi_begin_request_write(unsigned char *dst, apr_uint16_t request_id,
                              int role, unsigned char flags)
{
    unsigned char *body = dst + AP_FCGI_HEADER_LEN;

    fcgi_record_header_write(dst, AP_FCGI_BEGIN_REQUEST, request_id, 8, 0);
    memset(body, 0, 8);
    body[AP_FCGI_BRB_ROLEB1_OFFSET] = (unsigned char)(role >> 8);
    body[AP_FCGI_BRB_ROLEB0_OFFSET] = (unsigned char)role;
    body[AP_FCGI_BRB_FLAGS_OFFSET] = flags;
}

/* A length below 128 takes one byte; anything longer four, high bit set. */
static apr_size_t param_length_len(apr_size_t n)
{
    return n < 128 ? 1 : 4;
}

static unsigned char *param_length_encode(unsigned char *dst, apr_size_t n)
{
    if (n < 128) {
        *dst++ = (unsigned char)n;
    }
    else {
        *dst++ = (unsigned char)(((n >> 24) & 0x7f) | 0x80);
        *dst++ = (unsigned char)(n >> 16);
        *dst++ = (unsigned char)(n >> 8);
        *dst++ = (unsigned char)n;
    }
    return dst;
}

apr_size_t fcgi_param_encoded_len(apr_size_t name_len, apr_size_t value_len)
{
    return param_length_len(name_len) + param_length_len(value_len)
           + name_len + value_len;
}

unsigned char *fcgi_param_encode(unsigned char *dst,
                                 const char *name, apr_size_t name_len,
                                 const char *value, apr_size_t value_len)
{
    dst = param_length_encode(dst, name_len);
    dst = param_length_encode(dst, value_len);
    if (name_len) {
        memcpy(dst, name, name_len);
        dst += name_len;
    }
    if (value_len) {
        memcpy(dst, value, value_len);
        dst += value_len;
    }
    return dst;
}

static int param_length_decode(const unsigned char **src,
                               const unsigned char *end, apr_size_t *n)
{
    const unsigned char *s = *src;

    if (s >= end) {
        return 0;
    }
    if (*s < 128) {
        *n = *s;
        *src = s + 1;
        return 1;
    }
    if (end - s < 4) {
        return 0;
    }
    *n = ((apr_size_t)(s[0] & 0x7f) << 24) | ((apr_size_t)s[1] << 16)
         | ((apr_size_t)s[2] << 8) | s[3];
    *src = s + 4;
    return 1;
}

apr_status_t fcgi_param_decode(const unsigned char *src, apr_size_t len,
                               const char **name, apr_size_t *name_len,
                               const char **value, apr_size_t *value_len,
                               apr_size_t *used)
{
    const unsigned char *s = src, *end = src + len;
    apr_size_t nl, vl;

    if (!param_length_decode(&s, end, &nl)
        || !param_length_decode(&s, end, &vl)
        || (apr_size_t)(end - s) < nl
        || (apr_size_t)(end - s) - nl < vl) {
        return APR_INCOMPLETE;
    }
    *name = (const char *)s;
    *name_len = nl;
    *value = (const char *)s + nl;
    *value_len = vl;
    *used = (apr_size_t)(s - src) + nl + vl;
    return APR_SUCCESS;
}

void fcgi_parser_init(fcgi_parser *p, apr_uint16_t request_id)
{
    memset(p, 0, sizeof(*p));
    p->state = FCGI_PARSE_HEADER;
    p->expect_id = request_id;
}

int fcgi_parser_between_records(const fcgi_parser *p)
{
    return p->state == FCGI_PARSE_DONE
           || (p->state == FCGI_PARSE_HEADER && p->have == 0);
}

/* Decide, from a freshly read header, whether the record is one we accept
 * and whether it is ours; the parser goes on to its content. */
static apr_status_t parser_start_record(fcgi_parser *p)
{
    const unsigned char *h = p->buf;

    if (h[AP_FCGI_HDR_VERSION_OFFSET] != AP_FCGI_VERSION_1) {
        return FCGI_EBADVERSION;
    }
    p->type = h[AP_FCGI_HDR_TYPE_OFFSET];
    p->request_id = (apr_uint16_t)((h[AP_FCGI_HDR_REQUEST_ID_B1_OFFSET] << 8)
                                   | h[AP_FCGI_HDR_REQUEST_ID_B0_OFFSET]);
    p->content_left = ((apr_size_t)h[AP_FCGI_HDR_CONTENT_LEN_B1_OFFSET] << 8)
                      | h[AP_FCGI_HDR_CONTENT_LEN_B0_OFFSET];
    p->padding_left = h[AP_FCGI_HDR_PADDING_LEN_OFFSET];
    p->have = 0;
    p->ours = 0;

    if (p->request_id == 0) {
        /* Management records answer management requests; we send none,
         * but the two types an application may volunteer are harmless. */
        if (p->type != AP_FCGI_GET_VALUES_RESULT
            && p->type != AP_FCGI_UNKNOWN_TYPE) {
            return FCGI_EBADTYPE;
        }
    }
    else if (p->request_id != p->expect_id) {
        /* Another request's: reported, and skipped whatever it is. */
    }
    else if (p->type == AP_FCGI_END_REQUEST) {
        if (p->content_left != 8) {
            return FCGI_EBADEND;
        }
        p->ours = 1;
    }
    else if (p->type != AP_FCGI_STDOUT && p->type != AP_FCGI_STDERR) {
        return FCGI_EBADTYPE;
    }
    else {
        p->ours = 1;
    }
    p->state = FCGI_PARSE_CONTENT;
    return APR_SUCCESS;
}

static int parser_foreign(const fcgi_parser *p)
{
    return !p->ours && p->request_id != 0;
}

/* The content is used up: skip padding next, or end the request when
 * there is none.  Returns 1 when END_REQUEST is complete. */
static int parser_finish_content(fcgi_parser *p)
{
    p->state = FCGI_PARSE_PADDING;
    if (p->padding_left) {
        return 0;
    }
    if (p->type == AP_FCGI_END_REQUEST && p->ours) {
        p->state = FCGI_PARSE_DONE;
        return 1;
    }
    p->state = FCGI_PARSE_HEADER;
    return 0;
}

static void parser_end_event(const fcgi_parser *p, fcgi_event *ev)
{
    const unsigned char *b = p->buf;

    ev->type = FCGI_EVENT_END;
    ev->app_status = ((apr_uint32_t)b[0] << 24) | ((apr_uint32_t)b[1] << 16)
                     | ((apr_uint32_t)b[2] << 8) | b[3];
    ev->protocol_status = b[4];
}

apr_status_t fcgi_parser_feed(fcgi_parser *p, const char *in, apr_size_t len,
                              apr_size_t *used, fcgi_event *ev)
{
    const char *s = in, *end = in + len;
    apr_status_t rv = APR_SUCCESS;
    apr_size_t n;

    ev->type = FCGI_EVENT_NONE;
    ev->data = NULL;
    ev->len = 0;

    while (s < end && p->state != FCGI_PARSE_DONE) {
        apr_size_t avail = (apr_size_t)(end - s);

        switch (p->state) {
        case FCGI_PARSE_HEADER:
            n = AP_FCGI_HEADER_LEN - p->have;
            if (n > avail) {
                n = avail;
            }
            memcpy(p->buf + p->have, s, n);
            p->have += n;
            s += n;
            if (p->have < AP_FCGI_HEADER_LEN) {
                break;
            }
            if ((rv = parser_start_record(p)) != APR_SUCCESS) {
                goto done;
            }
            if (p->content_left == 0 && parser_finish_content(p)) {
                parser_end_event(p, ev);
                goto done;
            }
            if (parser_foreign(p)) {
                ev->type = FCGI_EVENT_FOREIGN;
                ev->request_id = p->request_id;
                ev->record_type = p->type;
                goto done;
            }
            break;

        case FCGI_PARSE_CONTENT:
            n = p->content_left < avail ? p->content_left : avail;
            p->content_left -= n;
            if (p->ours && (p->type == AP_FCGI_STDOUT
                            || p->type == AP_FCGI_STDERR)) {
                ev->type = p->type == AP_FCGI_STDOUT ? FCGI_EVENT_STDOUT
                                                     : FCGI_EVENT_STDERR;
                ev->data = s;
                ev->len = n;
                s += n;
                if (p->content_left == 0) {
                    parser_finish_content(p);
                }
                goto done;
            }
            if (p->type == AP_FCGI_END_REQUEST && p->ours) {
                memcpy(p->buf + p->have, s, n);
                p->have += n;
            }
            s += n;
            if (p->content_left == 0 && parser_finish_content(p)) {
                parser_end_event(p, ev);
                goto done;
            }
            break;

        case FCGI_PARSE_PADDING:
            n = p->padding_left < avail ? p->padding_left : avail;
            p->padding_left -= n;
            s += n;
            if (p->padding_left == 0) {
                if (p->type == AP_FCGI_END_REQUEST && p->ours) {
                    p->state = FCGI_PARSE_DONE;
                    parser_end_event(p, ev);
                    goto done;
                }
                p->state = FCGI_PARSE_HEADER;
                p->have = 0;
            }
            break;

        case FCGI_PARSE_DONE:
            break;
        }
    }

done:
    *used = (apr_size_t)(s - in);
    return rv;
}

const char *fcgi_proto_strerror(apr_status_t rv)
{
    switch (rv) {
    case FCGI_EBADVERSION:
        return "a record with a FastCGI version other than 1 "
               "(is this a FastCGI backend?)";
    case FCGI_EBADTYPE:
        return "a record of a type a responder must not send";
    case FCGI_EBADEND:
        return "an END_REQUEST record whose body is not 8 bytes";
    default:
        return NULL;
    }
}

const char *fcgi_protocol_status_name(unsigned char protocol_status)
{
    switch (protocol_status) {
    case FCGI_REQUEST_COMPLETE:
        return "FCGI_REQUEST_COMPLETE";
    case FCGI_CANT_MPX_CONN:
        return "FCGI_CANT_MPX_CONN";
    case FCGI_OVERLOADED:
        return "FCGI_OVERLOADED";
    case FCGI_UNKNOWN_ROLE:
        return "FCGI_UNKNOWN_ROLE";
    default:
        return "an unknown protocolStatus";
    }
}
