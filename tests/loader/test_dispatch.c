/* The dispatch layer (core/dispatch) against deliberately awkward plugins: required ops checked
 * at load time, optional ops past a short table reported and never read, LP_RETRY retried with
 * back-off and a cap, cancellation of a retrying call, the failure's text captured once, calls
 * serialised for a plugin that is not thread-safe, and a plugin built against ABI 1.0 working
 * through the 1.1 core. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "dispatch/executor.h"
#include "dispatch/storage.h"
#include "host/host.h"
#include "loader/backend.h"
#include "loader/loader.h"

static char *dir_list[] = {LP_TEST_PLUGIN_DIR};
static const struct lp_search_path test_path = {dir_list, 1};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void expect_incompatible(const char *concern, const char *name, const char *detail)
{
    struct lp_plugin_handle h;
    lp_plugin_open(&test_path, concern, name, &h);
    char expected[2048];
    snprintf(expected, sizeof expected, "plugin %s/%s (%s/%s_%s.so): %s", concern, name,
             LP_TEST_PLUGIN_DIR, concern, name, detail);
    assert_string_equal(lp_plugin_state_name(h.state), "INCOMPATIBLE");
    assert_string_equal(h.message, expected);
    lp_plugin_close(&h);
}

/* Opens <concern>/<name> from the test folder with the given configuration text. */
static struct lp_backend *open_backend(const char *concern, const char *name, const char *text,
                                       struct lp_config **cfg)
{
    char err[1024];
    *cfg = NULL;
    if (text != NULL && lp_config_load_string(text, "dispatch.cfg", cfg, err, sizeof err) != 0)
        fail_msg("config: %s", err);
    lp_loader_set_cli_path(LP_TEST_PLUGIN_DIR);
    struct lp_backend *b = NULL;
    if (lp_backend_open(*cfg, concern, name, &b, err, sizeof err) != 0)
        fail_msg("open %s/%s: %s", concern, name, err);
    lp_loader_set_cli_path(NULL);
    return b;
}

static void close_backend(struct lp_backend *b, struct lp_config *cfg)
{
    lp_backend_close(b);
    lp_config_free(cfg);
}

static void test_required_op_null(void **state)
{
    (void)state;
    expect_incompatible("executor", "nullsubmit",
                        "ops table lacks submit(), which every executor plugin must provide — "
                        "implement it (the required ops are listed in <lilypad/executor.h>)");
}

static void test_required_op_past_short_table(void **state)
{
    (void)state;
    expect_incompatible("executor", "tooshort",
                        "ops table is 56 bytes, too short to hold poll(), which every executor "
                        "plugin must provide — set ops_size to sizeof(struct lp_executor_ops) "
                        "(LP_PLUGIN_DEFINE does)");
}

static void test_optional_ops_past_short_table(void **state)
{
    (void)state;
    struct lp_config *cfg;
    struct lp_backend *b = open_backend("executor", "shortops", NULL, &cfg);
    struct lp_plugin_error pe;
    struct lp_job_handle h;
    struct lp_job_status st;
    struct lp_job_spec spec = {.struct_size = sizeof spec, .image = "x"};
    struct lp_job_limits limits = {.struct_size = sizeof limits};
    assert_int_equal(lp_executor_submit(b, &spec, NULL, NULL, &limits, &h, &pe), LP_OK);
    assert_string_equal(h.id, "job-1");
    /* wait() is past the table too: the dispatch polls instead */
    assert_int_equal(lp_executor_wait(b, &h, 1000, &st, &pe), LP_OK);
    assert_int_equal(st.state, LP_JOB_EXITED);
    assert_int_equal(st.exit_code, 7);
    assert_int_equal(lp_executor_cancel(b, &h, &pe), LP_ENOTSUP);
    assert_string_equal(pe.message, "executor/shortops: cancel: not supported by this plugin "
                                    "(version 0.0.1, ABI 1.0)");
    assert_int_equal(lp_executor_logs(b, &h, LP_STREAM_STDOUT, 0, NULL, NULL, NULL, &pe),
                     LP_ENOTSUP);
    assert_string_equal(pe.message, "executor/shortops: logs: not supported by this plugin "
                                    "(version 0.0.1, ABI 1.0)");
    struct lp_executor_info info;
    assert_int_equal(lp_executor_describe(b, &info, &pe), LP_ENOTSUP);
    assert_int_equal(info.attach, 0);
    assert_int_equal(lp_executor_release(b, &h, &pe), LP_ENOTSUP);
    close_backend(b, cfg);
}

