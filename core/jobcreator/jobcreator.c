#include "util/deal_state.h"
#include "jobcreator/jobcreator.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lilypad/verifier.h>

#include "client/client.h"
#include "crypto/random.h"
#include "image/fs_tree.h"
#include "jobcreator/bundle.h"
#include "jobcreator/outcome.h"
#include "jobcreator/verify.h"
#include "module/bundle.h"
#include "module/module.h"
#include "solver/store.h"
#include "util/data_home.h"
#include "util/hex.h"
#include "wire/object.h"

#define STATE_POLL_MS 10000u /* re-read the state even without events */
/* After a long-poll refused for the per-address cap: plain reads this long, this often. */
#define LONG_POLL_BACKOFF_MS 10000u
#define CAPPED_POLL_US       500000u

const char *lp_jc_outcome_name(enum lp_jc_outcome o)
{
    switch (o) {
    case LP_JC_SUCCEEDED:
        return "succeeded";
    case LP_JC_JOB_FAILED:
        return "job failed";
    case LP_JC_TIMED_OUT:
        return "timed out";
    case LP_JC_CANCELLED:
        return "cancelled";
    case LP_JC_UNVERIFIED:
        return "results not verified";
    case LP_JC_LOCAL_ERROR:
        return "error";
    }
    return "unknown";
}

void lp_jc_result_free(struct lp_jc_result *res)
{
    free(res->stdout_text);
    free(res->stderr_text);
    res->stdout_text = res->stderr_text = NULL;
}

/* ---- small helpers ----------------------------------------------------------------------- */

struct run {
    const struct lp_jc_request *req;
    struct lp_jc_result *res;
    struct lp_progress *p;
    struct lp_client *c;
    uint64_t t0;
    int shown_state;
    char deal_hex[2 * LP_WIRE_ID_LEN + 3];
};

static uint64_t since(const struct run *r)
{
    uint64_t t = lp_progress_now_ms() - r->t0;
    return t ? t : 1;
}

static int fail(struct run *r, enum lp_jc_outcome o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct run *r, enum lp_jc_outcome o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->res->reason, sizeof r->res->reason, fmt, ap);
    va_end(ap);
    r->res->outcome = o;
    return -1;
}

static uint64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct state_text {
    int state;
    const char *emoji;
    const char *text;
};

/* Lilypad's spinner texts, plus the states it never showed. */
static const struct state_text state_texts[] = {
    {LP_DEAL_NEGOTIATING, "🤝", "Job submitted. Negotiating deal..."},
    {LP_DEAL_AGREED, "💌", "Deal agreed. Running job..."},
    {LP_DEAL_UPLOADING, "📤", "Job finished. Provider uploading results..."},
    {LP_DEAL_RESULTS_SUBMITTED, "🤔", "Results submitted. Downloading and verifying..."},
    {LP_DEAL_DOWNLOADING, "📥", "Downloading results..."},
    {LP_DEAL_RESULTS_ACCEPTED, "✅", "Results accepted."},
    {LP_DEAL_RESULTS_CHECKED, "⚖️ ", "Results challenged. Waiting for the mediator..."},
    {LP_DEAL_JOB_OFFER_CANCELLED, "😭", "Job cancelled."},
    {LP_DEAL_TIMEOUT_MATCH, "⏱️ ", "Job timed out before a match could be made."},
    {LP_DEAL_TIMEOUT_EXECUTION, "⏱️ ", "Job timed out while running."},
    {LP_DEAL_TIMEOUT_DOWNLOAD, "⏱️ ", "Download window expired."},
    {LP_DEAL_JOB_TIMED_OUT, "⏱️ ", "Job timed out."},
};

static void show_state(struct run *r, int state)
{
    if (state == r->shown_state)
        return;
    r->shown_state = state;
    r->res->deal_state = state;
    snprintf(r->res->state_name, sizeof r->res->state_name, "%s",
             lp_deal_state_name((uint32_t)state));
    for (size_t i = 0; i < sizeof state_texts / sizeof state_texts[0]; i++) {
        if (state_texts[i].state == state) {
            lp_progress_state(r->p, "%s%s%s", r->p->tty ? state_texts[i].emoji : "",
                              r->p->tty ? " " : "", state_texts[i].text);
            return;
        }
    }
    lp_progress_state(r->p, "Deal state %s", r->res->state_name);
}

