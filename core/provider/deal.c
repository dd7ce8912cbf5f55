/* One deal, start to end, on its own thread: fetch and verify the deal and its job offer,
 * check the module against the allow/deny lists, record the agreement, fetch the inputs, run
 * the job through the executor (mining paused on its devices), store the result folder, upload
 * it, post the signed result and record it. Every step is journalled first (journal.h), so a
 * restart continues from the last one that completed; a job the executor lost is failed with
 * a posted reason rather than dropped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lilypad/storage.h>
#include <lilypad/verifier.h>

#include "crypto/keccak.h"
#include "dispatch/storage.h"
#include "dispatch/verifier.h"
#include "image/fs_tree.h"
#include "image/store.h"
#include "provider/exec.h"
#include "provider/job_plan.h"
#include "provider/policy.h"
#include "provider/provider_impl.h"
#include "util/tarball.h"
#include "solver/store.h"
#include "util/hex.h"
#include "util/log.h"
#include "wire/mediation.h"
#include "wire/mediators.h"

#define EXIT_NOT_RUN   255  /* the job never ran to an exit (refused, sandbox failure) */
#define EXIT_KILLED    (-9) /* timed out or cancelled: killed (the wire's -signal) */
#define MAX_INPUT_SIZE (1024ull * 1024u * 1024u)
#define WAIT_SLICE_MS  250 /* longest a cancelled deal's job keeps running */

struct deal_ctx {
    struct lp_deal_run *r;
    struct lp_provider *p;
    struct lp_deal deal;
    int state; /* at the solver */
    bool has_inputs;
    struct lp_job_offer offer;
    bool has_offer;
    struct lp_journal_entry j; /* j.termination: how the job ended, set by run_job */
    int slot;
    char mediators_refused[256]; /* why the deal's mediators are not trusted; "" they are */
    /* mediation only */
    bool mediation;
    uint8_t request_id[LP_WIRE_ID_LEN], result_id[LP_WIRE_ID_LEN], offer_id[LP_WIRE_ID_LEN];
    char original_cid[LP_WIRE_MAX_CID + 1];
    char dir[4400], inputs[4500], result[4500], outputs[4600];
};

static uint64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void count(struct lp_provider *p, uint64_t *field)
{
    pthread_mutex_lock(&p->mu);
    (*field)++;
    pthread_mutex_unlock(&p->mu);
}

/* Opens the hex envelope in member `key` of a JSON view and requires the given kind; id (may
 * be NULL) receives the envelope's ID. */
static int open_envelope_at(json_t *view, const char *key, uint32_t kind,
                            struct lp_wire_object *obj, uint8_t *id, char *err, size_t errlen)
{
    const char *hex = json_string_value(json_object_get(view, key));
    size_t n = hex ? strlen(hex) / 2 : 0;
    uint8_t *buf = n ? malloc(n) : NULL;
    size_t len = 0;
    struct lp_wire_error we;
    struct lp_envelope env;
    int rc = -1;
    if (!buf || lp_hex_decode_var(hex, buf, n, &len) != 0)
        snprintf(err, errlen, "the view carries no envelope");
    else if (lp_wire_open(buf, len, obj, &env, &we) != 0)
        snprintf(err, errlen, "bad signed %s: %s", lp_wire_kind_name(kind), we.message);
    else if (obj->kind != kind) {
        snprintf(err, errlen, "expected a %s, got a %s", lp_wire_kind_name(kind),
                 lp_wire_kind_name(obj->kind));
        lp_wire_object_free(obj);
    } else {
        if (id)
            memcpy(id, env.id, LP_WIRE_ID_LEN);
        rc = 0;
    }
    free(buf);
    return rc;
}

static int open_envelope(json_t *view, uint32_t kind, struct lp_wire_object *obj, char *err,
                         size_t errlen)
{
    return open_envelope_at(view, "envelope", kind, obj, NULL, err, errlen);
}

/* With a `mediators` trust list, every mediator the solver could book for the deal (the deal
 * view's "mediators": the job offer's set, else the solver's, less the deal's parties) must be
 * on it, and there must be one: else a challenge would be judged by someone we do not trust,
 * or could not be judged at all. Writes the reason to c->mediators_refused. */
static void check_mediators(struct deal_ctx *c, json_t *view)
{
    const struct lp_provider_runtime *rt = &c->p->rt;
    c->mediators_refused[0] = '\0';
    if (rt->n_mediators == 0)
        return;
    json_t *a = json_object_get(view, "mediators");
    if (!json_is_array(a) || json_array_size(a) == 0) {
        snprintf(c->mediators_refused, sizeof c->mediators_refused,
                 "refused: no mediator from provider.mediators could judge a challenge of this "
                 "deal (the solver names none)");
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        uint8_t addr[LP_WIRE_ADDR_LEN];
        const char *text = json_string_value(v);
        if (!text || lp_address_parse(text, addr) != 0 ||
            !lp_mediators_has((const uint8_t(*)[LP_WIRE_ADDR_LEN])rt->mediators, rt->n_mediators,
                              addr)) {
            snprintf(c->mediators_refused, sizeof c->mediators_refused,
                     "refused: mediator %.42s of this deal is not in provider.mediators",
                     text ? text : "(not an address)");
            return;
        }
    }
}

/* The deal as the solver signed it, its state and whether it has inputs. */
static int fetch_deal(struct deal_ctx *c, char *err, size_t errlen)
{
    json_t *v = NULL;
    struct lp_client_error e;
    int rc = -1;
    for (int attempt = 0; attempt < 5; attempt++) {
        if (lp_client_get_deal(c->p->client, c->r->deal_id, &v, &e) == 0)
            break;
        if (e.status >= 400 && e.status < 500) {
            snprintf(err, errlen, "%s", e.message);
            return -1;
        }
        usleep(500000u << attempt);
    }
    if (!v) {
        snprintf(err, errlen, "%s", e.message);
        return -1;
    }
    struct lp_wire_object obj;
    if (open_envelope(v, LP_WIRE_DEAL, &obj, err, errlen) == 0) {
        c->deal = obj.u.deal;
        lp_wire_object_free(&obj);
        c->state = (int)json_integer_value(json_object_get(v, "state"));
        c->has_inputs = json_is_string(json_object_get(v, "inputs"));
        check_mediators(c, v);
        if (memcmp(c->deal.resource_provider, c->p->address, LP_WIRE_ADDR_LEN) != 0)
            snprintf(err, errlen, "the deal names another resource provider");
        else
            rc = 0;
    }
    json_decref(v);
    return rc;
}

