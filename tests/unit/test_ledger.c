/* verifier/ledger driven through its descriptor, as the core drives it: the schema applied by
 * the core's config code, a mock host whose realtime clock the test moves, every legal deal
 * transition, every illegal one refused with its message, durability across reopen, PoW
 * checks, and concurrent record_result calls; and through the core's dispatch layer
 * (core/dispatch/verifier.h): who may call what (the acting party of each call), the calls the
 * provider, the mediator and the solver make, cancellation of a call waiting for a lock, the
 * default path from the core's data directory, and last_error() per thread. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <lilypad/verifier.h>

#include "config/config.h"
#include "crypto/keccak.h"
#include "dispatch/verifier.h"
#include "host/host.h"
#include "loader/backend.h"
#include "util/hex.h"

const struct lp_plugin *lp_plugin_descriptor_verifier_ledger(void);

#define NS UINT64_C(1000000000)
#define T0 (UINT64_C(1700000000) * NS) /* the mock clock's start */

/* ---- mock host: a clock the test moves, logs kept quiet ---- */

static _Atomic uint64_t mock_now_ns = T0;

static void mock_log(const struct lp_host *host, int level, const char *fmt, ...)
{
    (void)host;
    if (getenv("LEDGER_TEST_VERBOSE") == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[ledger %d] ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static uint64_t mock_realtime(const struct lp_host *host)
{
    (void)host;
    return atomic_load(&mock_now_ns);
}

/* NULL: the host offers no data directory. */
static const char *mock_data_dir_path;

static const char *mock_data_dir(const struct lp_host *host)
{
    (void)host;
    return mock_data_dir_path;
}

/* The core's own answer: the call's token, its deadline, the process. */
static int mock_call_cancelled(const struct lp_host *host, const struct lp_call *call)
{
    (void)host;
    return lp_call_cancelled(call);
}

static const struct lp_host mock_host = {
    .struct_size = sizeof(struct lp_host),
    .abi_major = LP_ABI_MAJOR,
    .abi_minor = LP_ABI_MINOR,
    .log = mock_log,
    .realtime_ns = mock_realtime,
    .monotonic_ns = mock_realtime,
    .data_dir = mock_data_dir,
    .call_cancelled = mock_call_cancelled,
};

/* The node acting for itself: a call context with the all-zero actor, which no rule checks.
 * The state-machine tests below use it; the actor rules have their own tests. */
static const struct lp_call node_call = {.struct_size = sizeof(struct lp_call)};
#define NODE (&node_call)

/* ---- fixture: a temporary directory, the plugin's config, one instance ---- */

struct fx {
    char dir[256];
    char path[300];
    struct lp_config *cfg;
    struct lp_config_values *values;
    const struct lp_verifier_ops *ops;
    void *inst;
};

static const struct lp_plugin *plugin(void)
{
    return lp_plugin_descriptor_verifier_ledger();
}

/* Builds the config struct the way the core does: the plugin's schema applied to a group. */
static void make_config(struct fx *f, const char *extra)
{
    char text[1024], err[512];
    snprintf(text, sizeof(text), "ledger = { path = \"%s\"; %s };", f->path, extra);
    if (f->values != NULL)
        lp_config_values_free(f->values);
    if (f->cfg != NULL)
        lp_config_free(f->cfg);
    f->cfg = NULL;
    f->values = NULL;
    assert_int_equal(lp_config_load_string(text, "test", &f->cfg, err, sizeof(err)), 0);
    int rc = lp_config_apply_schema(f->cfg, "ledger", plugin()->config_schema,
                                    plugin()->config_size, NULL, &f->values, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
}

static void open_instance(struct fx *f)
{
    int rc = f->ops->life.create(&mock_host, lp_config_values_data(f->values), &f->inst);
    assert_int_equal(rc, LP_OK);
}

static void close_instance(struct fx *f)
{
    if (f->inst != NULL)
        f->ops->life.destroy(f->inst);
    f->inst = NULL;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s/lp-ledger-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    /* A folder below the temp dir that does not exist yet: create() must make it. */
    snprintf(f->path, sizeof(f->path), "%s/sub/ledger.sqlite", f->dir);
    f->ops = plugin()->ops;
    atomic_store(&mock_now_ns, T0);
    make_config(f, "");
    open_instance(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    close_instance(f);
    lp_config_values_free(f->values);
    lp_config_free(f->cfg);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    free(f);
    return 0;
}

/* ---- deal helpers ---- */

static const uint8_t JC[20] = {0x11, 1};
static const uint8_t RP[20] = {0x22, 2};
static const uint8_t MED[20] = {0x33, 3};

static void deal_id_of(int seed, uint8_t id[32])
{
    char text[32];
    snprintf(text, sizeof(text), "deal-%d", seed);
    lp_keccak256(text, strlen(text), id);
}

static struct lp_agreement agreement(int seed)
{
    struct lp_agreement a;
    memset(&a, 0, sizeof(a));
    a.struct_size = sizeof(a);
    deal_id_of(seed, a.deal_id);
    memcpy(a.job_creator, JC, 20);
    memcpy(a.resource_provider, RP, 20);
    a.price[31] = 10;
    a.payment_collateral[31] = 20;
    a.results_collateral[31] = 30;
    a.execution_timeout_s = 600;
    a.judge_timeout_s = 300;
    return a;
}

static struct lp_result_record result(int seed, int variant)
{
    struct lp_result_record r;
    memset(&r, 0, sizeof(r));
    r.struct_size = sizeof(r);
    deal_id_of(seed, r.deal_id);
    char text[48];
    snprintf(text, sizeof(text), "result-%d-%d", seed, variant);
    lp_keccak256(text, strlen(text), r.result_id);
    snprintf(r.cid, sizeof(r.cid), "bafkreitestcid%d", variant);
    r.instruction_count = 1;
    return r;
}

static uint32_t state_of(struct fx *f, int seed)
{
    uint8_t id[32];
    deal_id_of(seed, id);
    struct lp_deal_record d;
    memset(&d, 0, sizeof(d));
    d.struct_size = sizeof(d);
    assert_int_equal(f->ops->read_deal_v2(f->inst, NODE, id, &d), LP_OK);
    assert_memory_equal(d.deal_id, id, 32);
    return d.state;
}

/* The operations a test applies, as one enum so legality can be tabulated. */
enum op {
    OP_RESULT,
    OP_ACCEPT,
    OP_CHALLENGE,
    OP_VERDICT_ACCEPT,
    OP_VERDICT_REJECT,
    OP_CANCEL_FIRST, /* OP_CANCEL_FIRST + i: cancel to cancel_targets[i] */
};

static const uint32_t cancel_targets[] = {
    LP_DEAL_TIMEOUT_SUBMIT_RESULTS, LP_DEAL_TIMEOUT_JUDGE_RESULTS, LP_DEAL_TIMEOUT_MEDIATE_RESULTS,
    LP_DEAL_JOB_OFFER_CANCELLED,    LP_DEAL_JOB_TIMED_OUT,         LP_DEAL_TIMEOUT_MATCH,
    LP_DEAL_TIMEOUT_EXECUTION,      LP_DEAL_TIMEOUT_DOWNLOAD,
};
#define N_CANCEL (sizeof(cancel_targets) / sizeof(cancel_targets[0]))
#define N_OPS    (OP_CANCEL_FIRST + (int)N_CANCEL)

static const char *op_name(int op)
{
    switch (op) {
    case OP_RESULT:
        return "record_result";
    case OP_ACCEPT:
        return "accept_result";
    case OP_CHALLENGE:
        return "challenge_result";
    case OP_VERDICT_ACCEPT:
    case OP_VERDICT_REJECT:
        return "mediation_verdict";
    default:
        return "cancel_deal";
    }
}

static int apply(struct fx *f, int seed, int op)
{
    uint8_t id[32];
    deal_id_of(seed, id);
    switch (op) {
    case OP_RESULT: {
        struct lp_result_record r = result(seed, 0);
        return f->ops->record_result_v2(f->inst, NODE, &r);
    }
    case OP_ACCEPT:
        return f->ops->accept_result_v2(f->inst, NODE, id);
    case OP_CHALLENGE:
        return f->ops->challenge_result_v2(f->inst, NODE, id, MED);
    case OP_VERDICT_ACCEPT:
        return f->ops->mediation_verdict_v2(f->inst, NODE, id, true);
    case OP_VERDICT_REJECT:
        return f->ops->mediation_verdict_v2(f->inst, NODE, id, false);
    default:
        return f->ops->cancel_deal_v2(f->inst, NODE, id, cancel_targets[op - OP_CANCEL_FIRST]);
    }
}

/* The specification, written independently of the plugin (README.md's table): the state an
 * operation leads to from `s`, or -1 when it must be refused. */
static bool terminal(uint32_t s)
{
    return !(s == LP_DEAL_NEGOTIATING || s == LP_DEAL_AGREED || s == LP_DEAL_RESULTS_SUBMITTED ||
             s == LP_DEAL_RESULTS_CHECKED || s == LP_DEAL_UPLOADING || s == LP_DEAL_DOWNLOADING);
}

static int64_t expected(uint32_t s, int op)
{
    switch (op) {
    case OP_RESULT:
        return s == LP_DEAL_AGREED ? LP_DEAL_RESULTS_SUBMITTED : -1;
    case OP_ACCEPT:
        return s == LP_DEAL_RESULTS_SUBMITTED ? LP_DEAL_RESULTS_ACCEPTED : -1;
    case OP_CHALLENGE:
        return s == LP_DEAL_RESULTS_SUBMITTED ? LP_DEAL_RESULTS_CHECKED : -1;
    case OP_VERDICT_ACCEPT:
        return s == LP_DEAL_RESULTS_CHECKED ? LP_DEAL_MEDIATION_ACCEPTED : -1;
    case OP_VERDICT_REJECT:
        return s == LP_DEAL_RESULTS_CHECKED ? LP_DEAL_MEDIATION_REJECTED : -1;
    default: {
        uint32_t t = cancel_targets[op - OP_CANCEL_FIRST];
        if (terminal(s))
            return -1;
        switch (t) {
        case LP_DEAL_JOB_OFFER_CANCELLED:
        case LP_DEAL_JOB_TIMED_OUT:
            return t;
        case LP_DEAL_TIMEOUT_SUBMIT_RESULTS:
        case LP_DEAL_TIMEOUT_EXECUTION:
            return s == LP_DEAL_AGREED ? (int64_t)t : -1;
        case LP_DEAL_TIMEOUT_JUDGE_RESULTS:
        case LP_DEAL_TIMEOUT_DOWNLOAD:
            return s == LP_DEAL_RESULTS_SUBMITTED ? (int64_t)t : -1;
        case LP_DEAL_TIMEOUT_MEDIATE_RESULTS:
            return s == LP_DEAL_RESULTS_CHECKED ? (int64_t)t : -1;
        default: /* TimeoutMatch: only an unmatched offer, never a recorded deal */
            return -1;
        }
    }
    }
}

/* Drives deal `seed` into state `s` through legal operations only. */
static void reach(struct fx *f, int seed, uint32_t s)
{
    struct lp_agreement a = agreement(seed);
    assert_int_equal(f->ops->record_agreement_v2(f->inst, NODE, &a), LP_OK);
    static const struct {
        uint32_t state;
        int path[3];
    } paths[] = {
        {LP_DEAL_AGREED, {-1}},
        {LP_DEAL_RESULTS_SUBMITTED, {OP_RESULT, -1}},
        {LP_DEAL_RESULTS_CHECKED, {OP_RESULT, OP_CHALLENGE, -1}},
        {LP_DEAL_RESULTS_ACCEPTED, {OP_RESULT, OP_ACCEPT, -1}},
        {LP_DEAL_MEDIATION_ACCEPTED, {OP_RESULT, OP_CHALLENGE, OP_VERDICT_ACCEPT}},
        {LP_DEAL_MEDIATION_REJECTED, {OP_RESULT, OP_CHALLENGE, OP_VERDICT_REJECT}},
        {LP_DEAL_TIMEOUT_SUBMIT_RESULTS, {OP_CANCEL_FIRST + 0, -1}},
        {LP_DEAL_TIMEOUT_JUDGE_RESULTS, {OP_RESULT, OP_CANCEL_FIRST + 1, -1}},
        {LP_DEAL_TIMEOUT_MEDIATE_RESULTS, {OP_RESULT, OP_CHALLENGE, OP_CANCEL_FIRST + 2}},
        {LP_DEAL_JOB_OFFER_CANCELLED, {OP_CANCEL_FIRST + 3, -1}},
        {LP_DEAL_JOB_TIMED_OUT, {OP_CANCEL_FIRST + 4, -1}},
        {LP_DEAL_TIMEOUT_EXECUTION, {OP_CANCEL_FIRST + 6, -1}},
        {LP_DEAL_TIMEOUT_DOWNLOAD, {OP_RESULT, OP_CANCEL_FIRST + 7, -1}},
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (paths[i].state != s)
            continue;
        for (int k = 0; k < 3 && paths[i].path[k] >= 0; k++) {
            /* Cancels come last on a path; past every deadline they are always allowed. */
            if (paths[i].path[k] >= OP_CANCEL_FIRST)
                atomic_store(&mock_now_ns, T0 + 100000 * NS);
            int rc = apply(f, seed, paths[i].path[k]);
            if (rc != LP_OK)
                fail_msg("reach %u: %s", s, f->ops->life.last_error(f->inst));
        }
        assert_int_equal(state_of(f, seed), s);
        return;
    }
    fail_msg("no path to state %u", s);
}

static const uint32_t reachable[] = {
    LP_DEAL_AGREED,
    LP_DEAL_RESULTS_SUBMITTED,
    LP_DEAL_RESULTS_CHECKED,
    LP_DEAL_RESULTS_ACCEPTED,
    LP_DEAL_MEDIATION_ACCEPTED,
    LP_DEAL_MEDIATION_REJECTED,
    LP_DEAL_TIMEOUT_SUBMIT_RESULTS,
    LP_DEAL_TIMEOUT_JUDGE_RESULTS,
    LP_DEAL_TIMEOUT_MEDIATE_RESULTS,
    LP_DEAL_JOB_OFFER_CANCELLED,
    LP_DEAL_JOB_TIMED_OUT,
    LP_DEAL_TIMEOUT_EXECUTION,
    LP_DEAL_TIMEOUT_DOWNLOAD,
};
#define N_REACHABLE (sizeof(reachable) / sizeof(reachable[0]))

static const char *name_of(uint32_t s)
{
    static const char *const names[] = {
        "DealNegotiating",     "DealAgreed",
        "ResultsSubmitted",    "ResultsAccepted",
        "ResultsChecked",      "MediationAccepted",
        "MediationRejected",   "TimeoutSubmitResults",
        "TimeoutJudgeResults", "TimeoutMediateResults",
        "JobOfferCancelled",   "JobTimedOut",
        "Uploading",           "Downloading",
        "TimeoutMatch",        "TimeoutExecution",
        "TimeoutDownload",
    };
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static int count_events(struct fx *f, int seed)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM deal_events WHERE deal_id = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    uint8_t id[32];
    deal_id_of(seed, id);
    sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* ---- tests ---- */

static void test_descriptor(void **state)
{
    (void)state;
    const struct lp_plugin *p = plugin();
    assert_int_equal(p->magic, LP_PLUGIN_MAGIC);
    assert_int_equal(p->concern, LP_CONCERN_VERIFIER);
    assert_string_equal(p->name, "ledger");
    assert_true(p->caps & LP_CAP_THREADSAFE);
    assert_true(p->caps & LP_CAP_CANCEL);
    assert_int_equal(p->ops_size, sizeof(struct lp_verifier_ops));
    /* A 1.1 plugin provides the 1.1 forms only. */
    const struct lp_verifier_ops *ops = p->ops;
    assert_null(ops->record_agreement);
    assert_null(ops->record_result);
    assert_null(ops->accept_result);
    assert_null(ops->challenge_result);
    assert_null(ops->mediation_verdict);
    assert_null(ops->cancel_deal);
    assert_null(ops->read_deal);
    assert_null(ops->pow_new_round);
    assert_null(ops->pow_submit);
    assert_non_null(ops->record_agreement_v2);
    assert_non_null(ops->record_result_v2);
    assert_non_null(ops->accept_result_v2);
    assert_non_null(ops->challenge_result_v2);
    assert_non_null(ops->mediation_verdict_v2);
    assert_non_null(ops->cancel_deal_v2);
    assert_non_null(ops->read_deal_v2);
    assert_non_null(ops->pow_new_round_v2);
    assert_non_null(ops->pow_submit_v2);
    char err[256];
    if (lp_config_check_schema(p->config_schema, p->config_size, err, sizeof(err)) != 0)
        fail_msg("%s", err);
}

static void test_probe(void **state)
{
    struct fx *f = *state;
    char reason[256];
    const void *cfg = lp_config_values_data(f->values);
    assert_int_equal(f->ops->life.probe(&mock_host, cfg, reason, sizeof(reason)), LP_OK);

    /* A path under a regular file can never be created, root or not. */
    snprintf(f->path, sizeof(f->path), "/etc/passwd/x/ledger.sqlite");
    make_config(f, "");
    cfg = lp_config_values_data(f->values);
    assert_int_equal(f->ops->life.probe(&mock_host, cfg, reason, sizeof(reason)), LP_EUNAVAILABLE);
    assert_non_null(strstr(reason, "/etc/passwd"));
    void *inst = NULL;
    assert_int_not_equal(f->ops->life.create(&mock_host, cfg, &inst), LP_OK);

    snprintf(f->path, sizeof(f->path), "%s/ledger.sqlite", f->dir);
    make_config(f, "synchronous = \"sometimes\";");
    cfg = lp_config_values_data(f->values);
    assert_int_equal(f->ops->life.probe(&mock_host, cfg, reason, sizeof(reason)), LP_EUNAVAILABLE);
    assert_non_null(strstr(reason, "sometimes"));
    assert_int_equal(f->ops->life.create(&mock_host, cfg, &inst), LP_EINVAL);
}

static void test_pragmas_and_schema(void **state)
{
    struct fx *f = *state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);

    /* The event log refuses edits. */
    reach(f, 1, LP_DEAL_RESULTS_SUBMITTED);
    assert_int_equal(count_events(f, 1), 2);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE deal_events SET to_state = 3", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_non_null(strstr(sqlite3_errmsg(db), "append-only"));
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM deal_events", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(count_events(f, 1), 2);

    /* A file from a newer build is refused, not rewritten. */
    close_instance(f);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    void *inst = NULL;
    assert_int_equal(f->ops->life.create(&mock_host, lp_config_values_data(f->values), &inst),
                     LP_EINVAL);
}

static void test_agreement_rules(void **state)
{
    struct fx *f = *state;
    struct lp_agreement a = agreement(1);
    assert_int_equal(f->ops->record_agreement_v2(f->inst, NODE, &a), LP_OK);
    assert_int_equal(state_of(f, 1), LP_DEAL_AGREED);
    /* Identical terms: idempotent, no second event. */
    assert_int_equal(f->ops->record_agreement_v2(f->inst, NODE, &a), LP_OK);
    assert_int_equal(count_events(f, 1), 1);

    char id[67];
    lp_hex_encode_0x(a.deal_id, 32, id);
    struct lp_agreement b = a;
    b.price[31] = 11;
    assert_int_equal(f->ops->record_agreement_v2(f->inst, NODE, &b), LP_EINVAL);
    const char *msg = f->ops->life.last_error(f->inst);
    assert_non_null(strstr(msg, id));
    assert_non_null(strstr(msg, "price"));
    assert_non_null(strstr(msg, "DealAgreed"));
    b = a;
    b.judge_timeout_s++;
    assert_int_equal(f->ops->record_agreement_v2(f->inst, NODE, &b), LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "judge_timeout_s"));

    /* Members as LilypadStorage.ensureDeal checks them. */
    struct lp_agreement c = agreement(2);
    memcpy(c.resource_provider, c.job_creator, 20);
    assert_int_equal(f->ops->record_agreement_v2(f->inst, NODE, &c), LP_EINVAL);
    c = agreement(2);
    memset(c.job_creator, 0, 20);
    assert_int_equal(f->ops->record_agreement_v2(f->inst, NODE, &c), LP_EINVAL);
    c = agreement(2);
    memcpy(c.mediator, c.resource_provider, 20);
    assert_int_equal(f->ops->record_agreement_v2(f->inst, NODE, &c), LP_EINVAL);
    c = agreement(2);
    c.struct_size = 8;
    assert_int_equal(f->ops->record_agreement_v2(f->inst, NODE, &c), LP_EINVAL);
    /* None of those created the deal. */
    uint8_t id2[32];
    deal_id_of(2, id2);
    struct lp_deal_record d = {.struct_size = sizeof(d)};
    assert_int_equal(f->ops->read_deal_v2(f->inst, NODE, id2, &d), LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "no agreement"));
}

/* Every reachable state × every operation: legal ones land where the table says, illegal ones
 * are refused with a message naming the deal, its state and the attempted target, and change
 * nothing (state and event count). The clock is past every deadline, so only the state rule
 * decides here; deadlines have their own test. */
static void test_transition_matrix(void **state)
{
    struct fx *f = *state;
    int seed = 100;
    int legal = 0, illegal = 0;
    for (size_t si = 0; si < N_REACHABLE; si++) {
        for (int op = 0; op < N_OPS; op++, seed++) {
            atomic_store(&mock_now_ns, T0);
            uint32_t s = reachable[si];
            reach(f, seed, s);
            atomic_store(&mock_now_ns, T0 + 100000 * NS);
            int before = count_events(f, seed);
            int64_t want = expected(s, op);
            int rc = apply(f, seed, op);
            if (want >= 0) {
                if (rc != LP_OK)
                    fail_msg("%s from %s: %s", op_name(op), name_of(s),
                             f->ops->life.last_error(f->inst));
                assert_int_equal(state_of(f, seed), (uint32_t)want);
                assert_int_equal(count_events(f, seed), before + 1);
                legal++;
                continue;
            }
            if (rc != LP_EINVAL)
                fail_msg("%s from %s: rc %d, expected a refusal", op_name(op), name_of(s), rc);
            const char *msg = f->ops->life.last_error(f->inst);
            uint8_t id[32];
            char hex[67];
            deal_id_of(seed, id);
            lp_hex_encode_0x(id, 32, hex);
            uint32_t target = op == OP_RESULT           ? LP_DEAL_RESULTS_SUBMITTED
                              : op == OP_ACCEPT         ? LP_DEAL_RESULTS_ACCEPTED
                              : op == OP_CHALLENGE      ? LP_DEAL_RESULTS_CHECKED
                              : op == OP_VERDICT_ACCEPT ? LP_DEAL_MEDIATION_ACCEPTED
                              : op == OP_VERDICT_REJECT ? LP_DEAL_MEDIATION_REJECTED
                                                        : cancel_targets[op - OP_CANCEL_FIRST];
            char current[64], attempted[64];
            snprintf(current, sizeof(current), "state is %s", name_of(s));
            snprintf(attempted, sizeof(attempted), "go to %s", name_of(target));
            if (strstr(msg, hex) == NULL || strstr(msg, current) == NULL ||
                strstr(msg, attempted) == NULL || strstr(msg, op_name(op)) == NULL)
                fail_msg("%s from %s: message lacks the deal, state or target: %s", op_name(op),
                         name_of(s), msg);
            assert_int_equal(state_of(f, seed), s);
            assert_int_equal(count_events(f, seed), before);
            illegal++;
        }
    }
    /* DealAgreed: result and 4 cancels; ResultsSubmitted: accept, challenge and 4 cancels;
     * ResultsChecked: 2 verdicts and 3 cancels. */
    assert_int_equal(legal, 5 + 6 + 5);
    assert_int_equal(illegal, (int)(N_REACHABLE * N_OPS) - legal);
}

static void test_unknown_deal_and_bad_targets(void **state)
{
    struct fx *f = *state;
    for (int op = 0; op < N_OPS; op++) {
        assert_int_equal(apply(f, 999, op), LP_EINVAL);
        assert_non_null(strstr(f->ops->life.last_error(f->inst), "no agreement"));
    }
    reach(f, 1, LP_DEAL_AGREED);
    uint8_t id[32];
    deal_id_of(1, id);
    /* Not a cancel or timeout state. */
    assert_int_equal(f->ops->cancel_deal_v2(f->inst, NODE, id, LP_DEAL_RESULTS_ACCEPTED),
                     LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "ResultsAccepted"));
    assert_int_equal(f->ops->cancel_deal_v2(f->inst, NODE, id, 1000), LP_EINVAL);
    assert_int_equal(state_of(f, 1), LP_DEAL_AGREED);

    /* A result needs a CID and a result id. */
    struct lp_result_record r = result(1, 0);
    r.cid[0] = '\0';
    assert_int_equal(f->ops->record_result_v2(f->inst, NODE, &r), LP_EINVAL);
    r = result(1, 0);
    memset(r.cid, 'a', sizeof(r.cid));
    assert_int_equal(f->ops->record_result_v2(f->inst, NODE, &r), LP_EINVAL);
    r = result(1, 0);
    memset(r.result_id, 0, 32);
    assert_int_equal(f->ops->record_result_v2(f->inst, NODE, &r), LP_EINVAL);
    assert_int_equal(state_of(f, 1), LP_DEAL_AGREED);
}

static void test_challenge_mediator_rules(void **state)
{
    struct fx *f = *state;
    reach(f, 1, LP_DEAL_RESULTS_SUBMITTED);
    uint8_t id[32], zero[20] = {0};
    deal_id_of(1, id);
    assert_int_equal(f->ops->challenge_result_v2(f->inst, NODE, id, JC), LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "neither"));
    assert_int_equal(f->ops->challenge_result_v2(f->inst, NODE, id, RP), LP_EINVAL);
    assert_int_equal(f->ops->challenge_result_v2(f->inst, NODE, id, zero), LP_EINVAL);
    assert_int_equal(state_of(f, 1), LP_DEAL_RESULTS_SUBMITTED);
    assert_int_equal(f->ops->challenge_result_v2(f->inst, NODE, id, MED), LP_OK);
    struct lp_deal_record d = {.struct_size = sizeof(d)};
    assert_int_equal(f->ops->read_deal_v2(f->inst, NODE, id, &d), LP_OK);
    assert_int_equal(d.state, LP_DEAL_RESULTS_CHECKED);
    assert_memory_equal(d.mediator, MED, 20);

    /* An agreement that names its mediator accepts only that one. */
    struct lp_agreement a = agreement(2);
    memcpy(a.mediator, MED, 20);
    assert_int_equal(f->ops->record_agreement_v2(f->inst, NODE, &a), LP_OK);
    struct lp_result_record r = result(2, 0);
    assert_int_equal(f->ops->record_result_v2(f->inst, NODE, &r), LP_OK);
    uint8_t other[20] = {0x44};
    assert_int_equal(f->ops->challenge_result_v2(f->inst, NODE, a.deal_id, other), LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "agreement names"));
    assert_int_equal(f->ops->challenge_result_v2(f->inst, NODE, a.deal_id, MED), LP_OK);
}