/* The last history note of a deal view, which says why the solver moved it (timeouts). */
static const char *last_note(json_t *deal)
{
    json_t *h = json_object_get(deal, "history");
    size_t n = json_array_size(h);
    for (size_t i = n; i > 0; i--) {
        const char *note = json_string_value(json_object_get(json_array_get(h, i - 1), "note"));
        if (note && *note)
            return note;
    }
    return "";
}

/* A terminal state we did not reach by accepting: the outcome and a reason with a hint. */
static int terminal_failure(struct run *r, int st, json_t *deal)
{
    const char *note = deal ? last_note(deal) : "";
    const char *sep = *note ? ": " : "";
    switch (st) {
    case LP_DEAL_TIMEOUT_MATCH:
        return fail(r, LP_JC_TIMED_OUT,
                    "no provider took the job before the match timeout%s%s (hint: is a provider "
                    "running with enough CPU/RAM/GPU for this module? `lilypad devnet` starts "
                    "one; with --target, that provider must have an open offer)",
                    sep, note);
    case LP_DEAL_TIMEOUT_EXECUTION:
        return fail(r, LP_JC_TIMED_OUT,
                    "the provider delivered no results within the execution timeout%s%s", sep,
                    note);
    case LP_DEAL_TIMEOUT_DOWNLOAD:
        return fail(r, LP_JC_TIMED_OUT, "the download window expired%s%s", sep, note);
    case LP_DEAL_JOB_TIMED_OUT:
        return fail(r, LP_JC_TIMED_OUT, "the job reached the network's total timeout%s%s", sep,
                    note);
    case LP_DEAL_JOB_OFFER_CANCELLED:
        return fail(r, LP_JC_CANCELLED, "the job was cancelled%s%s", sep, note);
    default:
        return fail(r, LP_JC_JOB_FAILED, "the deal ended in state %s%s%s",
                    lp_deal_state_name((uint32_t)st), sep, note);
    }
}

static char *read_small_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

/* Unreachable, rate-limited or busy: worth another try (the follow loop retries, bounded). */
static bool transient(const struct lp_client_error *ce)
{
    return ce->status == 0 || ce->status == 429 || ce->status == 503;
}

/* The download and the accept, retried for up to 30 s (one try a second) while the solver is
 * unreachable or busy: losing verified results to a transient 429 would waste the job. */
static int download_outputs(struct run *r, uint8_t **blob, size_t *len, struct lp_client_error *ce)
{
    for (int i = 0;; i++) {
        if (lp_client_download(r->c, r->res->deal_id, "outputs", blob, len, ce) == 0)
            return 0;
        if (!transient(ce) || i == 29)
            return -1;
        sleep(1);
    }
}

static int accept_results(struct run *r, struct lp_client_error *ce)
{
    for (int i = 0;; i++) {
        if (lp_client_deal_action(r->c, r->res->deal_id, "accept", NULL, ce) == 0)
            return 0;
        if (!transient(ce) || i == 29)
            return -1;
        sleep(1);
    }
}

/* ---- results ----------------------------------------------------------------------------- */

static int open_result(struct run *r, json_t *deal, struct lp_wire_object *obj)
{
    const char *hex = json_string_value(json_object_get(deal, "result"));
    if (!hex)
        return fail(r, LP_JC_UNVERIFIED, "deal %s: results submitted but no signed result",
                    r->deal_hex);
    size_t hl = strlen(hex);
    size_t cap = hl / 2 + 1, len = 0;
    uint8_t *env = malloc(cap);
    if (!env || lp_hex_decode_var(hex, env, cap, &len) != 0) {
        free(env);
        return fail(r, LP_JC_UNVERIFIED, "deal %s: the result envelope is not hex", r->deal_hex);
    }
    struct lp_wire_error we = {{0}};
    int rc = lp_wire_open(env, len, obj, NULL, &we);
    free(env);
    if (rc != 0)
        return fail(r, LP_JC_UNVERIFIED, "deal %s: the provider's result does not verify: %s",
                    r->deal_hex, we.message);
    uint8_t provider[LP_WIRE_ADDR_LEN];
    const char *prov = json_string_value(json_object_get(deal, "resource_provider"));
    if (obj->kind != LP_WIRE_RESULT || !prov || lp_address_parse(prov, provider) != 0 ||
        memcmp(obj->u.result.resource_provider, provider, LP_WIRE_ADDR_LEN) != 0 ||
        memcmp(obj->u.result.deal_id, r->res->deal_id, LP_WIRE_ID_LEN) != 0) {
        lp_wire_object_free(obj);
        return fail(r, LP_JC_UNVERIFIED,
                    "deal %s: the result is not this deal's provider's result for this deal",
                    r->deal_hex);
    }
    return 0;
}