static int fetch_offer(struct deal_ctx *c, char *err, size_t errlen)
{
    json_t *v = NULL;
    struct lp_client_error e;
    if (lp_client_get_offer(c->p->client, LP_WIRE_JOB_OFFER, c->deal.job_offer_id, &v, &e) != 0) {
        snprintf(err, errlen, "job offer: %s", e.message);
        return -1;
    }
    struct lp_wire_object obj;
    int rc = open_envelope(v, LP_WIRE_JOB_OFFER, &obj, err, errlen);
    json_decref(v);
    if (rc != 0)
        return -1;
    c->offer = obj.u.job_offer; /* takes the decoded strings over */
    c->has_offer = true;
    if (memcmp(c->offer.job_creator, c->deal.job_creator, LP_WIRE_ADDR_LEN) != 0) {
        snprintf(err, errlen, "the job offer's creator is not the deal's");
        return -1;
    }
    return 0;
}

static void journal(struct deal_ctx *c, int step)
{
    if (c->mediation)
        return; /* a mediation is not our deal: a restart re-runs it from the solver's list */
    c->j.step = step;
    c->j.slot = c->slot;
    lp_journal_put(c->p->journal, &c->j);
}

static void file_digest(const char *path, struct lp_output_digest *d)
{
    memset(d, 0, sizeof d[0]);
    struct lp_keccak k;
    lp_keccak256_init(&k);
    FILE *f = fopen(path, "rb");
    char buf[65536];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        lp_keccak256_update(&k, buf, n);
        d->size += n;
    }
    if (f)
        fclose(f);
    lp_keccak256_final(&k, d->keccak);
}

/* Unreachable, timed out, rate-limited or failing at the solver: worth another try. */
static bool transient(const struct lp_client_error *e)
{
    return e->status == 0 || e->status == 408 || e->status == 429 || e->status >= 500;
}

/* Waits before try number attempt + 1 (0.5 s, doubling, at most 30 s), waking within 100 ms of
 * the deal's cancellation (the provider stopping, or the deal ended at the solver). false when
 * cancelled. */
static bool backoff(struct deal_ctx *c, unsigned attempt)
{
    uint64_t ms = attempt >= 6 ? 30000u : 500u << attempt;
    for (uint64_t slept = 0; slept < ms && !lp_cancel_token_fired(&c->r->cancel); slept += 100)
        usleep(100000);
    return !lp_cancel_token_fired(&c->r->cancel);
}

/* A full disk, logged once with what to do about it, and again at most every ten minutes while
 * it lasts (every deal in flight hits it). */
static void note_disk_full(struct deal_ctx *c, int err_no, const char *what)
{
    if (err_no != ENOSPC && err_no != EDQUOT)
        return;
    uint64_t now = realtime_ms(), last = atomic_load(&c->p->disk_full_logged_ms);
    if ((last != 0 && now - last < 10u * 60u * 1000u) ||
        !atomic_compare_exchange_strong(&c->p->disk_full_logged_ms, &last, now))
        return;
    lp_error("provider: the disk holding %s is full (%s for deal %s); results cannot be written "
             "until there is room (hint: free space there, lower max_jobs or max_result, or move "
             "work_dir to a bigger disk)",
             c->p->rt.work_dir, what, c->r->hex);
}

/* Posts the signed result; error != "" marks a failed or refused deal. How the job ended goes
 * in the result's termination, so the job creator never has to read it out of error: a deal
 * that never reached the end of a run (refused, not started, lost by the executor) is not_run;
 * after the run it is what run_job found. The error leaves without this machine's paths.
 * A solver that is unreachable or failing is tried again until it takes the result or the
 * deal is cancelled. 0 posted, 1 interrupted by the cancellation, -1 refused by the solver. */
static int post_result(struct deal_ctx *c, const char *cid, int32_t exit_code, const char *error,
                       uint8_t result_id[LP_WIRE_ID_LEN])
{
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_RESULT;
    struct lp_result *res = &obj.u.result;
    memcpy(res->deal_id, c->r->deal_id, LP_WIRE_ID_LEN);
    memcpy(res->resource_provider, c->p->address, LP_WIRE_ADDR_LEN);
    res->cid = (char *)cid;
    res->exit_code = exit_code;
    res->termination = c->j.step < LP_JSTEP_RAN ? LP_TERMINATION_NOT_RUN : c->j.termination;
    char reason[LP_WIRE_MAX_REASON];
    lp_provider_public_text(c->p, c->dir, error, reason, sizeof reason);
    res->error = reason;
    char path[4700];
    snprintf(path, sizeof path, "%s/stdout", c->result);
    if (access(path, R_OK) == 0)
        file_digest(path, &res->stdout_digest);
    snprintf(path, sizeof path, "%s/stderr", c->result);
    if (access(path, R_OK) == 0)
        file_digest(path, &res->stderr_digest);
    res->instruction_count = 1; /* as Lilypad posts: one job */
    res->created_at_ms = realtime_ms();
    struct lp_client_error e;
    for (unsigned attempt = 0;; attempt++) {
        if (lp_client_post_object(c->p->client, &obj, NULL, result_id, NULL, &e) == 0)
            return 0;
        if (!transient(&e))
            break;
        if (attempt == 0)
            lp_warn("provider: deal %s: posting the result failed (%s); retrying until the "
                    "solver takes it",
                    c->r->hex, e.message);
        if (!backoff(c, attempt))
            return 1;
    }
    lp_error("provider: deal %s: posting the result failed: %s", c->r->hex, e.message);
    return -1;
}

/* A delivery step cut short by the deal's cancellation. The provider stopping leaves the
 * journal at the last step done, so the next start goes on from there; a deal that ended at
 * the solver is closed. */
