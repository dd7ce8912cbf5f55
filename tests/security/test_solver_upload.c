/* Attacks through uploads: bodies sent to a solver that has not yet said whether it takes them
 * (unsigned, badly signed, held open by the dozen), uploads past a quota, and the first
 * uploader of some bytes trying to keep them from the next one. A request must be refused from
 * its headers alone, before any of its body is read; memory must not grow with what attackers
 * send; quotas refuse with 429 and a hint; identical bytes uploaded by two addresses belong to
 * both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../unit/solver_fixtures.h"
#include "client/client.h"
#include "solver_attack.h"

#define BIG (60u * 1024u * 1024u) /* declared upload size: under the 64 MiB max_file_size */

/* Resident memory of this process (the solver runs in it), in KiB. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    }
    if (f)
        fclose(f);
    return kib;
}

/* The head of an upload of BIG bytes, unsigned. */
static void unsigned_head(const struct atk_solver *a, char *out, size_t cap)
{
    snprintf(out, cap,
             "POST /api/v1/files HTTP/1.1\r\nHost: %s\r\nContent-Length: %u\r\n"
             "Content-Type: application/octet-stream\r\n\r\n",
             a->host, BIG);
}

/* Headers only, no byte of the body: the answer must come anyway. */
static void test_refused_before_the_body(void **state)
{
    (void)state;
    struct atk_solver a;
    assert_int_equal(atk_start(&a, NULL), 0);
    char head[2048], body[1024];
    unsigned_head(&a, head, sizeof head);
    int fd = atk_connect(&a, "127.0.0.2");
    assert_int_equal(atk_send_all(fd, head, strlen(head)), 0);
    int unsigned_st = atk_read_answer(fd, 3000u * ATK_SLOW, body, sizeof body);
    close(fd);

    /* Signed by another key than the address it claims: refused from the headers too. */
    struct lp_key k, other;
    lp_key_generate(&k);
    lp_key_generate(&other);
    uint8_t signed_body[16] = {1};
    assert_int_equal(atk_signed_head(&k, "POST", "/api/v1/files", a.host, a.host, signed_body,
                                     sizeof signed_body, BIG, head, sizeof head),
                     0);
    char claimed[43];
    lp_address_to_checksum(other.address, claimed);
    char *addr = strstr(head, LP_SIGREQ_HDR_ADDRESS ": ");
    memcpy(addr + strlen(LP_SIGREQ_HDR_ADDRESS ": "), claimed, 42);
    fd = atk_connect(&a, "127.0.0.2");
    assert_int_equal(atk_send_all(fd, head, strlen(head)), 0);
    int forged_st = atk_read_answer(fd, 3000u * ATK_SLOW, NULL, 0);
    close(fd);
    atk_stop(&a);
    assert_int_equal(unsigned_st, 400);
    assert_non_null(strstr(body, "X-Lilypad"));
    assert_int_equal(forged_st, 401);
}

