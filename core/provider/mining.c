/* Background proof of work for the provider: the hashrate backend's devices mined through
 * core/pow/miner.h at the configured duty cycle, paused on the devices a job uses, with the
 * 10 s / 60 s / 15 min rates logged (the provider's own count: for its log only). The work is
 * the solver's round challenge for this provider (GET /api/v1/pow/challenge): every nonce below
 * the share target is a share, sent signed in batches (POST /api/v1/pow/submissions), which is
 * how the solver credits this provider's hash rate; the first nonce below the round's target is
 * the round's solution, sent once. Mining goes on to the window's end. Until a challenge arrives
 * (or when the solver runs no rounds) the miner measures the hash rate on a local challenge that
 * nothing can win. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/random.h"
#include "dispatch/hashrate.h"
#include "util/hex.h"
#include "wire/pow.h"
#include "provider/provider_impl.h"
#include "util/log.h"

uint64_t lp_provider_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Shares are sent when this many are waiting, or SHARE_BATCH_MS after the last batch. */
#define SHARE_BATCH      256
#define SHARE_BATCH_MS   30000u
#define WINDOW_MARGIN_MS 2000u /* the last batch goes out this long before the window ends */

/* From a miner thread: a nonce below the miner's target (the easier of the share and round
 * targets). Keep it as a share and/or the round's solution; wake the main loop when a batch is
 * due or the round is won. */
static void on_solution(void *ctx, uint32_t device, const struct lp_pow_work *work,
                        const struct lp_pow_solution *solution)
{
    (void)device;
    struct lp_provider *p = ctx;
    bool wake = false;
    pthread_mutex_lock(&p->mu);
    if (p->pow_has_round && memcmp(work->challenge, p->pow_work.challenge, 32) == 0) {
        if (memcmp(solution->digest, p->pow_share_target, 32) < 0 &&
            p->pow_n_shares < LP_WIRE_MAX_POW_SHARES) {
            memcpy(p->pow_shares[p->pow_n_shares++].be, solution->nonce, 32);
            wake = p->pow_n_shares == SHARE_BATCH;
        }
        if (!p->pow_has_solution && memcmp(solution->digest, p->pow_round_target, 32) < 0) {
            p->pow_solution = *solution;
            p->pow_has_solution = true;
            wake = true;
        }
    }
    pthread_mutex_unlock(&p->mu);
    if (wake)
        lp_client_cancel_fire(p->wake);
}

static int json_hex32(json_t *j, const char *key, uint8_t out[32])
{
    const char *s = json_string_value(json_object_get(j, key));
    return s ? lp_hex_decode_fixed(s, out, 32) : -1;
}

static void fetch_round(struct lp_provider *p, uint64_t now)
{
    json_t *j = NULL;
    struct lp_client_error e;
    if (lp_client_request_json(p->client, "GET", "/api/v1/pow/challenge", NULL, 0, &j, &e) != 0) {
        if (e.status == 404)
            lp_debug("provider: the solver runs no PoW rounds (%s)", e.message);
        else
            lp_warn("provider: PoW challenge: %s", e.message);
        p->pow_next_fetch_ms = now + 60000;
        return;
    }
    struct lp_pow_work w;
    uint8_t round_target[32], share_target[32];
    json_t *r = json_object_get(j, "round"), *end = json_object_get(j, "window_end");
    if (!json_is_integer(r) || !json_is_integer(end) || json_hex32(j, "challenge", w.challenge) ||
        json_hex32(j, "target", round_target)) {
        lp_warn("provider: PoW challenge: the answer lacks round, challenge, target or window");
        p->pow_next_fetch_ms = now + 60000;
        json_decref(j);
        return;
    }
    /* A solver that sets no share target: its solutions are the only shares. */
    if (json_hex32(j, "share_target", share_target) != 0)
        memcpy(share_target, round_target, 32);
    memcpy(w.target, memcmp(share_target, round_target, 32) > 0 ? share_target : round_target, 32);
    uint64_t round = (uint64_t)json_integer_value(r);
    uint64_t window_end = (uint64_t)json_integer_value(end);
    json_decref(j);
    p->pow_next_fetch_ms = window_end > now ? window_end + 50 : now + 1000;
    pthread_mutex_lock(&p->mu);
    bool fresh = !p->pow_has_round || p->pow_round != round;
    if (fresh) {
        p->pow_has_round = true;
        p->pow_round = round;
        p->pow_work = w;
        memcpy(p->pow_round_target, round_target, 32);
        memcpy(p->pow_share_target, share_target, 32);
        p->pow_has_solution = false;
        p->pow_solution_sent = false;
        p->pow_n_shares = 0; /* a closed round's shares are worth nothing */
        p->pow_window_end_ms = window_end;
        p->pow_last_batch_ms = now;
        p->pow_round_start_ms = now;
        p->pow_round_start_hashes = lp_miner_hashes(p->miner);
    }
    pthread_mutex_unlock(&p->mu);
    if (fresh) {
        lp_miner_set_work(p->miner, &w, NULL);
        lp_debug("provider: PoW round %llu", (unsigned long long)round);
    }
}

