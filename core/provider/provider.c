/* The provider's main loop: backends, probe, resource offers per free slot, the event
 * long-poll, deal threads, restart recovery from the journal, and a clean stop. */
#include "provider/provider.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lilypad/executor.h>
#include <lilypad/storage.h>
#include <lilypad/verifier.h>

#include "crypto/keyfile.h"
#include "crypto/random.h"
#include "image/fs_tree.h"
#include "dispatch/executor.h"
#include "provider/exec.h"
#include "provider/policy.h"
#include "provider/provider_impl.h"
#include "util/cond.h"
#include "util/hex.h"
#include "util/log.h"

static uint64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int load_key(const char *path, struct lp_key *key, char *err, size_t errlen)
{
    if (!path[0]) {
        snprintf(err, errlen, "provider.key is empty (hint: lilypad key new --out provider.key)");
        return -1;
    }
    char kerr[256];
    int rc = lp_keyfile_load(path, NULL, 0, key, NULL, kerr, sizeof kerr);
    if (rc == LP_KEYFILE_NEEDS_PASSWORD) {
        snprintf(err, errlen,
                 "%s is a keystore; hint: give the provider a raw hex key file (lilypad key new "
                 "--out FILE)",
                 path);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s", kerr);
        return -1;
    }
    return 0;
}

static int open_backend(const struct lp_config *cfg, const char *concern, struct lp_backend **b,
                        char *err, size_t errlen)
{
    char berr[2048];
    if (lp_backend_open(cfg, concern, NULL, b, berr, sizeof berr) != 0) {
        snprintf(err, errlen, "%s backend: %s", concern, berr);
        return -1;
    }
    return 0;
}

static uint64_t cap_u64(const char *what, uint64_t want, uint64_t have)
{
    if (want > have) {
        lp_warn("provider: %s %llu is more than the machine has (%llu); offering %llu", what,
                (unsigned long long)want, (unsigned long long)have, (unsigned long long)have);
        return have;
    }
    return want;
}

/* What the executor says it can attach: GPUs of a vendor it cannot attach are not offered (a
 * job matched on them would run without them). An executor built against ABI 1.0 says nothing;
 * then GPUs are offered as before and the executor is trusted with them. */
static void check_executor(struct lp_provider *p)
{
    struct lp_executor_info info;
    struct lp_plugin_error pe;
    p->offerable_gpus = p->probe.n_gpus;
    if (lp_executor_describe(p->executor, &info, &pe) != LP_OK) {
        lp_info("provider: %s; GPUs and network are passed to it unchecked", pe.message);
        return;
    }
    p->executor_info = info;
    p->executor_described = true;
    /* The attachable GPUs first, so the slots (which take GPUs from index 0) get only those;
     * the others stay in the probe for mining. */
    size_t kept = 0;
    for (size_t i = 0; i < p->probe.n_gpus; i++) {
        struct lp_probe_gpu g = p->probe.gpus[i];
        bool ok = (strcmp(g.vendor, "nvidia") == 0 && (info.attach & LP_EXEC_ATTACH_NVIDIA)) ||
                  (strcmp(g.vendor, "amd") == 0 && (info.attach & LP_EXEC_ATTACH_AMD));
        if (!ok) {
            lp_warn("provider: %s cannot attach %s GPUs (%s); %s is not offered",
                    lp_backend_label(p->executor), g.vendor,
                    info.runtime[0] ? info.runtime : "no detail", g.model);
            continue;
        }
        memmove(&p->probe.gpus[kept + 1], &p->probe.gpus[kept], (i - kept) * sizeof g);
        p->probe.gpus[kept++] = g;
    }
    p->offerable_gpus = kept;
}

