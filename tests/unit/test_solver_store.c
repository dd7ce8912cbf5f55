/* The SQLite store: everything written is there after reopening, compare-and-set transitions,
 * events per audience, rate counters, blocklist, blobs; a newer schema is refused; commits
 * made before a SIGKILL survive it. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <lilypad/verifier.h>
#include "solver/store.h"

static char dir[256], db[300], files[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lp-store-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/solver.db", dir);
    snprintf(files, sizeof files, "%s/files", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct lp_store *open_store(void)
{
    struct lp_store *s = NULL;
    struct lp_store_error e;
    int rc = lp_store_sqlite_open(db, files, true, &s, &e);
    if (rc != LP_STORE_OK)
        fail_msg("%s", e.message);
    return s;
}

static const uint8_t JC[20] = {1}, RP[20] = {2}, OTHER[20] = {3};

static void offer(struct lp_store_offer *o, uint32_t kind, uint8_t tag, const uint8_t owner[20])
{
    static uint8_t env[] = {0x93, 1, 2, 3};
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->id[0] = tag;
    memcpy(o->owner, owner, 20);
    o->state = LP_DEAL_NEGOTIATING;
    o->created_at_ms = 1000 + tag;
    o->envelope = env;
    o->envelope_len = sizeof env;
}

static int count_cb(void *ctx, const struct lp_store_event *ev)
{
    (void)ev;
    (*(int *)ctx)++;
    return 0;
}

static void test_reopen_keeps_everything(void **state)
{
    (void)state;
    struct lp_store *s = open_store();
    struct lp_store_error e;
    struct lp_store_offer j, r;
    offer(&j, 1, 0x11, JC);
    offer(&r, 2, 0x22, RP);
    struct lp_store_event_in ev = {.type = "job_offer_added", .n_audience = 1};
    memcpy(ev.audience[0], JC, 20);
    assert_int_equal(s->ops->offer_insert(s, &j, &ev, 1, 5000, &e), LP_STORE_OK);
    assert_int_equal(s->ops->offer_insert(s, &j, NULL, 0, 5000, &e), LP_STORE_EXISTS);
    assert_int_equal(s->ops->offer_insert(s, &r, NULL, 0, 5000, &e), LP_STORE_OK);

    struct lp_store_deal d;
    memset(&d, 0, sizeof d);
    d.id[0] = 0x33;
    memcpy(d.job_offer_id, j.id, 32);
    memcpy(d.resource_offer_id, r.id, 32);
    memcpy(d.job_creator, JC, 20);
    memcpy(d.provider, RP, 20);
    d.state = LP_DEAL_AGREED;
    d.execution_ms = 60000;
    static uint8_t denv[] = {0x90};
    d.envelope = denv;
    d.envelope_len = 1;
    struct lp_store_event_in dev = {.type = "deal_added", .n_audience = 2};
    memcpy(dev.audience[0], JC, 20);
    memcpy(dev.audience[1], RP, 20);
    assert_int_equal(s->ops->deal_create(s, &d, &dev, 1, 6000, &e), LP_STORE_OK);
    /* both offers are booked: a second deal on them conflicts */
    d.id[0] = 0x34;
    assert_int_equal(s->ops->deal_create(s, &d, NULL, 0, 6000, &e), LP_STORE_CONFLICT);
    d.id[0] = 0x33;

    struct lp_store_deal_update u;
    memset(&u, 0, sizeof u);
    memcpy(u.id, d.id, 32);
    u.expect_mask = 1u << LP_DEAL_AGREED;
    u.new_state = LP_DEAL_RESULTS_SUBMITTED;
    u.note = "result submitted";
    assert_int_equal(s->ops->deal_update(s, &u, &dev, 1, 7000, &e), LP_STORE_OK);
    assert_int_equal(s->ops->deal_update(s, &u, NULL, 0, 7000, &e), LP_STORE_CONFLICT);

    uint64_t count = 0;
    for (int i = 0; i < 3; i++)
        assert_int_equal(s->ops->rate_hit(s, JC, "requests", 10000, 12345, &count, &e), 0);
    assert_int_equal(count, 3);
    assert_int_equal(s->ops->block_set(s, "https://bad/repo", "malware", 1, &e), LP_STORE_OK);
    uint8_t k[32];
    assert_int_equal(s->ops->file_put(s, "hello", 5, JC, 1, k, &e), LP_STORE_OK);
    s->ops->close(s);

    s = open_store();
    struct lp_store_offer got;
    assert_int_equal(s->ops->offer_get(s, 1, j.id, &got, &e), LP_STORE_OK);
    assert_int_equal(got.state, LP_DEAL_RESULTS_SUBMITTED); /* mirrors its deal */
    assert_true(got.has_deal);
    assert_int_equal(got.envelope_len, 4);
    lp_store_offer_release(&got);
    struct lp_store_deal gd;
    assert_int_equal(s->ops->deal_get(s, d.id, &gd, &e), LP_STORE_OK);
    assert_int_equal(gd.state, LP_DEAL_RESULTS_SUBMITTED);
    assert_int_equal(gd.execution_ms, 60000);
    assert_int_equal(gd.state_since_ms, 7000);
    lp_store_deal_release(&gd);
    int n_jc = 0, n_rp = 0, n_other = 0;
    s->ops->event_scan(s, JC, 0, 100, count_cb, &n_jc, &e);
    s->ops->event_scan(s, RP, 0, 100, count_cb, &n_rp, &e);
    s->ops->event_scan(s, OTHER, 0, 100, count_cb, &n_other, &e);
    assert_int_equal(n_jc, 3); /* job_offer_added, deal_added, deal state */
    assert_int_equal(n_rp, 2);
    assert_int_equal(n_other, 0);
    assert_int_equal(s->ops->rate_hit(s, JC, "requests", 10000, 12346, &count, &e), 0);
    assert_int_equal(count, 4);
    assert_int_equal(s->ops->rate_hit(s, JC, "requests", 10000, 20001, &count, &e), 0);
    assert_int_equal(count, 1); /* new window */
    char reason[64];
    assert_int_equal(s->ops->block_get(s, "https://bad/repo", reason, sizeof reason, &e), 0);
    assert_string_equal(reason, "malware");
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(s->ops->file_read(s, k, &data, &len, &e), LP_STORE_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    s->ops->close(s);
}