/* Sends the shares found since the last batch, and the round's solution once, when a batch is
 * full, SHARE_BATCH_MS have passed, the round is won, or its window is about to close. */
static void submit_shares(struct lp_provider *p, uint64_t now)
{
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_POW_SUBMISSION;
    struct lp_wire_pow_submission *sub = &obj.u.pow_submission;
    struct lp_u256 shares[LP_WIRE_MAX_POW_SHARES];
    pthread_mutex_lock(&p->mu);
    bool solution = p->pow_has_round && p->pow_has_solution && !p->pow_solution_sent;
    bool closing = now + WINDOW_MARGIN_MS >= p->pow_window_end_ms;
    bool due = p->pow_has_round &&
               (solution || p->pow_n_shares >= SHARE_BATCH ||
                (p->pow_n_shares > 0 && (closing || now >= p->pow_last_batch_ms + SHARE_BATCH_MS)));
    if (due) {
        memcpy(sub->miner, p->address, LP_WIRE_ADDR_LEN);
        sub->node_id = p->address_text;
        sub->round = p->pow_round;
        memcpy(sub->challenge, p->pow_work.challenge, 32);
        sub->has_solution = solution;
        if (solution)
            memcpy(sub->nonce.be, p->pow_solution.nonce, 32);
        sub->hashes = lp_miner_hashes(p->miner) - p->pow_round_start_hashes;
        sub->window_ms = now > p->pow_round_start_ms ? now - p->pow_round_start_ms : 1;
        sub->created_at_ms = now;
        memcpy(shares, p->pow_shares, p->pow_n_shares * sizeof shares[0]);
        sub->shares = shares;
        sub->n_shares = p->pow_n_shares;
        p->pow_n_shares = 0;
        p->pow_last_batch_ms = now;
        if (solution)
            p->pow_solution_sent = true; /* one solution per round, as the solver takes */
    }
    pthread_mutex_unlock(&p->mu);
    if (!due)
        return;
    uint8_t *env = NULL;
    size_t len = 0;
    struct lp_wire_error we;
    if (lp_wire_sign(&p->key, &obj, &env, &len, NULL, &we) != 0) {
        lp_warn("provider: PoW submission: %s", we.message);
        return;
    }
    json_t *j = NULL;
    struct lp_client_error e;
    if (lp_client_request_json(p->client, "POST", "/api/v1/pow/submissions", env, len, &j, &e) !=
        0) {
        lp_warn("provider: PoW submission for round %llu (%zu shares%s) refused: %s",
                (unsigned long long)sub->round, sub->n_shares,
                sub->has_solution ? " and the solution" : "", e.message);
    } else {
        pthread_mutex_lock(&p->mu);
        p->pow_accepted += sub->has_solution;
        p->pow_shares_sent += sub->n_shares;
        pthread_mutex_unlock(&p->mu);
        lp_info("provider: PoW round %llu: %zu shares%s accepted, %.0f hashes credited (our own "
                "count: %llu hashes in %llu ms)",
                (unsigned long long)sub->round, sub->n_shares,
                sub->has_solution ? " and the solution" : "",
                json_real_value(json_object_get(j, "credited_hashes")),
                (unsigned long long)sub->hashes, (unsigned long long)sub->window_ms);
    }
    json_decref(j);
    free(env);
}

void lp_provider_pow_tick(struct lp_provider *p)
{
    if (!p->miner)
        return;
    uint64_t now = realtime_ms();
    submit_shares(p, now);
    if (now >= p->pow_next_fetch_ms)
        fetch_round(p, now);
}