/* Splits what is offered into max_jobs equal slots; GPUs go to slots in contiguous groups. */
static void plan_slots(struct lp_provider *p)
{
    const struct lp_provider_settings *s = p->s;
    uint64_t cpu_have = (uint64_t)p->probe.cpu_threads * 1000u;
    uint64_t cpu = s->cpu ? cap_u64("cpu", (uint64_t)s->cpu, cpu_have) : cpu_have;
    /* Defaults keep a tenth back for the node itself and the OS. */
    uint64_t ram =
        s->ram ? cap_u64("ram", s->ram, p->probe.ram_total) : p->probe.ram_available / 10u * 9u;
    uint64_t disk =
        s->disk ? cap_u64("disk", s->disk, p->probe.disk_free) : p->probe.disk_free / 10u * 9u;
    size_t gpus = p->offerable_gpus;
    if (s->gpus >= 0 && (size_t)s->gpus < gpus)
        gpus = (size_t)s->gpus;
    else if (s->gpus > 0 && (size_t)s->gpus > gpus)
        lp_warn("provider: gpus = %lld but only %zu GPU%s can be offered (found %zu); offering "
                "%zu",
                (long long)s->gpus, p->offerable_gpus, p->offerable_gpus == 1 ? "" : "s",
                p->probe.n_gpus, gpus);
    p->n_slots = (size_t)s->max_jobs;
    p->offer_cpu = cpu / p->n_slots;
    p->offer_ram = ram / p->n_slots;
    p->offer_disk = disk / p->n_slots;
    p->offer_gpus = gpus;
    size_t per = gpus / p->n_slots;
    for (size_t i = 0; i < p->n_slots; i++) {
        p->slots[i].gpu_first = i * per;
        p->slots[i].gpu_count = per;
    }
    if (gpus > 0 && per == 0)
        lp_warn("provider: %zu GPU%s cannot be split over max_jobs = %zu slots; offers carry no "
                "GPU (hint: max_jobs <= gpus)",
                gpus, gpus == 1 ? "" : "s", p->n_slots);
}

int lp_provider_open(const struct lp_config *cfg, const struct lp_provider_options *opt,
                     struct lp_provider **out, char *err, size_t errlen)
{
    *out = NULL;
    struct lp_provider *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "provider: out of memory");
        return -1;
    }
    pthread_mutex_init(&p->mu, NULL);
    lp_cond_init(&p->cond);
    lp_cancel_token_init(&p->stop_token, NULL);
    if (opt)
        p->opt.once = opt->once;
    if (lp_provider_settings_load(cfg, &p->rt, err, errlen) != 0)
        goto fail;
    p->s = p->rt.settings;
    if (lp_policy_validate(&p->s->allow, "provider.allow", err, errlen) != 0 ||
        lp_policy_validate(&p->s->deny, "provider.deny", err, errlen) != 0)
        goto fail;
    if (opt && opt->key)
        p->key = *opt->key;
    else if (load_key(p->rt.key_path, &p->key, err, errlen) != 0)
        goto fail;
    memcpy(p->address, p->key.address, LP_WIRE_ADDR_LEN);
    lp_address_to_checksum(p->address, p->address_text);
    lp_hex_encode_0x(p->address, LP_WIRE_ADDR_LEN, p->owner_hex);
    if (lp_fs_mkdir_p(p->rt.work_dir, 0700) != 0) {
        snprintf(err, errlen, "provider: cannot create work_dir %s: %s", p->rt.work_dir,
                 strerror(errno));
        goto fail;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/journal.sqlite", p->rt.work_dir);
    double t0 = (double)lp_provider_mono_ns() / 1e6, t[6];
    if (lp_journal_open(path, &p->journal, err, errlen) != 0 ||
        lp_provider_modules_open(p, err, errlen) != 0)
        goto fail;
    t[0] = (double)lp_provider_mono_ns() / 1e6;
    if (lp_probe_host(p->rt.work_dir, &p->probe, err, errlen) != 0)
        goto fail;
    t[1] = (double)lp_provider_mono_ns() / 1e6;
    /* The hashrate backend is opened even with mining off: its devices are the GPUs offered. */
    if (open_backend(cfg, "hashrate", &p->hashrate, err, errlen) != 0)
        goto fail;
    lp_probe_add_devices(&p->probe, p->hashrate);
    t[2] = (double)lp_provider_mono_ns() / 1e6;
    if (open_backend(cfg, "executor", &p->executor, err, errlen) != 0)
        goto fail;
    t[3] = (double)lp_provider_mono_ns() / 1e6;
    if (open_backend(cfg, "storage", &p->storage, err, errlen) != 0)
        goto fail;
    t[4] = (double)lp_provider_mono_ns() / 1e6;
    if (open_backend(cfg, "verifier", &p->verifier, err, errlen) != 0)
        goto fail;
    t[5] = (double)lp_provider_mono_ns() / 1e6;
    lp_debug("provider: opened in %.1f ms: journal %.1f, probe %.1f, hashrate %.1f, executor "
             "%.1f, storage %.1f, verifier %.1f",
             t[5] - t0, t[0] - t0, t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[5] - t[4]);
    check_executor(p);
    plan_slots(p);
    lp_provider_limits_init(p);
    p->client = lp_client_new(p->s->solver, &p->key, (long)p->s->request_timeout);
    p->wake = lp_client_cancel_new();
    if (!p->client || !p->wake) {
        snprintf(err, errlen, "provider.solver: \"%s\" is not a usable URL", p->s->solver);
        goto fail;
    }
    *out = p;
    return 0;
fail:
    lp_provider_close(p);
    return -1;
}

