/* verifier/ledger: descriptor, configuration schema, lifecycle and the locking wrappers around
 * the operations.
 *
 * Thread safety: one SQLite connection per instance, guarded by a pthread mutex held for the
 * whole operation. SQLITE_OPEN_FULLMUTEX alone would not do: it serialises single API calls,
 * but an operation is several (BEGIN, read the state, check, write, COMMIT) and two threads
 * interleaving them on one connection would share one transaction. The mutex makes each
 * operation's check-then-write atomic within the process; BEGIN IMMEDIATE does the same
 * against other processes that open the same file. */
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
                 "database file; \"\" means $LILYPAD_HOME/ledger.sqlite, else "
                 "~/.local/share/lilypad/ledger.sqlite"),
    LP_CFG_FIELD(struct lp_ledger_config, synchronous, LP_CFG_STRING, 0, "\"normal\"",
                 "SQLite synchronous level: \"normal\" (WAL-safe, may lose the last commits on "
                 "power loss) or \"full\" (every commit reaches the disk)"),
    LP_CFG_END,
};

/* The last failure of each thread, with the instance it belongs to, so that a caller reading
 * last_error() right after its own failed call sees its own message even while other threads
 * use the same instance. */
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
    snprintf(l->last_error, sizeof(l->last_error), "%s", thread_error.text);
    if (l->host != NULL && l->host->log != NULL)
        l->host->log(l->host, LP_LOG_DEBUG, "%s", thread_error.text);
    return rc;
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
    if (lp_ledger_resolve_path(cfg, path, sizeof(path)) != 0) {
        snprintf(reason, reason_len,
                 "no ledger path: set verifier.ledger.path, LILYPAD_HOME or HOME");
        return LP_EUNAVAILABLE;
    }
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
    if (lp_ledger_resolve_path(cfg, l->path, sizeof(l->path)) != 0) {
        if (host != NULL && host->log != NULL)
            host->log(host, LP_LOG_ERROR,
                      "no ledger path: set verifier.ledger.path, LILYPAD_HOME or HOME");
        free(l);
        return LP_EINVAL;
    }
    pthread_mutex_init(&l->lock, NULL);
    int rc = lp_ledger_db_open(l, cfg->synchronous != NULL ? cfg->synchronous : "normal");
    if (rc != LP_OK) {
        if (host != NULL && host->log != NULL)
            host->log(host, LP_LOG_ERROR, "%s", l->last_error);
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
    struct lp_ledger *l = instance;
    if (thread_error.instance == l)
        return thread_error.text;
    return l->last_error;
}

/* Each operation: lock, run, count the outcome, unlock. */
#define LOCKED(l, call)                                                                            \
    do {                                                                                           \
        pthread_mutex_lock(&(l)->lock);                                                            \
        int rc_ = (call);                                                                          \
        pthread_mutex_unlock(&(l)->lock);                                                          \
        if ((l)->host != NULL && LP_HOST_HAS((l)->host, metric_add))                               \
            (l)->host->metric_add((l)->host, rc_ == LP_OK ? "ops_ok" : "ops_refused", 1);          \
        return rc_;                                                                                \
    } while (0)

static int op_record_agreement(void *instance, const struct lp_agreement *a)
{
    struct lp_ledger *l = instance;
    if (a == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "record_agreement: no agreement");
    LOCKED(l, lp_ledger_record_agreement(l, a));
}

static int op_record_result(void *instance, const struct lp_result_record *r)
{
    struct lp_ledger *l = instance;
    if (r == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "record_result: no result");
    LOCKED(l, lp_ledger_record_result(l, r));
}

static int op_accept_result(void *instance, const uint8_t deal_id[32])
{
    struct lp_ledger *l = instance;
    if (deal_id == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "accept_result: no deal id");
    LOCKED(l, lp_ledger_accept_result(l, deal_id));
}

static int op_challenge_result(void *instance, const uint8_t deal_id[32],
                               const uint8_t mediator[20])
{
    struct lp_ledger *l = instance;
    if (deal_id == NULL || mediator == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "challenge_result: no deal id or mediator");
    LOCKED(l, lp_ledger_challenge_result(l, deal_id, mediator));
}

static int op_mediation_verdict(void *instance, const uint8_t deal_id[32], bool accepted)
{
    struct lp_ledger *l = instance;
    if (deal_id == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "mediation_verdict: no deal id");
    LOCKED(l, lp_ledger_mediation_verdict(l, deal_id, accepted));
}

static int op_cancel_deal(void *instance, const uint8_t deal_id[32], uint32_t terminal_state)
{
    struct lp_ledger *l = instance;
    if (deal_id == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "cancel_deal: no deal id");
    LOCKED(l, lp_ledger_cancel_deal(l, deal_id, terminal_state));
}

static int op_read_deal(void *instance, const uint8_t deal_id[32], struct lp_deal_record *out)
{
    struct lp_ledger *l = instance;
    if (deal_id == NULL || out == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "read_deal: no deal id or output record");
    LOCKED(l, lp_ledger_read_deal(l, deal_id, out));
}

static int op_pow_new_round(void *instance, const struct lp_pow_round *round)
{
    struct lp_ledger *l = instance;
    if (round == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "pow_new_round: no round");
    LOCKED(l, lp_ledger_pow_new_round(l, round));
}

static int op_pow_submit(void *instance, const struct lp_pow_submission *s)
{
    struct lp_ledger *l = instance;
    if (s == NULL)
        return lp_ledger_fail(l, LP_EINVAL, "pow_submit: no submission");
    LOCKED(l, lp_ledger_pow_submit(l, s));
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
    .record_agreement = op_record_agreement,
    .record_result = op_record_result,
    .accept_result = op_accept_result,
    .challenge_result = op_challenge_result,
    .mediation_verdict = op_mediation_verdict,
    .cancel_deal = op_cancel_deal,
    .read_deal = op_read_deal,
    .pow_new_round = op_pow_new_round,
    .pow_submit = op_pow_submit,
};

LP_PLUGIN_DEFINE(verifier, ledger, "0.1.0",
                 "agreements, results, judgements and PoW rounds in a local SQLite file, with the "
                 "contracts' state rules",
                 "MIT", ledger_ops, ledger_schema, struct lp_ledger_config,
                 LP_CAP_THREADSAFE | LP_CAP_MULTI_INSTANCE)