/* An all-zero digest with size 0 is a provider that did not capture the stream. */
static bool captured(const struct lp_output_digest *d)
{
    static const uint8_t zero[32];
    return d->size != 0 || memcmp(d->keccak, zero, 32) != 0;
}

static int check_stream(struct run *r, const char *dir, const char *name,
                        const struct lp_output_digest *d, char **text, size_t *len)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (d->size == 0)
            return 0;
        return fail(r, LP_JC_UNVERIFIED,
                    "results: %s is missing although the signed result gives it %llu bytes", name,
                    (unsigned long long)d->size);
    }
    char err[PATH_MAX + 128];
    if (captured(d) && lp_verify_file_keccak(path, d->keccak, d->size, err, sizeof err) != 0)
        return fail(r, LP_JC_UNVERIFIED, "results: %s", err);
    *text = read_small_file(path, len);
    return 0;
}

static int prepare_output_dir(struct run *r, char *partial, size_t plen)
{
    struct lp_jc_result *res = r->res;
    if (r->req->output_dir) {
        snprintf(res->output_dir, sizeof res->output_dir, "%s", r->req->output_dir);
    } else {
        const char *root = r->req->results_root;
        char home[PATH_MAX - 128];
        if (!root) {
            if (lp_data_home_path("results", home, sizeof home) != 0)
                return fail(r, LP_JC_LOCAL_ERROR,
                            "no results folder: %s (hint: set LILYPAD_HOME or pass --output DIR)",
                            lp_data_home_problem(errno));
            if (lp_fs_mkdir_p(home, 0755) != 0)
                return fail(r, LP_JC_LOCAL_ERROR, "cannot create the results folder %s: %s", home,
                            strerror(errno));
            root = home;
        }
        snprintf(res->output_dir, sizeof res->output_dir, "%s/%s", root, r->deal_hex);
    }
    struct stat st;
    if (lstat(res->output_dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode) || rmdir(res->output_dir) != 0)
            return fail(r, LP_JC_LOCAL_ERROR,
                        "output %s already exists and is not an empty folder (hint: pick "
                        "another --output)",
                        res->output_dir);
    }
    /* Unpacked beside the destination and renamed once verified, so the destination only ever
     * holds verified results. */
    snprintf(partial, plen, "%s.partial", res->output_dir);
    if (lp_fs_remove_tree(partial) != 0)
        return fail(r, LP_JC_LOCAL_ERROR, "cannot clear %s (left by an earlier run): %s", partial,
                    strerror(errno));
    return 0;
}