void lp_provider_close(struct lp_provider *p)
{
    if (!p)
        return;
    lp_provider_mining_stop(p);
    lp_client_free(p->client);
    lp_client_cancel_free(p->wake);
    lp_backend_close(p->executor);
    lp_backend_close(p->storage);
    lp_backend_close(p->verifier);
    lp_backend_close(p->hashrate);
    lp_journal_close(p->journal);
    lp_provider_modules_close(p);
    lp_provider_settings_free(&p->rt);
    lp_key_wipe(&p->key);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
    free(p);
}

const struct lp_probe *lp_provider_get_probe(const struct lp_provider *p)
{
    return &p->probe;
}

const uint8_t *lp_provider_address(const struct lp_provider *p)
{
    return p->address;
}

void lp_provider_get_stats(struct lp_provider *p, struct lp_provider_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}

void lp_provider_stop(struct lp_provider *p)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    lp_cancel_token_fire(&p->stop_token); /* and so every deal run's token */
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    lp_client_cancel_fire(p->wake);
}

static bool stopping(struct lp_provider *p)
{
    pthread_mutex_lock(&p->mu);
    bool s = p->stopping;
    pthread_mutex_unlock(&p->mu);
    return s;
}

/* Sleeps up to ms unless stop is called. */
static void nap(struct lp_provider *p, uint64_t ms)
{
    pthread_mutex_lock(&p->mu);
    if (!p->stopping)
        lp_cond_wait_ns(&p->cond, &p->mu, ms * 1000000u);
    pthread_mutex_unlock(&p->mu);
}

/* ---- slots and offers ---------------------------------------------------------------------- */

int lp_provider_claim_slot(struct lp_provider *p, const uint8_t offer_id[LP_WIRE_ID_LEN],
                           int journal_slot)
{
    pthread_mutex_lock(&p->mu);
    int found = -1;
    for (size_t i = 0; i < p->n_slots && found < 0; i++) {
        if (!p->slots[i].busy && p->slots[i].has_offer && offer_id &&
            memcmp(p->slots[i].offer_id, offer_id, LP_WIRE_ID_LEN) == 0)
            found = (int)i;
    }
    if (found < 0 && journal_slot >= 0 && (size_t)journal_slot < p->n_slots &&
        !p->slots[journal_slot].busy)
        found = journal_slot;
    /* An offer of an earlier run (or one we could not withdraw): take any free slot. */
    for (size_t i = 0; i < p->n_slots && found < 0; i++) {
        if (!p->slots[i].busy)
            found = (int)i;
    }
    uint8_t withdraw[LP_WIRE_ID_LEN];
    bool must_withdraw = false;
    if (found >= 0) {
        struct lp_slot *s = &p->slots[found];
        must_withdraw =
            s->has_offer && (!offer_id || memcmp(s->offer_id, offer_id, LP_WIRE_ID_LEN) != 0);
        memcpy(withdraw, s->offer_id, LP_WIRE_ID_LEN);
        s->busy = true;
        s->has_offer = false;
    }
    pthread_mutex_unlock(&p->mu);
    if (must_withdraw) {
        /* The slot's own offer would book a second job onto busy hardware. */
        struct lp_client_error e;
        if (lp_client_cancel_offer(p->client, LP_WIRE_RESOURCE_OFFER, withdraw, &e) != 0)
            lp_warn("provider: withdrawing the slot's offer failed: %s", e.message);
    }
    return found;
}

