/* The deal state machine, the same rules the contracts enforce (README.md has the table),
 * including who may call what: an operation with an actor (the acting party's address) is
 * refused unless that party is the one the deal allows, as a deal contract checks msg.sender.
 * No actor (NULL) is the node acting for itself, unchecked. Every operation reads the deal and
 * writes its new state inside one BEGIN IMMEDIATE transaction, and appends one row to
 * deal_events, so the history explains every state. */
#include "ledger.h"
#include "util/deal_state.h"

#include <stdio.h>
#include <string.h>

#include "util/hex.h"

/* A deal as stored: its agreement, its current state and its result, if any. */
struct deal_row {
    uint32_t state;
    struct lp_agreement terms;
    uint8_t challenge_mediator[20]; /* zero until challenged */
    uint64_t agreed_ns;
    uint64_t updated_ns;
    bool has_result;
    uint8_t result_id[32];
    char cid[128];
    uint64_t result_ns;
};

#define NS_PER_S UINT64_C(1000000000)

static bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

static const char *hex_of(const uint8_t *p, size_t n, char *buf)
{
    lp_hex_encode_0x(p, n, buf);
    return buf;
}

static void column_bytes(sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
    const void *p = sqlite3_column_blob(st, col);
    if (p != NULL && (size_t)sqlite3_column_bytes(st, col) == len)
        memcpy(out, p, len);
    else
        memset(out, 0, len);
}

/* LP_OK with *found set, or LP_ERR on a database failure. */
static int load_deal(struct lp_ledger *l, const uint8_t deal_id[32], struct deal_row *row,
                     bool *found)
{
    static const char sql[] =
        "SELECT d.state, d.mediator, d.updated_ns, a.job_creator, a.resource_provider,"
        " a.mediator, a.price, a.payment_collateral, a.results_collateral,"
        " a.execution_timeout_s, a.judge_timeout_s, a.agreed_ns, r.result_id, r.cid,"
        " r.submitted_ns FROM agreements a JOIN deals d ON d.deal_id = a.deal_id"
        " LEFT JOIN results r ON r.deal_id = a.deal_id WHERE a.deal_id = ?1";
    sqlite3_stmt *st;
    if (lp_ledger_prepare(l, sql, &st) != LP_OK)
        return LP_ERR;
    sqlite3_bind_blob(st, 1, deal_id, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    memset(row, 0, sizeof(*row));
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        row->state = (uint32_t)sqlite3_column_int(st, 0);
        column_bytes(st, 1, row->challenge_mediator, 20);
        row->updated_ns = (uint64_t)sqlite3_column_int64(st, 2);
        row->terms.struct_size = sizeof(row->terms);
        memcpy(row->terms.deal_id, deal_id, 32);
        column_bytes(st, 3, row->terms.job_creator, 20);
        column_bytes(st, 4, row->terms.resource_provider, 20);
        column_bytes(st, 5, row->terms.mediator, 20);
        column_bytes(st, 6, row->terms.price, 32);
        column_bytes(st, 7, row->terms.payment_collateral, 32);
        column_bytes(st, 8, row->terms.results_collateral, 32);
        row->terms.execution_timeout_s = (uint64_t)sqlite3_column_int64(st, 9);
        row->terms.judge_timeout_s = (uint64_t)sqlite3_column_int64(st, 10);
        row->agreed_ns = (uint64_t)sqlite3_column_int64(st, 11);
        row->has_result = sqlite3_column_type(st, 12) != SQLITE_NULL;
        if (row->has_result) {
            column_bytes(st, 12, row->result_id, 32);
            const unsigned char *cid = sqlite3_column_text(st, 13);
            snprintf(row->cid, sizeof(row->cid), "%s", cid != NULL ? (const char *)cid : "");
            row->result_ns = (uint64_t)sqlite3_column_int64(st, 14);
        }
    } else if (rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return lp_ledger_sql_fail(l, "read deal");
    }
    sqlite3_finalize(st);
    return LP_OK;
}

