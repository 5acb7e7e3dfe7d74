/*
 * loadgen.c: the benchmark's HTTP/1.1 client, single-threaded, on epoll.
 *
 *   loadgen bench  -u URL -c CONNS -d SECS [-w WARMUP] [-b LEN] [-V]
 *   loadgen get    -u URL [-b LEN] [-V] [-r PID,PID...] [-t TIMEOUT] [-s STALL]
 *   loadgen post   -u URL -n BYTES [-r PID,...] [-t TIMEOUT] [-s STALL]
 *   loadgen stream -u URL [-t TIMEOUT] [-s STALL]
 *
 * bench: CONNS keep-alive connections, each sending GETs back to back
 *   (one outstanding request per connection) for WARMUP + SECS seconds;
 *   only responses completed in the last SECS seconds count.  Reports
 *   req/s, latency p50/p99/max (request written to response complete, in
 *   a log-linear histogram, 0.2% resolution), and per connection how many
 *   responses it got: "served" is the number of connections with at least
 *   one.  A server that closes a connection gets a new one (reconnects).
 * get: one GET, the body discarded as it arrives (checked against the
 *   pattern with -V), MB/s.
 * post: one POST of BYTES bytes of the pattern with a Content-Length;
 *   the answer must be the responder's "bytes=BYTES pattern=ok".
 * stream: one GET of the responder's stream endpoint; each 64-byte line
 *   carries the time the backend flushed it; arrival minus that is the
 *   delay reported (p50 and max over the lines, the first line's, and
 *   each line's in order).
 *
 * -b LEN: every response body must be LEN bytes; -V: check bodies against
 * the pattern (pattern.h); -r: sample VmRSS of these processes every 50 ms
 * and report the largest growth over the value before the transfer.
 * get, post and stream give up after TIMEOUT seconds (default 300), or
 * when nothing has moved either way for STALL seconds (default 10).
 *
 * Every response must be 200; anything else, a short body or a broken
 * connection counts in errors.  Output: one line of key=value pairs.
 * Exit status 0 when errors=0, 1 otherwise, 2 for bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pattern.h"

/* ---- time and histogram ------------------------------------------- */

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t realtime_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Values below 1024 us exactly; above, 512 sub-buckets per power of 2. */
#define HIST_EXACT 1024
#define HIST_SUB 512
#define HIST_SIZE (HIST_EXACT + 40 * HIST_SUB)

static uint64_t hist[HIST_SIZE];
static uint64_t hist_count;
static int64_t hist_max;

static int hist_index(int64_t v)
{
    int e;

    if (v < HIST_EXACT) {
        return v < 0 ? 0 : (int)v;
    }
    e = 63 - __builtin_clzll((unsigned long long)v); /* >= 10 */
    if (e - 10 >= 40) {
        return HIST_SIZE - 1;
    }
    return HIST_EXACT + (e - 10) * HIST_SUB
           + (int)((v >> (e - 9)) & (HIST_SUB - 1));
}

/* The middle of a bucket. */
static int64_t hist_value(int i)
{
    int e, sub;
    int64_t lo, width;

    if (i < HIST_EXACT) {
        return i;
    }
    e = (i - HIST_EXACT) / HIST_SUB + 10;
    sub = (i - HIST_EXACT) % HIST_SUB;
    width = (int64_t)1 << (e - 9);
    lo = ((int64_t)1 << e) + (int64_t)sub * width;
    return lo + width / 2;
}

static void hist_add(int64_t v)
{
    hist[hist_index(v)]++;
    hist_count++;
    if (v > hist_max) {
        hist_max = v;
    }
}

static int64_t hist_percentile(double p)
{
    uint64_t rank = (uint64_t)(p / 100.0 * (double)hist_count + 0.5), seen = 0;
    int i;

    if (hist_count == 0) {
        return 0;
    }
    if (rank < 1) {
        rank = 1;
    }
    for (i = 0; i < HIST_SIZE; i++) {
        seen += hist[i];
        if (seen >= rank) {
            int64_t v = hist_value(i);

            return v > hist_max ? hist_max : v;
        }
    }
    return hist_max;
}