void lp_provider_release_slot(struct lp_provider *p, int slot)
{
    pthread_mutex_lock(&p->mu);
    if (slot >= 0 && (size_t)slot < p->n_slots)
        p->slots[slot].busy = false;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    /* Back-to-back jobs: the main loop posts this slot's next offer now (Lilypad's
     * ensureResourceOffers), instead of after its long-poll's wait. */
    lp_client_cancel_fire(p->wake);
}

static int post_offer(struct lp_provider *p, size_t slot)
{
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_RESOURCE_OFFER;
    struct lp_resource_offer *o = &obj.u.resource_offer;
    memcpy(o->provider, p->address, LP_WIRE_ADDR_LEN);
    o->cpu_millicores = p->offer_cpu;
    o->ram_bytes = p->offer_ram;
    o->disk_bytes = p->offer_disk;
    struct lp_gpu gpus[LP_WIRE_MAX_GPUS];
    const struct lp_slot *s = &p->slots[slot];
    for (size_t i = 0; i < s->gpu_count; i++) {
        const struct lp_probe_gpu *g = &p->probe.gpus[s->gpu_first + i];
        gpus[i].vendor = (char *)g->vendor;
        gpus[i].model = (char *)g->model;
        gpus[i].vram_bytes = g->vram_bytes;
    }
    o->gpus = gpus;
    o->n_gpus = s->gpu_count;
    o->min_price = p->rt.price;
    o->results_collateral = p->rt.results_collateral;
    o->mediation_fee = p->rt.mediation_fee;
    o->module_policy = LP_MODULES_ANY; /* allow/deny are checked here, richer than the wire's */
    o->created_at_ms = realtime_ms();
    lp_random_bytes(o->nonce, sizeof o->nonce);
    uint8_t id[LP_WIRE_ID_LEN];
    struct lp_client_error e;
    if (lp_client_post_object(p->client, &obj, NULL, id, NULL, &e) != 0) {
        lp_warn("provider: posting a resource offer failed: %s", e.message);
        return -1;
    }
    char hex[2 * LP_WIRE_ID_LEN + 3];
    lp_hex_encode_0x(id, LP_WIRE_ID_LEN, hex);
    lp_info("provider: resource offer %s posted (slot %zu: %llu millicores, %llu MiB RAM, %llu "
            "MiB disk, %zu GPU%s)",
            hex, slot, (unsigned long long)o->cpu_millicores,
            (unsigned long long)(o->ram_bytes >> 20), (unsigned long long)(o->disk_bytes >> 20),
            o->n_gpus, o->n_gpus == 1 ? "" : "s");
    pthread_mutex_lock(&p->mu);
    p->slots[slot].has_offer = true;
    memcpy(p->slots[slot].offer_id, id, LP_WIRE_ID_LEN);
    p->stats.offers_posted++;
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* Lilypad's ensureResourceOffers: every free slot has one open offer (an offer is consumed by
 * its deal). With --once no new offer goes out after the first deal. */
static void ensure_offers(struct lp_provider *p)
{
    for (size_t i = 0; i < p->n_slots; i++) {
        pthread_mutex_lock(&p->mu);
        bool want = !p->stopping && !p->slots[i].busy && !p->slots[i].has_offer &&
                    !(p->opt.once && p->once_taken);
        pthread_mutex_unlock(&p->mu);
        if (want && post_offer(p, i) != 0)
            return; /* retried on the next turn */
    }
}

/* Withdraws offers still open at the solver: those of an earlier run (their slots are
 * unknown now) at start, ours at stop. A booked offer answers 409, which is fine. */