static int take_results(struct run *r, json_t *deal)
{
    struct lp_jc_result *res = r->res;
    struct lp_wire_object obj;
    if (open_result(r, deal, &obj) != 0)
        return -1;
    const struct lp_result *rs = &obj.u.result;
    res->has_result = true;
    res->exit_code = rs->exit_code;
    res->termination = rs->termination;
    snprintf(res->cid, sizeof res->cid, "%s", rs->cid ? rs->cid : "");
    bool has_outputs = json_string_value(json_object_get(deal, "outputs")) != NULL;
    int rc = 0;
    char why[sizeof res->reason];
    if (!has_outputs) {
        /* never a success: nothing to verify or show */
        enum lp_jc_outcome o = lp_jc_result_outcome(rs, false, why, sizeof why);
        rc = fail(r, o, "%s", why);
        lp_wire_object_free(&obj);
        return rc;
    }
    if (!rs->cid || !*rs->cid) {
        lp_wire_object_free(&obj);
        return fail(r, LP_JC_UNVERIFIED, "the provider's result names no CID for its outputs");
    }
    show_state(r, LP_DEAL_DOWNLOADING);
    uint8_t *blob = NULL;
    size_t len = 0;
    struct lp_client_error ce = {0};
    if (download_outputs(r, &blob, &len, &ce) != 0) {
        lp_wire_object_free(&obj);
        return fail(r, LP_JC_LOCAL_ERROR, "downloading the results: %s", ce.message);
    }
    res->t.downloaded = since(r);
    if (r->req->blob_hook)
        r->req->blob_hook(r->req->hook_arg, blob, len);

    char partial[PATH_MAX + 16], err[PATH_MAX + 256];
    rc = prepare_output_dir(r, partial, sizeof partial);
    int blob_match = rc == 0 ? lp_verify_blob_cid(res->cid, blob, len, err, sizeof err) : -1;
    if (rc == 0 && blob_match < 0)
        rc = fail(r, LP_JC_UNVERIFIED, "%s", err);
    /* Unpacked before the folder's CID can be checked, so capped by what the provider signed
     * (stdout's and stderr's sizes), the blob's own size and our own limit. */
    struct lp_bundle_result_limits limits = {
        .max_bytes =
            r->req->max_results_bytes ? r->req->max_results_bytes : LP_JC_DEFAULT_MAX_RESULTS,
        .has_stdout_size = captured(&rs->stdout_digest),
        .has_stderr_size = captured(&rs->stderr_digest),
        .stdout_size = rs->stdout_digest.size,
        .stderr_size = rs->stderr_digest.size,
    };
    if (rc == 0 && lp_bundle_unpack_results(blob, len, partial, &limits, err, sizeof err) != 0)
        rc = fail(r, blob_match == 0 ? LP_JC_JOB_FAILED : LP_JC_UNVERIFIED, "%s", err);
    free(blob);
    if (rc == 0 && blob_match != 0 && lp_verify_dir_cid(res->cid, partial, err, sizeof err) != 0)
        rc = fail(r, LP_JC_UNVERIFIED, "%s", err);
    if (rc == 0)
        rc = check_stream(r, partial, "stdout", &rs->stdout_digest, &res->stdout_text,
                          &res->stdout_len);
    if (rc == 0)
        rc = check_stream(r, partial, "stderr", &rs->stderr_digest, &res->stderr_text,
                          &res->stderr_len);
    if (rc != 0) {
        /* Kept for inspection under a name that says what it is. */
        char bad[PATH_MAX + 32];
        snprintf(bad, sizeof bad, "%s.unverified", res->output_dir);
        if (res->outcome == LP_JC_UNVERIFIED && rename(partial, bad) == 0)
            snprintf(res->output_dir, sizeof res->output_dir, "%s", bad);
        else
            res->output_dir[0] = '\0';
        lp_wire_object_free(&obj);
        return -1;
    }
    if (rename(partial, res->output_dir) != 0) {
        lp_wire_object_free(&obj);
        return fail(r, LP_JC_LOCAL_ERROR, "results: cannot move %s to %s: %s", partial,
                    res->output_dir, strerror(errno));
    }
    res->t.verified = since(r);
    lp_progress_note(r->p, "Results verified: CID %s matches the provider's signed result",
                     res->cid);

    /* Verified results are accepted even when the job failed: the provider did run it. */
    if (accept_results(r, &ce) != 0) {
        lp_wire_object_free(&obj);
        return fail(r, LP_JC_LOCAL_ERROR, "accepting the results: %s", ce.message);
    }
    res->t.accepted = since(r);
    show_state(r, LP_DEAL_RESULTS_ACCEPTED);
    /* How the job ended comes from the result's termination, not from its error text. */
    enum lp_jc_outcome o = lp_jc_result_outcome(rs, true, why, sizeof why);
    if (o == LP_JC_SUCCEEDED)
        res->outcome = LP_JC_SUCCEEDED;
    else
        rc = fail(r, o, "%s", why);
    lp_wire_object_free(&obj);
    return rc;
}