/* The contract-style timeouts become callable only once their deadline passed. */
static void test_timeout_deadlines(void **state)
{
    struct fx *f = *state;
    uint8_t id[32];

    reach(f, 1, LP_DEAL_AGREED); /* execution timeout 600 s from T0 */
    deal_id_of(1, id);
    atomic_store(&mock_now_ns, T0 + 599 * NS);
    assert_int_equal(f->ops->cancel_deal_v2(f->inst, NODE, id, LP_DEAL_TIMEOUT_SUBMIT_RESULTS),
                     LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "deadline not reached, 1 s left"));
    atomic_store(&mock_now_ns, T0 + 600 * NS);
    assert_int_equal(f->ops->cancel_deal_v2(f->inst, NODE, id, LP_DEAL_TIMEOUT_SUBMIT_RESULTS),
                     LP_OK);

    atomic_store(&mock_now_ns, T0);
    reach(f, 2, LP_DEAL_AGREED);
    atomic_store(&mock_now_ns, T0 + 1000 * NS);
    struct lp_result_record r = result(2, 0);
    assert_int_equal(f->ops->record_result_v2(f->inst, NODE, &r), LP_OK); /* judge timeout 300 s */
    deal_id_of(2, id);
    atomic_store(&mock_now_ns, T0 + 1299 * NS);
    assert_int_equal(f->ops->cancel_deal_v2(f->inst, NODE, id, LP_DEAL_TIMEOUT_JUDGE_RESULTS),
                     LP_EINVAL);
    assert_int_equal(f->ops->challenge_result_v2(f->inst, NODE, id, MED), LP_OK); /* at 1299 s */
    atomic_store(&mock_now_ns, T0 + 1598 * NS);
    assert_int_equal(f->ops->cancel_deal_v2(f->inst, NODE, id, LP_DEAL_TIMEOUT_MEDIATE_RESULTS),
                     LP_EINVAL);
    atomic_store(&mock_now_ns, T0 + 1599 * NS);
    assert_int_equal(f->ops->cancel_deal_v2(f->inst, NODE, id, LP_DEAL_TIMEOUT_MEDIATE_RESULTS),
                     LP_OK);
    assert_int_equal(state_of(f, 2), LP_DEAL_TIMEOUT_MEDIATE_RESULTS);

    /* The solver's own timeouts follow its clock, not the agreement's. */
    atomic_store(&mock_now_ns, T0);
    reach(f, 3, LP_DEAL_AGREED);
    deal_id_of(3, id);
    assert_int_equal(f->ops->cancel_deal_v2(f->inst, NODE, id, LP_DEAL_TIMEOUT_EXECUTION), LP_OK);
}

