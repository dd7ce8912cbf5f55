/* verifier/ledger: descriptor, configuration schema, lifecycle and the locking wrappers around
 * the operations (the ABI 1.1 forms, which carry the acting party and a cancellation token).
 *
 * Thread safety: one SQLite connection per instance, guarded by a pthread mutex held for the
 * whole operation. SQLITE_OPEN_FULLMUTEX alone would not do: it serialises single API calls,
 * but an operation is several (BEGIN, read the state, check, write, COMMIT) and two threads
 * interleaving them on one connection would share one transaction. The mutex makes each
 * operation's check-then-write atomic within the process; BEGIN IMMEDIATE does the same
 * against other processes that open the same file. last_error() is per thread. */
#include "ledger.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const struct lp_cfg_field ledger_schema[] = {
    LP_CFG_FIELD(struct lp_ledger_config, path, LP_CFG_STRING, 0, "\"\"",
                 "database file; \"\" means <data directory>/ledger.sqlite, the data directory "
                 "being the core's ($LILYPAD_HOME, else ~/.local/share/lilypad)"),
    LP_CFG_FIELD(struct lp_ledger_config, synchronous, LP_CFG_STRING, 0, "\"normal\"",
                 "SQLite synchronous level: \"normal\" (WAL-safe, may lose the last commits on "
                 "power loss) or \"full\" (every commit reaches the disk)"),
    LP_CFG_END,
};

/* The last failure of each thread, with the instance it belongs to, so that a caller reading
 * last_error() right after its own failed call sees its own message even while other threads
 * use the same instance, and never another instance's. */
static _Thread_local struct {
    const struct lp_ledger *instance;
    char text[512];
} thread_error;

int lp_ledger_fail(struct lp_ledger *l, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(thread_error.text, sizeof(thread_error.text), fmt, ap);
    va_end(ap);
    thread_error.instance = l;
    if (l->host != NULL && l->host->log != NULL)
        l->host->log(l->host, LP_LOG_DEBUG, "%s", thread_error.text);
    return rc;
}

bool lp_ledger_cancelled(const struct lp_ledger *l, const struct lp_call *call)
{
    const struct lp_host *h = l->host;
    if (h != NULL && LP_HOST_HAS(h, call_cancelled))
        return h->call_cancelled(h, call) != 0;
    /* A host from before ABI 1.1 has the process-wide flag only. */
    return h != NULL && LP_HOST_HAS(h, cancelled) && h->cancelled(h) != 0;
}

/* The database file: the `path` key, else <data_dir>/ledger.sqlite from the core, so every part
 * of the program agrees where its files are. 0, or -1 with the reason in why. */
static int resolve_path(const struct lp_host *host, const struct lp_ledger_config *cfg, char *out,
                        size_t out_len, char *why, size_t why_len)
{
    int n;
    if (cfg->path != NULL && cfg->path[0] != '\0') {
        n = snprintf(out, out_len, "%s", cfg->path);
    } else {
        const char *data =
            host != NULL && LP_HOST_HAS(host, data_dir) ? host->data_dir(host) : NULL;
        if (data == NULL || data[0] == '\0') {
            snprintf(why, why_len,
                     "no ledger path: the core has no data directory (set LILYPAD_HOME or HOME) "
                     "and verifier.ledger.path is not set");
            return -1;
        }
        n = snprintf(out, out_len, "%s/ledger.sqlite", data);
    }
    if (n < 0 || (size_t)n >= out_len) {
        snprintf(why, why_len, "verifier.ledger.path: the path is longer than %zu bytes",
                 out_len - 1);
        return -1;
    }
    return 0;
}

uint64_t lp_ledger_now_ns(const struct lp_ledger *l)
{
    if (l->host != NULL && LP_HOST_HAS(l->host, realtime_ns))
        return l->host->realtime_ns(l->host);
    /* Only a host from an older core lacks the clock. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int check_synchronous(const struct lp_ledger_config *cfg, char *err, size_t err_len)
{
    const char *s = cfg->synchronous != NULL ? cfg->synchronous : "normal";
    if (strcmp(s, "normal") == 0 || strcmp(s, "full") == 0)
        return LP_OK;
    snprintf(err, err_len,
             "verifier.ledger.synchronous: \"%s\" is not a level; use \"normal\" or \"full\"", s);
    return LP_EINVAL;
}

/* The nearest existing directory at or above the file's folder must be writable: create()
 * makes the missing folders below it. */
static int ledger_probe(const struct lp_host *host, const void *config, char *reason,
                        size_t reason_len)
{
    const struct lp_ledger_config *cfg = config;
    if (check_synchronous(cfg, reason, reason_len) != LP_OK)
        return LP_EUNAVAILABLE;
    char path[4096];
    if (resolve_path(host, cfg, path, sizeof(path), reason, reason_len) != 0)
        return LP_EUNAVAILABLE;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode) || access(path, R_OK | W_OK) != 0) {
            snprintf(reason, reason_len, "%s: not a writable file", path);
            return LP_EUNAVAILABLE;
        }
    }
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (slash == NULL) {
            snprintf(dir, sizeof(dir), ".");
        } else if (slash == dir) {
            dir[1] = '\0';
        } else {
            *slash = '\0';
        }
        if (stat(dir, &st) == 0)
            break;
        if (errno != ENOENT || strcmp(dir, ".") == 0 || strcmp(dir, "/") == 0) {
            snprintf(reason, reason_len, "%s: %s", dir, strerror(errno));
            return LP_EUNAVAILABLE;
        }
    }
    if (!S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
        snprintf(reason, reason_len, "%s: directory is not writable (ledger %s)", dir, path);
        return LP_EUNAVAILABLE;
    }
    reason[0] = '\0';
    return LP_OK;
}

