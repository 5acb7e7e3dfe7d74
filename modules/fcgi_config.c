/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_config.c: the module's directives, their defaults and merging.
 *
 * Every directive is per-directory and can be set anywhere from the server
 * config to .htaccess (with AllowOverride FileInfo), like SetHandler.
 */

#include "httpd.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "http_log.h"

#include "fcgi_config.h"

void *fcgi_dir_conf_create(apr_pool_t *p, char *dir)
{
    fcgi_dir_conf *conf = apr_palloc(p, sizeof(*conf));

    (void)dir;
    conf->connect_timeout = -1;
    conf->io_timeout = -1;
    conf->stderr_level = -1;
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
    return conf;
}

void *fcgi_server_conf_create(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(fcgi_server_conf));
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

/* cmd->info of FcgiConnectTimeout: which field set_duration() sets. */
static const char connect_key[] = "connect";

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
    else {
        conf->io_timeout = t;
    }
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
    AP_INIT_TAKE1("FcgiIOTimeout", set_duration, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "How long the backend may take to accept a write or send "
                  "data (e.g. 30s, 2m; default: the server's Timeout)"),
    AP_INIT_TAKE1("FcgiStderrLevel", set_stderr_level, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "Error log level of the backend's STDERR lines "
                  "(default warn)"),
    { NULL }
};