/* ---- options ------------------------------------------------------- */

enum mode { MODE_BENCH, MODE_GET, MODE_POST, MODE_STREAM };

static enum mode mode;
static struct sockaddr_in server;
static char host_hdr[128];
static const char *path = "/";
static int nconns = 1;
static double duration = 5, warmup = 1, timeout_s = 300, stall_s = 10;
static long long expect_len = -1;
static int verify;
static unsigned long long post_bytes;
static pid_t rss_pids[64];
static int n_rss_pids;

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen bench  -u URL -c CONNS -d SECS [-w WARMUP] [-b LEN] [-V]\n"
            "       loadgen get    -u URL [-b LEN] [-V] [-r PID,...] [-t TIMEOUT] [-s STALL]\n"
            "       loadgen post   -u URL -n BYTES [-r PID,...] [-t TIMEOUT] [-s STALL]\n"
            "       loadgen stream -u URL [-t TIMEOUT] [-s STALL]\n");
    exit(2);
}

/* http://A.B.C.D:PORT/path (an IPv4 address: this is a loopback tool). */
static void parse_url(const char *url)
{
    static char hostbuf[64];
    const char *h, *colon, *slash;
    size_t hlen;
    int port = 80;

    if (strncmp(url, "http://", 7) != 0) {
        usage();
    }
    h = url + 7;
    slash = strchr(h, '/');
    path = slash ? slash : "/";
    colon = memchr(h, ':', slash ? (size_t)(slash - h) : strlen(h));
    hlen = colon ? (size_t)(colon - h)
                 : (slash ? (size_t)(slash - h) : strlen(h));
    if (hlen == 0 || hlen >= sizeof(hostbuf)) {
        usage();
    }
    memcpy(hostbuf, h, hlen);
    hostbuf[hlen] = '\0';
    if (colon) {
        port = atoi(colon + 1);
    }
    memset(&server, 0, sizeof(server));
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, hostbuf, &server.sin_addr) != 1) {
        fprintf(stderr, "loadgen: %s is not an IPv4 address\n", hostbuf);
        exit(2);
    }
    snprintf(host_hdr, sizeof(host_hdr), "%s:%d", hostbuf, port);
}

/* ---- RSS sampling --------------------------------------------------- */

static long rss_base[64], rss_peak[64];