static const struct lp_retry_policy fast = {
    .attempts = 4, .first_delay_ms = 10, .max_delay_ms = 20};

static void stat_detail(struct lp_backend *b, char *out, size_t len)
{
    struct lp_storage_stat st;
    struct lp_plugin_error pe;
    struct lp_cid cid = {"x"};
    assert_int_equal(lp_storage_stat(b, NULL, &cid, &st, &pe), LP_OK);
    snprintf(out, len, "%s", st.detail);
}

static void test_retry_then_success(void **state)
{
    (void)state;
    struct lp_config *cfg;
    struct lp_backend *b = open_backend(
        "storage", NULL, "storage: { backend = \"retry\"; retry: { fail_times = 2; }; };\n", &cfg);
    lp_backend_set_retry(b, &fast);
    struct lp_cid cid;
    struct lp_plugin_error pe;
    uint64_t t0 = mono_ms();
    assert_int_equal(lp_storage_put(b, NULL, "/nonexistent", &cid, &pe), LP_OK);
    assert_true(mono_ms() - t0 >= 10 + 20); /* backed off twice */
    assert_string_equal(cid.str, "bafkreitest3");
    char detail[128];
    stat_detail(b, detail, sizeof detail);
    assert_string_equal(detail, "calls=3 max_inside=1");
    close_backend(b, cfg);
}

static void test_retry_gives_up(void **state)
{
    (void)state;
    struct lp_config *cfg;
    struct lp_backend *b =
        open_backend("storage", NULL,
                     "storage: { backend = \"retry\"; retry: { fail_times = 100; }; };\n", &cfg);
    lp_backend_set_retry(b, &fast);
    struct lp_cid cid;
    struct lp_plugin_error pe;
    uint64_t t0 = mono_ms();
    assert_int_equal(lp_storage_put(b, NULL, "/x", &cid, &pe), LP_RETRY);
    uint64_t took = mono_ms() - t0;
    assert_true(took >= 10 + 20 + 20 && took < 1000); /* capped delays, a capped count */
    assert_int_equal(pe.rc, LP_RETRY);
    assert_string_equal(pe.message,
                        "storage/retry: put: still failing after 4 attempts: daemon busy (call 4)");
    char detail[128];
    stat_detail(b, detail, sizeof detail);
    assert_string_equal(detail, "calls=4 max_inside=1");
    close_backend(b, cfg);
}

struct fire_later {
    struct lp_cancel_token *token;
    unsigned ms;
};

static void *fire_later_main(void *arg)
{
    struct fire_later *f = arg;
    usleep(f->ms * 1000u);
    lp_cancel_token_fire(f->token);
    return NULL;
}

static void test_cancel_while_retrying(void **state)
{
    (void)state;
    struct lp_config *cfg;
    struct lp_backend *b =
        open_backend("storage", NULL,
                     "storage: { backend = \"retry\"; retry: { fail_times = 100; }; };\n", &cfg);
    const struct lp_retry_policy slow = {
        .attempts = 5, .first_delay_ms = 5000, .max_delay_ms = 5000};
    lp_backend_set_retry(b, &slow);
    struct lp_cancel_token parent, token;
    lp_cancel_token_init(&parent, NULL);
    lp_cancel_token_init(&token, &parent); /* firing the parent cancels the call */
    struct lp_call call;
    lp_call_init(&call, NULL, &token, 0);
    struct fire_later f = {&parent, 50};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fire_later_main, &f), 0);
    struct lp_cid cid;
    struct lp_plugin_error pe;
    uint64_t t0 = mono_ms();
    assert_int_equal(lp_storage_put(b, &call, "/x", &cid, &pe), LP_RETRY);
    assert_true(mono_ms() - t0 < 1000); /* not the 5 s back-off */
    pthread_join(t, NULL);
    assert_string_equal(pe.message,
                        "storage/retry: put: cancelled while retrying: daemon busy (call 1)");

    /* A token fired before the call: the plugin sees it through host->call_cancelled(). */
    assert_int_equal(lp_storage_put(b, &call, "/x", &cid, &pe), LP_ERR);
    assert_string_equal(pe.message, "storage/retry: put: cancelled before call 2");
    close_backend(b, cfg);
}