/* ---- following the deal ------------------------------------------------------------------ */

/* The solver matches a job again when its provider did not start it (the deal ends, the job
 * offer goes back to negotiating, then gets a new deal): true when our job offer has left the
 * deal we follow, which is then forgotten so the offer is followed again. */
static bool matched_again(struct run *r)
{
    struct lp_client_error ce = {0};
    json_t *j = NULL;
    if (lp_client_get_offer(r->c, LP_WIRE_JOB_OFFER, r->res->job_offer_id, &j, &ce) != 0)
        return false;
    uint8_t deal[LP_WIRE_ID_LEN];
    bool has = lp_client_json_id(j, "deal_id", deal) == 0;
    bool moved = has ? memcmp(deal, r->res->deal_id, LP_WIRE_ID_LEN) != 0
                     : json_integer_value(json_object_get(j, "state")) == LP_DEAL_NEGOTIATING;
    json_decref(j);
    if (moved) {
        lp_progress_note(r->p, "the provider did not start the job; the solver matches it again");
        r->res->has_deal = false;
    }
    return moved;
}

/* Reads the authoritative state: the offer until it has a deal, then the deal. *done is set
 * when the job reached its end (results taken or a terminal state). */
static int refresh(struct run *r, bool *done)
{
    struct lp_jc_result *res = r->res;
    struct lp_client_error ce = {0};
    json_t *j = NULL;
    if (!res->has_deal) {
        if (lp_client_get_offer(r->c, LP_WIRE_JOB_OFFER, res->job_offer_id, &j, &ce) != 0)
            return transient(&ce) ? 1 : fail(r, LP_JC_LOCAL_ERROR, "%s", ce.message);
        int st = (int)json_integer_value(json_object_get(j, "state"));
        if (lp_client_json_id(j, "deal_id", res->deal_id) == 0) {
            res->has_deal = true;
            res->t.matched = since(r);
            lp_hex_encode_0x(res->deal_id, LP_WIRE_ID_LEN, r->deal_hex);
        } else {
            show_state(r, st);
            json_decref(j);
            if (lp_deal_state_terminal((uint32_t)st)) {
                *done = true;
                return terminal_failure(r, st, NULL);
            }
            return 0;
        }
        json_decref(j);
        j = NULL;
    }
    if (lp_client_get_deal(r->c, res->deal_id, &j, &ce) != 0)
        return transient(&ce) ? 1 : fail(r, LP_JC_LOCAL_ERROR, "%s", ce.message);
    int st = (int)json_integer_value(json_object_get(j, "state"));
    int rc = 0;
    if (st == LP_DEAL_RESULTS_SUBMITTED || st == LP_DEAL_DOWNLOADING) {
        if (!res->t.results_submitted)
            res->t.results_submitted = since(r);
        show_state(r, LP_DEAL_RESULTS_SUBMITTED);
        *done = true;
        rc = take_results(r, j);
    } else {
        show_state(r, st);
        if (lp_deal_state_terminal((uint32_t)st) && !matched_again(r)) {
            *done = true;
            rc = terminal_failure(r, st, j);
        }
    }
    json_decref(j);
    return rc;
}

static bool event_is_ours(const struct run *r, json_t *ev)
{
    uint8_t id[LP_WIRE_ID_LEN];
    if (lp_client_json_id(ev, "id", id) != 0)
        return false;
    if (memcmp(id, r->res->job_offer_id, LP_WIRE_ID_LEN) == 0)
        return true;
    if (r->res->has_deal && memcmp(id, r->res->deal_id, LP_WIRE_ID_LEN) == 0)
        return true;
    /* deal_added names the new deal, which we do not know yet */
    const char *type = json_string_value(json_object_get(ev, "type"));
    return !r->res->has_deal && type && strcmp(type, "deal_added") == 0;
}

