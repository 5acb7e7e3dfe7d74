/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_config.c: the module's directives, their defaults and merging.
 *
 * Every directive is per-directory and can be set anywhere from the server
 * config to .htaccess (with AllowOverride FileInfo), like SetHandler.
 */

#include "httpd.h"
#include <stdlib.h>
#include <strings.h>

#include "apr_lib.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_log.h"

#include "fcgi_config.h"

void *fcgi_dir_conf_create(apr_pool_t *p, char *dir)
{
    fcgi_dir_conf *conf = apr_palloc(p, sizeof(*conf));

    (void)dir;
    conf->connect_timeout = -1;
    conf->io_timeout = -1;
    conf->stderr_level = -1;
    conf->keep_conn = -1;
    conf->queue_timeout = -1;
    conf->max_conns = 0;
    conf->header_limit = 0;
    conf->response_timeout = -1;
    return conf;
}

void *fcgi_dir_conf_merge(apr_pool_t *p, void *basev, void *addv)
{
    const fcgi_dir_conf *base = basev, *add = addv;
    fcgi_dir_conf *conf = apr_palloc(p, sizeof(*conf));

    conf->connect_timeout = add->connect_timeout >= 0 ? add->connect_timeout
                                                      : base->connect_timeout;
    conf->io_timeout = add->io_timeout >= 0 ? add->io_timeout
                                            : base->io_timeout;
    conf->stderr_level = add->stderr_level >= 0 ? add->stderr_level
                                                : base->stderr_level;
    conf->keep_conn = add->keep_conn >= 0 ? add->keep_conn : base->keep_conn;
    conf->queue_timeout = add->queue_timeout >= 0 ? add->queue_timeout
                                                  : base->queue_timeout;
    conf->max_conns = add->max_conns ? add->max_conns : base->max_conns;
    conf->header_limit = add->header_limit ? add->header_limit
                                           : base->header_limit;
    conf->response_timeout = add->response_timeout >= 0
                             ? add->response_timeout : base->response_timeout;
    return conf;
}

void *fcgi_server_conf_create(apr_pool_t *p, server_rec *s)
{
    fcgi_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)s;
    conf->idle_timeout = -1;
    return conf;
}

apr_interval_time_t fcgi_conf_connect_timeout(const fcgi_dir_conf *conf)
{
    return conf->connect_timeout >= 0 ? conf->connect_timeout
                                      : FCGI_DEFAULT_CONNECT_TIMEOUT;
}

apr_interval_time_t fcgi_conf_io_timeout(const fcgi_dir_conf *conf,
                                         const request_rec *r)
{
    return conf->io_timeout >= 0 ? conf->io_timeout : r->server->timeout;
}

int fcgi_conf_stderr_level(const fcgi_dir_conf *conf)
{
    return conf->stderr_level >= 0 ? conf->stderr_level
                                   : FCGI_DEFAULT_STDERR_LEVEL;
}

int fcgi_conf_keep_conn(const fcgi_dir_conf *conf)
{
    return conf->keep_conn != 0;
}

int fcgi_conf_max_conns(const fcgi_dir_conf *conf)
{
    return conf->max_conns;
}

apr_size_t fcgi_conf_header_limit(const fcgi_dir_conf *conf)
{
    return conf->header_limit ? conf->header_limit : FCGI_DEFAULT_HEADER_MAX;
}

apr_interval_time_t fcgi_conf_response_timeout(const fcgi_dir_conf *conf)
{
    return conf->response_timeout > 0 ? conf->response_timeout : 0;
}

const char *fcgi_size_parse(const char *arg, apr_size_t *size)
{
    const char *s = arg;
    apr_uint64_t n = 0;

    if (!apr_isdigit(*s)) {
        return "it does not start with a number";
    }
    for (; apr_isdigit(*s); s++) {
        if (n > 1000000000) {
            return "it is too big";
        }
        n = n * 10 + (*s - '0');
    }
    if (*s == 'K' || *s == 'k') {
        n *= 1024;
        s++;
    }
    else if (*s == 'M' || *s == 'm') {
        n *= 1024 * 1024;
        s++;
    }
    if (*s) {
        return "the unit is not K or M";
    }
    if (n < 1024 || n > 64 * 1024 * 1024) {
        return "it must be from 1K to 64M";
    }
    *size = (apr_size_t)n;
    return NULL;
}

apr_interval_time_t fcgi_conf_queue_timeout(const fcgi_dir_conf *conf)
{
    return conf->queue_timeout >= 0 ? conf->queue_timeout
                                    : FCGI_DEFAULT_QUEUE_TIMEOUT;
}

/*
 * httpd's ap_timeout_parameter_parse() spells minutes "mi" and accepts
 * zero; the documented "2m" and the refusal of zero need this small
 * parser of our own.
 */
const char *fcgi_duration_parse(const char *arg, apr_interval_time_t *t)
{
    const char *s = arg;
    apr_int64_t n = 0;
    apr_interval_time_t unit;

    if (!apr_isdigit(*s)) {
        return "it does not start with a number";
    }
    for (; apr_isdigit(*s); s++) {
        if (n > 1000000000) {
            return "it is too long";
        }
        n = n * 10 + (*s - '0');
    }
    if (!*s || !strcmp(s, "s")) {
        unit = APR_USEC_PER_SEC;
    }
    else if (!strcmp(s, "ms")) {
        unit = 1000;
    }
    else if (!strcmp(s, "m")) {
        unit = 60 * APR_USEC_PER_SEC;
    }
    else if (!strcmp(s, "h")) {
        unit = 3600 * APR_USEC_PER_SEC;
    }
    else {
        return "the unit is not one of ms, s, m, h";
    }
    if (n == 0) {
        return "it must be more than zero";
    }
    *t = n * unit;
    return NULL;
}