static int note_state(void *ctx, const struct lp_store_deal *d)
{
    uint32_t *mask = ctx;
    assert_true(d->state < 32);
    *mask |= 1u << d->state;
    return 0;
}

/* One deal in every state: the active scan returns exactly the states deal_state calls active
 * (its query is written from that table), the full scan all of them, and the party filter still
 * applies. The classification itself is pinned too, so changing it is a visible decision. */
static void test_active_scan_follows_deal_state(void **state)
{
    (void)state;
    uint32_t n = lp_deal_state_count();
    assert_int_equal(n, LP_DEAL_TIMEOUT_DOWNLOAD + 1);
    uint32_t want_active = 0;
    for (uint32_t st = 0; st < n; st++) {
        assert_string_not_equal(lp_deal_state_name(st), "Unknown");
        assert_int_equal(lp_deal_state_terminal(st), !lp_deal_state_active(st));
        if (lp_deal_state_active(st))
            want_active |= 1u << st;
    }
    assert_false(lp_deal_state_active(n));
    assert_true(lp_deal_state_terminal(n));
    assert_int_equal(want_active, 1u << LP_DEAL_NEGOTIATING | 1u << LP_DEAL_AGREED |
                                      1u << LP_DEAL_RESULTS_SUBMITTED |
                                      1u << LP_DEAL_RESULTS_CHECKED | 1u << LP_DEAL_UPLOADING |
                                      1u << LP_DEAL_DOWNLOADING);

    /* a database of its own: the other tests count what they stored */
    char own_db[320];
    snprintf(own_db, sizeof own_db, "%s/active.db", dir);
    struct lp_store *s = NULL;
    struct lp_store_error e;
    if (lp_store_sqlite_open(own_db, files, true, &s, &e) != LP_STORE_OK)
        fail_msg("%s", e.message);
    for (uint32_t st = 0; st < n; st++) {
        struct lp_store_offer j, r;
        offer(&j, 1, (uint8_t)(0x80 + st), JC);
        offer(&r, 2, (uint8_t)(0xC0 + st), RP);
        assert_int_equal(s->ops->offer_insert(s, &j, NULL, 0, 5000, &e), LP_STORE_OK);
        assert_int_equal(s->ops->offer_insert(s, &r, NULL, 0, 5000, &e), LP_STORE_OK);
        struct lp_store_deal d;
        memset(&d, 0, sizeof d);
        d.id[0] = 0x40;
        d.id[1] = (uint8_t)st;
        memcpy(d.job_offer_id, j.id, 32);
        memcpy(d.resource_offer_id, r.id, 32);
        memcpy(d.job_creator, JC, 20);
        memcpy(d.provider, RP, 20);
        d.state = st;
        static uint8_t denv[] = {0x90};
        d.envelope = denv;
        d.envelope_len = 1;
        assert_int_equal(s->ops->deal_create(s, &d, NULL, 0, 6000, &e), LP_STORE_OK);
    }
    uint32_t active = 0, all = 0, mine = 0, others = 0;
    assert_int_equal(s->ops->deal_scan(s, NULL, true, note_state, &active, &e), LP_STORE_OK);
    assert_int_equal(s->ops->deal_scan(s, NULL, false, note_state, &all, &e), LP_STORE_OK);
    assert_int_equal(s->ops->deal_scan(s, RP, true, note_state, &mine, &e), LP_STORE_OK);
    assert_int_equal(s->ops->deal_scan(s, OTHER, true, note_state, &others, &e), LP_STORE_OK);
    assert_int_equal(active, want_active);
    assert_int_equal(all, (1u << n) - 1);
    assert_int_equal(mine, want_active);
    assert_int_equal(others, 0);
    s->ops->close(s);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    struct lp_store *s = open_store();
    s->ops->close(s);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    struct lp_store_error e;
    assert_int_equal(lp_store_sqlite_open(db, files, true, &s, &e), LP_STORE_ERROR);
    assert_non_null(strstr(e.message, "newer"));
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    sqlite3_exec(raw, "PRAGMA user_version = 2", NULL, NULL, NULL);
    sqlite3_close(raw);
}

