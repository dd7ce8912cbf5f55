/* Client errors that need no solver: refused arguments and an unreachable solver give a clear
 * line and status 0 (the HTTP paths are covered by test_solver_http); a cancel token ends a
 * long-poll at once. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"

static void test_bad_arguments(void **state)
{
    (void)state;
    struct lp_key k;
    assert_int_equal(lp_key_generate(&k), 0);
    assert_null(lp_client_new("ftp://127.0.0.1:1", &k, 1000));
    assert_null(lp_client_new(NULL, &k, 1000));
    struct lp_client *c = lp_client_new("http://127.0.0.1:1/", &k, 1000);
    assert_non_null(c);
    assert_memory_equal(lp_client_address(c), k.address, 20);
    uint8_t id[32] = {0}, *data = NULL;
    size_t len = 0;
    struct lp_client_error err;
    assert_int_equal(lp_client_download(c, id, "secrets", &data, &len, &err), -1);
    assert_non_null(strstr(err.message, "inputs"));
    struct lp_wire_object deal = {.kind = LP_WIRE_DEAL};
    assert_int_equal(lp_client_post_object(c, &deal, NULL, NULL, NULL, &err), -1);
    assert_non_null(strstr(err.message, "takes no deal"));
    lp_client_free(c);
}

static void test_unreachable_solver(void **state)
{
    (void)state;
    struct lp_key k;
    lp_key_generate(&k);
    /* port 1 on loopback: nothing listens, the connection is refused at once */
    struct lp_client *c = lp_client_new("http://127.0.0.1:1", &k, 2000);
    json_t *j = NULL;
    struct lp_client_error err;
    assert_int_equal(lp_client_list_deals(c, false, &j, &err), -1);
    assert_int_equal(err.status, 0);
    assert_non_null(strstr(err.message, "cannot reach the solver at http://127.0.0.1:1"));
    assert_non_null(strstr(err.message, "GET /api/v1/deals"));
    lp_client_free(c);
}

static void test_json_id(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s,s:s,s:i}", "ok",
                          "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                          "short", "0x1234", "num", 5);
    uint8_t id[32];
    assert_int_equal(lp_client_json_id(o, "ok", id), 0);
    assert_int_equal(id[1], 0x11);
    assert_int_equal(lp_client_json_id(o, "short", id), -1);
    assert_int_equal(lp_client_json_id(o, "num", id), -1);
    assert_int_equal(lp_client_json_id(o, "missing", id), -1);
    json_decref(o);
}

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void *fire_later(void *arg)
{
    usleep(150 * 1000);
    lp_client_cancel_fire(arg);
    return NULL;
}

/* A "solver" that takes the connection (kernel backlog) and never answers: a long-poll on it
 * waits for its whole timeout unless the token ends it. */
static void test_cancel_long_poll(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    struct lp_key k;
    lp_key_generate(&k);
    struct lp_client *c = lp_client_new(url, &k, 2000);
    struct lp_client_cancel *t = lp_client_cancel_new();
    json_t *evs = NULL;
    uint64_t next = 0;
    struct lp_client_error err;
    pthread_t th;
    pthread_create(&th, NULL, fire_later, t);
    double t0 = mono_ms();
    assert_int_equal(lp_client_events_cancellable(c, 0, 30, t, &evs, &next, &err), -1);
    double took = mono_ms() - t0;
    pthread_join(th, NULL);
    assert_int_equal(err.status, LP_CLIENT_CANCELLED);
    assert_non_null(strstr(err.message, "cancelled"));
    assert_true(took >= 140 && took < 1000); /* not the 1 s of an idle progress callback */
    assert_true(lp_client_cancel_fired(t));
    /* Still fired: the next request returns at once; after a reset it waits again. */
    t0 = mono_ms();
    assert_int_equal(lp_client_events_cancellable(c, 0, 30, t, &evs, &next, &err), -1);
    assert_int_equal(err.status, LP_CLIENT_CANCELLED);
    assert_true(mono_ms() - t0 < 100);
    lp_client_cancel_reset(t);
    assert_false(lp_client_cancel_fired(t));
    lp_client_cancel_free(t);
    lp_client_free(c);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_unreachable_solver),
        cmocka_unit_test(test_json_id),
        cmocka_unit_test(test_cancel_long_poll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
