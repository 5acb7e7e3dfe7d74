/* Licensed under the Apache License, Version 2.0 (see LICENSE). */

/*
 * fcgi_config.h: the module's directives, their defaults and merging.
 */

#ifndef FCGI_CONFIG_H
#define FCGI_CONFIG_H

#include "httpd.h"
#include "http_config.h"

#include "fcgi_backend.h"

extern module AP_MODULE_DECLARE_DATA fastcgi_handler_module;

#define FCGI_DEFAULT_CONNECT_TIMEOUT apr_time_from_sec(5)
#define FCGI_DEFAULT_STDERR_LEVEL    APLOG_WARNING
#define FCGI_DEFAULT_HEADER_MAX      (64 * 1024)
#define FCGI_DEFAULT_QUEUE_TIMEOUT   apr_time_from_sec(3)
#define FCGI_DEFAULT_IDLE_TIMEOUT    apr_time_from_sec(2)
/* Connections per backend and process when FcgiMaxConns is not set: no
 * more than the process has threads, and no more than this. */
#define FCGI_DEFAULT_MAX_CONNS       8

typedef struct {
    apr_interval_time_t connect_timeout;   /* -1: not set here */
    apr_interval_time_t io_timeout;        /* -1: not set (server Timeout) */
    int stderr_level;                      /* -1: not set here */
    int keep_conn;                         /* -1: not set (on) */
    apr_interval_time_t queue_timeout;     /* -1: not set here */
    int max_conns;                         /* 0: not set here */
    apr_size_t header_limit;               /* 0: not set here */
    apr_interval_time_t response_timeout;  /* -1: not set (none) */
} fcgi_dir_conf;

typedef struct {
    fcgi_registry *registry;               /* per process, from child_init */
    apr_interval_time_t idle_timeout;      /* -1: not set */
} fcgi_server_conf;

void *fcgi_dir_conf_create(apr_pool_t *p, char *dir);
void *fcgi_dir_conf_merge(apr_pool_t *p, void *basev, void *addv);
void *fcgi_server_conf_create(apr_pool_t *p, server_rec *s);

extern const command_rec fcgi_directives[];

/* The effective values for a request. */
apr_interval_time_t fcgi_conf_connect_timeout(const fcgi_dir_conf *conf);
apr_interval_time_t fcgi_conf_io_timeout(const fcgi_dir_conf *conf,
                                         const request_rec *r);
int fcgi_conf_stderr_level(const fcgi_dir_conf *conf);
int fcgi_conf_keep_conn(const fcgi_dir_conf *conf);
/* 0 when not set: the registry's default applies. */
int fcgi_conf_max_conns(const fcgi_dir_conf *conf);
apr_size_t fcgi_conf_header_limit(const fcgi_dir_conf *conf);
/* 0 when there is no total deadline. */
apr_interval_time_t fcgi_conf_response_timeout(const fcgi_dir_conf *conf);

/* Parse a SIZE: bytes, or with K or M ("64K").  Returns NULL or what is
 * wrong with it. */
const char *fcgi_size_parse(const char *arg, apr_size_t *size);
apr_interval_time_t fcgi_conf_queue_timeout(const fcgi_dir_conf *conf);

/* Parse a DURATION: "500ms", "5s", "2m", "1h" or bare seconds ("30").
 * Returns NULL or what is wrong with it. */
const char *fcgi_duration_parse(const char *arg, apr_interval_time_t *t);

#endif /* FCGI_CONFIG_H */
