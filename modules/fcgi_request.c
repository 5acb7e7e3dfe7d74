/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_request.c: the per-request log line (see fcgi_request.h).
 */

#include <string.h>

#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"

#include "fcgi_request.h"

APLOG_USE_MODULE(fastcgi_handler);

const char *fcgi_phase_name(fcgi_phase phase)
{
    static const char *const names[] = {
        "connect", "params", "stdin", "headers", "body"
    };
    return names[phase];
}

void fcgi_request_log(fcgi_request *fr, int level, apr_status_t rv,
                      const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    apr_time_t elapsed = apr_time_now() - fr->start;

    va_start(ap, fmt);
    apr_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (fr->stdin_error) {
        char err[120];

        /* Said here because it is why what follows failed, often. */
        apr_strerror(fr->stdin_error, err, sizeof(err));
        apr_snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
                     " (sending the request body had failed: %s)", err);
    }
    if (fr->oversized_param) {
        apr_snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
                     " (the request's %.40s is bigger than one FastCGI record "
                     "holds; PHP-FPM cannot read such a variable)",
                     fr->oversized_param);
    }
    ap_log_rerror(APLOG_MARK, level, rv, fr->r,
                  "%s [backend " FCGI_HANDLER_PREFIX "%s, phase %s, "
                  "sent %" APR_OFF_T_FMT " bytes, received %" APR_OFF_T_FMT
                  " bytes, %" APR_TIME_T_FMT " ms]",
                  msg, fr->addr->spec, fcgi_phase_name(fr->phase),
                  fr->sent, fr->received, apr_time_as_msec(elapsed));
}
