/* A TCP proxy in front of the in-process solver for the provider's delivery tests: it passes
 * every request through, except the provider's outputs upload (PUT /api/v1/deals/ID/outputs)
 * and result (POST /api/v1/deals/ID/result), which it can hold unanswered (a solver or network
 * that stalls, so the provider can be killed between its journal's steps), and the upload,
 * which it can answer 503 a number of times (a solver failing for a while). One thread per
 * connection; header-only. */
#ifndef LP_TEST_SOLVER_PROXY_H
#define LP_TEST_SOLVER_PROXY_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct solver_proxy {
    int listen_fd;
    uint16_t upstream_port;
    char url[64];
    pthread_t thread;
    atomic_bool stop;
    atomic_bool hold_uploads; /* leave outputs uploads unanswered */
    atomic_bool hold_results; /* leave result posts unanswered */
    atomic_int results_held;
    atomic_int fail_uploads;   /* answer this many outputs uploads with 503 */
    atomic_int uploads_seen;   /* outputs uploads that reached the proxy */
    atomic_int uploads_held;   /* ... of which held */
    atomic_int uploads_failed; /* ... answered 503 */
};

struct proxy_conn {
    struct solver_proxy *px;
    int fd;
};

static void proxy_pump(int a, int b, const atomic_bool *stop)
{
    char buf[65536];
    while (!*stop) {
        struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
        if (poll(p, 2, 200) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n <= 0)
                return;
            int to = i == 0 ? b : a;
            for (ssize_t done = 0; done < n;) {
                ssize_t w = write(to, buf + done, (size_t)(n - done));
                if (w <= 0)
                    return;
                done += w;
            }
        }
    }
}

/* Reads until the end of the request's head; the bytes read (head and any body after it) are
 * in buf. -1 when the client went away. */
static ssize_t proxy_read_head(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            return (ssize_t)len;
    }
    return (ssize_t)len;
}

static void *proxy_conn_main(void *arg)
{
    struct proxy_conn *c = arg;
    struct solver_proxy *px = c->px;
    char *head = malloc(1 << 16);
    ssize_t len = head ? proxy_read_head(c->fd, head, 1 << 16) : -1;
    bool upload = len > 0 && strncmp(head, "PUT /api/v1/deals/", 18) == 0 &&
                  strstr(head, "/outputs HTTP/") != NULL;
    bool result = len > 0 && strncmp(head, "POST /api/v1/deals/", 19) == 0 &&
                  strstr(head, "/result HTTP/") != NULL;
    if (upload)
        atomic_fetch_add(&px->uploads_seen, 1);
    bool hold =
        (upload && atomic_load(&px->hold_uploads)) || (result && atomic_load(&px->hold_results));
    if (hold) {
        atomic_fetch_add(upload ? &px->uploads_held : &px->results_held, 1);
        /* Read and drop what comes, answering nothing, until the client leaves. */
        char sink[65536];
        while (!px->stop) {
            struct pollfd p = {.fd = c->fd, .events = POLLIN};
            if (poll(&p, 1, 200) > 0 && read(c->fd, sink, sizeof sink) <= 0)
                break;
        }
    } else if (len > 0 && upload && atomic_load(&px->fail_uploads) > 0) {
        atomic_fetch_sub(&px->fail_uploads, 1);
        atomic_fetch_add(&px->uploads_failed, 1);
        static const char body[] = "{\"error\":\"the solver is failing\"}";
        char answer[256];
        int n = snprintf(answer, sizeof answer,
                         "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         sizeof body - 1, body);
        (void)!write(c->fd, answer, (size_t)n);
        shutdown(c->fd, SHUT_WR);
        char sink[65536];
        while (read(c->fd, sink, sizeof sink) > 0)
            ;
    } else if (len > 0) {
        int up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(px->upstream_port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (up >= 0 && connect(up, (struct sockaddr *)&a, sizeof a) == 0 &&
            write(up, head, (size_t)len) == len)
            proxy_pump(c->fd, up, &px->stop);
        if (up >= 0)
            close(up);
    }
    close(c->fd);
    free(head);
    free(c);
    return NULL;
}

static void *proxy_main(void *arg)
{
    struct solver_proxy *px = arg;
    while (!px->stop) {
        struct pollfd p = {.fd = px->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept4(px->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct proxy_conn *c = malloc(sizeof *c);
        pthread_t t;
        if (!c) {
            close(fd);
            continue;
        }
        c->px = px;
        c->fd = fd;
        if (pthread_create(&t, NULL, proxy_conn_main, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

/* Binds the proxy's listening socket (its URL is then px->url), before the solver starts: the
 * solver must be told to answer to the proxy's name (requests are signed for the Host the
 * client addresses, and a reverse proxy passes it through). 0 or -1. */
static __attribute__((unused)) int solver_proxy_bind(struct solver_proxy *px)
{
    memset(px, 0, sizeof *px);
    px->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (px->listen_fd < 0 || bind(px->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(px->listen_fd, 64) != 0 ||
        getsockname(px->listen_fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    snprintf(px->url, sizeof px->url, "http://127.0.0.1:%u", ntohs(a.sin_port));
    return 0;
}

/* Starts forwarding what the bound proxy takes to http://127.0.0.1:upstream_port. 0 or -1. */
static __attribute__((unused)) int solver_proxy_run(struct solver_proxy *px, uint16_t upstream_port)
{
    px->upstream_port = upstream_port;
    return pthread_create(&px->thread, NULL, proxy_main, px) == 0 ? 0 : -1;
}

/* Stops accepting; connections in flight end within 200 ms (they are detached). */
static __attribute__((unused)) void solver_proxy_stop(struct solver_proxy *px)
{
    px->stop = true;
    pthread_join(px->thread, NULL);
    close(px->listen_fd);
    usleep(400000); /* the detached connection threads notice the stop */
}

#endif