static void withdraw_open_offers(struct lp_provider *p)
{
    json_t *j = NULL;
    struct lp_client_error e;
    if (lp_client_request_json(p->client, "GET", "/api/v1/resource_offers", NULL, 0, &j, &e) != 0) {
        lp_warn("provider: listing our resource offers failed: %s", e.message);
        return;
    }
    json_t *arr = json_object_get(j, "offers");
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (json_integer_value(json_object_get(o, "state")) != LP_DEAL_NEGOTIATING)
            continue;
        uint8_t id[LP_WIRE_ID_LEN];
        if (lp_client_json_id(o, "id", id) == 0 &&
            lp_client_cancel_offer(p->client, LP_WIRE_RESOURCE_OFFER, id, &e) != 0 &&
            e.status != 409)
            lp_warn("provider: withdrawing offer %s failed: %s",
                    json_string_value(json_object_get(o, "id")), e.message);
    }
    json_decref(j);
    pthread_mutex_lock(&p->mu);
    for (size_t k = 0; k < p->n_slots; k++)
        p->slots[k].has_offer = false;
    pthread_mutex_unlock(&p->mu);
}

/* ---- deal threads -------------------------------------------------------------------------- */

static struct lp_deal_run *find_run(struct lp_provider *p, const uint8_t id[LP_WIRE_ID_LEN])
{
    for (struct lp_deal_run *r = p->runs; r; r = r->next) {
        if (memcmp(r->deal_id, id, LP_WIRE_ID_LEN) == 0)
            return r;
    }
    return NULL;
}

/* Starts a thread for a deal unless one exists or the journal says it is done. */
static void start_run(struct lp_provider *p, const uint8_t id[LP_WIRE_ID_LEN],
                      const struct lp_journal_entry *resume, bool mediation)
{
    pthread_mutex_lock(&p->mu);
    bool skip = find_run(p, id) != NULL || p->stopping;
    pthread_mutex_unlock(&p->mu);
    if (skip)
        return;
    struct lp_journal_entry known;
    if (!mediation && !resume && lp_journal_get(p->journal, id, &known) == 0) {
        if (known.step >= LP_JSTEP_POSTED)
            return;
        resume = &known; /* unfinished: a journal scan will have started it already */
    }
    struct lp_deal_run *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->p = p;
    lp_cancel_token_init(&r->cancel, &p->stop_token);
    memcpy(r->deal_id, id, LP_WIRE_ID_LEN);
    lp_hex_encode_0x(id, LP_WIRE_ID_LEN, r->hex);
    if (resume) {
        r->resume = *resume;
        r->has_resume = true;
    }
    r->mediation = mediation;
    pthread_mutex_lock(&p->mu);
    if (!mediation && p->opt.once && p->once_taken) {
        pthread_mutex_unlock(&p->mu);
        lp_info("provider: --once: deal %s left to a later run", r->hex);
        free(r);
        return;
    }
    if (!mediation)
        p->once_taken = true;
    if (pthread_create(&r->thread, NULL, lp_provider_deal_main, r) != 0) {
        pthread_mutex_unlock(&p->mu);
        lp_error("provider: cannot start a thread for deal %s", r->hex);
        free(r);
        return;
    }
    r->next = p->runs;
    p->runs = r;
    pthread_mutex_unlock(&p->mu);
}

static void start_deal(struct lp_provider *p, const uint8_t id[LP_WIRE_ID_LEN],
                       const struct lp_journal_entry *resume)
{
    start_run(p, id, resume, false);
}

/* Joins finished deal threads; returns how many are still running. */
static size_t reap(struct lp_provider *p)
{
    size_t running = 0;
    pthread_mutex_lock(&p->mu);
    struct lp_deal_run **pp = &p->runs;
    while (*pp) {
        struct lp_deal_run *r = *pp;
        if (r->finished) {
            *pp = r->next;
            pthread_mutex_unlock(&p->mu);
            pthread_join(r->thread, NULL);
            free(r);
            pthread_mutex_lock(&p->mu);
            p->deals_done++;
            continue;
        }
        running++;
        pp = &r->next;
    }
    pthread_mutex_unlock(&p->mu);
    return running;
}

static void resume_cb(void *ctx, const struct lp_journal_entry *e)
{
    struct lp_provider *p = ctx;
    char hex[2 * LP_WIRE_ID_LEN + 3];
    lp_hex_encode_0x(e->deal_id, LP_WIRE_ID_LEN, hex);
    lp_info("provider: journal: deal %s was %s when the provider last stopped; resuming", hex,
            lp_journal_step_name(e->step));
    start_deal(p, e->deal_id, e);
}