static int follow(struct run *r, uint64_t cursor)
{
    unsigned unreachable_s = r->req->unreachable_s ? r->req->unreachable_s : 30;
    uint64_t down_since = 0, last_refresh = 0, long_poll_capped_until = 0;
    bool done = false;
    bool need = true; /* read the state once at the start: the match may already be done */
    while (!done) {
        if (need || lp_progress_now_ms() - last_refresh >= STATE_POLL_MS) {
            need = false;
            last_refresh = lp_progress_now_ms();
            int rc = refresh(r, &done);
            if (rc < 0)
                return -1;
            if (done)
                return 0;
        }
        /* On a terminal the live line moves every second; elsewhere a long wait is cheaper
         * and a heartbeat still comes every heartbeat_s. */
        unsigned wait = r->p->tty ? 1 : r->p->heartbeat_s < 5 ? r->p->heartbeat_s : 5;
        /* The solver caps long-polls per address: past the cap (other runs of the same key),
         * a plain read once a second follows the job as well, and is not an outage. */
        bool capped = long_poll_capped_until > lp_progress_now_ms();
        json_t *evs = NULL;
        uint64_t next = cursor;
        struct lp_client_error ce = {0};
        if (lp_client_events(r->c, cursor, capped ? 0 : wait, &evs, &next, &ce) != 0) {
            if (ce.status == 429 && !capped && strstr(ce.message, "long-poll")) {
                long_poll_capped_until = lp_progress_now_ms() + LONG_POLL_BACKOFF_MS;
                continue;
            }
            if (ce.status != 0 && ce.status != 429 && ce.status != 503)
                return fail(r, LP_JC_LOCAL_ERROR, "following the job: %s", ce.message);
            uint64_t now = lp_progress_now_ms();
            if (!down_since) {
                down_since = now;
                lp_progress_note(r->p, "solver unreachable (%s); retrying for %us", ce.message,
                                 unreachable_s);
            } else if (now - down_since >= (uint64_t)unreachable_s * 1000u) {
                return fail(r, LP_JC_LOCAL_ERROR,
                            "the solver has been unreachable for %us: %s (the job may still "
                            "run; its offer is %s)",
                            unreachable_s, ce.message, r->deal_hex[0] ? r->deal_hex : "pending");
            }
            lp_progress_tick(r->p);
            sleep(1);
            continue;
        }
        if (down_since) {
            down_since = 0;
            lp_progress_note(r->p, "solver reachable again");
            need = true;
        }
        cursor = next;
        for (size_t i = 0; i < json_array_size(evs); i++)
            if (event_is_ours(r, json_array_get(evs, i)))
                need = true;
        json_decref(evs);
        if (!need)
            lp_progress_tick(r->p);
        if (capped && !need)
            usleep(CAPPED_POLL_US);
    }
    return 0;
}

/* The event cursor as of now, so the follow loop sees only what happens after the post. */
static int current_cursor(struct run *r, uint64_t *cursor)
{
    uint64_t cur = 0;
    for (int i = 0; i < 10000; i++) {
        json_t *evs = NULL;
        uint64_t next = cur;
        struct lp_client_error ce = {0};
        if (lp_client_events(r->c, cur, 0, &evs, &next, &ce) != 0)
            return fail(r, LP_JC_LOCAL_ERROR, "solver %s: %s", r->req->solver_url, ce.message);
        size_t n = json_array_size(evs);
        json_decref(evs);
        cur = next;
        if (n == 0)
            break;
    }
    *cursor = cur;
    return 0;
}

/* ---- the job offer ----------------------------------------------------------------------- */

/* The wire refuses duplicate input keys; the later of two wins, as on the command line. */
static int offer_inputs(const struct lp_jc_request *req, struct lp_job_offer *jo)
{
    jo->inputs = calloc(req->n_inputs ? req->n_inputs : 1, sizeof *jo->inputs);
    if (!jo->inputs)
        return -1;
    for (size_t i = 0; i < req->n_inputs; i++) {
        bool later = false;
        for (size_t k = i + 1; k < req->n_inputs; k++)
            later = later || strcmp(req->inputs[k].key, req->inputs[i].key) == 0;
        if (later)
            continue;
        jo->inputs[jo->n_inputs].key = (char *)req->inputs[i].key;
        jo->inputs[jo->n_inputs].value = (char *)req->inputs[i].value;
        jo->n_inputs++;
    }
    return 0;
}