static void test_durability(void **state)
{
    struct fx *f = *state;
    reach(f, 1, LP_DEAL_RESULTS_SUBMITTED);
    reach(f, 2, LP_DEAL_RESULTS_CHECKED);
    close_instance(f);
    open_instance(f);

    uint8_t id[32];
    deal_id_of(1, id);
    struct lp_deal_record d = {.struct_size = sizeof(d)};
    assert_int_equal(f->ops->read_deal_v2(f->inst, NODE, id, &d), LP_OK);
    assert_int_equal(d.state, LP_DEAL_RESULTS_SUBMITTED);
    struct lp_result_record r = result(1, 0);
    assert_string_equal(d.cid, r.cid);
    assert_memory_equal(d.result_id, r.result_id, 32);
    assert_int_equal(d.updated_s, T0 / NS);
    assert_int_equal(state_of(f, 2), LP_DEAL_RESULTS_CHECKED);

    /* The reopened ledger continues the same rules. */
    assert_int_equal(f->ops->accept_result_v2(f->inst, NODE, id), LP_OK);
    assert_int_equal(f->ops->accept_result_v2(f->inst, NODE, id), LP_EINVAL);
    deal_id_of(2, id);
    assert_int_equal(f->ops->mediation_verdict_v2(f->inst, NODE, id, false), LP_OK);
    close_instance(f);
    open_instance(f);
    assert_int_equal(state_of(f, 1), LP_DEAL_RESULTS_ACCEPTED);
    assert_int_equal(state_of(f, 2), LP_DEAL_MEDIATION_REJECTED);
    assert_int_equal(count_events(f, 1), 3);
    assert_int_equal(count_events(f, 2), 4);
}