static long read_rss_kb(pid_t pid)
{
    char fn[64], buf[4096];
    int fd;
    ssize_t n;
    char *p;

    snprintf(fn, sizeof(fn), "/proc/%d/status", (int)pid);
    if ((fd = open(fn, O_RDONLY)) < 0) {
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    p = strstr(buf, "VmRSS:");
    return p ? strtol(p + 6, NULL, 10) : -1;
}

static void rss_sample(int first)
{
    int i;

    for (i = 0; i < n_rss_pids; i++) {
        long v = read_rss_kb(rss_pids[i]);

        if (first) {
            rss_base[i] = rss_peak[i] = v;
        }
        else if (v > rss_peak[i]) {
            rss_peak[i] = v;
        }
    }
}

/* ---- connections ---------------------------------------------------- */

enum pstate { P_STATUS, P_HEADERS, P_BODY, P_CHUNK_SIZE, P_CHUNK_DATA,
              P_CHUNK_END, P_TRAILERS, P_DONE };

struct conn {
    int fd;
    int connected;
    /* request */
    const char *req;
    size_t req_len, req_sent;
    unsigned long long body_sent; /* post */
    int64_t t_sent;
    int in_flight;
    /* response */
    enum pstate st;
    char line[8192];
    size_t line_len;
    int status;
    long long content_length;
    long long chunk_left;
    int chunked, close_after;
    unsigned long long body_len;
    /* counts */
    unsigned long long responses; /* in the measured window */
};

static struct conn *conns;
static int epfd;
static char request_buf[1024];
static size_t request_len;
static unsigned char recv_buf[256 * 1024];
#define SEND_CHUNK (256 * 1024)
static unsigned char send_src[SEND_CHUNK + PATTERN_PERIOD];
static unsigned char check_ref[2 * PATTERN_PERIOD];

/* results */
static int64_t window_start, window_end, t_start, t_done, last_progress;
static unsigned long long n_responses, n_body_bytes, n_errors, n_reconnects;
static int single_done, last_status = -1, verify_failed;
static char first_error[256];
static char answer[256];
static size_t answer_len;
static int64_t arrival_rt;
static char stream_line[128];
static size_t stream_line_len;
static int64_t delays[1024];
static int n_delays;

static void error_note(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void error_note(const char *fmt, ...)
{
    va_list ap;

    n_errors++;
    if (first_error[0]) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(first_error, sizeof(first_error), fmt, ap);
    va_end(ap);
}

static void conn_open(struct conn *c);

static void conn_close(struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->connected = 0;
    c->in_flight = 0;
}

static void parser_reset(struct conn *c)
{
    c->st = P_STATUS;
    c->line_len = 0;
    c->status = 0;
    c->content_length = -1;
    c->chunk_left = 0;
    c->chunked = 0;
    c->close_after = 0;
    c->body_len = 0;
}

static void want_write(struct conn *c, int on)
{
    struct epoll_event ev = {0};

    ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
    ev.data.ptr = c;
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Send what is left of the request (and of a POST body).  Returns -1 when
 * the connection failed. */
static int conn_send(struct conn *c)
{
    while (c->req_sent < c->req_len) {
        ssize_t n = send(c->fd, c->req + c->req_sent, c->req_len - c->req_sent,
                         MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                want_write(c, 1);
                return 0;
            }
            return -1;
        }
        c->req_sent += (size_t)n;
        last_progress = now_us();
    }
    while (mode == MODE_POST && c->body_sent < post_bytes) {
        unsigned long long left = post_bytes - c->body_sent;
        size_t len = left < SEND_CHUNK ? (size_t)left : SEND_CHUNK;
        ssize_t n = send(c->fd, send_src + c->body_sent % PATTERN_PERIOD, len,
                         MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                want_write(c, 1);
                return 0;
            }
            return -1;
        }
        c->body_sent += (unsigned long long)n;
        last_progress = now_us();
    }
    want_write(c, 0);
    return 0;
}

static int conn_request(struct conn *c)
{
    parser_reset(c);
    c->req = request_buf;
    c->req_len = request_len;
    c->req_sent = 0;
    c->body_sent = 0;
    c->in_flight = 1;
    c->t_sent = now_us();
    return conn_send(c);
}

static void conn_open(struct conn *c)
{
    struct epoll_event ev = {0};
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        perror("loadgen: socket");
        exit(1);
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    c->connected = 0;
    if (connect(c->fd, (struct sockaddr *)&server, sizeof(server)) == 0) {
        c->connected = 1;
        if (conn_request(c) < 0) {
            error_note("send failed: %s", strerror(errno));
            conn_close(c);
        }
    }
    else if (errno != EINPROGRESS) {
        error_note("connect failed: %s", strerror(errno));
        conn_close(c);
    }
}

/* Start over on a fresh connection (bench), or give up (single modes). */
static void conn_restart(struct conn *c)
{
    conn_close(c);
    if (mode == MODE_BENCH) {
        n_reconnects++;
        conn_open(c);
    }
    else {
        single_done = 1;
    }
}

static void on_body(struct conn *c, const unsigned char *data, size_t len)
{
    if (verify && !verify_failed
        && !pattern_check(check_ref, data, len, c->body_len)) {
        verify_failed = 1;
        error_note("body differs from the pattern near offset %llu",
                   c->body_len);
    }
    if (mode == MODE_POST && answer_len < sizeof(answer) - 1) {
        size_t n = len < sizeof(answer) - 1 - answer_len
                   ? len : sizeof(answer) - 1 - answer_len;

        memcpy(answer + answer_len, data, n);
        answer_len += n;
        answer[answer_len] = '\0';
    }
    if (mode == MODE_STREAM) {
        size_t i;

        for (i = 0; i < len; i++) {
            if (data[i] == '\n' || stream_line_len == sizeof(stream_line) - 1) {
                stream_line[stream_line_len] = '\0';
                if (strncmp(stream_line, "t=", 2) == 0
                    && n_delays < (int)(sizeof(delays) / sizeof(delays[0]))) {
                    delays[n_delays++] = arrival_rt
                                         - strtoll(stream_line + 2, NULL, 10);
                }
                stream_line_len = 0;
            }
            else {
                stream_line[stream_line_len++] = (char)data[i];
            }
        }
    }
    c->body_len += len;
}

static void on_response(struct conn *c)
{
    int64_t t = now_us();

    c->in_flight = 0;
    last_status = c->status;
    if (c->status != 200) {
        error_note("status %d", c->status);
    }
    else if (expect_len >= 0 && (long long)c->body_len != expect_len) {
        error_note("body of %llu bytes, expected %lld", c->body_len,
                   expect_len);
    }
    if (mode != MODE_BENCH) {
        t_done = t;
        single_done = 1;
        return;
    }
    if (t >= window_start && t <= window_end) {
        hist_add(t - c->t_sent);
        c->responses++;
        n_responses++;
        n_body_bytes += c->body_len;
    }
}

static int header_is(const char *line, const char *name, const char **value)
{
    size_t n = strlen(name);

    if (strncasecmp(line, name, n) != 0 || line[n] != ':') {
        return 0;
    }
    *value = line + n + 1;
    while (**value == ' ' || **value == '\t') {
        (*value)++;
    }
    return 1;
}

/* One line (without its LF, CR stripped) in a line-based state.
 * Returns -1 on a protocol error, 1 when the response is complete. */
static int parse_line(struct conn *c, char *line)
{
    const char *v;

    switch (c->st) {
    case P_STATUS:
        if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12) {
            return -1;
        }
        c->status = atoi(line + 9);
        c->st = P_HEADERS;
        return 0;
    case P_HEADERS:
        if (*line == '\0') {
            if (c->status >= 100 && c->status < 200) {
                c->st = P_STATUS; /* 100 Continue: the real one follows */
                return 0;
            }
            if (c->status == 204 || c->status == 304) {
                return 1;
            }
            if (c->chunked) {
                c->st = P_CHUNK_SIZE;
                return 0;
            }
            if (c->content_length == 0) {
                return 1;
            }
            c->st = P_BODY; /* content_length < 0: until the close */
            return 0;
        }
        if (header_is(line, "Content-Length", &v)) {
            c->content_length = strtoll(v, NULL, 10);
        }
        else if (header_is(line, "Transfer-Encoding", &v)) {
            c->chunked = strcasestr(v, "chunked") != NULL;
        }
        else if (header_is(line, "Connection", &v)) {
            c->close_after = strcasestr(v, "close") != NULL;
        }
        return 0;
    case P_CHUNK_SIZE:
        c->chunk_left = strtoll(line, NULL, 16);
        if (c->chunk_left < 0) {
            return -1;
        }
        c->st = c->chunk_left ? P_CHUNK_DATA : P_TRAILERS;
        return 0;
    case P_CHUNK_END:
        if (*line != '\0') {
            return -1;
        }
        c->st = P_CHUNK_SIZE;
        return 0;
    case P_TRAILERS:
        return *line == '\0' ? 1 : 0;
    default:
        return -1;
    }
}

