/* A signed request replayed against another solver. Two solvers run side by side; a request a
 * client signed for solver A is captured and sent to solver B, as it is (Host: A) and with the
 * Host rewritten to B. B must refuse both (421: not its name; 401: the Host is signed), while
 * A takes the request. A version-1 request (which signed no Host) is refused with a line that
 * says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "solver_attack.h"

/* Sends a captured request head to solver `to`, Host replaced by `host` when not NULL. */
static int send_to(const struct atk_solver *to, const char *head, const char *from_host,
                   const char *host, char *body, size_t cap)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", head);
    if (host) {
        char *h = strstr(copy, from_host);
        char rest[4096];
        snprintf(rest, sizeof rest, "%s", h + strlen(from_host));
        snprintf(h, sizeof copy - (size_t)(h - copy), "%s%s", host, rest);
    }
    int fd = atk_connect(to, NULL);
    if (fd < 0)
        return 0;
    int st = 0;
    if (atk_send_all(fd, copy, strlen(copy)) == 0)
        st = atk_read_answer(fd, 3000u * ATK_SLOW, body, cap);
    close(fd);
    return st;
}

static void test_replay_against_another_solver(void **state)
{
    (void)state;
    struct atk_solver a, b;
    assert_int_equal(atk_start(&a, NULL), 0);
    assert_int_equal(atk_start(&b, NULL), 0);
    struct lp_key k;
    lp_key_generate(&k);
    char head[2048], body_as_is[1024], body_rewritten[1024];
    assert_int_equal(
        atk_signed_head(&k, "GET", "/api/v1/deals", a.host, a.host, NULL, 0, 0, head, sizeof head),
        0);
    int as_is = send_to(&b, head, a.host, NULL, body_as_is, sizeof body_as_is);
    int rewritten = send_to(&b, head, a.host, b.host, body_rewritten, sizeof body_rewritten);
    int at_a = send_to(&a, head, a.host, NULL, NULL, 0);

    /* A request in the old format (no version header, no Host signed). */
    char old[2048];
    snprintf(old, sizeof old, "%s", head);
    char *v = strstr(old, LP_SIGREQ_HDR_VERSION ": 2\r\n");
    memmove(v, v + strlen(LP_SIGREQ_HDR_VERSION ": 2\r\n"),
            strlen(v + strlen(LP_SIGREQ_HDR_VERSION ": 2\r\n")) + 1);
    char body_old[1024];
    int v1 = send_to(&a, old, a.host, NULL, body_old, sizeof body_old);
    atk_stop(&a);
    atk_stop(&b);
    if (as_is == 200 || rewritten == 200)
        fail_msg("solver B took a request signed for solver A (%d as is, %d with Host B)", as_is,
                 rewritten);
    assert_int_equal(as_is, 421);
    assert_non_null(strstr(body_as_is, "Host"));
    assert_int_equal(rewritten, 401);
    assert_int_equal(at_a, 200);
    assert_int_equal(v1, 400);
    assert_non_null(strstr(body_old, "version 1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_against_another_solver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