static void interrupted(struct deal_ctx *c, const char *what)
{
    pthread_mutex_lock(&c->p->mu);
    bool stop = c->p->stopping;
    pthread_mutex_unlock(&c->p->mu);
    if (stop) {
        lp_warn("provider: deal %s: %s interrupted by the stop; left to the next start (journal: "
                "%s)",
                c->r->hex, what, lp_journal_step_name(c->j.step));
        return;
    }
    lp_warn("provider: deal %s: %s interrupted: the deal ended at the solver", c->r->hex, what);
    journal(c, LP_JSTEP_ABANDONED);
    count(c->p, &c->p->stats.deals_abandoned);
}

/* Ends a deal that did not run: the reason goes to the solver so the job creator sees it. */
static void fail_deal(struct deal_ctx *c, const char *why, int32_t exit_code, bool refused)
{
    lp_warn("provider: deal %s: %s", c->r->hex, why);
    snprintf(c->j.error, sizeof c->j.error, "%s", why);
    c->j.exit_code = exit_code;
    uint8_t rid[LP_WIRE_ID_LEN];
    int rc = post_result(c, "", exit_code, why, rid);
    if (rc == 0) {
        journal(c, LP_JSTEP_POSTED);
        count(c->p, &c->p->stats.deals_posted);
        count(c->p, refused ? &c->p->stats.deals_refused : &c->p->stats.deals_failed);
    } else if (rc > 0) {
        interrupted(c, "posting the failure");
    } else {
        lp_warn("provider: deal %s: left to the solver's execution timeout", c->r->hex);
        journal(c, LP_JSTEP_ABANDONED);
        count(c->p, &c->p->stats.deals_abandoned);
    }
}

/* The context of a verifier or storage call made for this deal: `actor` acts (NULL: this
 * provider), and the deal's token cancels it. */
static void deal_call(const struct deal_ctx *c, const uint8_t *actor, struct lp_call *call)
{
    lp_call_init(call, actor ? actor : c->p->address, &c->r->cancel, 0);
}

static void fill_agreement(const struct deal_ctx *c, struct lp_agreement *a)
{
    memset(a, 0, sizeof *a);
    a->struct_size = sizeof *a;
    memcpy(a->deal_id, c->r->deal_id, 32);
    memcpy(a->job_creator, c->deal.job_creator, 20);
    memcpy(a->resource_provider, c->deal.resource_provider, 20);
    memcpy(a->price, c->deal.agreed_price.be, 32);
    memcpy(a->payment_collateral, c->deal.payment_collateral.be, 32);
    memcpy(a->results_collateral, c->deal.results_collateral.be, 32);
    a->execution_timeout_s = c->deal.timeouts.execution_s;
    a->judge_timeout_s = c->deal.timeouts.judge_s;
}

/* The agreement, recorded by its provider (this node for our deals; the deal's provider when a
 * mediator replays it into its own ledger). */
static int record_agreement(struct deal_ctx *c, struct lp_plugin_error *pe)
{
    struct lp_agreement a;
    fill_agreement(c, &a);
    struct lp_call call;
    deal_call(c, c->deal.resource_provider, &call);
    return lp_verifier_record_agreement(c->p->verifier, &call, &a, pe);
}

static void record_result(struct deal_ctx *c, const uint8_t result_id[LP_WIRE_ID_LEN])
{
    struct lp_result_record rr;
    memset(&rr, 0, sizeof rr);
    rr.struct_size = sizeof rr;
    memcpy(rr.deal_id, c->r->deal_id, 32);
    memcpy(rr.result_id, result_id, 32);
    snprintf(rr.cid, sizeof rr.cid, "%s", c->j.cid);
    rr.instruction_count = 1;
    rr.exit_code = c->j.exit_code;
    struct lp_call call;
    deal_call(c, NULL, &call);
    struct lp_plugin_error pe;
    if (lp_verifier_record_result(c->p->verifier, &call, &rr, &pe) != LP_OK)
        lp_warn("provider: deal %s: %s", c->r->hex, pe.message);
}

/* Stores the result folder; 0 with the CID, or -1 with the reason in err. */
static int store_result(struct deal_ctx *c, struct lp_cid *cid, char *err, size_t errlen)
{
    struct lp_call call;
    deal_call(c, NULL, &call);
    struct lp_plugin_error pe;
    if (lp_storage_put(c->p->storage, &call, c->result, cid, &pe) != LP_OK) {
        snprintf(err, errlen, "%s", pe.message);
        return -1;
    }
    return 0;
}

/* Allow/deny: name, repo, commit and the image's digests from the local image store. */
static int check_policy(struct deal_ctx *c, const struct lp_job_plan *plan, char *reason,
                        size_t cap)
{
    const struct lp_provider_settings *s = c->p->s;
    if (s->allow.count == 0 && s->deny.count == 0)
        return 0;
    struct lp_module_identity m = {
        .repo = c->offer.module.repo, .commit = c->offer.module.commit, .image = plan->image};
    struct lp_image_store store;
    struct lp_image_info info;
    memset(&info, 0, sizeof info);
    char err[512];
    bool resolved = false;
    if (lp_image_store_open(&store, c->p->rt.image_store, err, sizeof err) == 0 &&
        lp_image_resolve(&store, plan->image, &info, err, sizeof err) == 0) {
        resolved = true;
        m.image_digest = info.digest;
        m.manifest_digest = info.manifest_digest[0] ? info.manifest_digest : NULL;
    }
    int rc = lp_policy_check(&s->allow, &s->deny, &m, reason, cap);
    if (resolved)
        lp_image_info_free(&info);
    return rc;
}

static int prepare_dirs(struct deal_ctx *c, bool fresh, char *err, size_t errlen)
{
    if (fresh)
        lp_fs_remove_tree(c->dir);
    if (lp_fs_mkdir_p(c->inputs, 0755) != 0 || lp_fs_mkdir_p(c->outputs, 0777) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", c->dir, strerror(errno));
        return -1;
    }
    /* The sandbox's user may differ from ours (user namespace): /outputs must be writable. */
    chmod(c->outputs, 0777);
    if (!c->has_inputs)
        return 0;
    uint8_t *data = NULL;
    size_t len = 0;
    struct lp_client_error e;
    if (lp_client_download(c->p->client, c->r->deal_id, "inputs", &data, &len, &e) != 0) {
        snprintf(err, errlen, "downloading the inputs failed: %s", e.message);
        return -1;
    }
    int rc = lp_tarball_unpack(data, len, c->inputs, MAX_INPUT_SIZE, err, errlen);
    if (rc != 0)
        note_disk_full(c, errno, "unpacking the inputs");
    free(data);
    return rc;
}