/* Feed received bytes to the parser.  Returns -1 on a protocol error,
 * 1 when a response completed (*used says how much it took), else 0. */
static int feed(struct conn *c, const unsigned char *p, size_t n, size_t *used)
{
    size_t pos = 0;

    while (pos < n) {
        if (c->st == P_BODY || c->st == P_CHUNK_DATA) {
            size_t take = n - pos;
            long long left = c->st == P_BODY ? c->content_length - (long long)c->body_len
                                             : c->chunk_left;

            if ((c->st == P_CHUNK_DATA || c->content_length >= 0)
                && (long long)take > left) {
                take = (size_t)left;
            }
            on_body(c, p + pos, take);
            pos += take;
            if (c->st == P_CHUNK_DATA) {
                c->chunk_left -= (long long)take;
                if (c->chunk_left == 0) {
                    c->st = P_CHUNK_END;
                }
            }
            else if (c->content_length >= 0
                     && (long long)c->body_len == c->content_length) {
                *used = pos;
                return 1;
            }
            continue;
        }
        else {
            const unsigned char *nl = memchr(p + pos, '\n', n - pos);
            size_t take = nl ? (size_t)(nl - (p + pos)) : n - pos;
            int r;

            if (c->line_len + take >= sizeof(c->line)) {
                return -1;
            }
            memcpy(c->line + c->line_len, p + pos, take);
            c->line_len += take;
            pos += take;
            if (!nl) {
                continue;
            }
            pos++; /* the LF */
            if (c->line_len && c->line[c->line_len - 1] == '\r') {
                c->line_len--;
            }
            c->line[c->line_len] = '\0';
            c->line_len = 0;
            r = parse_line(c, c->line);
            if (r != 0) {
                *used = pos;
                return r;
            }
        }
    }
    *used = pos;
    return 0;
}