/* ---- proof of work ---- */

static const uint8_t MINER[20] = {0x55, 5};

static struct lp_pow_round pow_round(uint64_t n, uint8_t target_first_byte)
{
    struct lp_pow_round r;
    memset(&r, 0, sizeof(r));
    r.struct_size = sizeof(r);
    r.round = n;
    memcpy(r.provider, MINER, 20);
    char text[32];
    snprintf(text, sizeof(text), "challenge-%llu", (unsigned long long)n);
    lp_keccak256(text, strlen(text), r.challenge);
    /* target = first byte, then all ones: about first_byte/256 of nonces pass. */
    r.target[0] = target_first_byte;
    memset(r.target + 1, 0xff, 31);
    r.window_end_s = T0 / NS + 60;
    return r;
}

/* A round whose window is open by the real clock (for the core's host, which has no mock clock)
 * or by the mock one. */
static struct lp_pow_round pow_round_for(uint64_t n, uint8_t target_first_byte, bool real_clock)
{
    struct lp_pow_round r = pow_round(n, target_first_byte);
    if (real_clock)
        r.window_end_s = (uint64_t)time(NULL) + 600;
    return r;
}

static struct lp_pow_submission submission(uint64_t n, uint64_t nonce)
{
    struct lp_pow_submission s;
    memset(&s, 0, sizeof(s));
    s.struct_size = sizeof(s);
    s.round = n;
    memcpy(s.provider, MINER, 20);
    for (int i = 0; i < 8; i++)
        s.nonce[31 - i] = (uint8_t)(nonce >> (8 * i));
    s.hashes_counted = 123456789;
    s.window_ms = 60000;
    return s;
}