static void test_error_text_sources(void **state)
{
    (void)state;
    struct lp_config *cfg;
    struct lp_backend *b = open_backend(
        "storage", NULL,
        "storage: { backend = \"retry\"; retry: { fail_times = 1; mode = \"log\"; }; };\n", &cfg);
    struct lp_cid cid;
    struct lp_plugin_error pe;
    assert_int_equal(lp_storage_put(b, NULL, "/x", &cid, &pe), LP_ERR);
    assert_string_equal(pe.message, "storage/retry: put: logged reason (call 1)");
    close_backend(b, cfg);

    b = open_backend(
        "storage", NULL,
        "storage: { backend = \"retry\"; retry: { fail_times = 1; mode = \"silent\"; }; };\n",
        &cfg);
    assert_int_equal(lp_storage_put(b, NULL, "/x", &cid, &pe), LP_ERR);
    assert_string_equal(pe.message, "storage/retry: put: failed with rc -1 and gave no reason");
    /* an op the plugin lacks */
    assert_int_equal(lp_storage_pin(b, NULL, &cid, &pe), LP_ENOTSUP);
    assert_string_equal(
        pe.message, "storage/retry: pin: not supported by this plugin (version 0.0.1, ABI 1.2)");
    close_backend(b, cfg);
}

static void test_create_failure_explained_by_its_instance(void **state)
{
    (void)state;
    struct lp_config *cfg;
    char err[1024];
    assert_int_equal(lp_config_load_string(
                         "storage: { backend = \"retry\"; retry: { fail_create = true; }; };\n",
                         "dispatch.cfg", &cfg, err, sizeof err),
                     0);
    lp_loader_set_cli_path(LP_TEST_PLUGIN_DIR);
    struct lp_backend *b = NULL;
    assert_int_equal(lp_backend_open(cfg, "storage", NULL, &b, err, sizeof err), -1);
    lp_loader_set_cli_path(NULL);
    char expected[2048];
    snprintf(
        expected, sizeof expected,
        "plugin storage/retry (%s/storage_retry.so): create failed (rc -3): fail_create is set",
        LP_TEST_PLUGIN_DIR);
    assert_string_equal(err, expected);
    lp_config_free(cfg);
}

struct putter {
    struct lp_backend *b;
    int failures;
};

static void *putter_main(void *arg)
{
    struct putter *p = arg;
    for (int i = 0; i < 3; i++) {
        struct lp_cid cid;
        struct lp_plugin_error pe;
        if (lp_storage_put(p->b, NULL, "/x", &cid, &pe) != LP_OK)
            p->failures++;
    }
    return NULL;
}