static int append_event(struct lp_ledger *l, const uint8_t deal_id[32], int64_t from_state,
                        uint32_t to_state, uint64_t now_ns, const char *detail)
{
    sqlite3_stmt *st;
    if (lp_ledger_prepare(l,
                          "INSERT INTO deal_events (deal_id, from_state, to_state, at_ns, detail)"
                          " VALUES (?1, ?2, ?3, ?4, ?5)",
                          &st) != LP_OK)
        return LP_ERR;
    sqlite3_bind_blob(st, 1, deal_id, 32, SQLITE_STATIC);
    if (from_state < 0)
        sqlite3_bind_null(st, 2);
    else
        sqlite3_bind_int64(st, 2, from_state);
    sqlite3_bind_int64(st, 3, to_state);
    sqlite3_bind_int64(st, 4, (int64_t)now_ns);
    sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? LP_OK : lp_ledger_sql_fail(l, "append deal event");
}

/* Moves a deal from `from` to `to` (the caller has checked the rule) and logs the event;
 * `mediator` (may be NULL) is stored when the transition names one. */
static int set_state(struct lp_ledger *l, const uint8_t deal_id[32], uint32_t from, uint32_t to,
                     const uint8_t *mediator, uint64_t now_ns, const char *detail)
{
    sqlite3_stmt *st;
    if (lp_ledger_prepare(l,
                          "UPDATE deals SET state = ?2, updated_ns = ?3,"
                          " mediator = coalesce(?4, mediator) WHERE deal_id = ?1 AND state = ?5",
                          &st) != LP_OK)
        return LP_ERR;
    sqlite3_bind_blob(st, 1, deal_id, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, to);
    sqlite3_bind_int64(st, 3, (int64_t)now_ns);
    if (mediator != NULL)
        sqlite3_bind_blob(st, 4, mediator, 20, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    sqlite3_bind_int64(st, 5, from);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return lp_ledger_sql_fail(l, "update deal state");
    if (sqlite3_changes(l->db) != 1)
        return lp_ledger_fail(l, LP_ERR, "deal state changed under the transaction");
    return append_event(l, deal_id, from, to, now_ns, detail);
}

/* The one message every refused transition gives: the deal, where it is, what was tried. */
static int refuse(struct lp_ledger *l, const uint8_t deal_id[32], uint32_t current, const char *op,
                  uint32_t target, const char *why)
{
    char id[67];
    return lp_ledger_fail(l, LP_EINVAL, "deal %s: %s refused: state is %s, cannot go to %s (%s)",
                          hex_of(deal_id, 32, id), op, lp_deal_state_name(current),
                          lp_deal_state_name(target), why);
}

static int unknown_deal(struct lp_ledger *l, const uint8_t deal_id[32], const char *op)
{
    char id[67];
    return lp_ledger_fail(l, LP_EINVAL, "deal %s: %s refused: no agreement recorded for it",
                          hex_of(deal_id, 32, id), op);
}

/* Who may call an operation on a recorded deal. */
enum party {
    JOB_CREATOR,       /* accept_result, challenge_result */
    RESOURCE_PROVIDER, /* record_result */
    MEDIATOR,          /* mediation_verdict: the one challenge_result named */
    EITHER_PARTY,      /* cancel_deal */
};

/* LP_OK when `actor` (NULL: the node itself) may act on the deal as `who`; else the refusal,
 * naming the actor and who is allowed. */
static int check_actor(struct lp_ledger *l, const uint8_t deal_id[32], const char *op,
                       const uint8_t *actor, enum party who, const struct deal_row *row)
{
    if (actor == NULL)
        return LP_OK;
    const struct lp_agreement *t = &row->terms;
    char id[67], who_hex[43], a[43], b[43];
    hex_of(deal_id, 32, id);
    hex_of(actor, 20, who_hex);
    switch (who) {
    case JOB_CREATOR:
        if (memcmp(actor, t->job_creator, 20) == 0)
            return LP_OK;
        return lp_ledger_fail(l, LP_EINVAL,
                              "deal %s: %s refused: %s is not the deal's job creator %s", id, op,
                              who_hex, hex_of(t->job_creator, 20, a));
    case RESOURCE_PROVIDER:
        if (memcmp(actor, t->resource_provider, 20) == 0)
            return LP_OK;
        return lp_ledger_fail(l, LP_EINVAL,
                              "deal %s: %s refused: %s is not the deal's resource provider %s", id,
                              op, who_hex, hex_of(t->resource_provider, 20, a));
    case MEDIATOR:
        /* Before a challenge no mediator is booked; the state rule refuses the call then. */
        if (is_zero(row->challenge_mediator, 20) || memcmp(actor, row->challenge_mediator, 20) == 0)
            return LP_OK;
        return lp_ledger_fail(l, LP_EINVAL,
                              "deal %s: %s refused: %s is not the deal's mediator %s (the one "
                              "challenge_result named)",
                              id, op, who_hex, hex_of(row->challenge_mediator, 20, a));
    case EITHER_PARTY:
        if (memcmp(actor, t->job_creator, 20) == 0 || memcmp(actor, t->resource_provider, 20) == 0)
            return LP_OK;
        return lp_ledger_fail(l, LP_EINVAL,
                              "deal %s: %s refused: %s is neither the deal's job creator %s nor "
                              "its resource provider %s",
                              id, op, who_hex, hex_of(t->job_creator, 20, a),
                              hex_of(t->resource_provider, 20, b));
    }
    return LP_OK;
}

/* Runs the common frame: begin, load (refusing an unknown deal), check the actor, body, commit
 * or roll back. */
typedef int (*deal_step_fn)(struct lp_ledger *l, const uint8_t deal_id[32],
                            const struct deal_row *row, const void *arg);

static int with_deal(struct lp_ledger *l, const uint8_t deal_id[32], const char *op,
                     const uint8_t *actor, enum party who, deal_step_fn step, const void *arg)
{
    if (lp_ledger_begin(l) != LP_OK)
        return LP_ERR;
    struct deal_row row;
    bool found = false;
    int rc = load_deal(l, deal_id, &row, &found);
    if (rc == LP_OK && !found)
        rc = unknown_deal(l, deal_id, op);
    if (rc == LP_OK)
        rc = check_actor(l, deal_id, op, actor, who, &row);
    if (rc == LP_OK)
        rc = step(l, deal_id, &row, arg);
    if (rc != LP_OK) {
        lp_ledger_rollback(l);
        return rc;
    }
    return lp_ledger_commit(l);
}

/* ---- record_agreement ---- */

static const char *first_difference(const struct lp_agreement *a, const struct lp_agreement *b)
{
    if (memcmp(a->job_creator, b->job_creator, 20) != 0)
        return "job_creator";
    if (memcmp(a->resource_provider, b->resource_provider, 20) != 0)
        return "resource_provider";
    if (memcmp(a->mediator, b->mediator, 20) != 0)
        return "mediator";
    if (memcmp(a->price, b->price, 32) != 0)
        return "price";
    if (memcmp(a->payment_collateral, b->payment_collateral, 32) != 0)
        return "payment_collateral";
    if (memcmp(a->results_collateral, b->results_collateral, 32) != 0)
        return "results_collateral";
    if (a->execution_timeout_s != b->execution_timeout_s)
        return "execution_timeout_s";
    if (a->judge_timeout_s != b->judge_timeout_s)
        return "judge_timeout_s";
    return NULL;
}

static int insert_agreement(struct lp_ledger *l, const struct lp_agreement *a, uint64_t now_ns)
{
    sqlite3_stmt *st;
    if (lp_ledger_prepare(l,
                          "INSERT INTO agreements (deal_id, job_creator, resource_provider,"
                          " mediator, price, payment_collateral, results_collateral,"
                          " execution_timeout_s, judge_timeout_s, agreed_ns)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                          &st) != LP_OK)
        return LP_ERR;
    sqlite3_bind_blob(st, 1, a->deal_id, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, a->job_creator, 20, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, a->resource_provider, 20, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, a->mediator, 20, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, a->price, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, a->payment_collateral, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 7, a->results_collateral, 32, SQLITE_STATIC);
    /* SQLite integers are signed 64-bit; a timeout past 2^63 s is nonsense, refused earlier. */
    sqlite3_bind_int64(st, 8, (int64_t)a->execution_timeout_s);
    sqlite3_bind_int64(st, 9, (int64_t)a->judge_timeout_s);
    sqlite3_bind_int64(st, 10, (int64_t)now_ns);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return lp_ledger_sql_fail(l, "insert agreement");
    if (lp_ledger_prepare(l,
                          "INSERT INTO deals (deal_id, state, mediator, updated_ns)"
                          " VALUES (?1, ?2, NULL, ?3)",
                          &st) != LP_OK)
        return LP_ERR;
    sqlite3_bind_blob(st, 1, a->deal_id, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, LP_DEAL_AGREED);
    sqlite3_bind_int64(st, 3, (int64_t)now_ns);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return lp_ledger_sql_fail(l, "insert deal");
    char jc[43], rp[43], detail[160];
    snprintf(detail, sizeof(detail), "agreed: job_creator %s resource_provider %s",
             hex_of(a->job_creator, 20, jc), hex_of(a->resource_provider, 20, rp));
    return append_event(l, a->deal_id, -1, LP_DEAL_AGREED, now_ns, detail);
}

int lp_ledger_record_agreement(struct lp_ledger *l, const uint8_t *actor,
                               const struct lp_agreement *a)
{
    char id[67];
    hex_of(a->deal_id, 32, id);
    if (a->struct_size < sizeof(*a))
        return lp_ledger_fail(l, LP_EINVAL, "deal %s: record_agreement: struct_size %u < %zu", id,
                              a->struct_size, sizeof(*a));
    /* The members checks LilypadStorage.ensureDeal makes. */
    if (is_zero(a->deal_id, 32))
        return lp_ledger_fail(l, LP_EINVAL, "record_agreement refused: the deal id is zero");
    if (is_zero(a->job_creator, 20) || is_zero(a->resource_provider, 20))
        return lp_ledger_fail(l, LP_EINVAL,
                              "deal %s: record_agreement refused: job_creator and "
                              "resource_provider must both be set",
                              id);
    if (memcmp(a->job_creator, a->resource_provider, 20) == 0)
        return lp_ledger_fail(l, LP_EINVAL,
                              "deal %s: record_agreement refused: job_creator and "
                              "resource_provider are the same address",
                              id);
    if (!is_zero(a->mediator, 20) && (memcmp(a->mediator, a->job_creator, 20) == 0 ||
                                      memcmp(a->mediator, a->resource_provider, 20) == 0))
        return lp_ledger_fail(l, LP_EINVAL,
                              "deal %s: record_agreement refused: the mediator is a party to "
                              "the deal",
                              id);
    if (a->execution_timeout_s > INT64_MAX / NS_PER_S || a->judge_timeout_s > INT64_MAX / NS_PER_S)
        return lp_ledger_fail(l, LP_EINVAL, "deal %s: record_agreement refused: timeout too large",
                              id);
    /* Either party records the agreement (both sign it); nobody else. */
    if (actor != NULL && memcmp(actor, a->job_creator, 20) != 0 &&
        memcmp(actor, a->resource_provider, 20) != 0) {
        char who[43], jc[43], rp[43];
        return lp_ledger_fail(l, LP_EINVAL,
                              "deal %s: record_agreement refused: %s is neither the job creator "
                              "%s nor the resource provider %s of the agreement",
                              id, hex_of(actor, 20, who), hex_of(a->job_creator, 20, jc),
                              hex_of(a->resource_provider, 20, rp));
    }

    uint64_t now_ns = lp_ledger_now_ns(l);
    if (lp_ledger_begin(l) != LP_OK)
        return LP_ERR;
    struct deal_row row;
    bool found = false;
    int rc = load_deal(l, a->deal_id, &row, &found);
    if (rc == LP_OK && found) {
        /* Both parties send the same agreement (the old Controller.agree): the second copy is
         * a no-op, a different one is a conflict. */
        const char *diff = first_difference(&row.terms, a);
        rc = diff == NULL ? LP_OK
                          : lp_ledger_fail(l, LP_EINVAL,
                                           "deal %s: record_agreement refused: already agreed "
                                           "with different terms (%s differs); state is %s",
                                           id, diff, lp_deal_state_name(row.state));
    } else if (rc == LP_OK) {
        rc = insert_agreement(l, a, now_ns);
    }
    if (rc != LP_OK) {
        lp_ledger_rollback(l);
        return rc;
    }
    return lp_ledger_commit(l);
}

/* ---- record_result ---- */

static int result_step(struct lp_ledger *l, const uint8_t deal_id[32], const struct deal_row *row,
                       const void *arg)
{
    const struct lp_result_record *r = arg;
    if (row->state != LP_DEAL_AGREED)
        return refuse(l, deal_id, row->state, "record_result", LP_DEAL_RESULTS_SUBMITTED,
                      "a result is recorded only in DealAgreed");
    uint64_t now_ns = lp_ledger_now_ns(l);
    sqlite3_stmt *st;
    if (lp_ledger_prepare(l,
                          "INSERT INTO results (deal_id, result_id, cid, instruction_count,"
                          " exit_code, submitted_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                          &st) != LP_OK)
        return LP_ERR;
    sqlite3_bind_blob(st, 1, deal_id, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, r->result_id, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->cid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)r->instruction_count);
    sqlite3_bind_int(st, 5, r->exit_code);
    sqlite3_bind_int64(st, 6, (int64_t)now_ns);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return lp_ledger_sql_fail(l, "insert result");
    char rid[67], detail[256];
    snprintf(detail, sizeof(detail), "result %s cid %s exit %d instructions %llu",
             hex_of(r->result_id, 32, rid), r->cid, (int)r->exit_code,
             (unsigned long long)r->instruction_count);
    return set_state(l, deal_id, row->state, LP_DEAL_RESULTS_SUBMITTED, NULL, now_ns, detail);
}

int lp_ledger_record_result(struct lp_ledger *l, const uint8_t *actor,
                            const struct lp_result_record *r)
{
    char id[67];
    hex_of(r->deal_id, 32, id);
    if (r->struct_size < sizeof(*r))
        return lp_ledger_fail(l, LP_EINVAL, "deal %s: record_result: struct_size %u < %zu", id,
                              r->struct_size, sizeof(*r));
    if (memchr(r->cid, '\0', sizeof(r->cid)) == NULL || r->cid[0] == '\0')
        return lp_ledger_fail(l, LP_EINVAL,
                              "deal %s: record_result refused: the CID is empty or not "
                              "NUL-terminated within %zu bytes",
                              id, sizeof(r->cid));
    if (is_zero(r->result_id, 32))
        return lp_ledger_fail(l, LP_EINVAL, "deal %s: record_result refused: the result id is zero",
                              id);
    return with_deal(l, r->deal_id, "record_result", actor, RESOURCE_PROVIDER, result_step, r);
}

/* ---- accept_result ---- */

static int accept_step(struct lp_ledger *l, const uint8_t deal_id[32], const struct deal_row *row,
                       const void *arg)
{
    (void)arg;
    if (row->state != LP_DEAL_RESULTS_SUBMITTED)
        return refuse(l, deal_id, row->state, "accept_result", LP_DEAL_RESULTS_ACCEPTED,
                      "only a submitted result can be accepted");
    return set_state(l, deal_id, row->state, LP_DEAL_RESULTS_ACCEPTED, NULL, lp_ledger_now_ns(l),
                     "result accepted by the job creator");
}

int lp_ledger_accept_result(struct lp_ledger *l, const uint8_t *actor, const uint8_t deal_id[32])
{
    return with_deal(l, deal_id, "accept_result", actor, JOB_CREATOR, accept_step, NULL);
}

/* ---- challenge_result ---- */

static int challenge_step(struct lp_ledger *l, const uint8_t deal_id[32],
                          const struct deal_row *row, const void *arg)
{
    const uint8_t *mediator = arg;
    char id[67], m[43];
    if (row->state != LP_DEAL_RESULTS_SUBMITTED)
        return refuse(l, deal_id, row->state, "challenge_result", LP_DEAL_RESULTS_CHECKED,
                      "only a submitted result can be challenged");
    if (is_zero(mediator, 20) || memcmp(mediator, row->terms.job_creator, 20) == 0 ||
        memcmp(mediator, row->terms.resource_provider, 20) == 0)
        return lp_ledger_fail(l, LP_EINVAL,
                              "deal %s: challenge_result refused: mediator %s must be set and "
                              "be neither the job creator nor the resource provider",
                              hex_of(deal_id, 32, id), hex_of(mediator, 20, m));
    if (!is_zero(row->terms.mediator, 20) && memcmp(mediator, row->terms.mediator, 20) != 0) {
        char agreed[43];
        return lp_ledger_fail(l, LP_EINVAL,
                              "deal %s: challenge_result refused: mediator %s is not the one the "
                              "agreement names (%s)",
                              hex_of(deal_id, 32, id), hex_of(mediator, 20, m),
                              hex_of(row->terms.mediator, 20, agreed));
    }
    char detail[96];
    snprintf(detail, sizeof(detail), "result challenged; mediator %s", hex_of(mediator, 20, m));
    return set_state(l, deal_id, row->state, LP_DEAL_RESULTS_CHECKED, mediator, lp_ledger_now_ns(l),
                     detail);
}

int lp_ledger_challenge_result(struct lp_ledger *l, const uint8_t *actor, const uint8_t deal_id[32],
                               const uint8_t mediator[20])
{
    return with_deal(l, deal_id, "challenge_result", actor, JOB_CREATOR, challenge_step, mediator);
}

/* ---- mediation_verdict ---- */

static int verdict_step(struct lp_ledger *l, const uint8_t deal_id[32], const struct deal_row *row,
                        const void *arg)
{
    bool accepted = *(const bool *)arg;
    uint32_t to = accepted ? LP_DEAL_MEDIATION_ACCEPTED : LP_DEAL_MEDIATION_REJECTED;
    if (row->state != LP_DEAL_RESULTS_CHECKED)
        return refuse(l, deal_id, row->state, "mediation_verdict", to,
                      "a verdict needs a challenged result");
    return set_state(l, deal_id, row->state, to, NULL, lp_ledger_now_ns(l),
                     accepted ? "mediator accepted the result" : "mediator rejected the result");
}

int lp_ledger_mediation_verdict(struct lp_ledger *l, const uint8_t *actor,
                                const uint8_t deal_id[32], bool accepted)
{
    return with_deal(l, deal_id, "mediation_verdict", actor, MEDIATOR, verdict_step, &accepted);
}

/* ---- cancel_deal ---- */

/* Which state a terminal cancel/timeout state may be entered from, and the deadline the
 * contract checks before it lets a party call the timeout (0: none). */
struct cancel_rule {
    uint32_t to;
    int32_t from; /* a state, or -1: any non-terminal state */
    const char *why;
};

static const struct cancel_rule cancel_rules[] = {
    {LP_DEAL_TIMEOUT_SUBMIT_RESULTS, LP_DEAL_AGREED, "no result before the execution timeout"},
    {LP_DEAL_TIMEOUT_JUDGE_RESULTS, LP_DEAL_RESULTS_SUBMITTED,
     "no judgement before the judge timeout"},
    {LP_DEAL_TIMEOUT_MEDIATE_RESULTS, LP_DEAL_RESULTS_CHECKED,
     "no verdict before the judge timeout"},
    {LP_DEAL_TIMEOUT_EXECUTION, LP_DEAL_AGREED, "the solver's execution timeout"},
    {LP_DEAL_TIMEOUT_DOWNLOAD, LP_DEAL_RESULTS_SUBMITTED, "the solver's download timeout"},
    {LP_DEAL_TIMEOUT_MATCH, LP_DEAL_NEGOTIATING, "an unmatched offer"},
    {LP_DEAL_JOB_OFFER_CANCELLED, -1, "cancelled"},
    {LP_DEAL_JOB_TIMED_OUT, -1, "the solver's total timeout"},
};

/* When the contract-style timeouts (7, 8, 9) become callable, in ns; 0 for the others. */
static uint64_t deadline_ns(const struct deal_row *row, uint32_t to)
{
    switch (to) {
    case LP_DEAL_TIMEOUT_SUBMIT_RESULTS:
        return row->agreed_ns + row->terms.execution_timeout_s * NS_PER_S;
    case LP_DEAL_TIMEOUT_JUDGE_RESULTS:
        return row->result_ns + row->terms.judge_timeout_s * NS_PER_S;
    case LP_DEAL_TIMEOUT_MEDIATE_RESULTS:
        /* The challenge is the deal's last update while it is ResultsChecked. */
        return row->updated_ns + row->terms.judge_timeout_s * NS_PER_S;
    default:
        return 0;
    }
}

static int cancel_step(struct lp_ledger *l, const uint8_t deal_id[32], const struct deal_row *row,
                       const void *arg)
{
    const struct cancel_rule *rule = arg;
    if (lp_deal_state_terminal(row->state))
        return refuse(l, deal_id, row->state, "cancel_deal", rule->to, "the deal has ended");
    if (rule->from >= 0 && row->state != (uint32_t)rule->from) {
        char why[160];
        snprintf(why, sizeof(why), "%s applies only in %s", lp_deal_state_name(rule->to),
                 lp_deal_state_name((uint32_t)rule->from));
        return refuse(l, deal_id, row->state, "cancel_deal", rule->to, why);
    }
    uint64_t now_ns = lp_ledger_now_ns(l);
    uint64_t due = deadline_ns(row, rule->to);
    if (now_ns < due) {
        char why[160];
        snprintf(why, sizeof(why), "%s: deadline not reached, %llu s left", rule->why,
                 (unsigned long long)((due - now_ns + NS_PER_S - 1) / NS_PER_S));
        return refuse(l, deal_id, row->state, "cancel_deal", rule->to, why);
    }
    char detail[160];
    snprintf(detail, sizeof(detail), "%s: %s", lp_deal_state_name(rule->to), rule->why);
    return set_state(l, deal_id, row->state, rule->to, NULL, now_ns, detail);
}

int lp_ledger_cancel_deal(struct lp_ledger *l, const uint8_t *actor, const uint8_t deal_id[32],
                          uint32_t terminal_state)
{
    for (size_t i = 0; i < sizeof(cancel_rules) / sizeof(cancel_rules[0]); i++) {
        if (cancel_rules[i].to == terminal_state)
            return with_deal(l, deal_id, "cancel_deal", actor, EITHER_PARTY, cancel_step,
                             &cancel_rules[i]);
    }
    char id[67];
    return lp_ledger_fail(
        l, LP_EINVAL, "deal %s: cancel_deal refused: %s (%u) is not a cancel or timeout state",
        hex_of(deal_id, 32, id), lp_deal_state_name(terminal_state), terminal_state);
}

/* ---- read_deal ---- */

int lp_ledger_read_deal(struct lp_ledger *l, const uint8_t deal_id[32], struct lp_deal_record *out)
{
    struct deal_row row;
    bool found = false;
    /* A single SELECT is its own consistent snapshot: no explicit transaction needed. */
    if (load_deal(l, deal_id, &row, &found) != LP_OK)
        return LP_ERR;
    if (!found)
        return unknown_deal(l, deal_id, "read_deal");
    struct lp_deal_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.struct_size = sizeof(rec);
    rec.state = row.state;
    memcpy(rec.deal_id, deal_id, 32);
    if (row.has_result) {
        memcpy(rec.result_id, row.result_id, 32);
        snprintf(rec.cid, sizeof(rec.cid), "%s", row.cid);
    }
    memcpy(rec.mediator,
           is_zero(row.challenge_mediator, 20) ? row.terms.mediator : row.challenge_mediator, 20);
    rec.updated_s = row.updated_ns / NS_PER_S;
    /* Fill only as much as the caller's struct holds (an older caller has a shorter one). */
    uint32_t size = out->struct_size;
    if (size < offsetof(struct lp_deal_record, updated_s) + sizeof(rec.updated_s))
        return lp_ledger_fail(l, LP_EINVAL, "read_deal: struct_size %u is too small", size);
    if (size > sizeof(rec))
        size = sizeof(rec);
    memcpy(out, &rec, size);
    out->struct_size = size;
    return LP_OK;
}