static void conn_readable(struct conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, recv_buf, sizeof(recv_buf), 0);
        size_t pos = 0;

        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                return;
            }
            error_note("recv failed: %s", strerror(errno));
            conn_restart(c);
            return;
        }
        if (n == 0) {
            if (c->in_flight && c->st == P_BODY && c->content_length < 0) {
                on_response(c); /* a body delimited by the close */
            }
            else if (c->in_flight) {
                error_note("connection closed %s", c->st == P_STATUS
                           && c->line_len == 0 ? "before the response"
                                               : "in the middle of a response");
            }
            conn_restart(c);
            return;
        }
        last_progress = now_us();
        if (mode == MODE_STREAM) {
            arrival_rt = realtime_us();
        }
        while (pos < (size_t)n) {
            size_t used;
            int r;

            if (!c->in_flight) {
                error_note("%zd bytes nobody asked for", n - (ssize_t)pos);
                conn_restart(c);
                return;
            }
            r = feed(c, recv_buf + pos, (size_t)n - pos, &used);
            pos += used;
            if (r < 0) {
                error_note("malformed response (state %d)", (int)c->st);
                conn_restart(c);
                return;
            }
            if (r == 1) {
                int close_after = c->close_after;

                on_response(c);
                if (mode != MODE_BENCH) {
                    return;
                }
                if (close_after) {
                    conn_restart(c);
                    return;
                }
                if (conn_request(c) < 0) {
                    error_note("send failed: %s", strerror(errno));
                    conn_restart(c);
                    return;
                }
            }
        }
        if ((size_t)n < sizeof(recv_buf)) {
            return;
        }
    }
}

static void conn_event(struct conn *c, uint32_t events)
{
    if (!c->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof(err);

        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            error_note("connect failed: %s", strerror(err));
            conn_restart(c);
            return;
        }
        c->connected = 1;
        if (conn_request(c) < 0) {
            error_note("send failed: %s", strerror(errno));
            conn_restart(c);
        }
        return;
    }
    if (events & EPOLLOUT) {
        if (conn_send(c) < 0) {
            error_note("send failed: %s", strerror(errno));
            conn_restart(c);
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        conn_readable(c);
    }
}

