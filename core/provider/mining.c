/* Background proof of work for the provider: the hashrate backend's devices mined through
 * core/pow/miner.h at the configured duty cycle, paused on the devices a job uses, with the
 * 10 s / 60 s / 15 min rates logged.
 *
 * The solver API has no PoW round endpoints yet (core/solver/README.md), so there is no round
 * challenge to mine and nowhere to submit: the miner works on a random local challenge with an
 * all-zero target (nothing can win) and only the hash rate is measured and logged. Recording
 * rounds through the verifier (pow_new_round/pow_submit) waits for the solver to issue them;
 * issuing our own rounds would be self-certified and is deliberately not done. */
#include <string.h>
#include <time.h>

#include "crypto/random.h"
#include "provider/provider_impl.h"
#include "util/log.h"

uint64_t lp_provider_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void lock_backend(void *ctx)
{
    lp_backend_lock(ctx);
}

static void unlock_backend(void *ctx)
{
    lp_backend_unlock(ctx);
}

int lp_provider_mining_start(struct lp_provider *p)
{
    if (p->s->mining_duty <= 0 || !p->hashrate)
        return 0;
    const struct lp_hashrate_ops *ops = lp_backend_ops(p->hashrate);
    uint32_t count = 0;
    if (!ops->mine || !ops->device_count ||
        ops->device_count(lp_backend_instance(p->hashrate), &count) != LP_OK || count == 0) {
        lp_warn("provider: hashrate backend %s has no device to mine on; mining off",
                p->probe.hashrate_backend);
        return 0;
    }
    if (count > LP_WIRE_MAX_GPUS)
        count = LP_WIRE_MAX_GPUS;
    p->miner_devices = count;
    p->cpu_miner = p->probe.n_gpus == 0;
    p->meter = lp_hashrate_meter_new(count, lp_provider_mono_ns());
    const struct lp_plugin *desc = lp_backend_descriptor(p->hashrate);
    bool threadsafe = desc && (desc->caps & LP_CAP_THREADSAFE);
    struct lp_miner_config mc = {
        .ops = ops,
        .instance = lp_backend_instance(p->hashrate),
        .devices = count,
        .duty = (double)p->s->mining_duty / 100.0,
        .meter = p->meter,
        .lock = threadsafe ? NULL : lock_backend,
        .unlock = threadsafe ? NULL : unlock_backend,
        .lock_ctx = p->hashrate,
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
    lp_info("provider: mining on %u %s device%s at %lld%% duty; the solver has no PoW rounds "
            "yet, so hashes are counted for the hash rate only and nothing is submitted",
            count, p->probe.hashrate_backend, count == 1 ? "" : "s", (long long)p->s->mining_duty);
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
