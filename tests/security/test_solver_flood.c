/* Attacks on the solver's connections: idle sockets, a slowloris header, and a flood of signed
 * event long-polls. Each must leave /healthz answering within 100 ms and signed requests of
 * other clients served, and the attacker's excess refused: by the per-IP connection limit,
 * the header timeout, and the per-address cap on long-polls (429 with a hint). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "solver_attack.h"

#define HEALTHZ_MS (100u * ATK_SLOW)

static void flood_config(struct lp_solver_config *c)
{
    c->header_timeout_ms = 600000; /* idle sockets stay: the test is that they cost nothing */
    c->max_connections_per_ip = 64;
    c->max_long_polls = 4;
}

static void close_all(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
    }
}

/* 300 idle TCP connections from five addresses (under the per-IP limit each), then 100 more
 * from one address (over it). */
static void test_idle_connections(void **state)
{
    (void)state;
    struct atk_solver a;
    assert_int_equal(atk_start(&a, flood_config), 0);
    int fds[400];
    size_t n = 0;
    const char *from[] = {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"};
    for (int ip = 0; ip < 5; ip++) {
        for (int i = 0; i < 60; i++) {
            fds[n] = atk_connect(&a, from[ip]);
            assert_true(fds[n] >= 0);
            n++;
        }
    }
    uint64_t worst = 0;
    bool fast = atk_healthz_fast(&a, 20, HEALTHZ_MS, &worst);
    /* A signed request of a client that is not the attacker. */
    struct lp_key k;
    lp_key_generate(&k);
    char answer[512];
    int st =
        atk_signed(&a, &k, "GET", "/api/v1/deals", NULL, 0, 2000 * ATK_SLOW, answer, sizeof answer);

    /* 100 more from one address: the ones beyond max_connections_per_ip are closed at once. */
    size_t first = n;
    for (int i = 0; i < 100; i++) {
        fds[n] = atk_connect(&a, "127.0.0.7");
        n++;
    }
    int cut = 0;
    for (size_t i = first; i < n; i++) {
        if (fds[i] < 0 || atk_closed_within(fds[i], 20))
            cut++;
    }
    /* Give the server a moment on the last ones, then count again. */
    for (size_t i = first; cut < 36 && i < n; i++) {
        if (fds[i] >= 0 && atk_closed_within(fds[i], 100 * ATK_SLOW))
            cut++;
    }
    close_all(fds, n);
    atk_stop(&a);
    assert_true(fast);
    assert_int_equal(st, 200);
    if (cut < 36)
        fail_msg("only %d of 100 connections from one address were refused (limit 64)", cut);
}

/* A header sent one byte at a time, never finished: closed after the header timeout. */
static void slow_config(struct lp_solver_config *c)
{
    c->header_timeout_ms = 1000;
    c->idle_timeout_ms = 30000;
}

static void test_slowloris(void **state)
{
    (void)state;
    struct atk_solver a;
    assert_int_equal(atk_start(&a, slow_config), 0);
    int fd = atk_connect(&a, "127.0.0.2");
    assert_true(fd >= 0);
    const char *start = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    assert_int_equal(atk_send_all(fd, start, strlen(start)), 0);
    const char drip[] = "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    bool closed = false;
    uint64_t t0 = atk_mono_ms(), limit = 8000u * ATK_SLOW;
    for (size_t i = 0; !closed && atk_mono_ms() - t0 < limit; i = (i + 1) % (sizeof drip - 1)) {
        if (atk_send_all(fd, &drip[i], 1) != 0) {
            closed = true;
            break;
        }
        closed = atk_closed_within(fd, 300);
    }
    uint64_t took = atk_mono_ms() - t0;
    close(fd);
    atk_stop(&a);
    if (!closed)
        fail_msg("a header dribbled for %llu ms was never cut (header_timeout 1 s)",
                 (unsigned long long)took);
}

/* 256 signed long-polls from two keys, spread over eight addresses. */
static void test_long_poll_flood(void **state)
{
    (void)state;
    struct atk_solver a;
    assert_int_equal(atk_start(&a, flood_config), 0);
    struct lp_key keys[2];
    lp_key_generate(&keys[0]);
    lp_key_generate(&keys[1]);
    enum { N = 256 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        char from[16], head[2048];
        snprintf(from, sizeof from, "127.0.0.%d", 2 + i % 8);
        fds[i] = atk_connect(&a, from);
        assert_true(fds[i] >= 0);
        assert_int_equal(atk_signed_head(&keys[i % 2], "GET", "/api/v1/events?cursor=0&wait=60",
                                         a.host, a.host, NULL, 0, 0, head, sizeof head),
                         0);
        assert_int_equal(atk_send_all(fds[i], head, strlen(head)), 0);
    }
    /* Every long-poll beyond four per key is refused at once; four per key wait. */
    int refused = 0, waiting = 0, other = 0, other_status = 0;
    char other_body[256] = "";
    bool hint = false;
    /* One deadline for all (and 100 ms at least for each read): the refusals are there by then,
     * and the waiting ones (wait=60) are still waiting; a timeout per read added up past their
     * wait in sanitizer builds. */
    uint64_t answers_by = atk_mono_ms() + 1000u * ATK_SLOW;
    for (int i = 0; i < N; i++) {
        char body[1024];
        uint64_t now = atk_mono_ms();
        uint64_t left = answers_by > now ? answers_by - now : 0;
        int st = atk_read_answer(fds[i], left > 100 ? left : 100, body, sizeof body);
        if (st == 429) {
            refused++;
            hint = hint || (strstr(body, "long-poll") && strstr(body, "hint"));
        } else if (st == 0) {
            waiting++;
        } else {
            if (other++ == 0) {
                other_status = st;
                snprintf(other_body, sizeof other_body, "%s", body);
            }
        }
    }
    uint64_t worst = 0;
    bool fast = atk_healthz_fast(&a, 20, HEALTHZ_MS, &worst);
    struct lp_key k;
    lp_key_generate(&k);
    int st = atk_signed(&a, &k, "GET", "/api/v1/deals", NULL, 0, 2000 * ATK_SLOW, NULL, 0);
    /* A new long-poll of a third key is taken (it answers when its wait is over). */
    int fd = atk_connect(&a, "127.0.0.1");
    char head[2048];
    atk_signed_head(&k, "GET", "/api/v1/events?cursor=0&wait=1", a.host, a.host, NULL, 0, 0, head,
                    sizeof head);
    atk_send_all(fd, head, strlen(head));
    int third = atk_read_answer(fd, 5000u * ATK_SLOW, NULL, 0);
    close(fd);
    /* Stopping answers the suspended long-polls: it must not hang on them. */
    atk_stop(&a);
    close_all(fds, N);
    assert_true(fast);
    assert_int_equal(st, 200);
    assert_int_equal(third, 200);
    if (other != 0)
        fail_msg("%d long-polls got neither 429 nor a wait; the first: %d %s", other, other_status,
                 other_body);
    assert_int_equal(waiting, 8);
    assert_int_equal(refused, N - 8);
    assert_true(hint);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_connections),
        cmocka_unit_test(test_slowloris),
        cmocka_unit_test(test_long_poll_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