static void test_commits_survive_sigkill(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct lp_store *s = NULL;
        struct lp_store_error e;
        if (lp_store_sqlite_open(db, files, true, &s, &e) != LP_STORE_OK)
            _exit(3);
        for (int i = 0; i < 50; i++) {
            struct lp_store_offer o;
            offer(&o, 2, (uint8_t)(0x80 + i), OTHER);
            if (s->ops->offer_insert(s, &o, NULL, 0, 1, &e) != LP_STORE_OK)
                _exit(4);
        }
        raise(SIGKILL); /* no close, no checkpoint */
        _exit(5);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    struct lp_store *s = open_store();
    uint64_t n = 0;
    struct lp_store_error e;
    assert_int_equal(s->ops->offer_count(s, 2, LP_DEAL_NEGOTIATING, OTHER, &n, &e), LP_STORE_OK);
    assert_int_equal(n, 50);
    s->ops->close(s);
}

/* A version-1 database (one owner per blob) is migrated: its uploaders become owners. Blobs
 * with two uploaders have both. */
static void test_migration_and_owners(void **state)
{
    (void)state;
    struct lp_store *s = open_store();
    struct lp_store_error e;
    uint8_t k1[32], k2[32];
    assert_int_equal(s->ops->file_put(s, "abc", 3, JC, 100, k1, &e), LP_STORE_OK);
    assert_int_equal(s->ops->file_put(s, "abc", 3, RP, 200, k2, &e), LP_STORE_OK);
    assert_memory_equal(k1, k2, 32);
    assert_int_equal(s->ops->file_owned(s, k1, JC, &e), LP_STORE_OK);
    assert_int_equal(s->ops->file_owned(s, k1, RP, &e), LP_STORE_OK);
    assert_int_equal(s->ops->file_owned(s, k1, OTHER, &e), LP_STORE_NOT_FOUND);
    uint8_t k3[32];
    assert_int_equal(s->ops->file_put(s, "only-jc", 7, JC, 300, k3, &e), LP_STORE_OK);
    s->ops->close(s);
    /* Back to the version-1 layout, as an older solver left it. */
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw,
                                  "DROP TABLE file_owners; DROP INDEX offers_owner;"
                                  " DROP INDEX offers_stored; DROP INDEX event_audience_seq;"
                                  " CREATE INDEX offers_owner ON offers(owner, kind);"
                                  " PRAGMA user_version = 1;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);
    s = open_store();
    assert_int_equal(s->ops->file_owned(s, k3, JC, &e), LP_STORE_OK);
    assert_int_equal(s->ops->file_owned(s, k3, RP, &e), LP_STORE_NOT_FOUND);
    assert_int_equal(s->ops->file_owned(s, k1, JC, &e), LP_STORE_OK); /* the first uploader */
    s->ops->close(s);
}

/* Health: good after open; failing after a failed write (with the reason), good again after a
 * write succeeds. */
static void test_health(void **state)
{
    (void)state;
    struct lp_store *s = open_store();
    struct lp_store_error e;
    assert_int_equal(s->ops->health(s, &e), LP_STORE_OK);
    s->ops->note_io(s, "/data/files/.upload-x", ENOSPC);
    assert_int_equal(s->ops->health(s, &e), LP_STORE_FULL);
    assert_non_null(strstr(e.message, "No space"));
    struct lp_store_offer o;
    offer(&o, 2, 0x31, OTHER);
    assert_int_equal(s->ops->offer_insert(s, &o, NULL, 0, 1, &e), LP_STORE_OK);
    assert_int_equal(s->ops->health(s, &e), LP_STORE_OK);
    s->ops->close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reopen_keeps_everything),
        cmocka_unit_test(test_active_scan_follows_deal_state),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_commits_survive_sigkill),
        cmocka_unit_test(test_migration_and_owners),
        cmocka_unit_test(test_health),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
