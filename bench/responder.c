/*
 * responder.c: the FastCGI application behind every arm of the benchmark.
 *
 *   responder -l ADDRESS [-n PROCESSES] [-q BACKLOG]
 *
 * ADDRESS is a unix socket path or HOST:PORT (":PORT" for all addresses).
 * The socket is opened once, then PROCESSES (default 2) copies of the
 * accept loop share it.  Single-threaded, built on libfcgi's FCGX_* API,
 * which honours FCGI_KEEP_CONN: a front end that keeps the connection gets
 * it kept (the process then serves that connection until it is closed).
 * Every request's STDIN is read to its end, which keeping the connection
 * needs (see worker()).
 *
 * What a request gets depends on QUERY_STRING only (the path is ignored):
 *
 *   (empty)            13 bytes, "Hello, world\n", with Content-Length
 *   size=N             N bytes of the pattern (pattern.h), with
 *                      Content-Length.  Written as 65528-byte FCGI_STDOUT
 *                      records straight from a static buffer, one writev
 *                      each, so that the front end, not this program, is
 *                      what a download measures (libfcgi's own stream
 *                      would cut them into 8 KiB records and copy each).
 *   upload             reads the whole body, answers
 *                      "bytes=N pattern=ok|bad content_length=CL\n"
 *   stream=K&gap=MS    K lines of 64 bytes, "t=MICROSECONDS ...\n", the
 *                      time (CLOCK_REALTIME) just before that line is
 *                      flushed (FCGX_FFlush); MS milliseconds between
 *                      lines.  The client takes arrival time minus t.
 *
 * SIGTERM to the first process stops them all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"

#define RECORD_MAX 65528 /* 0xfff8: the largest multiple of 8 that fits */
#define FCGI_STDOUT_TYPE 6

/* RECORD_MAX bytes of pattern starting at any offset below the period. */
static unsigned char body_src[RECORD_MAX + PATTERN_PERIOD];
static unsigned char check_ref[2 * PATTERN_PERIOD];
static unsigned char upload_buf[256 * 1024];

static pid_t workers[64];
static int nworkers;

/* The value of key in a query string like "a=1&b=2", or NULL. */
static const char *query_get(const char *qs, const char *key, char *out,
                             size_t outlen)
{
    size_t klen = strlen(key);

    while (qs && *qs) {
        const char *end = strchr(qs, '&');
        size_t len = end ? (size_t)(end - qs) : strlen(qs);

        if (len >= klen && strncmp(qs, key, klen) == 0
            && (len == klen || qs[klen] == '=')) {
            size_t vlen = len > klen ? len - klen - 1 : 0;

            if (vlen >= outlen) {
                vlen = outlen - 1;
            }
            memcpy(out, qs + klen + (len > klen), vlen);
            out[vlen] = '\0';
            return out;
        }
        qs = end ? end + 1 : NULL;
    }
    return NULL;
}

static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= w;
        }
    }
    return 0;
}

static void serve_hello(FCGX_Request *req)
{
    static const char resp[] = "Content-Type: text/plain\r\n"
                               "Content-Length: 13\r\n\r\n"
                               "Hello, world\n";

    FCGX_PutStr(resp, sizeof(resp) - 1, req->out);
}

static void serve_size(FCGX_Request *req, unsigned long long size)
{
    unsigned long long off = 0;

    FCGX_FPrintF(req->out, "Content-Type: application/octet-stream\r\n"
                           "Content-Length: %llu\r\n\r\n", size);
    /* The header block goes out through libfcgi; then the body as whole
     * records of our own on the same connection, in order. */
    if (FCGX_FFlush(req->out) < 0) {
        return;
    }
    while (off < size) {
        size_t len = size - off < RECORD_MAX ? (size_t)(size - off)
                                               : RECORD_MAX;
        size_t pad = (8 - len % 8) % 8;
        static const unsigned char zeros[8];
        unsigned char hdr[8] = {1, FCGI_STDOUT_TYPE,
                                (unsigned char)(req->requestId >> 8),
                                (unsigned char)req->requestId,
                                (unsigned char)(len >> 8),
                                (unsigned char)len, (unsigned char)pad, 0};
        struct iovec iov[3] = {
            {hdr, 8},
            {body_src + off % PATTERN_PERIOD, len},
            {(void *)zeros, pad},
        };

        if (write_all(req->ipcFd, iov, pad ? 3 : 2) < 0) {
            return; /* the front end went away */
        }
        off += len;
    }
}

static void serve_upload(FCGX_Request *req)
{
    unsigned long long total = 0;
    int ok = 1, n;
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->envp);

    while ((n = FCGX_GetStr((char *)upload_buf, sizeof(upload_buf),
                            req->in)) > 0) {
        if (ok && !pattern_check(check_ref, upload_buf, (size_t)n, total)) {
            ok = 0;
        }
        total += (unsigned long long)n;
    }
    FCGX_FPrintF(req->out, "Content-Type: text/plain\r\n\r\n"
                           "bytes=%llu pattern=%s content_length=%s\n",
                 total, ok ? "ok" : "bad", cl && *cl ? cl : "-");
}