/* 32 unsigned 60 MB uploads, 8 MB of each sent and the connections held open. */
static void test_uploads_held_open(void **state)
{
    (void)state;
    struct atk_solver a;
    assert_int_equal(atk_start(&a, NULL), 0);
    enum { N = 32, SEND = 8 * 1024 * 1024 };
    static char chunk[1 << 16];
    memset(chunk, 'x', sizeof chunk);
    long before = rss_kib();
    int fds[N], statuses[N];
    char head[1024];
    unsigned_head(&a, head, sizeof head);
    for (int i = 0; i < N; i++) {
        char from[16];
        snprintf(from, sizeof from, "127.0.0.%d", 2 + i % 4);
        fds[i] = atk_connect(&a, from);
        assert_true(fds[i] >= 0);
        assert_int_equal(atk_send_all(fds[i], head, strlen(head)), 0);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    /* Push body bytes round-robin for as long as the solver takes them (or the budget). */
    size_t sent[N] = {0};
    uint64_t deadline = atk_mono_ms() + 4000u * ATK_SLOW;
    bool progress = true;
    while (progress && atk_mono_ms() < deadline) {
        progress = false;
        for (int i = 0; i < N; i++) {
            if (fds[i] < 0 || sent[i] >= SEND)
                continue;
            ssize_t w = send(fds[i], chunk, sizeof chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                sent[i] += (size_t)w;
                progress = true;
            }
        }
        if (!progress) {
            usleep(50000); /* the solver may still be reading: look again */
            for (int i = 0; i < N && !progress; i++)
                progress = fds[i] >= 0 && sent[i] < SEND &&
                           send(fds[i], chunk, 1, MSG_NOSIGNAL | MSG_DONTWAIT) > 0;
        }
    }
    long grown = rss_kib() - before;
    for (int i = 0; i < N; i++) {
        fcntl(fds[i], F_SETFL, 0);
        statuses[i] = atk_read_answer(fds[i], 2000u * ATK_SLOW, NULL, 0);
        close(fds[i]);
    }
    uint64_t worst = 0;
    bool fast = atk_healthz_fast(&a, 5, 100u * ATK_SLOW, &worst);
    atk_stop(&a);
    size_t total = 0;
    for (int i = 0; i < N; i++)
        total += sent[i];
    fprintf(stderr, "attackers pushed %zu MiB; the solver's process grew by %ld MiB\n", total >> 20,
            grown / 1024);
    assert_true(fast);
    for (int i = 0; i < N; i++) {
        if (statuses[i] != 400)
            fail_msg("upload %d: status %d, want 400 (unsigned)", i, statuses[i]);
    }
    if (grown > 48 * 1024)
        fail_msg("memory grew by %ld MiB while unsigned uploads were held open", grown / 1024);
}

static void quota_config(struct lp_solver_config *c)
{
    c->upload_quota_files = 3;
    c->upload_quota_bytes = 1 << 20;
    c->upload_window_ms = 3600000;
}

static int upload(struct lp_client *c, size_t len, uint8_t fill, struct lp_client_error *err)
{
    uint8_t *data = malloc(len);
    memset(data, fill, len);
    uint8_t keccak[32];
    int rc = lp_client_upload_file(c, data, len, keccak, err);
    free(data);
    return rc;
}

static void test_upload_quota(void **state)
{
    (void)state;
    struct atk_solver a;
    assert_int_equal(atk_start(&a, quota_config), 0);
    char url[64];
    snprintf(url, sizeof url, "http://%s", a.host);
    struct lp_key k1, k2;
    lp_key_generate(&k1);
    lp_key_generate(&k2);
    struct lp_client *c1 = lp_client_new(url, &k1, 5000 * ATK_SLOW);
    struct lp_client *c2 = lp_client_new(url, &k2, 5000 * ATK_SLOW);
    struct lp_client_error e1 = {0}, e2 = {0}, e3 = {0};
    int ok = 0;
    for (int i = 0; i < 3; i++)
        ok += upload(c1, 1000, (uint8_t)i, &e1) == 0;
    int fourth = upload(c1, 1000, 9, &e1);
    /* Another address has its own quota; one upload over its bytes is refused. */
    int big = upload(c2, (1 << 20) + 1, 1, &e2);
    int fits = upload(c2, 4096, 2, &e3);
    lp_client_free(c1);
    lp_client_free(c2);
    atk_stop(&a);
    assert_int_equal(ok, 3);
    assert_int_equal(fourth, -1);
    assert_int_equal(e1.status, 429);
    assert_non_null(strstr(e1.message, "upload_quota_files"));
    assert_int_equal(big, -1);
    assert_int_equal(e2.status, 429);
    assert_non_null(strstr(e2.message, "upload_quota"));
    if (fits != 0)
        fail_msg("a small upload after a refused one: %s", e3.message);
}

static int post_job_with(struct lp_client *c, const uint8_t inputs[32], struct lp_client_error *err)
{
    struct lp_wire_object o = {.kind = LP_WIRE_JOB_OFFER};
    fix_job(&o.u.job_offer, lp_client_address(c), 1000, 0, 0, GIB, GIB, 100, LP_PRICE_MARKET);
    uint8_t id[32];
    return lp_client_post_object(c, &o, inputs, id, NULL, err);
}

/* The first uploader of some bytes does not own them alone. */
static void test_first_uploader_cannot_take_a_blob(void **state)
{
    (void)state;
    struct atk_solver a;
    assert_int_equal(atk_start(&a, NULL), 0);
    char url[64];
    snprintf(url, sizeof url, "http://%s", a.host);
    struct lp_key kv, ka, kx;
    lp_key_generate(&kv);
    lp_key_generate(&ka);
    lp_key_generate(&kx);
    struct lp_client *victim = lp_client_new(url, &kv, 5000 * ATK_SLOW);
    struct lp_client *attacker = lp_client_new(url, &ka, 5000 * ATK_SLOW);
    struct lp_client *stranger = lp_client_new(url, &kx, 5000 * ATK_SLOW);
    const char inputs[] = "the victim's well-known input tarball";
    uint8_t ka_keccak[32], kv_keccak[32];
    struct lp_client_error e = {0}, ev = {0}, ex = {0};
    /* The attacker uploads the victim's (public) inputs first. */
    assert_int_equal(lp_client_upload_file(attacker, inputs, sizeof inputs, ka_keccak, &e), 0);
    assert_int_equal(lp_client_upload_file(victim, inputs, sizeof inputs, kv_keccak, &e), 0);
    assert_memory_equal(ka_keccak, kv_keccak, 32);
    int victim_rc = post_job_with(victim, kv_keccak, &ev);
    int attacker_rc = post_job_with(attacker, ka_keccak, &e);
    /* Who never uploaded the bytes still cannot name them. */
    int stranger_rc = post_job_with(stranger, kv_keccak, &ex);
    lp_client_free(victim);
    lp_client_free(attacker);
    lp_client_free(stranger);
    atk_stop(&a);
    if (victim_rc != 0)
        fail_msg("the victim's job offer naming its own upload: %s", ev.message);
    assert_int_equal(attacker_rc, 0);
    assert_int_equal(stranger_rc, -1);
    assert_int_equal(ex.status, 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_before_the_body),
        cmocka_unit_test(test_uploads_held_open),
        cmocka_unit_test(test_upload_quota),
        cmocka_unit_test(test_first_uploader_cannot_take_a_blob),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