/* 0, or the errno of the failed write. */
static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return errno;
    int rc = fputs(text, f) < 0 ? errno : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = errno;
    return rc;
}

static const char *stopping_reason(struct deal_ctx *c)
{
    pthread_mutex_lock(&c->p->mu);
    bool stop = c->p->stopping;
    pthread_mutex_unlock(&c->p->mu);
    return stop ? "the provider is shutting down" : "the deal ended at the solver";
}

/* The GPUs of the deal's slot that the job asked for, as the executor needs them. */
static int job_gpus(const struct deal_ctx *c, const struct lp_job_plan *plan,
                    struct lp_gpu_device gpus[LP_WIRE_MAX_GPUS], char *error, size_t cap)
{
    if (plan->gpus == 0)
        return 0;
    const struct lp_provider *p = c->p;
    size_t have = c->slot >= 0 ? p->slots[c->slot].gpu_count : 0;
    if (plan->gpus > have || plan->gpus > LP_WIRE_MAX_GPUS) {
        snprintf(error, cap, "the job asks for %u GPU%s, the slot it runs in has %zu", plan->gpus,
                 plan->gpus == 1 ? "" : "s", have);
        return -1;
    }
    for (uint32_t i = 0; i < plan->gpus; i++)
        lp_probe_gpu_device(&p->probe.gpus[p->slots[c->slot].gpu_first + i], &gpus[i]);
    return 0;
}

/* A module that asks for network runs only where the provider allows it (module_network =
 * "egress"), and then only on an executor that says its network is outbound only: the
 * provider's own machine and local networks unreachable, the module's domains honoured. An
 * executor that says nothing (ABI 1.0) is not trusted with it. */
static int job_network(const struct deal_ctx *c, const struct lp_job_plan *plan, char *error,
                       size_t cap)
{
    const struct lp_provider *p = c->p;
    if (!plan->network)
        return 0;
    if (strcmp(p->s->module_network, "egress") != 0) {
        snprintf(error, cap,
                 "refused by the provider: the module asks for network access "
                 "(job.Spec.Network) and it runs no module with network "
                 "(provider.module_network = \"%s\")",
                 p->s->module_network);
        return -1;
    }
    const uint32_t need = LP_EXEC_ATTACH_NETWORK | LP_EXEC_ATTACH_EGRESS;
    if (p->executor_described && (p->executor_info.attach & need) == need)
        return 0;
    snprintf(error, cap,
             "refused by the provider: the module asks for network access and %s cannot "
             "give outbound-only network here (%s)",
             lp_backend_label(p->executor),
             p->executor_described ? p->executor_info.runtime : "it does not describe itself");
    return -1;
}

/* How a job the executor finished ended, for the result's termination: the one place that maps
 * the executor's job status to it. An out-of-memory kill is a state of its own (the executor's
 * oom_killed flag), not an exit status 137 the job creator would have to guess from. */
static uint32_t termination_of(const struct lp_job_status *st)
{
    if (st->oom_killed && (st->state == LP_JOB_EXITED || st->state == LP_JOB_FAILED))
        return LP_TERMINATION_OOM_KILLED;
    switch (st->state) {
    case LP_JOB_EXITED:
        return LP_TERMINATION_EXITED;
    case LP_JOB_TIMED_OUT:
        return LP_TERMINATION_TIMED_OUT;
    case LP_JOB_CANCELLED:
        return LP_TERMINATION_CANCELLED;
    default: /* LP_JOB_FAILED: it could not run */
        return LP_TERMINATION_NOT_RUN;
    }
}

/* "memory limit 16.0 MiB reached (peak 16.0 MiB)", for a job killed out of memory. */
static void describe_oom(const struct lp_job_plan *plan, const struct lp_job_status *st,
                         char *error, size_t cap)
{
    const double mib = 1024.0 * 1024.0;
    char peak[48] = "";
    if (st->peak_memory_bytes)
        snprintf(peak, sizeof peak, " (peak %.1f MiB)", (double)st->peak_memory_bytes / mib);
    if (plan->ram_bytes)
        snprintf(error, cap, "memory limit %.1f MiB reached%s", (double)plan->ram_bytes / mib,
                 peak);
    else
        snprintf(error, cap, "the machine ran out of memory%s", peak);
}

/* Runs (or, with a handle from the journal, keeps polling) the job to its end. Returns 0 with
 * exit code, error and termination set, -1 when the executor lost the job (error set). */