/* ---- main ----------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static long rss_growth(long *base)
{
    long best = 0;
    int i;

    *base = 0;
    for (i = 0; i < n_rss_pids; i++) {
        if (rss_base[i] >= 0 && rss_peak[i] - rss_base[i] >= best) {
            best = rss_peak[i] - rss_base[i];
            *base = rss_base[i];
        }
    }
    return best;
}

static void parse_pids(char *s)
{
    char *tok;

    for (tok = strtok(s, ","); tok && n_rss_pids < 64; tok = strtok(NULL, ",")) {
        rss_pids[n_rss_pids++] = (pid_t)atoi(tok);
    }
}

int main(int argc, char **argv)
{
    struct epoll_event evs[256];
    const char *url = NULL;
    int64_t next_rss = 0, deadline;
    int opt, i;

    if (argc < 2) {
        usage();
    }
    if (!strcmp(argv[1], "bench")) mode = MODE_BENCH;
    else if (!strcmp(argv[1], "get")) mode = MODE_GET;
    else if (!strcmp(argv[1], "post")) mode = MODE_POST;
    else if (!strcmp(argv[1], "stream")) mode = MODE_STREAM;
    else usage();
    optind = 2;
    while ((opt = getopt(argc, argv, "u:c:d:w:b:Vn:r:t:s:")) != -1) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 'c': nconns = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'b': expect_len = atoll(optarg); break;
        case 'V': verify = 1; break;
        case 'n': post_bytes = strtoull(optarg, NULL, 10); break;
        case 'r': parse_pids(optarg); break;
        case 't': timeout_s = atof(optarg); break;
        case 's': stall_s = atof(optarg); break;
        default: usage();
        }
    }
    if (!url || nconns < 1 || nconns > 10000 || duration <= 0 || warmup < 0
        || (mode == MODE_POST && post_bytes == 0)) {
        usage();
    }
    if (mode != MODE_BENCH) {
        nconns = 1;
    }
    parse_url(url);
    signal(SIGPIPE, SIG_IGN);
    pattern_fill(send_src, sizeof(send_src), 0);
    pattern_fill(check_ref, sizeof(check_ref), 0);

    if (mode == MODE_POST) {
        request_len = (size_t)snprintf(request_buf, sizeof(request_buf),
            "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: loadgen\r\n"
            "Content-Type: application/octet-stream\r\n"
            "Content-Length: %llu\r\n\r\n", path, host_hdr, post_bytes);
    }
    else {
        request_len = (size_t)snprintf(request_buf, sizeof(request_buf),
            "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: loadgen\r\n\r\n",
            path, host_hdr);
    }
    if (request_len >= sizeof(request_buf)) {
        fprintf(stderr, "loadgen: URL too long\n");
        return 2;
    }

    epfd = epoll_create1(EPOLL_CLOEXEC);
    conns = calloc((size_t)nconns, sizeof(*conns));
    if (epfd < 0 || !conns) {
        perror("loadgen");
        return 1;
    }
    rss_sample(1);
    t_start = last_progress = now_us();
    window_start = t_start + (int64_t)(warmup * 1e6);
    window_end = window_start + (int64_t)(duration * 1e6);
    deadline = mode == MODE_BENCH ? window_end
                                  : t_start + (int64_t)(timeout_s * 1e6);
    for (i = 0; i < nconns; i++) {
        conns[i].fd = -1;
        conn_open(&conns[i]);
    }

    for (;;) {
        int64_t t = now_us();
        int timeout_ms, n;

        if (n_rss_pids && t >= next_rss) {
            rss_sample(0);
            next_rss = t + 50000;
        }
        if (t >= deadline || single_done) {
            break;
        }
        if (mode != MODE_BENCH && t - last_progress > (int64_t)(stall_s * 1e6)) {
            error_note("stalled: nothing moved for %.0f s", stall_s);
            break;
        }
        timeout_ms = (int)((deadline - t + 999) / 1000);
        if (mode != MODE_BENCH && timeout_ms > 1000) {
            timeout_ms = 1000; /* to notice a stall */
        }
        if (n_rss_pids && timeout_ms > (next_rss - t + 999) / 1000) {
            timeout_ms = (int)((next_rss - t + 999) / 1000);
        }
        n = epoll_wait(epfd, evs, 256, timeout_ms);
        if (n < 0 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            return 1;
        }
        for (i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;

            if (c->fd >= 0) {
                conn_event(c, evs[i].events);
            }
        }
    }
    if (n_rss_pids) {
        rss_sample(0);
    }

    if (mode == MODE_BENCH) {
        unsigned long long lo = ~0ULL, hi = 0;
        int served = 0, pending = 0;

        for (i = 0; i < nconns; i++) {
            if (conns[i].responses) {
                served++;
            }
            if (conns[i].responses < lo) lo = conns[i].responses;
            if (conns[i].responses > hi) hi = conns[i].responses;
            if (conns[i].in_flight) pending++;
        }
        printf("mode=bench conns=%d secs=%.3f requests=%llu rps=%.1f "
               "p50_us=%lld p99_us=%lld max_us=%lld served=%d "
               "min_per_conn=%llu max_per_conn=%llu errors=%llu "
               "reconnects=%llu pending=%d mbps=%.1f\n",
               nconns, duration, n_responses, (double)n_responses / duration,
               (long long)hist_percentile(50), (long long)hist_percentile(99),
               (long long)hist_max, served, lo, hi, n_errors, n_reconnects,
               pending, (double)n_body_bytes / duration / 1e6);
    }
    else if (mode == MODE_STREAM) {
        int64_t first;

        if (!single_done || t_done == 0) {
            error_note("no complete response");
        }
        if (n_delays == 0) {
            error_note("no timestamped line arrived");
        }
        char each[1024] = "-";
        size_t used = 0;

        for (i = 0; i < n_delays && used < sizeof(each) - 16; i++) {
            used += (size_t)snprintf(each + used, sizeof(each) - used, "%s%.3f",
                                     i ? "," : "", (double)delays[i] / 1e3);
        }
        first = n_delays ? delays[0] : -1;
        qsort(delays, (size_t)n_delays, sizeof(delays[0]), cmp_i64);
        printf("mode=stream lines=%d first_ms=%.3f p50_ms=%.3f max_ms=%.3f "
               "status=%d errors=%llu each_ms=%s\n", n_delays, (double)first / 1e3,
               n_delays ? (double)delays[(n_delays - 1) / 2] / 1e3 : -1.0,
               n_delays ? (double)delays[n_delays - 1] / 1e3 : -1.0,
               last_status, n_errors, each);
    }
    else {
        long base = 0, growth = rss_growth(&base);
        double secs = (double)((t_done ? t_done : now_us()) - t_start) / 1e6;
        unsigned long long bytes = mode == MODE_POST ? post_bytes
                                                     : conns[0].body_len;

        if (!single_done || t_done == 0) {
            error_note("no complete response");
        }
        if (mode == MODE_POST && t_done) {
            char want[64];

            snprintf(want, sizeof(want), "bytes=%llu pattern=ok", post_bytes);
            if (strncmp(answer, want, strlen(want)) != 0) {
                error_note("the upload arrived wrong: %s", answer);
            }
        }
        for (i = 0; answer[i]; i++) {
            if (answer[i] == ' ' || answer[i] == '\n' || answer[i] == '\r') {
                answer[i] = answer[i] == ' ' ? ',' : '\0';
            }
        }
        printf("mode=%s bytes=%llu secs=%.3f mbps=%.1f status=%d "
               "verified=%s errors=%llu rss_growth_kb=%ld rss_base_kb=%ld "
               "rss_pids=%d%s%s\n",
               mode == MODE_POST ? "post" : "get", bytes, secs,
               (double)bytes / secs / 1e6, last_status,
               mode == MODE_POST ? "responder" : verify ? (verify_failed
               ? "bad" : "yes") : "no", n_errors, growth, base, n_rss_pids,
               mode == MODE_POST ? " answer=" : "",
               mode == MODE_POST ? answer : "");
    }
    if (n_errors) {
        fprintf(stderr, "loadgen: %llu errors; the first: %s\n", n_errors,
                first_error);
    }
    return n_errors ? 1 : 0;
}
