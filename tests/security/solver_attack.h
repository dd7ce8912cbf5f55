/* Shared by the solver's security tests: an in-process solver on an ephemeral loopback port,
 * raw sockets from a chosen loopback source address (an attacker is not the operator's
 * monitor), hand-made signed requests, and the /healthz round trip the tests time. Every wait
 * is bounded; bounds are loose under sanitizers, which slow everything down 5-15x. */
#ifndef LP_TEST_SOLVER_ATTACK_H
#define LP_TEST_SOLVER_ATTACK_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/key.h"
#include "solver/http.h"
#include "solver/solver.h"
#include "wire/sigreq.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ATK_SLOW 10 /* sanitizer builds: every time bound times ten */
#else
#define ATK_SLOW 1
#endif

struct atk_solver {
    char dir[64];
    struct lp_solver *s;
    struct lp_solver_http *h;
    uint16_t port;
    char host[32]; /* "127.0.0.1:PORT", what requests are signed for */
};

static inline uint64_t atk_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline uint64_t atk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Defaults with a fresh database in a temp folder; `tweak` adjusts the config before open. */
static inline int atk_start(struct atk_solver *a, void (*tweak)(struct lp_solver_config *))
{
    memset(a, 0, sizeof *a);
    snprintf(a->dir, sizeof a->dir, "/tmp/lp-sec-solver-XXXXXX");
    if (!mkdtemp(a->dir))
        return -1;
    char db[128], files[128], err[512];
    snprintf(db, sizeof db, "%s/solver.db", a->dir);
    snprintf(files, sizeof files, "%s/files", a->dir);
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.db_path = db;
    cfg.files_dir = files;
    cfg.create_db = true;
    cfg.rate_limit = 0;
    cfg.tick_ms = 100;
    if (tweak)
        tweak(&cfg);
    struct lp_key ks;
    lp_key_generate(&ks);
    if (lp_solver_open(&cfg, &ks, &a->s, err, sizeof err) != 0 ||
        lp_solver_http_start(a->s, "127.0.0.1:0", &a->h, err, sizeof err) != 0) {
        fprintf(stderr, "solver: %s\n", err);
        return -1;
    }
    a->port = lp_solver_http_port(a->h);
    snprintf(a->host, sizeof a->host, "127.0.0.1:%u", a->port);
    return 0;
}

static inline void atk_stop(struct atk_solver *a)
{
    if (a->s)
        lp_solver_interrupt(a->s);
    lp_solver_http_stop(a->h);
    lp_solver_close(a->s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", a->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", a->dir);
    memset(a, 0, sizeof *a);
}

/* A TCP connection to the solver from source address `from` ("127.0.0.2"; NULL: any). -1 when
 * it cannot connect. */
static inline int atk_connect(const struct atk_solver *a, const char *from)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (from) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        inet_pton(AF_INET, from, &src.sin_addr);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(a->port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static inline int atk_send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads an HTTP answer until it is complete (Content-Length) or the peer closes, for at most
 * timeout_ms. Returns the status (0: none in time), the body copied into body (may be NULL). */
static inline int atk_read_answer(int fd, uint64_t timeout_ms, char *body, size_t cap)
{
    char buf[65536];
    size_t n = 0;
    uint64_t deadline = atk_mono_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            sscanf(buf, "HTTP/1.%*d %d", &status);
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
            size_t have = n - (size_t)(end + 4 - buf);
            if (!cl || have >= want) {
                if (body && cap) {
                    size_t k = have < cap - 1 ? have : cap - 1;
                    memcpy(body, end + 4, k);
                    body[k] = '\0';
                }
                return status;
            }
        }
        uint64_t now = atk_mono_ms();
        if (now >= deadline || n + 1 >= sizeof buf)
            return status;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(deadline - now)) <= 0)
            return status;
        ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (r <= 0) {
            buf[n] = '\0';
            if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
                status = 0;
            if (body && cap)
                body[0] = '\0';
            return status;
        }
        n += (size_t)r;
    }
}