/* Brute force with the reference Keccak: the first nonce whose hash is (or is not) below. */
static uint64_t find_nonce(const struct lp_pow_round *r, bool valid)
{
    for (uint64_t n = 0;; n++) {
        struct lp_pow_submission s = submission(r->round, n);
        uint8_t in[64], d[32];
        memcpy(in, r->challenge, 32);
        memcpy(in + 32, s.nonce, 32);
        lp_keccak256(in, 64, d);
        if ((memcmp(d, r->target, 32) < 0) == valid)
            return n;
    }
}

static int64_t stored_hashes(struct fx *f, uint64_t round)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT hashes_counted FROM pow_submissions"
                                        " WHERE round = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, (int64_t)round);
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_pow_valid_invalid_duplicate(void **state)
{
    struct fx *f = *state;
    struct lp_pow_round r = pow_round(1, 0x01); /* ~1/256 of nonces pass */
    assert_int_equal(f->ops->pow_new_round_v2(f->inst, NODE, &r), LP_OK);

    struct lp_pow_submission bad = submission(1, find_nonce(&r, false));
    assert_int_equal(f->ops->pow_submit_v2(f->inst, NODE, &bad), LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "not below the target"));
    assert_int_equal(stored_hashes(f, 1), -1);

    uint64_t n = find_nonce(&r, true);
    struct lp_pow_submission good = submission(1, n);
    if (f->ops->pow_submit_v2(f->inst, NODE, &good) != LP_OK)
        fail_msg("nonce %llu: %s", (unsigned long long)n, f->ops->life.last_error(f->inst));
    assert_int_equal(stored_hashes(f, 1), 123456789);

    assert_int_equal(f->ops->pow_submit_v2(f->inst, NODE, &good), LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "already submitted"));

    struct lp_pow_submission unknown = submission(7, n);
    assert_int_equal(f->ops->pow_submit_v2(f->inst, NODE, &unknown), LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "unknown round"));
}

/* A published value pins the hash itself: keccak256 of 64 zero bytes (the level-1 zero hash of
 * Ethereum's keccak sparse Merkle trees) is 0xad3228b6...ba5fb5. With a zero challenge and a
 * zero nonce, a target equal to it is refused (the rule is strictly below) and one above it
 * accepted. */
static void test_pow_published_vector(void **state)
{
    struct fx *f = *state;
    static const char zero_hash[] =
        "ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5";
    struct lp_pow_round r = pow_round(1, 0);
    memset(r.challenge, 0, 32);
    assert_int_equal(lp_hex_decode(zero_hash, 64, r.target, 32), 0);
    assert_int_equal(f->ops->pow_new_round_v2(f->inst, NODE, &r), LP_OK);
    struct lp_pow_submission s = submission(1, 0);
    assert_int_equal(f->ops->pow_submit_v2(f->inst, NODE, &s), LP_EINVAL);

    struct lp_pow_round r2 = r;
    r2.round = 2;
    r2.target[31]++; /* 0x...ba5fb6 */
    assert_int_equal(f->ops->pow_new_round_v2(f->inst, NODE, &r2), LP_OK);
    s.round = 2;
    if (f->ops->pow_submit_v2(f->inst, NODE, &s) != LP_OK)
        fail_msg("%s", f->ops->life.last_error(f->inst));
}

