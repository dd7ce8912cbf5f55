/* The network attack's tool inside a job (tests/security/test_network.c): busybox cannot open
 * an abstract unix socket, nor say why a connection failed. Built static, as the job's image
 * holds nothing but busybox.
 *
 *   net_probe tcp ADDR PORT    connect to an IPv4 address
 *   net_probe unix NAME        connect to the abstract unix socket "@NAME"
 *
 * Prints one line per probe: "PROBE open: GREETING" (the first line the server sent) or
 * "PROBE blocked: REASON"; exits 0 either way (the test reads the lines). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static void probe(const char *what, int fd, const struct sockaddr *addr, socklen_t len)
{
    /* Bounded: a dropped packet must not hang the job (connect honours SO_SNDTIMEO). */
    struct timeval tv = {.tv_sec = 3};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, addr, len) != 0) {
        printf("%s blocked: %s\n", what, strerror(errno));
        return;
    }
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n <= 0) {
        printf("%s blocked: connected, but no greeting (%s)\n", what,
               n == 0 ? "closed" : strerror(errno));
        return;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    printf("%s open: %s\n", what, buf);
}

int main(int argc, char **argv)
{
    char what[160];
    if (argc == 4 && strcmp(argv[1], "tcp") == 0) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
        snprintf(what, sizeof what, "tcp %s:%s", argv[2], argv[3]);
        if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) {
            printf("%s blocked: not an IPv4 address\n", what);
            return 0;
        }
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        probe(what, fd, (const struct sockaddr *)&a, sizeof a);
        close(fd);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "unix") == 0) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        size_t n = strlen(argv[2]);
        if (n + 1 > sizeof a.sun_path)
            return 2;
        memcpy(a.sun_path + 1, argv[2], n); /* sun_path[0] = '\0': abstract */
        snprintf(what, sizeof what, "unix @%s", argv[2]);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        probe(what, fd, (const struct sockaddr *)&a,
              (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n));
        close(fd);
        return 0;
    }
    fprintf(stderr, "usage: net_probe tcp ADDR PORT | net_probe unix NAME\n");
    return 2;
}