/* The executor handles of the deals a restart resumes as RUNNING: their jobs are kept. */
struct kept_handles {
    char (*ids)[128];
    size_t n, cap;
    bool failed;
};

static void keep_cb(void *ctx, const struct lp_journal_entry *e)
{
    struct kept_handles *k = ctx;
    if (e->step != LP_JSTEP_RUNNING || e->handle[0] == '\0' || k->failed)
        return;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        char(*ids)[128] = realloc(k->ids, cap * sizeof *ids);
        if (ids == NULL) {
            k->failed = true;
            return;
        }
        k->ids = ids;
        k->cap = cap;
    }
    snprintf(k->ids[k->n++], 128, "%s", e->handle);
}

/* Jobs an earlier run of this provider left with the executor (containers outlive us) that no
 * unfinished deal follows any more: removed before new work comes in. Nothing is removed when
 * the journal cannot be read, as a job it follows could be among them. */
static void reclaim_leftovers(struct lp_provider *p)
{
    struct kept_handles k = {0};
    if (lp_journal_scan_unfinished(p->journal, keep_cb, &k) < 0 || k.failed) {
        lp_warn("provider: the journal could not be read; jobs earlier runs left with %s stay",
                lp_backend_label(p->executor));
        free(k.ids);
        return;
    }
    char err[512];
    long removed = lp_provider_exec_reclaim(p->executor, p->owner_hex, (const char(*)[128])k.ids,
                                            k.n, err, sizeof err);
    free(k.ids);
    if (removed < 0)
        lp_warn("provider: removing the jobs earlier runs left with %s failed: %s",
                lp_backend_label(p->executor), err);
    else if (removed > 0)
        lp_info("provider: removed %ld job%s an earlier run left with %s", removed,
                removed == 1 ? "" : "s", lp_backend_label(p->executor));
}

/* Deals the solver gave us while we were away (not in the journal at all). */
static void pick_up_active_deals(struct lp_provider *p)
{
    json_t *j = NULL;
    struct lp_client_error e;
    if (lp_client_list_deals(p->client, true, &j, &e) != 0) {
        lp_warn("provider: listing active deals failed: %s", e.message);
        return;
    }
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(j, "deals"), i, d)
    {
        uint8_t id[LP_WIRE_ID_LEN], rp[LP_WIRE_ADDR_LEN], med[LP_WIRE_ADDR_LEN];
        const char *who = json_string_value(json_object_get(d, "resource_provider"));
        const char *mediator = json_string_value(json_object_get(d, "mediator"));
        json_int_t st = json_integer_value(json_object_get(d, "state"));
        if (lp_client_json_id(d, "id", id) == 0 && mediator &&
            lp_address_parse(mediator, med) == 0 &&
            memcmp(med, p->address, LP_WIRE_ADDR_LEN) == 0 && st == LP_DEAL_RESULTS_CHECKED &&
            !json_is_string(json_object_get(d, "verdict"))) {
            start_run(p, id, NULL, true); /* a mediation we had not finished: from scratch */
            continue;
        }
        if (lp_client_json_id(d, "id", id) != 0 || !who || lp_address_parse(who, rp) != 0 ||
            memcmp(rp, p->address, LP_WIRE_ADDR_LEN) != 0)
            continue;
        if (st == LP_DEAL_AGREED || st == LP_DEAL_UPLOADING)
            start_deal(p, id, NULL);
    }
    json_decref(j);
}