/* A module from a local folder travels as a bundle (module/bundle.h): packed, uploaded to the
 * solver's file store, and named by its hash, so the solver and the provider render it without
 * the folder. The name replaces the folder's file:// repo and template hash in m. */
static int upload_bundle(struct run *r, struct lp_module *m)
{
    uint8_t *tar = NULL;
    size_t len = 0;
    struct lp_module_error me = {{0}};
    if (lp_module_bundle_pack(m->template_text, m->template_len, &tar, &len, &me) != 0)
        return fail(r, LP_JC_LOCAL_ERROR, "%s", me.message);
    uint8_t keccak[LP_WIRE_ID_LEN];
    struct lp_client_error ce = {0};
    int rc = lp_client_upload_file(r->c, tar, len, keccak, &ce);
    free(tar);
    if (rc != 0)
        return fail(r, LP_JC_LOCAL_ERROR, "uploading the module bundle: %s", ce.message);
    char repo[LP_MODULE_BUNDLE_REPO_LEN];
    lp_module_bundle_name(keccak, repo, m->commit);
    char *named = strdup(repo);
    if (!named)
        return fail(r, LP_JC_LOCAL_ERROR, "out of memory");
    free(m->repo);
    m->repo = named;
    lp_module_compute_id(m->repo, m->commit, m->template_path, m->id);
    lp_progress_note(r->p, "Module bundle %s uploaded (%zu bytes)", m->repo, len);
    return 0;
}

static int post_offer(struct run *r, const struct lp_module *m, const struct lp_module_job *job,
                      const uint8_t *inputs_keccak)
{
    const struct lp_jc_request *req = r->req;
    struct lp_wire_object o = {.kind = LP_WIRE_JOB_OFFER};
    struct lp_job_offer *jo = &o.u.job_offer;
    memcpy(jo->job_creator, req->key->address, LP_WIRE_ADDR_LEN);
    jo->module.repo = m->repo;
    jo->module.commit = (char *)m->commit;
    jo->module.spec = job->canonical;
    if (offer_inputs(req, jo) != 0)
        return fail(r, LP_JC_LOCAL_ERROR, "out of memory");
    jo->resources = job->spec.resources;
    lp_wei_from_u64(&jo->max_price,
                    req->max_price_wei ? req->max_price_wei : LP_JC_DEFAULT_MAX_PRICE);
    lp_wei_from_u64(&jo->payment_collateral, LP_JC_DEFAULT_PAYMENT_COLLATERAL);
    uint64_t t = job->spec.timeout_s ? job->spec.timeout_s : LP_JOB_DEFAULT_TIMEOUT_S;
    if (req->timeout_s)
        t = req->timeout_s;
    jo->timeout_s = t > LP_WIRE_MAX_TIMEOUT_S ? LP_WIRE_MAX_TIMEOUT_S : t;
    jo->has_target = req->has_target;
    if (req->has_target)
        memcpy(jo->target, req->target, LP_WIRE_ADDR_LEN);
    memcpy(jo->mediators, req->mediators, sizeof jo->mediators);
    jo->n_mediators = req->n_mediators;
    jo->mode = LP_PRICE_MARKET;
    jo->created_at_ms = realtime_ms();
    lp_random_bytes(jo->nonce, sizeof jo->nonce);
    struct lp_client_error ce = {0};
    int rc = lp_client_post_object(r->c, &o, inputs_keccak, r->res->job_offer_id, NULL, &ce);
    free(jo->inputs);
    if (rc != 0)
        return fail(r, LP_JC_LOCAL_ERROR, "the solver refused the job offer: %s", ce.message);
    return 0;
}