static void serve_stream(FCGX_Request *req, int count, int gap_ms)
{
    int i;

    FCGX_PutS("Content-Type: text/plain\r\n\r\n", req->out);
    for (i = 0; i < count; i++) {
        char line[65];
        struct timespec ts;
        long long us;
        int len;

        clock_gettime(CLOCK_REALTIME, &ts);
        us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        len = snprintf(line, sizeof(line), "t=%lld i=%d ", us, i);
        memset(line + len, '.', 63 - len);
        line[63] = '\n';
        FCGX_PutStr(line, 64, req->out);
        if (FCGX_FFlush(req->out) < 0) {
            return;
        }
        if (i + 1 < count) {
            struct timespec gap = {gap_ms / 1000, (gap_ms % 1000) * 1000000L};

            nanosleep(&gap, NULL);
        }
    }
}

static void serve(FCGX_Request *req)
{
    const char *qs = FCGX_GetParam("QUERY_STRING", req->envp);
    char v1[32], v2[32];

    if (!qs) {
        qs = "";
    }
    if (query_get(qs, "size", v1, sizeof(v1))) {
        serve_size(req, strtoull(v1, NULL, 10));
    }
    else if (query_get(qs, "upload", v1, sizeof(v1))) {
        serve_upload(req);
    }
    else if (query_get(qs, "stream", v1, sizeof(v1))) {
        int gap = query_get(qs, "gap", v2, sizeof(v2)) ? atoi(v2) : 200;

        serve_stream(req, atoi(v1), gap);
    }
    else {
        serve_hello(req);
    }
}

static void worker(int sock)
{
    FCGX_Request req;

    signal(SIGTERM, SIG_DFL);
    if (FCGX_InitRequest(&req, sock, 0) != 0) {
        fprintf(stderr, "responder: FCGX_InitRequest failed\n");
        _exit(1);
    }
    while (FCGX_Accept_r(&req) >= 0) {
        serve(&req);
        /* Read the request's STDIN to its end even when the answer did
         * not need it.  FCGX_Finish_r does not, and with FCGI_KEEP_CONN
         * the next FCGX_Accept_r would then find the rest of this
         * request (often just the empty STDIN record, when the front end
         * sent it apart from PARAMS, as mod_proxy_fcgi does) where it
         * expects a BEGIN_REQUEST, and close the connection: the front
         * end sees EOF on its next request (a 503 from mod_proxy_fcgi). */
        while (FCGX_GetStr((char *)upload_buf, sizeof(upload_buf), req.in) > 0) {
        }
        FCGX_Finish_r(&req);
    }
    _exit(0);
}

static void stop_all(int sig)
{
    int i;

    for (i = 0; i < nworkers; i++) {
        kill(workers[i], SIGTERM);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(int argc, char **argv)
{
    const char *addr = NULL;
    int nproc = 2, backlog = 1024, opt, sock, i, status;

    while ((opt = getopt(argc, argv, "l:n:q:")) != -1) {
        switch (opt) {
        case 'l': addr = optarg; break;
        case 'n': nproc = atoi(optarg); break;
        case 'q': backlog = atoi(optarg); break;
        default: addr = NULL; optind = argc; break;
        }
    }
    if (!addr || nproc < 1 || nproc > 64) {
        fprintf(stderr, "usage: responder -l PATH|HOST:PORT [-n 1..64] "
                        "[-q BACKLOG]\n");
        return 2;
    }
    pattern_fill(body_src, sizeof(body_src), 0);
    pattern_fill(check_ref, sizeof(check_ref), 0);
    signal(SIGPIPE, SIG_IGN);

    if (FCGX_Init() != 0) {
        fprintf(stderr, "responder: FCGX_Init failed\n");
        return 1;
    }
    sock = FCGX_OpenSocket(addr, backlog);
    if (sock < 0) {
        fprintf(stderr, "responder: cannot listen on %s: %s\n", addr,
                strerror(errno));
        return 1;
    }
    for (i = 0; i < nproc; i++) {
        pid_t pid = fork();

        if (pid < 0) {
            perror("responder: fork");
            stop_all(SIGTERM);
        }
        if (pid == 0) {
            worker(sock);
        }
        workers[nworkers++] = pid;
    }
    signal(SIGTERM, stop_all);
    signal(SIGINT, stop_all);
    /* A worker that dies is a bug worth seeing: stop, and say so. */
    if (wait(&status) > 0) {
        fprintf(stderr, "responder: a worker exited (status %d); stopping\n",
                status);
        stop_all(SIGTERM);
    }
    return 1;
}