static void handle_events(struct lp_provider *p, json_t *events)
{
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        const char *type = json_string_value(json_object_get(ev, "type"));
        uint8_t id[LP_WIRE_ID_LEN];
        if (!type || lp_client_json_id(ev, "id", id) != 0)
            continue;
        json_int_t state = json_integer_value(json_object_get(ev, "state"));
        if (strcmp(type, "deal_added") == 0) {
            start_deal(p, id, NULL);
        } else if (strcmp(type, "mediation_requested") == 0) {
            /* Sent to all three parties; the thread goes on only if we are the mediator. */
            start_run(p, id, NULL, true);
        } else if (strcmp(type, "deal_state") == 0 && state != LP_DEAL_AGREED &&
                   state != LP_DEAL_UPLOADING && state != LP_DEAL_RESULTS_SUBMITTED) {
            pthread_mutex_lock(&p->mu);
            struct lp_deal_run *r = find_run(p, id);
            if (r && state != LP_DEAL_DOWNLOADING && state != LP_DEAL_RESULTS_ACCEPTED &&
                !(r->mediation && state == LP_DEAL_RESULTS_CHECKED)) {
                lp_info("provider: deal %s is now %s at the solver; stopping its job", r->hex,
                        json_string_value(json_object_get(ev, "state_name")));
                lp_cancel_token_fire(&r->cancel);
            }
            pthread_mutex_unlock(&p->mu);
        }
    }
}

int lp_provider_run(struct lp_provider *p)
{
    lp_info("provider %s: solver %s, work dir %s, %zu slot%s, executor %s, storage %s, "
            "verifier %s, hashrate %s",
            p->address_text, p->s->solver, p->rt.work_dir, p->n_slots, p->n_slots == 1 ? "" : "s",
            lp_backend_descriptor(p->executor)->name, lp_backend_descriptor(p->storage)->name,
            lp_backend_descriptor(p->verifier)->name, p->probe.hashrate_backend);
    lp_provider_mining_start(p);
    /* Wait for the solver once, so a provider started before it does not spray errors. */
    struct lp_client_error e;
    uint64_t cursor = 0;
    int status = 0;
    for (int attempt = 0;; attempt++) {
        json_t *evs = NULL;
        if (lp_client_events(p->client, 0, 0, &evs, &cursor, &e) == 0) {
            json_decref(evs);
            break;
        }
        if (attempt == 0)
            lp_warn("provider: solver %s not answering yet (%s); retrying", p->s->solver,
                    e.message);
        if (e.status == 401 || e.status == 403) {
            lp_error("provider: the solver refuses us: %s", e.message);
            status = 1;
            goto out;
        }
        nap(p, 1000);
        if (stopping(p))
            goto out;
    }
    /* The cursor now points past every old event: deals we missed come from the journal and
     * from the list of active deals instead. */
    lp_provider_sweep_folders(p);
    reclaim_leftovers(p);
    if (lp_journal_scan_unfinished(p->journal, resume_cb, p) < 0)
        lp_error("provider: reading the journal failed; unfinished deals are picked up from the "
                 "solver's list only");
    withdraw_open_offers(p);
    pick_up_active_deals(p);

    unsigned wait_s = (unsigned)(p->s->poll_wait / 1000u);
    if (wait_s == 0)
        wait_s = 1;
    while (!stopping(p)) {
        /* Reset before looking at the slots: a slot freed after this point fires the token
         * again and the next poll returns at once. */
        lp_client_cancel_reset(p->wake);
        size_t running = reap(p);
        pthread_mutex_lock(&p->mu);
        bool done = p->opt.once && p->once_taken && running == 0;
        pthread_mutex_unlock(&p->mu);
        if (done)
            break;
        ensure_offers(p);
        lp_provider_mining_log(p, false);
        lp_provider_pow_tick(p);
        json_t *evs = NULL;
        uint64_t next = cursor;
        if (lp_client_events_cancellable(p->client, cursor, wait_s, p->wake, &evs, &next, &e) !=
            0) {
            if (e.status == LP_CLIENT_CANCELLED)
                continue; /* woken: stop, or a slot to offer again */
            lp_warn("provider: events: %s", e.message);
            nap(p, 1000);
            continue;
        }
        cursor = next;
        handle_events(p, evs);
        json_decref(evs);
    }
out:
    lp_provider_stop(p); /* marks every deal thread cancelled */
    while (reap(p) > 0)
        usleep(20000);
    withdraw_open_offers(p);
    lp_provider_mining_stop(p);
    lp_info("provider: stopped (%llu result%s posted, %llu refused, %llu failed)",
            (unsigned long long)p->stats.deals_posted, p->stats.deals_posted == 1 ? "" : "s",
            (unsigned long long)p->stats.deals_refused, (unsigned long long)p->stats.deals_failed);
    return status;
}