static int ledger_create(const struct lp_host *host, const void *config, void **instance)
{
    const struct lp_ledger_config *cfg = config;
    struct lp_ledger *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return LP_ERR;
    l->host = host;
    char err[256];
    if (check_synchronous(cfg, err, sizeof(err)) != LP_OK) {
        if (host != NULL && host->log != NULL)
            host->log(host, LP_LOG_ERROR, "%s", err);
        free(l);
        return LP_EINVAL;
    }
    if (resolve_path(host, cfg, l->path, sizeof(l->path), err, sizeof(err)) != 0) {
        lp_ledger_fail(l, LP_EINVAL, "%s", err);
        if (host != NULL && host->log != NULL)
            host->log(host, LP_LOG_ERROR, "%s", err);
        thread_error.instance = NULL;
        free(l);
        return LP_EINVAL;
    }
    pthread_mutex_init(&l->lock, NULL);
    int rc = lp_ledger_db_open(l, cfg->synchronous != NULL ? cfg->synchronous : "normal");
    if (rc != LP_OK) {
        if (host != NULL && host->log != NULL)
            host->log(host, LP_LOG_ERROR, "%s", thread_error.text);
        thread_error.instance = NULL;
        lp_ledger_db_close(l);
        pthread_mutex_destroy(&l->lock);
        free(l);
        return rc;
    }
    if (host != NULL && host->log != NULL)
        host->log(host, LP_LOG_INFO, "ledger %s (schema %d)", l->path, lp_ledger_schema_version());
    *instance = l;
    return LP_OK;
}

static void ledger_destroy(void *instance)
{
    struct lp_ledger *l = instance;
    if (l == NULL)
        return;
    lp_ledger_db_close(l);
    pthread_mutex_destroy(&l->lock);
    if (thread_error.instance == l)
        thread_error.instance = NULL;
    free(l);
}

static const char *ledger_last_error(void *instance)
{
    if (thread_error.instance == instance)
        return thread_error.text;
    return "no failure on this thread";
}

/* The acting party of a call: NULL when the node acts for itself (no context, a context too
 * short to hold the actor, or the all-zero address). */
static const uint8_t *actor_of(const struct lp_call *call)
{
    static const uint8_t zero[20];
    if (call == NULL || !LP_STRUCT_HAS(call, struct lp_call, actor) ||
        memcmp(call->actor, zero, sizeof(zero)) == 0)
        return NULL;
    return call->actor;
}

/* Takes the instance mutex, giving up when the call is cancelled while another thread's
 * operation holds it (that one may itself be waiting for another process's lock). */
static int lock_for(struct lp_ledger *l, const struct lp_call *call, const char *op)
{
    for (;;) {
        struct timespec until;
        /* timedlock counts on the realtime clock; a jump only changes one slice's length */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 20 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int e = pthread_mutex_timedlock(&l->lock, &until);
        if (e == 0)
            return LP_OK;
        if (e != ETIMEDOUT)
            return lp_ledger_fail(l, LP_ERR, "%s: cannot lock the ledger: %s", op, strerror(e));
        if (lp_ledger_cancelled(l, call))
            return lp_ledger_fail(
                l, LP_ERR, "%s: cancelled while waiting for another call on this ledger", op);
    }
}

/* Each operation: lock, run with the call recorded for the busy handler, count the outcome,
 * unlock. */