int lp_jc_run(const struct lp_jc_request *req, struct lp_jc_result *res)
{
    memset(res, 0, sizeof *res);
    res->deal_state = -1;
    res->outcome = LP_JC_LOCAL_ERROR;
    struct lp_progress quiet;
    struct run r = {.req = req, .res = res, .p = req->progress, .shown_state = -1};
    if (!r.p) {
        lp_progress_init(&quiet, stderr, false, 10);
        quiet.quiet = true;
        r.p = &quiet;
    }
    r.t0 = lp_progress_now_ms();
    if (!req->module || !req->solver_url || !req->key)
        return fail(&r, LP_JC_LOCAL_ERROR, "job creator: module, solver and key are required");

    /* A taken --output is refused before the job runs, not after. */
    struct stat ost;
    if (req->output_dir && lstat(req->output_dir, &ost) == 0) {
        DIR *od = S_ISDIR(ost.st_mode) ? opendir(req->output_dir) : NULL;
        int entries = 0;
        for (struct dirent *de; od && (de = readdir(od)) != NULL;)
            entries += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
        if (od)
            closedir(od);
        if (!S_ISDIR(ost.st_mode) || entries > 0)
            return fail(&r, LP_JC_LOCAL_ERROR,
                        "output %s already exists and is not an empty folder (hint: pick "
                        "another --output)",
                        req->output_dir);
    }

    struct lp_module m;
    struct lp_module_error me = {{0}};
    if (lp_module_load(req->module, req->cache_dir, &m, &me) != 0)
        return fail(&r, LP_JC_LOCAL_ERROR, "%s", me.message);
    struct lp_module_job job;
    if (lp_module_render(&m, req->inputs, req->n_inputs, &job, &me) != 0) {
        lp_module_free(&m);
        return fail(&r, LP_JC_LOCAL_ERROR, "%s", me.message);
    }
    res->t.rendered = since(&r);
    lp_progress_note(r.p, "Module %s at %.12s (image %s)", m.repo, m.commit,
                     job.spec.image ? job.spec.image : "?");

    int rc = 0;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    uint8_t inputs_keccak[LP_WIRE_ID_LEN];
    bool has_inputs = false;
    char err[PATH_MAX + 256];
    if (req->inputs_dir) {
        if (lp_bundle_pack_inputs(req->inputs_dir, job.spec.input_files_required,
                                  job.spec.n_input_files_required, job.spec.input_files_optional,
                                  job.spec.n_input_files_optional, &blob, &blob_len, err,
                                  sizeof err) != 0)
            rc = fail(&r, LP_JC_LOCAL_ERROR, "%s", err);
    } else if (job.spec.n_input_files_required > 0) {
        rc = fail(&r, LP_JC_LOCAL_ERROR,
                  "module %s needs input files (%s...): pass them with --inputs DIR", req->module,
                  job.spec.input_files_required[0]);
    }
    if (rc == 0) {
        r.c = lp_client_new(req->solver_url, req->key, 15000);
        if (!r.c)
            rc = fail(&r, LP_JC_LOCAL_ERROR, "solver URL %s is not usable (hint: http://HOST:PORT)",
                      req->solver_url);
    }
    uint64_t cursor = 0;
    if (rc == 0)
        rc = current_cursor(&r, &cursor);
    if (rc == 0 && blob) {
        struct lp_client_error ce = {0};
        if (lp_client_upload_file(r.c, blob, blob_len, inputs_keccak, &ce) != 0)
            rc = fail(&r, LP_JC_LOCAL_ERROR, "uploading the input files: %s", ce.message);
        else
            has_inputs = true;
        if (rc == 0)
            lp_progress_note(r.p, "Input files uploaded (%zu bytes)", blob_len);
    }
    free(blob);
    if (rc == 0 && m.loc.kind == LP_MODULE_DIR)
        rc = upload_bundle(&r, &m);
    if (rc == 0)
        rc = post_offer(&r, &m, &job, has_inputs ? inputs_keccak : NULL);
    lp_module_job_free(&job);
    lp_module_free(&m);
    if (rc == 0) {
        res->t.posted = since(&r);
        char id[2 * LP_WIRE_ID_LEN + 3];
        lp_hex_encode_0x(res->job_offer_id, LP_WIRE_ID_LEN, id);
        lp_progress_note(r.p, "Job offer %s posted to %s", id, req->solver_url);
        show_state(&r, LP_DEAL_NEGOTIATING);
        rc = follow(&r, cursor);
    }
    lp_progress_finish(r.p);
    lp_client_free(r.c);
    if (rc == 0 && res->outcome != LP_JC_SUCCEEDED)
        rc = -1;
    return rc;
}