int lp_provider_mining_start(struct lp_provider *p)
{
    if (p->s->mining_duty <= 0 || !p->hashrate)
        return 0;
    uint32_t count = 0;
    struct lp_plugin_error pe;
    if (lp_hashrate_device_count(p->hashrate, &count, &pe) != LP_OK || count == 0) {
        lp_warn("provider: hashrate backend %s has no device to mine on; mining off",
                p->probe.hashrate_backend);
        return 0;
    }
    if (count > LP_WIRE_MAX_GPUS)
        count = LP_WIRE_MAX_GPUS;
    p->miner_devices = count;
    p->cpu_miner = p->probe.n_gpus == 0;
    p->meter = lp_hashrate_meter_new(count, lp_provider_mono_ns());
    struct lp_miner_config mc = {
        .backend = p->hashrate,
        .devices = count,
        .duty = (double)p->s->mining_duty / 100.0,
        .meter = p->meter,
        .on_solution = on_solution,
        .ctx = p,
    };
    p->miner = p->meter ? lp_miner_start(&mc) : NULL;
    if (!p->miner) {
        lp_warn("provider: the miner did not start; mining off");
        lp_hashrate_meter_free(p->meter);
        p->meter = NULL;
        return 0;
    }
    struct lp_pow_work work;
    lp_random_bytes(work.challenge, sizeof work.challenge);
    memset(work.target, 0, sizeof work.target); /* nothing wins: see the note above */
    lp_miner_set_work(p->miner, &work, NULL);
    lp_info("provider: mining on %u %s device%s at %lld%% duty (the solver's PoW rounds)", count,
            p->probe.hashrate_backend, count == 1 ? "" : "s", (long long)p->s->mining_duty);
    p->next_rate_log_ns = lp_provider_mono_ns() + p->s->hashrate_log * 1000000u;
    return 0;
}

void lp_provider_mining_stop(struct lp_provider *p)
{
    if (p->miner) {
        lp_provider_mining_log(p, true);
        lp_miner_stop(p->miner);
        p->miner = NULL;
    }
    lp_hashrate_meter_free(p->meter);
    p->meter = NULL;
}

static void human(double hs, char *out, size_t cap)
{
    const char *unit[] = {"H/s", "kH/s", "MH/s", "GH/s", "TH/s"};
    int i = 0;
    while (hs >= 1000.0 && i < 4) {
        hs /= 1000.0;
        i++;
    }
    snprintf(out, cap, "%.2f %s", hs, unit[i]);
}

void lp_provider_mining_log(struct lp_provider *p, bool force)
{
    if (!p->miner || !p->meter)
        return;
    uint64_t now = lp_provider_mono_ns();
    if (!force && (p->s->hashrate_log == 0 || now < p->next_rate_log_ns))
        return;
    p->next_rate_log_ns = now + p->s->hashrate_log * 1000000u;
    struct lp_hashrate_rates r;
    lp_hashrate_meter_rates(p->meter, LP_HASHRATE_ALL, now, &r);
    char a[32], b[32], c[32];
    human(r.r10s, a, sizeof a);
    human(r.r60s, b, sizeof b);
    human(r.r15m, c, sizeof c);
    lp_info("provider: hashrate 10s %s, 60s %s, 15m %s (%llu hashes in all)", a, b, c,
            (unsigned long long)r.total);
}

/* Miner devices a slot's job uses: its GPUs, or every device of a CPU backend. */
static void slot_devices(struct lp_provider *p, int slot, uint32_t *dev, size_t *n)
{
    *n = 0;
    if (p->cpu_miner) {
        for (uint32_t i = 0; i < p->miner_devices; i++)
            dev[(*n)++] = i;
        return;
    }
    if (slot < 0)
        return;
    const struct lp_slot *s = &p->slots[slot];
    for (size_t i = 0; i < s->gpu_count; i++) {
        uint32_t d = p->probe.gpus[s->gpu_first + i].device;
        if (d < p->miner_devices)
            dev[(*n)++] = d;
    }
}

void lp_provider_mining_pause(struct lp_provider *p, int slot)
{
    if (!p->miner)
        return;
    uint32_t dev[LP_WIRE_MAX_GPUS];
    size_t n;
    slot_devices(p, slot, dev, &n);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&p->mu);
        bool first = p->pause_count[dev[i]]++ == 0;
        pthread_mutex_unlock(&p->mu);
        if (first) {
            lp_miner_pause(p->miner, dev[i]); /* returns when the device is idle */
            lp_debug("provider: mining paused on device %u", dev[i]);
        }
    }
}

void lp_provider_mining_resume(struct lp_provider *p, int slot)
{
    if (!p->miner)
        return;
    uint32_t dev[LP_WIRE_MAX_GPUS];
    size_t n;
    slot_devices(p, slot, dev, &n);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&p->mu);
        bool last = p->pause_count[dev[i]] > 0 && --p->pause_count[dev[i]] == 0;
        pthread_mutex_unlock(&p->mu);
        if (last) {
            lp_miner_resume(p->miner, dev[i]);
            lp_debug("provider: mining resumed on device %u", dev[i]);
        }
    }
}