static void test_pow_window_and_rounds(void **state)
{
    struct fx *f = *state;
    struct lp_pow_round r = pow_round(5, 0x10);
    assert_int_equal(f->ops->pow_new_round_v2(f->inst, NODE, &r), LP_OK);
    assert_int_equal(f->ops->pow_new_round_v2(f->inst, NODE, &r), LP_OK); /* retry: idempotent */
    struct lp_pow_round other = r;
    other.challenge[0] ^= 1;
    assert_int_equal(f->ops->pow_new_round_v2(f->inst, NODE, &other), LP_EINVAL);
    struct lp_pow_round older = pow_round(4, 0x10);
    assert_int_equal(f->ops->pow_new_round_v2(f->inst, NODE, &older), LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "rounds only increase"));
    struct lp_pow_round zero_target = pow_round(9, 0);
    memset(zero_target.target, 0, 32);
    assert_int_equal(f->ops->pow_new_round_v2(f->inst, NODE, &zero_target), LP_EINVAL);

    /* Late: one second after the window end. At the end itself it still counts. */
    struct lp_pow_submission s = submission(5, find_nonce(&r, true));
    atomic_store(&mock_now_ns, r.window_end_s * NS + NS);
    assert_int_equal(f->ops->pow_submit_v2(f->inst, NODE, &s), LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "window closed"));
    atomic_store(&mock_now_ns, r.window_end_s * NS);
    assert_int_equal(f->ops->pow_submit_v2(f->inst, NODE, &s), LP_OK);

    /* A newer round supersedes an unsolved older one. */
    struct lp_pow_round r6 = pow_round(6, 0x10);
    struct lp_pow_round r7 = pow_round(7, 0x10);
    assert_int_equal(f->ops->pow_new_round_v2(f->inst, NODE, &r6), LP_OK);
    assert_int_equal(f->ops->pow_new_round_v2(f->inst, NODE, &r7), LP_OK);
    struct lp_pow_submission s6 = submission(6, find_nonce(&r6, true));
    assert_int_equal(f->ops->pow_submit_v2(f->inst, NODE, &s6), LP_EINVAL);
    assert_non_null(strstr(f->ops->life.last_error(f->inst), "superseded by round 7"));
}

/* ---- concurrency ---- */

struct racer {
    struct fx *f;
    void *inst;
    int seed;
    int variant;
    pthread_barrier_t *barrier;
    int rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct lp_result_record rec = result(r->seed, r->variant);
    pthread_barrier_wait(r->barrier);
    r->rc = r->f->ops->record_result_v2(r->inst, NODE, &rec);
    return NULL;
}

static void run_races(struct fx *f, void *inst_a, void *inst_b, int first_seed, int rounds)
{
    pthread_barrier_t barrier;
    for (int i = 0; i < rounds; i++) {
        int seed = first_seed + i;
        struct lp_agreement a = agreement(seed);
        assert_int_equal(f->ops->record_agreement_v2(inst_a, NODE, &a), LP_OK);
        pthread_barrier_init(&barrier, NULL, 2);
        struct racer ra = {f, inst_a, seed, 1, &barrier, 99};
        struct racer rb = {f, inst_b, seed, 2, &barrier, 99};
        pthread_t ta, tb;
        pthread_create(&ta, NULL, race, &ra);
        pthread_create(&tb, NULL, race, &rb);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&barrier);
        int wins = (ra.rc == LP_OK) + (rb.rc == LP_OK);
        int refusals = (ra.rc == LP_EINVAL) + (rb.rc == LP_EINVAL);
        if (wins != 1 || refusals != 1)
            fail_msg("deal %d: rc %d and %d, expected exactly one winner", seed, ra.rc, rb.rc);
        /* The stored result is the winner's. */
        uint8_t id[32];
        deal_id_of(seed, id);
        struct lp_deal_record d = {.struct_size = sizeof(d)};
        assert_int_equal(f->ops->read_deal_v2(inst_a, NODE, id, &d), LP_OK);
        struct lp_result_record winner = result(seed, ra.rc == LP_OK ? 1 : 2);
        assert_memory_equal(d.result_id, winner.result_id, 32);
        assert_int_equal(d.state, LP_DEAL_RESULTS_SUBMITTED);
    }
}

static void test_concurrent_results_one_instance(void **state)
{
    struct fx *f = *state;
    run_races(f, f->inst, f->inst, 1000, 40);
}

/* Two instances (two connections) on one file: BEGIN IMMEDIATE and the busy timeout keep the
 * rule across connections, as across processes. */
static void test_concurrent_results_two_instances(void **state)
{
    struct fx *f = *state;
    void *second = NULL;
    assert_int_equal(f->ops->life.create(&mock_host, lp_config_values_data(f->values), &second),
                     LP_OK);
    run_races(f, f->inst, second, 2000, 20);
    f->ops->life.destroy(second);
}

/* ---- through the core's dispatch layer ---- */

/* The ledger as the core opens it (the plugin's schema, the core's host) on the fixture's file;
 * the fixture's own instance stays open beside it, as another connection would. */
static struct lp_backend *open_backend(struct fx *f, struct lp_config **cfg)
{
    char text[600], err[1024];
    snprintf(text, sizeof text, "verifier: { ledger: { path = \"%s\"; }; };\n", f->path);
    assert_int_equal(lp_config_load_string(text, "test", cfg, err, sizeof err), 0);
    struct lp_backend *b = NULL;
    if (lp_backend_open(*cfg, "verifier", "ledger", &b, err, sizeof err) != 0)
        fail_msg("verifier: %s", err);
    return b;
}

static void close_backend(struct lp_backend *b, struct lp_config *cfg)
{
    lp_backend_close(b);
    lp_config_free(cfg);
}

static struct lp_call *as(struct lp_call *call, const uint8_t actor[20])
{
    lp_call_init(call, actor, NULL, 0);
    return call;
}

static const uint8_t STRANGER[20] = {0x66, 6};

static uint32_t dispatch_state(struct lp_backend *b, int seed)
{
    uint8_t id[32];
    deal_id_of(seed, id);
    struct lp_deal_record d;
    struct lp_plugin_error pe;
    struct lp_call c;
    /* read_deal: anyone */
    if (lp_verifier_read_deal(b, as(&c, STRANGER), id, &d, &pe) != LP_OK)
        fail_msg("%s", pe.message);
    return d.state;
}

/* A refusal: LP_EINVAL, one line naming the operation, the actor and who is allowed, and the
 * deal's state and history untouched. */
static void expect_refused(struct fx *f, struct lp_backend *b, int seed, int rc,
                           const struct lp_plugin_error *pe, const uint8_t actor[20],
                           const char *role, const uint8_t *allowed, uint32_t state, int events)
{
    char a[43], w[43], want[128];
    lp_hex_encode_0x(actor, 20, a);
    lp_hex_encode_0x(allowed, 20, w);
    snprintf(want, sizeof want, "%s %s", role, w);
    if (rc != LP_EINVAL || pe->rc != LP_EINVAL || strstr(pe->message, a) == NULL ||
        strstr(pe->message, want) == NULL || strchr(pe->message, '\n') != NULL)
        fail_msg("rc %d, expected a refusal of %s naming \"%s\": %s", rc, a, want, pe->message);
    assert_int_equal(dispatch_state(b, seed), state);
    assert_int_equal(count_events(f, seed), events);
}

/* Every deal operation, as a deal contract checks msg.sender: the wrong actor is refused, the
 * right one (and the node itself, the all-zero actor) accepted. */
