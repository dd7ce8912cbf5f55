/* Client errors that need no solver: refused arguments and an unreachable solver give a clear
 * line and status 0 (the HTTP paths are covered by test_solver_http). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_unreachable_solver),
        cmocka_unit_test(test_json_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