static int run_job(struct deal_ctx *c, const struct lp_job_plan *plan, char *error, size_t cap)
{
    struct lp_provider *p = c->p;
    char err[1024];
    if (c->j.step != LP_JSTEP_RUNNING) {
        struct lp_gpu_device gpus[LP_WIRE_MAX_GPUS];
        if (job_gpus(c, plan, gpus, error, cap) != 0 || job_network(c, plan, error, cap) != 0) {
            c->j.exit_code = EXIT_NOT_RUN;
            c->j.termination = LP_TERMINATION_NOT_RUN;
            return 0;
        }
        const struct lp_exec_owner who = {.owner = p->owner_hex, .job_id = c->r->hex};
        if (lp_provider_exec_submit(p->executor, plan, gpus, &who, c->inputs, c->outputs,
                                    c->j.handle, err, sizeof err) != 0) {
            snprintf(error, cap, "the job could not start: %s", err);
            c->j.exit_code = EXIT_NOT_RUN;
            c->j.termination = LP_TERMINATION_NOT_RUN;
            return 0;
        }
        journal(c, LP_JSTEP_RUNNING);
        lp_info("provider: deal %s: running %s as executor job %s (timeout %llu s)", c->r->hex,
                plan->image, c->j.handle, (unsigned long long)plan->timeout_s);
    }
    struct lp_job_status st;
    bool cancelled = false;
    /* Waits in slices so that a deal ended at the solver (its token fired) cancels the job
     * within one slice; the executor returns as soon as the job ends. */
    for (;;) {
        if (lp_provider_exec_wait(p->executor, c->j.handle, WAIT_SLICE_MS, &st, err, sizeof err) !=
            0) {
            snprintf(error, cap,
                     "the provider lost executor job %s (it restarted while the job ran?): %s",
                     c->j.handle, err);
            return -1;
        }
        if (lp_job_state_done(st.state))
            break;
        if (!cancelled && lp_cancel_token_fired(&c->r->cancel)) {
            lp_provider_exec_cancel(p->executor, c->j.handle);
            cancelled = true;
        }
    }
    char ep[4700], xp[4700];
    snprintf(ep, sizeof ep, "%s/stdout", c->result);
    snprintf(xp, sizeof xp, "%s/stderr", c->result);
    if (lp_provider_exec_logs(p->executor, c->j.handle, ep, xp, err, sizeof err) != 0) {
        note_disk_full(c, errno, "writing the job's stdout and stderr");
        lp_warn("provider: deal %s: %s", c->r->hex, err);
    }
    lp_provider_exec_release(p->executor, c->j.handle);
    error[0] = '\0';
    c->j.termination = termination_of(&st);
    switch (st.state) {
    case LP_JOB_EXITED:
        c->j.exit_code = st.exit_code;
        if (c->j.termination == LP_TERMINATION_OOM_KILLED)
            describe_oom(plan, &st, error, cap);
        break;
    case LP_JOB_TIMED_OUT:
        c->j.exit_code = EXIT_KILLED;
        snprintf(error, cap, "the job ran past its timeout of %llu s and was stopped",
                 (unsigned long long)plan->timeout_s);
        break;
    case LP_JOB_CANCELLED:
        c->j.exit_code = EXIT_KILLED;
        snprintf(error, cap, "the job was cancelled: %s", stopping_reason(c));
        break;
    default:
        c->j.exit_code = EXIT_NOT_RUN;
        snprintf(error, cap, "the job could not run: %s", st.message[0] ? st.message : "failed");
        break;
    }
    return 0;
}

/* Packs the result folder into the deal's folder (streamed, stopped at max_result) and uploads
 * it from there. The file is mapped rather than read into memory: the request's signature (a
 * keccak of the body) and libcurl read it page by page, and the pages are the page cache's to
 * drop, so a large result never sits in the provider's memory whole. An unreachable or failing
 * solver is tried again until it takes the upload or the deal is cancelled. 0 uploaded,
 * 1 interrupted by the cancellation, -1 with one line in err. */