static void test_actor_rules(void **state)
{
    struct fx *f = *state;
    struct lp_config *cfg;
    struct lp_backend *b = open_backend(f, &cfg);
    struct lp_plugin_error pe;
    struct lp_call c;
    uint8_t id[32];

    /* record_agreement: the job creator or the resource provider of the agreement */
    struct lp_agreement a = agreement(1);
    int rc = lp_verifier_record_agreement(b, as(&c, STRANGER), &a, &pe);
    assert_int_equal(rc, LP_EINVAL);
    char s_hex[43];
    lp_hex_encode_0x(STRANGER, 20, s_hex);
    assert_non_null(strstr(pe.message, s_hex));
    assert_non_null(strstr(pe.message, "is neither the job creator"));
    assert_non_null(strstr(pe.message, "verifier/ledger: record_agreement: deal 0x"));
    assert_int_equal(
        lp_verifier_read_deal(b, as(&c, STRANGER), a.deal_id, &(struct lp_deal_record){0}, &pe),
        LP_EINVAL); /* nothing recorded */
    assert_int_equal(lp_verifier_record_agreement(b, as(&c, MED), &a, &pe), LP_EINVAL);
    assert_int_equal(lp_verifier_record_agreement(b, as(&c, JC), &a, &pe), LP_OK);
    assert_int_equal(lp_verifier_record_agreement(b, as(&c, RP), &a, &pe), LP_OK); /* same terms */
    assert_int_equal(count_events(f, 1), 1);

    /* record_result: only the deal's resource provider */
    struct lp_result_record r = result(1, 0);
    rc = lp_verifier_record_result(b, as(&c, JC), &r, &pe);
    expect_refused(f, b, 1, rc, &pe, JC, "resource provider", RP, LP_DEAL_AGREED, 1);
    rc = lp_verifier_record_result(b, as(&c, STRANGER), &r, &pe);
    expect_refused(f, b, 1, rc, &pe, STRANGER, "resource provider", RP, LP_DEAL_AGREED, 1);
    assert_int_equal(lp_verifier_record_result(b, as(&c, RP), &r, &pe), LP_OK);

    /* accept_result: only the job creator */
    deal_id_of(1, id);
    rc = lp_verifier_accept_result(b, as(&c, RP), id, &pe);
    expect_refused(f, b, 1, rc, &pe, RP, "job creator", JC, LP_DEAL_RESULTS_SUBMITTED, 2);
    rc = lp_verifier_accept_result(b, as(&c, MED), id, &pe);
    expect_refused(f, b, 1, rc, &pe, MED, "job creator", JC, LP_DEAL_RESULTS_SUBMITTED, 2);

    /* challenge_result: only the job creator */
    rc = lp_verifier_challenge_result(b, as(&c, RP), id, MED, &pe);
    expect_refused(f, b, 1, rc, &pe, RP, "job creator", JC, LP_DEAL_RESULTS_SUBMITTED, 2);
    rc = lp_verifier_challenge_result(b, as(&c, MED), id, MED, &pe);
    expect_refused(f, b, 1, rc, &pe, MED, "job creator", JC, LP_DEAL_RESULTS_SUBMITTED, 2);
    assert_int_equal(lp_verifier_challenge_result(b, as(&c, JC), id, MED, &pe), LP_OK);

    /* mediation_verdict: only the mediator the challenge named */
    const uint8_t *not_mediators[] = {JC, RP, STRANGER};
    for (size_t i = 0; i < 3; i++) {
        rc = lp_verifier_mediation_verdict(b, as(&c, not_mediators[i]), id, true, &pe);
        expect_refused(f, b, 1, rc, &pe, not_mediators[i], "mediator", MED, LP_DEAL_RESULTS_CHECKED,
                       3);
    }
    /* cancel_deal: either party, not the mediator nor anyone else */
    rc = lp_verifier_cancel_deal(b, as(&c, MED), id, LP_DEAL_JOB_OFFER_CANCELLED, &pe);
    expect_refused(f, b, 1, rc, &pe, MED, "job creator", JC, LP_DEAL_RESULTS_CHECKED, 3);
    assert_non_null(strstr(pe.message, "nor its resource provider"));
    assert_int_equal(lp_verifier_mediation_verdict(b, as(&c, MED), id, false, &pe), LP_OK);
    assert_int_equal(dispatch_state(b, 1), LP_DEAL_MEDIATION_REJECTED);

    /* accept by the job creator; cancel by either party; the node itself is never checked */
    struct lp_agreement a2 = agreement(2);
    assert_int_equal(lp_verifier_record_agreement(b, as(&c, RP), &a2, &pe), LP_OK);
    struct lp_result_record r2 = result(2, 0);
    assert_int_equal(lp_verifier_record_result(b, as(&c, RP), &r2, &pe), LP_OK);
    assert_int_equal(lp_verifier_accept_result(b, as(&c, JC), a2.deal_id, &pe), LP_OK);
    for (int seed = 3; seed <= 5; seed++) {
        struct lp_agreement ax = agreement(seed);
        assert_int_equal(lp_verifier_record_agreement(b, NULL, &ax, &pe), LP_OK);
        rc = lp_verifier_cancel_deal(b, as(&c, STRANGER), ax.deal_id, LP_DEAL_JOB_OFFER_CANCELLED,
                                     &pe);
        expect_refused(f, b, seed, rc, &pe, STRANGER, "job creator", JC, LP_DEAL_AGREED, 1);
        const uint8_t *who = seed == 3 ? JC : seed == 4 ? RP : NULL;
        if (lp_verifier_cancel_deal(b, who ? as(&c, who) : NODE, ax.deal_id,
                                    LP_DEAL_JOB_OFFER_CANCELLED, &pe) != LP_OK)
            fail_msg("%s", pe.message);
        assert_int_equal(dispatch_state(b, seed), LP_DEAL_JOB_OFFER_CANCELLED);
    }
    close_backend(b, cfg);
}

/* Proof of work: anyone issues a round; only the provider a submission names submits it. */
static void test_pow_actor_rules(void **state)
{
    struct fx *f = *state;
    struct lp_config *cfg;
    struct lp_backend *b = open_backend(f, &cfg);
    struct lp_plugin_error pe;
    struct lp_call c;
    struct lp_pow_round r = pow_round_for(1, 0x10, 1);
    assert_int_equal(lp_verifier_pow_new_round(b, as(&c, STRANGER), &r, &pe), LP_OK);
    struct lp_pow_submission s = submission(1, find_nonce(&r, true));
    s.window_ms = 1;
    int rc = lp_verifier_pow_submit(b, as(&c, STRANGER), &s, &pe);
    assert_int_equal(rc, LP_EINVAL);
    char a[43], p[43];
    lp_hex_encode_0x(STRANGER, 20, a);
    lp_hex_encode_0x(MINER, 20, p);
    assert_non_null(strstr(pe.message, a));
    assert_non_null(strstr(pe.message, "is not the submitting provider"));
    assert_non_null(strstr(pe.message, p));
    assert_int_equal(stored_hashes(f, 1), -1);
    rc = lp_verifier_pow_submit(b, as(&c, MINER), &s, &pe);
    if (rc != LP_OK)
        fail_msg("%s", pe.message);
    assert_int_equal(stored_hashes(f, 1), 123456789);
    close_backend(b, cfg);
}

/* The calls the core makes, with the actors it gives them: the provider records its agreement
 * and its result as the deal's resource provider; a mediator replays the agreement (as the
 * provider), the result (as the provider) and the challenge (as the job creator) into its own
 * ledger and records its verdict as itself; the solver issues PoW rounds as itself and records
 * each submission as the submitting provider. All pass the rules. */