static void test_serialised_unless_threadsafe(void **state)
{
    (void)state;
    struct lp_config *cfg;
    struct lp_backend *b = open_backend(
        "storage", NULL, "storage: { backend = \"retry\"; retry: { hold_ms = 10; }; };\n", &cfg);
    pthread_t t[4];
    struct putter p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = (struct putter){b, 0};
        assert_int_equal(pthread_create(&t[i], NULL, putter_main, &p[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(p[i].failures, 0);
    }
    char detail[128];
    stat_detail(b, detail, sizeof detail);
    assert_string_equal(detail, "calls=12 max_inside=1");
    close_backend(b, cfg);
}

struct collect {
    char text[256];
    size_t len;
};

static int collect_write(void *arg, const void *data, size_t len)
{
    struct collect *c = arg;
    if (c->len + len >= sizeof c->text)
        return 1;
    memcpy(c->text + c->len, data, len);
    c->len += len;
    c->text[c->len] = '\0';
    return 0;
}

static void test_abi_1_0_plugin_through_1_1_core(void **state)
{
    (void)state;
    struct lp_config *cfg;
    struct lp_backend *b = open_backend("executor", "abi10", NULL, &cfg);
    const struct lp_plugin *d = lp_backend_descriptor(b);
    assert_int_equal(d->abi_major, 1);
    assert_int_equal(d->abi_minor, 0);
    struct lp_plugin_error pe;
    struct lp_gpu_device none[1];
    memset(none, 0, sizeof none);
    struct lp_job_spec spec = {.struct_size = sizeof spec, .image = "busybox"};
    struct lp_job_limits limits = {.struct_size = sizeof limits, .gpu_devices = none};
    struct lp_job_handle h;
    assert_int_equal(lp_executor_submit(b, &spec, NULL, NULL, &limits, &h, &pe), LP_OK);
    assert_string_equal(h.id, "abi10-1");
    struct lp_job_status st;
    memset(&st, 0xa5, sizeof st); /* anything the plugin does not write must come back zero */
    assert_int_equal(lp_executor_wait(b, &h, 1000, &st, &pe), LP_OK);
    assert_int_equal(st.state, LP_JOB_EXITED);
    assert_string_equal(st.message, "ran in memory");
    assert_int_equal(st.struct_size, sizeof st);
    assert_int_equal(st.peak_memory_bytes, 0);
    assert_int_equal(st.cpu_time_ns, 0);
    assert_int_equal(st.oom_killed, 0);

    /* logs from an offset, through the 1.0 logs() that always starts at byte 0 */
    const char *all = "line one from a 1.0 plugin\nline two\n";
    struct collect c = {.len = 0};
    uint64_t next = 0;
    assert_int_equal(lp_executor_logs(b, &h, LP_STREAM_STDOUT, 0, collect_write, &c, &next, &pe),
                     LP_OK);
    assert_string_equal(c.text, all);
    assert_int_equal(next, strlen(all));
    for (uint64_t off = 1; off <= strlen(all); off += 5) {
        c = (struct collect){.len = 0};
        assert_int_equal(
            lp_executor_logs(b, &h, LP_STREAM_STDOUT, off, collect_write, &c, &next, &pe), LP_OK);
        assert_string_equal(c.text, all + off);
        assert_int_equal(next, strlen(all));
    }
    struct lp_executor_info info;
    assert_int_equal(lp_executor_describe(b, &info, &pe), LP_ENOTSUP);
    size_t removed = 99;
    assert_int_equal(lp_executor_reclaim(b, "0xab", NULL, 0, &removed, &pe), LP_ENOTSUP);
    assert_int_equal(removed, 0);
    assert_int_equal(lp_executor_release(b, &h, &pe), LP_OK);
    close_backend(b, cfg);
}

/* ABI 1.2: submit() sees who runs the job and for which deal; reclaim() removes that owner's
 * jobs but those kept, and is refused without an owner. */
static void test_reclaim_by_owner(void **state)
{
    (void)state;
    struct lp_config *cfg;
    struct lp_backend *b = open_backend("executor", "reclaim", NULL, &cfg);
    struct lp_plugin_error pe;
    struct lp_job_limits limits = {.struct_size = sizeof limits};
    const char *owners[] = {"0xaa", "0xaa", "0xbb", "0xaa"};
    struct lp_job_handle h[4];
    for (size_t i = 0; i < 4; i++) {
        char deal[16];
        snprintf(deal, sizeof deal, "0xd%zu", i);
        struct lp_job_spec spec = {
            .struct_size = sizeof spec, .image = "x", .owner = owners[i], .job_id = deal};
        assert_int_equal(lp_executor_submit(b, &spec, NULL, NULL, &limits, &h[i], &pe), LP_OK);
    }
    struct lp_job_status st;
    assert_int_equal(lp_executor_poll(b, &h[2], &st, &pe), LP_OK);
    assert_string_equal(st.message, "0xd2 for 0xbb");

    size_t removed = 0;
    assert_int_equal(lp_executor_reclaim(b, "0xaa", &h[1], 1, &removed, &pe), LP_OK);
    assert_int_equal(removed, 2); /* h[0] and h[3]; h[1] kept, h[2] someone else's */
    assert_int_equal(lp_executor_poll(b, &h[0], &st, &pe), LP_EINVAL);
    assert_int_equal(lp_executor_poll(b, &h[1], &st, &pe), LP_OK);
    assert_int_equal(lp_executor_poll(b, &h[2], &st, &pe), LP_OK);
    assert_int_equal(lp_executor_poll(b, &h[3], &st, &pe), LP_EINVAL);
    assert_int_equal(lp_executor_reclaim(b, "0xaa", NULL, 0, &removed, &pe), LP_OK);
    assert_int_equal(removed, 1);

    assert_int_equal(lp_executor_reclaim(b, "", NULL, 0, &removed, &pe), LP_EINVAL);
    assert_non_null(strstr(pe.message, "no owner given"));
    close_backend(b, cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required_op_null),
        cmocka_unit_test(test_required_op_past_short_table),
        cmocka_unit_test(test_optional_ops_past_short_table),
        cmocka_unit_test(test_retry_then_success),
        cmocka_unit_test(test_retry_gives_up),
        cmocka_unit_test(test_cancel_while_retrying),
        cmocka_unit_test(test_error_text_sources),
        cmocka_unit_test(test_serialised_unless_threadsafe),
        cmocka_unit_test(test_create_failure_explained_by_its_instance),
        cmocka_unit_test(test_abi_1_0_plugin_through_1_1_core),
        cmocka_unit_test(test_reclaim_by_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
