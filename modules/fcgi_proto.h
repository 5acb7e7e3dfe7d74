/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_proto.h: the FastCGI wire format, and nothing else.
 *
 * Record headers, the name-value pair encoding used by FCGI_PARAMS, and a
 * parser for the stream of records an application sends back.  Everything
 * here is pure: bytes in, bytes or events out, no I/O, no pools, no httpd
 * symbols.  That is what lets fuzz/ drive it without a server.
 *
 * The constants come from httpd's util_fcgi.h (a header only, nothing to
 * link); the functions are ours because httpd's helpers live inside the
 * httpd binary (a fuzzer cannot link them) and ap_fcgi_encode_env() cannot
 * split one name-value pair across records, which a 100 KiB cookie needs.
 */

#ifndef FCGI_PROTO_H
#define FCGI_PROTO_H

#include "apr.h"
#include "apr_errno.h"
#include "util_fcgi.h"

/*
 * Request ids.  A connection carries one request at a time, but not always
 * the same id: the first request on a connection is 1 and each later one
 * on a kept connection the next (fcgi_request_id_next), so that a record
 * a backend writes after a request has ended can never pass for part of
 * the answer to the next request on the connection (the parser reports it
 * as FCGI_EVENT_FOREIGN).  The FastCGI specification asks every
 * application to answer with the id of the request; PHP-FPM, libfcgi
 * (and so FCGI.pm, fcgiwrap, spawn-fcgi's programs) and uWSGI do.
 */
#define FCGI_REQUEST_ID_FIRST 1

/* The id after id on a connection: 1, 2, ... 65535, 1, ... (0 gives the
 * first). */
apr_uint16_t fcgi_request_id_next(apr_uint16_t id);

/* Largest payload we put in one record.  65535 would do; a multiple of 8
 * keeps the following record header aligned, which some parsers like. */
#define FCGI_RECORD_PAYLOAD_MAX 65528

/* END_REQUEST protocolStatus values (util_fcgi.h does not name them). */
#define FCGI_REQUEST_COMPLETE 0
#define FCGI_CANT_MPX_CONN    1
#define FCGI_OVERLOADED       2
#define FCGI_UNKNOWN_ROLE     3

/* Errors of the record stream, in APR's user error space. */
#define FCGI_EBADVERSION   (APR_OS_START_USERERR + 0x4631)
#define FCGI_EBADTYPE      (APR_OS_START_USERERR + 0x4633)
#define FCGI_EBADEND       (APR_OS_START_USERERR + 0x4634)

/* Write an 8-byte record header. */
void fcgi_record_header_write(unsigned char *dst, unsigned char type,
                              apr_uint16_t request_id,
                              apr_uint16_t content_len,
                              unsigned char padding_len);

/* Write a complete FCGI_BEGIN_REQUEST record (16 bytes). */
#define FCGI_BEGIN_REQUEST_LEN 16
void fcgi_begin_request_write(unsigned char *dst, apr_uint16_t request_id,
                              int role, unsigned char flags);

/* Bytes the name-value pair takes once encoded. */
apr_size_t fcgi_param_encoded_len(apr_size_t name_len, apr_size_t value_len);

/* Encode one name-value pair at dst (which has room for
 * fcgi_param_encoded_len() bytes); returns the byte after it.  Lengths of
 * 2^31 or more cannot be encoded; the caller keeps params far below that. */
unsigned char *fcgi_param_encode(unsigned char *dst,
                                 const char *name, apr_size_t name_len,
                                 const char *value, apr_size_t value_len);

/* Set the request id of every record in the byte stream vec[0..nvec)
 * holds: records laid end to end from the first byte, as
 * fcgi_env_encode() makes them (a record header may straddle entries). */
struct iovec;
void fcgi_records_set_request_id(struct iovec *vec, int nvec,
                                 apr_uint16_t request_id);

/* Decode one name-value pair from src[0..len).  Returns APR_SUCCESS and
 * sets the pointers and *used, APR_INCOMPLETE when src ends inside the
 * pair.  The inverse of fcgi_param_encode(), for tests and fuzzing. */
apr_status_t fcgi_param_decode(const unsigned char *src, apr_size_t len,
                               const char **name, apr_size_t *name_len,
                               const char **value, apr_size_t *value_len,
                               apr_size_t *used);

/*
 * The record stream parser: a small explicit state machine that is fed
 * whatever the socket delivered, split anywhere, and reports one event at
 * a time.  STDOUT and STDERR payload is reported as slices of the input,
 * so the caller can hand STDOUT on without copying it.
 */
typedef enum {
    FCGI_PARSE_HEADER = 0,   /* collecting the 8-byte record header */
    FCGI_PARSE_CONTENT,      /* inside a record's content */
    FCGI_PARSE_PADDING,      /* skipping a record's padding */
    FCGI_PARSE_DONE          /* END_REQUEST seen; nothing more expected */
} fcgi_parse_state;

typedef struct {
    fcgi_parse_state state;
    apr_uint16_t expect_id;       /* the request being answered */
    unsigned char type;
    apr_uint16_t request_id;
    int ours;                     /* the record is for expect_id */
    apr_size_t content_left;
    apr_size_t padding_left;
    apr_size_t have;              /* bytes collected in buf */
    unsigned char buf[8];         /* a split header or END_REQUEST body */
} fcgi_parser;

typedef enum {
    FCGI_EVENT_NONE = 0,   /* the input is used up; feed more */
    FCGI_EVENT_STDOUT,     /* data/len: a slice of the input */
    FCGI_EVENT_STDERR,     /* data/len: a slice of the input */
    FCGI_EVENT_END,        /* app_status, protocol_status */
    FCGI_EVENT_FOREIGN     /* a record for another request: request_id,
                              record_type; its content is skipped */
} fcgi_event_type;

typedef struct {
    fcgi_event_type type;
    const char *data;
    apr_size_t len;
    apr_uint32_t app_status;
    unsigned char protocol_status;
    apr_uint16_t request_id;
    unsigned char record_type;
} fcgi_event;

/* A parser for the answer to request_id. */
void fcgi_parser_init(fcgi_parser *p, apr_uint16_t request_id);

/*
 * Consume bytes from in[0..len) up to the next event.  *used is how many
 * bytes were consumed (all of them when the event is FCGI_EVENT_NONE).
 * After FCGI_EVENT_END nothing more is consumed.  Returns APR_SUCCESS or
 * one of the FCGI_E* errors, after which the stream is unusable.
 */
apr_status_t fcgi_parser_feed(fcgi_parser *p, const char *in, apr_size_t len,
                              apr_size_t *used, fcgi_event *ev);

/* Nonzero when the parser stands between records (so an EOF here is a
 * missing END_REQUEST, not a record cut in half). */
int fcgi_parser_between_records(const fcgi_parser *p);

/* A short description of an FCGI_E* error (or NULL for other codes). */
const char *fcgi_proto_strerror(apr_status_t rv);

/* The name of END_REQUEST's protocolStatus value. */
const char *fcgi_protocol_status_name(unsigned char protocol_status);

#endif /* FCGI_PROTO_H */