static void test_core_call_sequences(void **state)
{
    struct fx *f = *state;
    struct lp_config *cfg;
    struct lp_backend *b = open_backend(f, &cfg);
    struct lp_plugin_error pe;
    struct lp_call c;

    /* the provider's ledger */
    struct lp_agreement a = agreement(1);
    struct lp_result_record r = result(1, 0);
    if (lp_verifier_record_agreement(b, as(&c, a.resource_provider), &a, &pe) != LP_OK ||
        lp_verifier_record_result(b, as(&c, RP), &r, &pe) != LP_OK)
        fail_msg("provider: %s", pe.message);
    assert_int_equal(dispatch_state(b, 1), LP_DEAL_RESULTS_SUBMITTED);

    /* the mediator's own ledger, which has never seen the deal */
    struct lp_agreement a2 = agreement(2);
    struct lp_result_record r2 = result(2, 0);
    struct lp_deal_record d;
    assert_int_equal(lp_verifier_read_deal(b, as(&c, MED), a2.deal_id, &d, &pe), LP_EINVAL);
    if (lp_verifier_record_agreement(b, as(&c, a2.resource_provider), &a2, &pe) != LP_OK ||
        lp_verifier_record_result(b, as(&c, a2.resource_provider), &r2, &pe) != LP_OK ||
        lp_verifier_challenge_result(b, as(&c, a2.job_creator), a2.deal_id, MED, &pe) != LP_OK ||
        lp_verifier_mediation_verdict(b, as(&c, MED), a2.deal_id, true, &pe) != LP_OK)
        fail_msg("mediator: %s", pe.message);
    assert_int_equal(dispatch_state(b, 2), LP_DEAL_MEDIATION_ACCEPTED);

    /* the solver */
    static const uint8_t SOLVER[20] = {0x77, 7};
    struct lp_pow_round pr = pow_round_for(3, 0x10, 1);
    struct lp_pow_submission ps = submission(3, find_nonce(&pr, true));
    if (lp_verifier_pow_new_round(b, as(&c, SOLVER), &pr, &pe) != LP_OK ||
        lp_verifier_pow_submit(b, as(&c, ps.provider), &ps, &pe) != LP_OK)
        fail_msg("solver: %s", pe.message);
    close_backend(b, cfg);
}

/* Holds the file's write lock from another connection (another process, as far as the ledger
 * can tell) until released. */
struct lock_holder {
    sqlite3 *db;
};

static void hold_write_lock(struct fx *f, struct lock_holder *h)
{
    assert_int_equal(sqlite3_open_v2(f->path, &h->db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
}

static void release_write_lock(struct lock_holder *h)
{
    sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(h->db);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct agree_job {
    struct lp_backend *b;
    int seed;
    uint64_t timeout_ms; /* the call's deadline; 0: none */
    int rc;
    struct lp_plugin_error pe;
};

static void *agree_thread(void *arg)
{
    struct agree_job *j = arg;
    struct lp_agreement a = agreement(j->seed);
    struct lp_call c;
    lp_call_init(&c, NULL, NULL, j->timeout_ms);
    j->rc = lp_verifier_record_agreement(j->b, &c, &a, &j->pe);
    return NULL;
}

/* A call waits for another connection's write lock (SQLite's busy wait), and for another call
 * on the same instance that is itself waiting; both waits end when the call is cancelled (here
 * by its deadline), long before the 5 s busy timeout, and change nothing. Without cancellation
 * the wait simply lasts until the lock is free. */
static void test_cancelled_while_waiting(void **state)
{
    struct fx *f = *state;
    struct lp_config *cfg;
    struct lp_backend *b = open_backend(f, &cfg);
    struct lock_holder h;
    hold_write_lock(f, &h);

    /* waiting for the other connection's lock */
    struct agree_job first = {.b = b, .seed = 1, .timeout_ms = 300};
    uint64_t t0 = now_ms();
    agree_thread(&first);
    uint64_t took = now_ms() - t0;
    assert_int_equal(first.rc, LP_ERR);
    assert_non_null(strstr(first.pe.message, "cancelled while waiting"));
    assert_true(took >= 250 && took < 2000);

    /* waiting behind a call on the same instance that waits for the lock (no deadline) */
    struct agree_job blocked = {.b = b, .seed = 2, .timeout_ms = 0};
    pthread_t tb;
    pthread_create(&tb, NULL, agree_thread, &blocked);
    usleep(100 * 1000); /* let it take the instance and start waiting */
    struct agree_job second = {.b = b, .seed = 3, .timeout_ms = 300};
    t0 = now_ms();
    agree_thread(&second);
    took = now_ms() - t0;
    assert_int_equal(second.rc, LP_ERR);
    assert_non_null(strstr(second.pe.message, "cancelled while waiting for another call"));
    assert_true(took >= 250 && took < 2000);

    release_write_lock(&h);
    pthread_join(tb, NULL);
    if (blocked.rc != LP_OK)
        fail_msg("the uncancelled call: %s", blocked.pe.message);
    assert_int_equal(dispatch_state(b, 2), LP_DEAL_AGREED);
    uint8_t id[32];
    struct lp_deal_record d;
    struct lp_call c;
    deal_id_of(1, id);
    assert_int_equal(lp_verifier_read_deal(b, as(&c, JC), id, &d, &first.pe), LP_EINVAL);
    deal_id_of(3, id);
    assert_int_equal(lp_verifier_read_deal(b, as(&c, JC), id, &d, &first.pe), LP_EINVAL);
    close_backend(b, cfg);
}

/* "" is <data_dir>/ledger.sqlite, the core's data directory; without one only `path` will do. */
static void test_default_path(void **state)
{
    struct fx *f = *state;
    char data[300];
    snprintf(data, sizeof data, "%s/data", f->dir);
    mock_data_dir_path = data;
    snprintf(f->path, sizeof f->path, "%s", "");
    make_config(f, "");
    const void *cfg = lp_config_values_data(f->values);
    char reason[256];
    assert_int_equal(f->ops->life.probe(&mock_host, cfg, reason, sizeof reason), LP_OK);
    void *inst = NULL;
    assert_int_equal(f->ops->life.create(&mock_host, cfg, &inst), LP_OK);
    f->ops->life.destroy(inst);
    char file[400];
    snprintf(file, sizeof file, "%s/ledger.sqlite", data);
    assert_int_equal(access(file, F_OK), 0);

    mock_data_dir_path = NULL;
    assert_int_equal(f->ops->life.probe(&mock_host, cfg, reason, sizeof reason), LP_EUNAVAILABLE);
    assert_non_null(strstr(reason, "verifier.ledger.path"));
    inst = NULL;
    assert_int_equal(f->ops->life.create(&mock_host, cfg, &inst), LP_EINVAL);
    assert_null(inst);
    /* A core from before ABI 1.1 has no data_dir service at all. */
    struct lp_host old = mock_host;
    old.struct_size = offsetof(struct lp_host, vlog);
    assert_int_equal(f->ops->life.probe(&old, cfg, reason, sizeof reason), LP_EUNAVAILABLE);
}

struct err_racer {
    struct fx *f;
    pthread_barrier_t *barrier;
    int seed;
    int mismatches;
};

static void *err_race(void *arg)
{
    struct err_racer *r = arg;
    char want[67];
    uint8_t id[32];
    deal_id_of(r->seed, id);
    lp_hex_encode_0x(id, 32, want);
    for (int i = 0; i < 200; i++) {
        pthread_barrier_wait(r->barrier);
        if (r->f->ops->accept_result_v2(r->f->inst, NODE, id) != LP_EINVAL ||
            strstr(r->f->ops->life.last_error(r->f->inst), want) == NULL)
            r->mismatches++;
    }
    return NULL;
}

/* Two threads fail on one instance at the same moment, about different deals; each reads its
 * own failure. */
static void test_last_error_per_thread(void **state)
{
    struct fx *f = *state;
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    struct err_racer a = {f, &barrier, 41, 0}, b = {f, &barrier, 42, 0};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, err_race, &a);
    pthread_create(&tb, NULL, err_race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    assert_int_equal(a.mismatches, 0);
    assert_int_equal(b.mismatches, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pragmas_and_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agreement_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transition_matrix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_deal_and_bad_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_challenge_mediator_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_deadlines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pow_valid_invalid_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pow_published_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pow_window_and_rounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_results_one_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_results_two_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actor_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pow_actor_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_core_call_sequences, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_while_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_error_per_thread, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