static int upload_outputs(struct deal_ctx *c, char *err, size_t errlen)
{
    char path[4500];
    snprintf(path, sizeof path, "%s/upload.tar", c->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        note_disk_full(c, errno, "creating the upload");
        snprintf(err, errlen, "cannot create the outputs archive %s: %s", path, strerror(errno));
        return -1;
    }
    struct lp_tarball_pack_options o;
    lp_tarball_pack_options_default(&o, c->p->s->max_result);
    o.max_hint = "the provider's max_result";
    uint64_t len = 0;
    int rc = lp_tarball_pack_to_fd(c->result, &o, fd, &len, err, errlen);
    if (rc != 0)
        note_disk_full(c, errno, "packing the outputs");
    void *map = MAP_FAILED;
    if (rc == 0 && (len == 0 || len > SIZE_MAX ||
                    (map = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED)) {
        snprintf(err, errlen, "cannot map the outputs archive (%llu bytes): %s",
                 (unsigned long long)len, strerror(errno));
        rc = -1;
    }
    close(fd);
    if (rc == 0) {
        madvise(map, (size_t)len, MADV_SEQUENTIAL);
        struct lp_client_error e;
        for (unsigned attempt = 0;; attempt++) {
            if (lp_client_put_outputs(c->p->client, c->r->deal_id, map, (size_t)len, &e) == 0)
                break;
            if (!transient(&e)) {
                snprintf(err, errlen, "uploading the outputs failed: %s", e.message);
                rc = -1;
                break;
            }
            if (attempt == 0)
                lp_warn("provider: deal %s: uploading the outputs failed (%s); retrying until "
                        "the solver takes them",
                        c->r->hex, e.message);
            if (!backoff(c, attempt)) {
                rc = 1;
                break;
            }
        }
        munmap(map, (size_t)len);
    }
    unlink(path);
    return rc;
}

/* RAN -> STORED -> UPLOADED -> POSTED. */
static void deliver(struct deal_ctx *c)
{
    struct lp_provider *p = c->p;
    char err[1024];
    if (c->j.step < LP_JSTEP_STORED) {
        /* Checked before anything is stored: a sparse file counts at its apparent size, as
         * that is what the archive would hold. */
        uint64_t bytes = 0, entries = 0;
        if (lp_fs_tree_usage(c->result, &bytes, &entries) != 0) {
            snprintf(err, sizeof err, "the job's result folder cannot be read: %s",
                     strerror(errno));
            fail_deal(c, err, c->j.exit_code, false);
            return;
        }
        if (bytes > p->s->max_result) {
            snprintf(err, sizeof err,
                     "the job left %llu bytes (stdout, stderr and outputs), more than this "
                     "provider delivers (max_result, %llu bytes); nothing was stored or "
                     "uploaded (hint: write less to /outputs and stdout)",
                     (unsigned long long)bytes, (unsigned long long)p->s->max_result);
            fail_deal(c, err, c->j.exit_code, false);
            return;
        }
        struct lp_cid cid;
        char why[900];
        if (store_result(c, &cid, why, sizeof why) != 0) {
            if (lp_cancel_token_fired(&c->r->cancel)) {
                interrupted(c, "storing the outputs");
                return;
            }
            snprintf(err, sizeof err, "storing the outputs failed: %s", why);
            fail_deal(c, err, c->j.exit_code, false);
            return;
        }
        snprintf(c->j.cid, sizeof c->j.cid, "%s", cid.str);
        journal(c, LP_JSTEP_STORED);
    }
    if (c->j.step < LP_JSTEP_UPLOADED) {
        int rc = upload_outputs(c, err, sizeof err);
        if (rc > 0) {
            interrupted(c, "uploading the outputs");
            return;
        }
        if (rc < 0) {
            fail_deal(c, err, c->j.exit_code, false);
            return;
        }
        journal(c, LP_JSTEP_UPLOADED);
    }
    uint8_t rid[LP_WIRE_ID_LEN];
    int rc = post_result(c, c->j.cid, c->j.exit_code, c->j.error, rid);
    if (rc > 0) {
        interrupted(c, "posting the result");
        return;
    }
    if (rc < 0) {
        journal(c, LP_JSTEP_ABANDONED);
        count(p, &p->stats.deals_abandoned);
        return;
    }
    journal(c, LP_JSTEP_POSTED);
    count(p, &p->stats.deals_posted);
    if (c->j.error[0])
        count(p, &p->stats.deals_failed);
    record_result(c, rid);
    lp_info("provider: deal %s: result posted: cid %s, exit code %d%s%s", c->r->hex, c->j.cid,
            c->j.exit_code, c->j.error[0] ? ", error: " : "", c->j.error);
}

static void run_deal(struct deal_ctx *c)
{
    struct lp_provider *p = c->p;
    char err[1024];
    if (fetch_deal(c, err, sizeof err) != 0) {
        lp_error("provider: deal %s: %s; not taken", c->r->hex, err);
        if (c->r->has_resume)
            journal(c, LP_JSTEP_ABANDONED);
        return;
    }
    if (c->state != LP_DEAL_AGREED && c->state != LP_DEAL_UPLOADING) {
        lp_warn("provider: deal %s is %s at the solver; nothing more to do for it%s", c->r->hex,
                lp_deal_state_name((uint32_t)c->state),
                c->r->has_resume ? " (journal closed as abandoned)" : "");
        if (c->r->has_resume || c->j.step)
            journal(c, LP_JSTEP_ABANDONED);
        return;
    }
    c->slot = lp_provider_claim_slot(p, c->deal.resource_offer_id, c->j.slot);
    if (c->slot < 0)
        lp_warn("provider: deal %s: every slot is busy; running it beyond max_jobs", c->r->hex);
    if (fetch_offer(c, err, sizeof err) != 0) {
        fail_deal(c, err, EXIT_NOT_RUN, false);
        return;
    }
    if (lp_provider_module_check(p, c->r->deal_id, &c->offer, err, sizeof err) != 0) {
        fail_deal(c, err, EXIT_NOT_RUN, true);
        return;
    }
    struct lp_job_plan plan;
    if (lp_job_plan_from_offer(&c->offer, &plan, err, sizeof err) != 0) {
        fail_deal(c, err, EXIT_NOT_RUN, true);
        return;
    }
    if (c->j.step <= LP_JSTEP_RUNNING &&
        lp_job_plan_apply_limits(&plan, &p->limits, err, sizeof err) != 0) {
        fail_deal(c, err, EXIT_NOT_RUN, true);
        lp_job_plan_free(&plan);
        return;
    }
    if (c->j.step == 0) {
        if (c->mediators_refused[0]) {
            fail_deal(c, c->mediators_refused, EXIT_NOT_RUN, true);
            lp_job_plan_free(&plan);
            return;
        }
        char reason[1024];
        if (check_policy(c, &plan, reason, sizeof reason) != 0 ||
            job_network(c, &plan, reason, sizeof reason) != 0) {
            fail_deal(c, reason, EXIT_NOT_RUN, true);
            lp_job_plan_free(&plan);
            return;
        }
        journal(c, LP_JSTEP_TAKEN);
        struct lp_plugin_error pe;
        if (record_agreement(c, &pe) != LP_OK)
            lp_warn("provider: deal %s: %s", c->r->hex, pe.message);
        struct lp_client_error e;
        if (lp_client_deal_action(p->client, c->r->deal_id, "agree", NULL, &e) != 0)
            lp_warn("provider: deal %s: agree: %s", c->r->hex, e.message);
        lp_info("provider: deal %s taken: module %s@%.12s, image %s", c->r->hex,
                c->offer.module.repo, c->offer.module.commit, plan.image);
    }
    if (c->j.step <= LP_JSTEP_RUNNING) {
        bool fresh = c->j.step == LP_JSTEP_TAKEN;
        if (fresh && prepare_dirs(c, true, err, sizeof err) != 0) {
            fail_deal(c, err, EXIT_NOT_RUN, false);
            lp_job_plan_free(&plan);
            return;
        }
        lp_provider_mining_pause(p, c->slot);
        char error[1024];
        int rc = run_job(c, &plan, error, sizeof error);
        lp_provider_mining_resume(p, c->slot);
        if (rc != 0) {
            fail_deal(c, error, EXIT_NOT_RUN, false);
            lp_job_plan_free(&plan);
            return;
        }
        snprintf(c->j.error, sizeof c->j.error, "%s", error);
        char path[4700], code[32];
        snprintf(path, sizeof path, "%s/exitCode", c->result);
        snprintf(code, sizeof code, "%d", c->j.exit_code);
        note_disk_full(c, write_text(path, code), "writing the job's exit code");
        /* Before RAN is journalled, so the note of what was dropped is journalled with it. */
        char note[LP_WIRE_MAX_REASON], why[512];
        int clean = lp_provider_clean_outputs(c->outputs, note, sizeof note, why, sizeof why);
        if (clean == 0 && note[0]) {
            lp_warn("provider: deal %s: %s", c->r->hex, note);
            size_t used = strlen(c->j.error);
            snprintf(c->j.error + used, sizeof c->j.error - used, "%s%s", used ? "; " : "", note);
        }
        journal(c, LP_JSTEP_RAN);
        if (clean != 0) {
            snprintf(err, sizeof err, "the job's outputs cannot be delivered: %s", why);
            fail_deal(c, err, c->j.exit_code, false);
            lp_job_plan_free(&plan);
            return;
        }
    }
    lp_job_plan_free(&plan);
    struct stat st;
    if (stat(c->result, &st) != 0) {
        snprintf(err, sizeof err, "the result folder %s is gone after a restart", c->result);
        fail_deal(c, err, c->j.exit_code, false);
        return;
    }
    deliver(c);
}

/* ---- mediation --------------------------------------------------------------------------- */

/* The challenged deal as its mediator sees it: the solver-signed deal, the provider's signed
 * result (its CID) and the job creator's signed mediation request (its ID). */
static int fetch_mediation(struct deal_ctx *c, char *err, size_t errlen)
{
    json_t *v = NULL;
    struct lp_client_error e;
    if (lp_client_get_deal(c->p->client, c->r->deal_id, &v, &e) != 0) {
        snprintf(err, errlen, "%s", e.message);
        return -1;
    }
    int rc = -1;
    struct lp_wire_object deal, res, req;
    memset(&deal, 0, sizeof deal);
    memset(&res, 0, sizeof res);
    memset(&req, 0, sizeof req);
    uint8_t mediator[LP_WIRE_ADDR_LEN];
    const char *who = json_string_value(json_object_get(v, "mediator"));
    c->state = (int)json_integer_value(json_object_get(v, "state"));
    c->has_inputs = json_is_string(json_object_get(v, "inputs"));
    if (!who || lp_address_parse(who, mediator) != 0 ||
        memcmp(mediator, c->p->address, LP_WIRE_ADDR_LEN) != 0) {
        snprintf(err, errlen, "we are not the deal's mediator");
        rc = 1;
    } else if (c->state != LP_DEAL_RESULTS_CHECKED ||
               json_is_string(json_object_get(v, "verdict"))) {
        snprintf(err, errlen, "the deal is %s; no verdict is due",
                 lp_deal_state_name((uint32_t)c->state));
        rc = 1;
    } else if (open_envelope(v, LP_WIRE_DEAL, &deal, err, errlen) == 0 &&
               open_envelope_at(v, "result", LP_WIRE_RESULT, &res, c->result_id, err, errlen) ==
                   0 &&
               open_envelope_at(v, "challenge", LP_WIRE_MEDIATION_REQUEST, &req, c->request_id, err,
                                errlen) == 0) {
        c->deal = deal.u.deal;
        snprintf(c->original_cid, sizeof c->original_cid, "%s",
                 res.u.result.cid ? res.u.result.cid : "");
        if (lp_client_json_id(v, "mediator_offer_id", c->offer_id) != 0)
            memset(c->offer_id, 0, sizeof c->offer_id);
        rc = 0;
    }
    if (deal.kind)
        lp_wire_object_free(&deal);
    if (res.kind)
        lp_wire_object_free(&res);
    if (req.kind)
        lp_wire_object_free(&req);
    json_decref(v);
    return rc;
}

/* Brings our ledger up to the challenge (a shared ledger or the chain may already be there;
 * a node's own ledger starts from the agreement), then records the verdict. Each step is
 * recorded as the party that took it: the provider agreed and submitted, the job creator
 * challenged (all three proved by the envelopes they signed), we rule. */
static void record_verdict(struct deal_ctx *c, bool accepted)
{
    struct lp_backend *b = c->p->verifier;
    struct lp_plugin_error pe;
    struct lp_deal_record dr;
    struct lp_call call;
    deal_call(c, NULL, &call);
    int rc = lp_verifier_read_deal(b, &call, c->r->deal_id, &dr, &pe);
    if (rc != LP_OK) {
        rc = record_agreement(c, &pe);
        dr.state = LP_DEAL_AGREED;
    }
    if (rc == LP_OK && dr.state == LP_DEAL_AGREED && c->original_cid[0]) {
        struct lp_result_record rr;
        memset(&rr, 0, sizeof rr);
        rr.struct_size = sizeof rr;
        memcpy(rr.deal_id, c->r->deal_id, 32);
        memcpy(rr.result_id, c->result_id, 32);
        snprintf(rr.cid, sizeof rr.cid, "%s", c->original_cid);
        rr.instruction_count = 1;
        deal_call(c, c->deal.resource_provider, &call);
        rc = lp_verifier_record_result(b, &call, &rr, &pe);
        if (rc == LP_OK)
            dr.state = LP_DEAL_RESULTS_SUBMITTED;
    }
    if (rc == LP_OK && dr.state == LP_DEAL_RESULTS_SUBMITTED) {
        deal_call(c, c->deal.job_creator, &call);
        rc = lp_verifier_challenge_result(b, &call, c->r->deal_id, c->p->address, &pe);
        if (rc == LP_OK)
            dr.state = LP_DEAL_RESULTS_CHECKED;
    }
    if (rc == LP_OK) {
        deal_call(c, NULL, &call);
        rc = lp_verifier_mediation_verdict(b, &call, c->r->deal_id, accepted, &pe);
    }
    if (rc != LP_OK)
        lp_warn("provider: mediation of deal %s: %s", c->r->hex, pe.message);
}

static int post_verdict(struct deal_ctx *c, bool accepted, const char *cid, const char *reason)
{
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_MEDIATION_VERDICT;
    struct lp_mediation_verdict *v = &obj.u.mediation_verdict;
    memcpy(v->request_id, c->request_id, LP_WIRE_ID_LEN);
    memcpy(v->deal_id, c->r->deal_id, LP_WIRE_ID_LEN);
    memcpy(v->result_id, c->result_id, LP_WIRE_ID_LEN);
    memcpy(v->mediator, c->p->address, LP_WIRE_ADDR_LEN);
    v->verdict = accepted ? LP_VERDICT_ACCEPTED : LP_VERDICT_REJECTED;
    v->mediator_cid = (char *)cid;
    char r[LP_WIRE_MAX_REASON];
    lp_provider_public_text(c->p, c->dir, reason, r, sizeof r);
    v->reason = r;
    v->created_at_ms = realtime_ms();
    struct lp_client_error e;
    for (int attempt = 0;; attempt++) {
        if (lp_client_post_object(c->p->client, &obj, NULL, NULL, NULL, &e) == 0)
            return 0;
        if ((e.status >= 400 && e.status < 500 && e.status != 429) || attempt == 4)
            break;
        usleep(500000u << attempt);
    }
    lp_error("provider: mediation of deal %s: posting the verdict failed: %s", c->r->hex,
             e.message);
    return -1;
}

/* As the booked mediator: re-run the job, store our result folder the same way, and rule that
 * the result stands when our CID equals the provider's (the CID covers stdout, stderr,
 * exitCode and outputs/, so a deterministic job gives the same one). A job we cannot run or
 * refuse gets no verdict: the solver's mediation timeout ends the deal instead. */
static void run_mediation(struct deal_ctx *c)
{
    struct lp_provider *p = c->p;
    char err[1024];
    int f = fetch_mediation(c, err, sizeof err);
    if (f != 0) {
        if (f < 0)
            lp_error("provider: mediation of deal %s: %s", c->r->hex, err);
        else
            lp_debug("provider: mediation of deal %s: %s", c->r->hex, err);
        return;
    }
    static const uint8_t zero[LP_WIRE_ID_LEN];
    c->slot = lp_provider_claim_slot(
        p, memcmp(c->offer_id, zero, LP_WIRE_ID_LEN) ? c->offer_id : NULL, -1);
    lp_info("provider: mediating deal %s (challenged result %s)", c->r->hex, c->original_cid);
    struct lp_job_plan plan;
    if (fetch_offer(c, err, sizeof err) != 0 ||
        lp_provider_module_check(p, c->r->deal_id, &c->offer, err, sizeof err) != 0 ||
        lp_job_plan_from_offer(&c->offer, &plan, err, sizeof err) != 0) {
        lp_error("provider: mediation of deal %s: %s; no verdict", c->r->hex, err);
        return;
    }
    if (lp_job_plan_apply_limits(&plan, &p->limits, err, sizeof err) != 0) {
        lp_warn("provider: mediation of deal %s: %s; no verdict", c->r->hex, err);
        lp_job_plan_free(&plan);
        return;
    }
    char reason[1024];
    if (check_policy(c, &plan, reason, sizeof reason) != 0 ||
        job_network(c, &plan, reason, sizeof reason) != 0) {
        lp_warn("provider: mediation of deal %s refused: %s; no verdict", c->r->hex, reason);
        lp_job_plan_free(&plan);
        return;
    }
    if (prepare_dirs(c, true, err, sizeof err) != 0) {
        lp_error("provider: mediation of deal %s: %s; no verdict", c->r->hex, err);
        lp_job_plan_free(&plan);
        return;
    }
    lp_provider_mining_pause(p, c->slot);
    char error[1024];
    int rc = run_job(c, &plan, error, sizeof error);
    lp_provider_mining_resume(p, c->slot);
    lp_job_plan_free(&plan);
    if (rc != 0 || lp_cancel_token_fired(&c->r->cancel)) {
        lp_error("provider: mediation of deal %s: %s; no verdict", c->r->hex,
                 rc != 0 ? error : stopping_reason(c));
        return;
    }
    char path[4700], code[32];
    snprintf(path, sizeof path, "%s/exitCode", c->result);
    snprintf(code, sizeof code, "%d", c->j.exit_code);
    note_disk_full(c, write_text(path, code), "writing the job's exit code");
    /* Cleaned as the deal's provider cleans its outputs, so equal runs give equal CIDs. */
    char note[LP_WIRE_MAX_REASON], why[512];
    if (lp_provider_clean_outputs(c->outputs, note, sizeof note, why, sizeof why) != 0) {
        lp_error("provider: mediation of deal %s: %s; no verdict", c->r->hex, why);
        return;
    }
    struct lp_cid cid;
    if (store_result(c, &cid, err, sizeof err) != 0) {
        lp_error("provider: mediation of deal %s: storing our outputs failed: %s; no verdict",
                 c->r->hex, err);
        return;
    }
    bool accepted = c->original_cid[0] && strcmp(cid.str, c->original_cid) == 0;
    if (accepted)
        snprintf(reason, sizeof reason, "the re-run gave the same outputs (CID %s)", cid.str);
    else
        snprintf(reason, sizeof reason, "the re-run gave CID %s, the result claims %s%s%s", cid.str,
                 c->original_cid[0] ? c->original_cid : "none", error[0] ? "; our run: " : "",
                 error);
    if (post_verdict(c, accepted, cid.str, reason) != 0)
        return;
    record_verdict(c, accepted);
    lp_info("provider: mediation of deal %s: verdict %s: %s", c->r->hex,
            accepted ? "result accepted" : "result rejected", reason);
}

void *lp_provider_deal_main(void *arg)
{
    struct lp_deal_run *r = arg;
    struct deal_ctx *c = calloc(1, sizeof *c);
    if (c) {
        c->r = r;
        c->p = r->p;
        c->slot = -1;
        if (r->has_resume)
            c->j = r->resume;
        else {
            memcpy(c->j.deal_id, r->deal_id, LP_WIRE_ID_LEN);
            c->j.slot = -1;
        }
        c->mediation = r->mediation;
        snprintf(c->dir, sizeof c->dir, "%s/%s/%s", r->p->rt.work_dir,
                 r->mediation ? "mediations" : "deals", r->hex + 2);
        snprintf(c->inputs, sizeof c->inputs, "%s/inputs", c->dir);
        snprintf(c->result, sizeof c->result, "%s/result", c->dir);
        snprintf(c->outputs, sizeof c->outputs, "%s/outputs", c->result);
        if (c->mediation)
            run_mediation(c);
        else
            run_deal(c);
        /* A finished deal's folder is no longer needed (the storage backend and the solver
         * hold its result); one the next start resumes from stays. */
        if (c->mediation || c->j.step >= LP_JSTEP_POSTED)
            lp_fs_remove_tree(c->dir);
        if (c->slot >= 0)
            lp_provider_release_slot(c->p, c->slot);
        if (c->has_offer)
            lp_job_offer_free(&c->offer);
        free(c);
    }
    pthread_mutex_lock(&r->p->mu);
    r->finished = true;
    pthread_cond_broadcast(&r->p->cond);
    pthread_mutex_unlock(&r->p->mu);
    return NULL;
}