/* Whether the server closed fd within timeout_ms (reads and drops whatever comes first). */
static inline bool atk_closed_within(int fd, uint64_t timeout_ms)
{
    uint64_t deadline = atk_mono_ms() + timeout_ms;
    char buf[4096];
    for (;;) {
        uint64_t now = atk_mono_ms();
        if (now >= deadline)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(deadline - now)) <= 0)
            continue;
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            return true;
    }
}

/* The request head of a signed request (Host and every X-Lilypad-* header) for `body`, signed
 * for `sign_host` and sent with `host` in the Host header. */
static inline int atk_signed_head(const struct lp_key *key, const char *method, const char *target,
                                  const char *sign_host, const char *host, const void *body,
                                  size_t len, size_t content_length, char *out, size_t cap)
{
    struct lp_sigreq_headers h;
    struct lp_wire_error we;
    if (lp_sigreq_sign(key, method, sign_host, target, body, len, atk_now_ms(), NULL, &h, &we) != 0)
        return -1;
    snprintf(out, cap,
             "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n%s: %s\r\n%s: %s\r\n%s: %s\r\n"
             "%s: %s\r\n%s: %s\r\n%s: %s\r\n\r\n",
             method, target, host, content_length, LP_SIGREQ_HDR_VERSION, h.version,
             LP_SIGREQ_HDR_ADDRESS, h.address, LP_SIGREQ_HDR_TIMESTAMP, h.timestamp,
             LP_SIGREQ_HDR_NONCE, h.nonce, LP_SIGREQ_HDR_BODY_KECCAK, h.body_keccak,
             LP_SIGREQ_HDR_SIGNATURE, h.signature);
    return 0;
}

/* One signed request on a new connection; the answer's status (0: none in time). */
static inline int atk_signed(const struct atk_solver *a, const struct lp_key *key,
                             const char *method, const char *target, const void *body, size_t len,
                             uint64_t timeout_ms, char *answer, size_t cap)
{
    char head[2048];
    if (atk_signed_head(key, method, target, a->host, a->host, body, len, len, head, sizeof head))
        return 0;
    int fd = atk_connect(a, NULL);
    if (fd < 0)
        return 0;
    int status = 0;
    if (atk_send_all(fd, head, strlen(head)) == 0 && (len == 0 || atk_send_all(fd, body, len) == 0))
        status = atk_read_answer(fd, timeout_ms, answer, cap);
    close(fd);
    return status;
}

/* GET /healthz from 127.0.0.1 on a new connection; its status, and in *ms how long it took. */
static inline int atk_healthz(const struct atk_solver *a, uint64_t timeout_ms, uint64_t *ms)
{
    uint64_t t0 = atk_mono_ms();
    int fd = atk_connect(a, "127.0.0.1");
    int status = 0;
    if (fd >= 0) {
        char req[128];
        snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", a->host);
        if (atk_send_all(fd, req, strlen(req)) == 0)
            status = atk_read_answer(fd, timeout_ms, NULL, 0);
        close(fd);
    }
    *ms = atk_mono_ms() - t0;
    return status;
}

/* /healthz `n` times; fails the calling test (returns false) unless every answer is 200 within
 * limit_ms. The slowest goes to *worst. */
static inline bool atk_healthz_fast(const struct atk_solver *a, int n, uint64_t limit_ms,
                                    uint64_t *worst)
{
    *worst = 0;
    for (int i = 0; i < n; i++) {
        uint64_t ms = 0;
        int st = atk_healthz(a, limit_ms * 20, &ms);
        if (ms > *worst)
            *worst = ms;
        if (st != 200 || ms > limit_ms) {
            fprintf(stderr, "/healthz #%d: status %d after %llu ms (limit %llu ms)\n", i, st,
                    (unsigned long long)ms, (unsigned long long)limit_ms);
            return false;
        }
    }
    return true;
}

#endif