#define LOCKED(l, call_ctx, op, body)                                                              \
    do {                                                                                           \
        int rc_ = lock_for((l), (call_ctx), (op));                                                 \
        if (rc_ == LP_OK) {                                                                        \
            (l)->call = (call_ctx);                                                                \
            (l)->busy_cancelled = false;                                                           \
            rc_ = (body);                                                                          \
            (l)->call = NULL;                                                                      \
            pthread_mutex_unlock(&(l)->lock);                                                      \
        }                                                                                          \
        if ((l)->host != NULL && LP_HOST_HAS((l)->host, metric_add))                               \
            (l)->host->metric_add((l)->host, rc_ == LP_OK ? "ops_ok" : "ops_refused", 1);          \
        return rc_;                                                                                \
    } while (0)

static int op_record_agreement(void *instance, const struct lp_call *call,
                               const struct lp_agreement *a)
{
    struct lp_ledger *l = instance;
    if (a == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "record_agreement: no agreement");
    LOCKED(l, call, "record_agreement", lp_ledger_record_agreement(l, actor_of(call), a));
}

static int op_record_result(void *instance, const struct lp_call *call,
                            const struct lp_result_record *r)
{
    struct lp_ledger *l = instance;
    if (r == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "record_result: no result");
    LOCKED(l, call, "record_result", lp_ledger_record_result(l, actor_of(call), r));
}

static int op_accept_result(void *instance, const struct lp_call *call, const uint8_t deal_id[32])
{
    struct lp_ledger *l = instance;
    if (deal_id == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "accept_result: no deal id");
    LOCKED(l, call, "accept_result", lp_ledger_accept_result(l, actor_of(call), deal_id));
}

static int op_challenge_result(void *instance, const struct lp_call *call,
                               const uint8_t deal_id[32], const uint8_t mediator[20])
{
    struct lp_ledger *l = instance;
    if (deal_id == NULL || mediator == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "challenge_result: no deal id or mediator");
    LOCKED(l, call, "challenge_result",
           lp_ledger_challenge_result(l, actor_of(call), deal_id, mediator));
}

static int op_mediation_verdict(void *instance, const struct lp_call *call,
                                const uint8_t deal_id[32], bool accepted)
{
    struct lp_ledger *l = instance;
    if (deal_id == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "mediation_verdict: no deal id");
    LOCKED(l, call, "mediation_verdict",
           lp_ledger_mediation_verdict(l, actor_of(call), deal_id, accepted));
}

static int op_cancel_deal(void *instance, const struct lp_call *call, const uint8_t deal_id[32],
                          uint32_t terminal_state)
{
    struct lp_ledger *l = instance;
    if (deal_id == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "cancel_deal: no deal id");
    LOCKED(l, call, "cancel_deal",
           lp_ledger_cancel_deal(l, actor_of(call), deal_id, terminal_state));
}

static int op_read_deal(void *instance, const struct lp_call *call, const uint8_t deal_id[32],
                        struct lp_deal_record *out)
{
    struct lp_ledger *l = instance;
    if (deal_id == NULL || out == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "read_deal: no deal id or output record");
    LOCKED(l, call, "read_deal", lp_ledger_read_deal(l, deal_id, out));
}

static int op_pow_new_round(void *instance, const struct lp_call *call,
                            const struct lp_pow_round *round)
{
    struct lp_ledger *l = instance;
    if (round == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "pow_new_round: no round");
    LOCKED(l, call, "pow_new_round", lp_ledger_pow_new_round(l, round));
}

static int op_pow_submit(void *instance, const struct lp_call *call,
                         const struct lp_pow_submission *s)
{
    struct lp_ledger *l = instance;
    if (s == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "pow_submit: no submission");
    LOCKED(l, call, "pow_submit", lp_ledger_pow_submit(l, actor_of(call), s));
}

static const struct lp_verifier_ops ledger_ops = {
    .life =
        {
            .probe = ledger_probe,
            .create = ledger_create,
            .start = NULL,
            .stop = NULL,
            .destroy = ledger_destroy,
            .last_error = ledger_last_error,
        },
    /* ABI 1.1 forms only: the core calls the 1.0 ones for 1.0 plugins alone. */
    .record_agreement_v2 = op_record_agreement,
    .record_result_v2 = op_record_result,
    .accept_result_v2 = op_accept_result,
    .challenge_result_v2 = op_challenge_result,
    .mediation_verdict_v2 = op_mediation_verdict,
    .cancel_deal_v2 = op_cancel_deal,
    .read_deal_v2 = op_read_deal,
    .pow_new_round_v2 = op_pow_new_round,
    .pow_submit_v2 = op_pow_submit,
};

LP_PLUGIN_DEFINE(verifier, ledger, "0.2.0",
                 "agreements, results, judgements and PoW rounds in a local SQLite file, with the "
                 "contracts' state rules",
                 "MIT", ledger_ops, ledger_schema, struct lp_ledger_config,
                 LP_CAP_THREADSAFE | LP_CAP_MULTI_INSTANCE | LP_CAP_CANCEL)