/* cmd->info of the duration directives: which field set_duration() sets. */
static const char connect_key[] = "connect";
static const char io_key[] = "io";
static const char queue_key[] = "queue";
static const char idle_key[] = "idle";
static const char response_key[] = "response";

static const char *set_duration(cmd_parms *cmd, void *confv, const char *arg)
{
    fcgi_dir_conf *conf = confv;
    apr_interval_time_t t;
    const char *why = fcgi_duration_parse(arg, &t);

    if (why) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a duration (%s); "
                            "write e.g. 500ms, 5s, 2m or 30 (seconds)",
                            cmd->cmd->name, arg, why);
    }
    if (cmd->info == connect_key) {
        conf->connect_timeout = t;
    }
    else if (cmd->info == io_key) {
        conf->io_timeout = t;
    }
    else if (cmd->info == queue_key) {
        conf->queue_timeout = t;
    }
    else if (cmd->info == response_key) {
        conf->response_timeout = t;
    }
    else {
        /* A property of each backend's pool in the process: server-wide. */
        fcgi_server_conf *sconf =
            ap_get_module_config(cmd->server->module_config,
                                 &fastcgi_handler_module);
        const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

        if (err) {
            return err;
        }
        sconf->idle_timeout = t;
    }
    return NULL;
}

static const char *set_max_conns(cmd_parms *cmd, void *confv, const char *arg)
{
    fcgi_dir_conf *conf = confv;
    char *end;
    long n;

    n = strtol(arg, &end, 10);
    if (*end || end == arg || n < 1 || n > 100000) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of "
                            "connections; write a whole number from 1, e.g. "
                            "%s 4", cmd->cmd->name, arg, cmd->cmd->name);
    }
    conf->max_conns = (int)n;
    return NULL;
}

static const char *set_header_limit(cmd_parms *cmd, void *confv,
                                    const char *arg)
{
    fcgi_dir_conf *conf = confv;
    const char *why = fcgi_size_parse(arg, &conf->header_limit);

    if (why) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a size (%s); write "
                            "e.g. 64K, 1M or 16384 (bytes)", cmd->cmd->name,
                            arg, why);
    }
    return NULL;
}

/* "Off" disables the deadline; anything else is a DURATION. */
static const char *set_response_timeout(cmd_parms *cmd, void *confv,
                                        const char *arg)
{
    fcgi_dir_conf *conf = confv;

    if (!strcasecmp(arg, "off")) {
        conf->response_timeout = 0;
        return NULL;
    }
    return set_duration(cmd, confv, arg);
}

static const char *set_keep_conn(cmd_parms *cmd, void *confv, int on)
{
    fcgi_dir_conf *conf = confv;

    (void)cmd;
    conf->keep_conn = on;
    return NULL;
}

static const char *set_stderr_level(cmd_parms *cmd, void *confv,
                                    const char *arg)
{
    fcgi_dir_conf *conf = confv;
    int level;

    if (ap_parse_log_level(arg, &level)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a log level; write "
                            "one of emerg, alert, crit, error, warn, notice, "
                            "info, debug, trace1 ... trace8",
                            cmd->cmd->name, arg);
    }
    conf->stderr_level = level;
    return NULL;
}

const command_rec fcgi_directives[] = {
    AP_INIT_TAKE1("FcgiConnectTimeout", set_duration, (void *)connect_key,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "How long to wait for a connection to the FastCGI backend "
                  "(e.g. 500ms, 5s; default 5s)"),
    AP_INIT_TAKE1("FcgiIOTimeout", set_duration, (void *)io_key,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "How long the backend may take to accept a write or send "
                  "data (e.g. 30s, 2m; default: the server's Timeout)"),
    AP_INIT_TAKE1("FcgiStderrLevel", set_stderr_level, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "Error log level of the backend's STDERR lines "
                  "(default warn)"),
    AP_INIT_FLAG("FcgiKeepConn", set_keep_conn, NULL,
                 RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                 "Keep connections to the backend open between requests "
                 "(FCGI_KEEP_CONN; default On)"),
    AP_INIT_TAKE1("FcgiQueueTimeout", set_duration, (void *)queue_key,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "How long a request waits for a connection when "
                  "FcgiMaxConns are busy, before a 503 (default 3s)"),
    AP_INIT_TAKE1("FcgiResponseHeaderLimit", set_header_limit, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "Largest CGI header block a backend may send, beyond which "
                  "the response is a 502 (e.g. 64K; default 64K)"),
    AP_INIT_TAKE1("FcgiResponseTimeout", set_response_timeout,
                  (void *)response_key,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "Longest a whole response may take, however steadily it "
                  "trickles in (e.g. 5m; default Off)"),
    AP_INIT_TAKE1("FcgiMaxConns", set_max_conns, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "Connections to the backend per httpd process, busy and "
                  "idle (default: threads per process, at most 8)"),
    AP_INIT_TAKE1("FcgiIdleTimeout", set_duration, (void *)idle_key,
                  RSRC_CONF,
                  "How long an unused connection is kept open (server "
                  "config only; default 2s)"),
    { NULL }
};
