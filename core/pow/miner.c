#include "pow/miner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch/hashrate.h"
#include "pow/pow.h"
#include "util/cond.h"
#include "util/log.h"

#define MINER_MAX_SOLUTIONS 64

struct miner_device {
    struct lp_miner *m;
    uint32_t index;         /* the miner's */
    uint32_t backend_index; /* the backend's */
    pthread_t tid;
    bool started;
    bool paused;
    bool busy;
    uint64_t batch; /* next batch size, adapted to batch_ms */
};

struct lp_miner {
    struct lp_miner_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    bool has_work;
    uint64_t generation; /* bumped by every set_work */
    struct lp_pow_work work;
    uint8_t cursor[32];
    double duty;
    uint64_t hashes;
    int last_rc;
    char last_error[sizeof(((struct lp_plugin_error *)0)->message)];
    struct miner_device *dev;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Waits on the condition until `ns` from now or a signal; caller holds m->lock. */
static void wait_for(struct lp_miner *m, uint64_t ns)
{
    lp_cond_wait_ns(&m->cond, &m->lock, ns);
}

static void *device_main(void *arg)
{
    struct miner_device *d = arg;
    struct lp_miner *m = d->m;
    struct lp_pow_solution sol[MINER_MAX_SOLUTIONS];
    pthread_mutex_lock(&m->lock);
    while (!m->stopping) {
        if (!m->has_work || d->paused) {
            pthread_cond_wait(&m->cond, &m->lock);
            continue;
        }
        struct lp_pow_work work = m->work;
        uint64_t gen = m->generation;
        uint8_t base[32];
        uint64_t count = lp_pow_next_batch(m->cursor, d->batch, base);
        d->busy = true;
        pthread_mutex_unlock(&m->lock);

        uint64_t done = 0;
        size_t found = 0;
        uint64_t t0 = mono_ns();
        struct lp_plugin_error err;
        int rc = lp_hashrate_mine(m->cfg.backend, d->backend_index, &work, base, count, &done, sol,
                                  MINER_MAX_SOLUTIONS, &found, &err);
        uint64_t t1 = mono_ns();
        if (m->cfg.meter && done)
            lp_hashrate_meter_add(m->cfg.meter, d->index, done, t1);
        if (m->cfg.on_solution && gen == __atomic_load_n(&m->generation, __ATOMIC_ACQUIRE))
            for (size_t i = 0; i < found && i < MINER_MAX_SOLUTIONS; i++)
                m->cfg.on_solution(m->cfg.ctx, d->index, &work, &sol[i]);

        pthread_mutex_lock(&m->lock);
        d->busy = false;
        m->hashes += done;
        if (rc != LP_OK) {
            m->last_rc = rc;
            snprintf(m->last_error, sizeof m->last_error, "%s", err.message);
            lp_warn("miner: device %u: %s; retrying in 1 s", d->index, err.message);
            pthread_cond_broadcast(&m->cond);
            wait_for(m, 1000000000u);
            continue;
        }
        /* next batch: batch_ms worth of the rate just seen, grown at most 4x per step */
        uint64_t elapsed = t1 > t0 ? t1 - t0 : 1;
        double rate = (double)done * 1e9 / (double)elapsed;
        double want = rate * m->cfg.batch_ms / 1000.0;
        if (want > (double)d->batch * 4)
            want = (double)d->batch * 4;
        d->batch = want < 1024 ? 1024 : (uint64_t)want;
        pthread_cond_broadcast(&m->cond); /* a pauser may be waiting for !busy */
        if (m->duty < 1.0 && !m->stopping)
            wait_for(m, (uint64_t)((double)elapsed * (1.0 - m->duty) / m->duty));
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

struct lp_miner *lp_miner_start(const struct lp_miner_config *cfg)
{
    if (cfg == NULL || cfg->backend == NULL || cfg->devices == 0) {
        lp_error("miner: no hashrate backend or no device to mine on");
        return NULL;
    }
    struct lp_miner *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->cfg = *cfg;
    m->cfg.device_ids = NULL; /* copied into each device below; the caller's array may go */
    if (m->cfg.batch_ms == 0)
        m->cfg.batch_ms = 250;
    m->duty = cfg->duty > 0 && cfg->duty <= 1 ? cfg->duty : 1.0;
    m->dev = calloc(cfg->devices, sizeof *m->dev);
    if (m->dev == NULL) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->lock, NULL);
    lp_cond_init(&m->cond);
    for (uint32_t i = 0; i < cfg->devices; i++) {
        struct miner_device *d = &m->dev[i];
        d->m = m;
        d->index = i;
        d->backend_index = cfg->device_ids ? cfg->device_ids[i] : i;
        d->batch = cfg->first_batch ? cfg->first_batch : (1u << 20);
        if (pthread_create(&d->tid, NULL, device_main, d) != 0) {
            lp_error("miner: cannot start the thread of device %u: %s", i, strerror(errno));
            lp_miner_stop(m);
            return NULL;
        }
        d->started = true;
    }
    return m;
}

void lp_miner_stop(struct lp_miner *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    for (uint32_t i = 0; i < m->cfg.devices; i++)
        if (m->dev[i].started)
            pthread_join(m->dev[i].tid, NULL);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m->dev);
    free(m);
}

void lp_miner_set_work(struct lp_miner *m, const struct lp_pow_work *work, const uint8_t start[32])
{
    pthread_mutex_lock(&m->lock);
    m->work = *work;
    if (start)
        memcpy(m->cursor, start, 32);
    else
        memset(m->cursor, 0, 32);
    m->has_work = true;
    __atomic_add_fetch(&m->generation, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

void lp_miner_clear_work(struct lp_miner *m)
{
    pthread_mutex_lock(&m->lock);
    m->has_work = false;
    __atomic_add_fetch(&m->generation, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&m->lock);
}

void lp_miner_set_duty(struct lp_miner *m, double duty)
{
    pthread_mutex_lock(&m->lock);
    m->duty = duty > 0 && duty <= 1 ? duty : 1.0;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

void lp_miner_pause(struct lp_miner *m, uint32_t device)
{
    if (device >= m->cfg.devices)
        return;
    pthread_mutex_lock(&m->lock);
    m->dev[device].paused = true;
    while (m->dev[device].busy)
        pthread_cond_wait(&m->cond, &m->lock);
    pthread_mutex_unlock(&m->lock);
}

void lp_miner_resume(struct lp_miner *m, uint32_t device)
{
    if (device >= m->cfg.devices)
        return;
    pthread_mutex_lock(&m->lock);
    m->dev[device].paused = false;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

bool lp_miner_paused(struct lp_miner *m, uint32_t device)
{
    if (device >= m->cfg.devices)
        return false;
    pthread_mutex_lock(&m->lock);
    bool p = m->dev[device].paused;
    pthread_mutex_unlock(&m->lock);
    return p;
}

uint64_t lp_miner_hashes(struct lp_miner *m)
{
    pthread_mutex_lock(&m->lock);
    uint64_t h = m->hashes;
    pthread_mutex_unlock(&m->lock);
    return h;
}

int lp_miner_last_error(struct lp_miner *m, char *buf, size_t len)
{
    pthread_mutex_lock(&m->lock);
    int rc = m->last_rc;
    snprintf(buf, len, "%s", rc != LP_OK ? m->last_error : "");
    pthread_mutex_unlock(&m->lock);
    return rc;
}
