/* The docker executor's pure decoders, without an engine: the log frame demultiplexer (frames
 * and headers split at every byte, both streams, offsets, a receiver that stops), and the
 * decoders of engine replies (inspect state and times, the pull progress stream with an error
 * inside a 200, error bodies of both engines, /version of both engines). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "docker.h"

struct sink {
    char data[4096];
    size_t len;
    size_t stop_after; /* 0: never */
};

static int take(void *arg, const void *p, size_t n)
{
    struct sink *s = arg;
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = '\0';
    return s->stop_after && s->len >= s->stop_after;
}

static size_t frame(uint8_t *out, int stream, const char *payload)
{
    size_t n = strlen(payload);
    uint8_t h[8] = {(uint8_t)stream,   0,         0, 0, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
                    (uint8_t)(n >> 8), (uint8_t)n};
    memcpy(out, h, 8);
    memcpy(out + 8, payload, n);
    return 8 + n;
}

static size_t sample(uint8_t *body)
{
    size_t len = 0;
    len += frame(body + len, 1, "first line\n");
    len += frame(body + len, 2, "an error\n");
    len += frame(body + len, 1, "");
    len += frame(body + len, 1, "second\n");
    len += frame(body + len, 3, "system");
    return len;
}

static void test_frames_split_everywhere(void **state)
{
    (void)state;
    uint8_t body[256];
    size_t len = sample(body);
    for (size_t piece = 1; piece <= len; piece++) {
        struct sink out = {0}, err = {0};
        struct dk_frames fo, fe;
        dk_frames_init(&fo, LP_STREAM_STDOUT, 0, take, &out);
        dk_frames_init(&fe, LP_STREAM_STDERR, 0, take, &err);
        for (size_t at = 0; at < len; at += piece) {
            size_t n = len - at < piece ? len - at : piece;
            dk_frames_feed(&fo, body + at, n);
            dk_frames_feed(&fe, body + at, n);
        }
        assert_string_equal(out.data, "first line\nsecond\n");
        assert_string_equal(err.data, "an error\n");
        assert_int_equal(fo.delivered, 18);
        assert_int_equal(fe.delivered, 9);
    }
}

static void test_frames_offset_and_stop(void **state)
{
    (void)state;
    uint8_t body[256];
    size_t len = sample(body);
    for (uint64_t skip = 0; skip <= 20; skip++) {
        struct sink out = {0};
        struct dk_frames f;
        dk_frames_init(&f, LP_STREAM_STDOUT, skip, take, &out);
        for (size_t at = 0; at < len; at += 3)
            dk_frames_feed(&f, body + at, len - at < 3 ? len - at : 3);
        const char *all = "first line\nsecond\n";
        assert_string_equal(out.data, skip < 18 ? all + skip : "");
        assert_int_equal(f.delivered, 18);
    }
    struct sink out = {.stop_after = 5};
    struct dk_frames f;
    dk_frames_init(&f, LP_STREAM_STDOUT, 0, take, &out);
    assert_int_equal(dk_frames_feed(&f, body, len), 1);
    assert_string_equal(out.data, "first line\n"); /* the piece that crossed the mark, no more */
}

static void test_inspect_and_times(void **state)
{
    (void)state;
    const char *body =
        "{\"State\":{\"Status\":\"exited\",\"Running\":false,\"OOMKilled\":true,\"ExitCode\":137,"
        "\"Error\":\"\",\"StartedAt\":\"2026-12-08T00:39:59.393193439Z\","
        "\"FinishedAt\":\"2026-12-08T02:40:00.5+02:00\"},\"HostConfig\":{\"Memory\":33554432},"
        "\"Config\":{\"Labels\":{\"io.lilypad.executor\":\"docker\","
        "\"io.lilypad.timeout-ms\":\"1500\"}}}";
    struct dk_state st;
    assert_int_equal(dk_parse_inspect(body, strlen(body), &st), 0);
    assert_string_equal(st.status, "exited");
    assert_false(st.running);
    assert_true(st.oom_killed);
    assert_int_equal(st.exit_code, 137);
    assert_int_equal(st.memory_limit, 33554432);
    assert_true(st.ours);
    assert_int_equal(st.timeout_ms, 1500);
    assert_int_equal(st.started_ns, UINT64_C(1796690399393193439));
    assert_int_equal(st.finished_ns, UINT64_C(1796690400500000000));
    assert_int_equal(dk_parse_time("0001-01-01T00:00:00Z"), 0);
    assert_int_equal(dk_parse_time("2026-12-08T00:39:59"), 0); /* no zone */
    assert_int_equal(dk_parse_inspect("[]", 2, &st), -1);
    assert_int_equal(dk_parse_inspect("{\"State\":1", 11, &st), -1);
}

static void test_progress_error_inside_200(void **state)
{
    (void)state;
    const char *stream = "{\"status\":\"Pulling from x\"}\n{\"status\":\"Downloading\","
                         "\"progressDetail\":{\"current\":1}}\n{\"errorDetail\":{\"message\":"
                         "\"manifest unknown\"},\"error\":\"manifest unknown: x\"}\n";
    struct dk_progress p = {0};
    for (const char *at = stream; *at; at++)
        dk_progress_feed(&p, at, 1);
    dk_progress_finish(&p);
    assert_true(p.failed);
    assert_string_equal(p.error, "manifest unknown");
    dk_progress_free(&p);

    struct dk_progress ok = {0};
    const char *load = "{\"stream\":\"Loaded image: lilypad-test/busybox:1\\n\"}";
    dk_progress_feed(&ok, load, strlen(load));
    dk_progress_finish(&ok);
    assert_false(ok.failed);
    assert_string_equal(ok.loaded, "Loaded image: lilypad-test/busybox:1");
    dk_progress_free(&ok);
}

static void test_errors_and_versions(void **state)
{
    (void)state;
    char out[128];
    const char *podman = "{\"cause\":\"image not known\",\"message\":\"no such image: x\","
                         "\"response\":404}";
    assert_int_equal(dk_parse_error_message(podman, strlen(podman), out, sizeof out), 0);
    assert_string_equal(out, "no such image: x");
    assert_int_equal(dk_parse_error_message("oops", 4, out, sizeof out), -1);
    bool is_podman;
    const char *v = "{\"Components\":[{\"Name\":\"Podman Engine\",\"Version\":\"4.3.1\"}],"
                    "\"Version\":\"4.3.1\"}";
    assert_int_equal(dk_parse_version(v, strlen(v), &is_podman, out, sizeof out), 0);
    assert_true(is_podman);
    assert_string_equal(out, "4.3.1");
    v = "{\"Components\":[{\"Name\":\"Engine\",\"Version\":\"20.10.24+dfsg1\"}],"
        "\"Version\":\"20.10.24+dfsg1\"}";
    assert_int_equal(dk_parse_version(v, strlen(v), &is_podman, out, sizeof out), 0);
    assert_false(is_podman);
    assert_string_equal(out, "20.10.24");
    assert_int_equal(dk_parse_api_version("1.41"), 41);
    assert_int_equal(dk_parse_api_version("1.45x"), -1);
    assert_int_equal(dk_parse_api_version("2.0"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_split_everywhere),
        cmocka_unit_test(test_frames_offset_and_stop),
        cmocka_unit_test(test_inspect_and_times),
        cmocka_unit_test(test_progress_error_inside_200),
        cmocka_unit_test(test_errors_and_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
