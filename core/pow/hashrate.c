#include "pow/hashrate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One slot more than the longest window: the current, still filling second is never read. */
#define RING (LP_HASHRATE_WINDOW_MAX_S + 1)

struct device_ring {
    uint64_t bucket[RING];
    uint64_t second[RING]; /* which absolute second the bucket holds */
    uint64_t total;
};

struct lp_hashrate_meter {
    pthread_mutex_t lock;
    uint64_t start_s;
    uint32_t devices;
    struct device_ring ring[];
};

struct lp_hashrate_meter *lp_hashrate_meter_new(uint32_t devices, uint64_t now_ns)
{
    if (devices == 0)
        devices = 1;
    struct lp_hashrate_meter *m = calloc(1, sizeof *m + devices * sizeof(struct device_ring));
    if (m == NULL)
        return NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->devices = devices;
    m->start_s = now_ns / 1000000000u;
    for (uint32_t d = 0; d < devices; d++)
        for (unsigned i = 0; i < RING; i++)
            m->ring[d].second[i] = UINT64_MAX;
    return m;
}

void lp_hashrate_meter_free(struct lp_hashrate_meter *m)
{
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void lp_hashrate_meter_add(struct lp_hashrate_meter *m, uint32_t device, uint64_t hashes,
                           uint64_t now_ns)
{
    if (m == NULL || device >= m->devices)
        return;
    uint64_t s = now_ns / 1000000000u;
    pthread_mutex_lock(&m->lock);
    struct device_ring *r = &m->ring[device];
    unsigned i = (unsigned)(s % RING);
    if (r->second[i] != s) {
        r->second[i] = s;
        r->bucket[i] = 0;
    }
    r->bucket[i] += hashes;
    r->total += hashes;
    pthread_mutex_unlock(&m->lock);
}

/* Sum of whole seconds [now_s - window, now_s); caller holds the lock. */
static uint64_t window_sum(const struct device_ring *r, uint64_t now_s, uint32_t window)
{
    uint64_t sum = 0;
    for (uint32_t k = 1; k <= window && k <= now_s; k++) {
        uint64_t s = now_s - k;
        unsigned i = (unsigned)(s % RING);
        if (r->second[i] == s)
            sum += r->bucket[i];
    }
    return sum;
}

double lp_hashrate_meter_rate(struct lp_hashrate_meter *m, uint32_t device, uint32_t window_s,
                              uint64_t now_ns)
{
    if (m == NULL || window_s == 0)
        return 0;
    if (window_s > LP_HASHRATE_WINDOW_MAX_S)
        window_s = LP_HASHRATE_WINDOW_MAX_S;
    uint64_t now_s = now_ns / 1000000000u;
    uint64_t age = now_s > m->start_s ? now_s - m->start_s : 0;
    uint32_t divisor = age < window_s ? (uint32_t)(age ? age : 1) : window_s;
    uint64_t sum = 0;
    pthread_mutex_lock(&m->lock);
    for (uint32_t d = 0; d < m->devices; d++)
        if (device == LP_HASHRATE_ALL || device == d)
            sum += window_sum(&m->ring[d], now_s, window_s);
    pthread_mutex_unlock(&m->lock);
    return (double)sum / divisor;
}

void lp_hashrate_meter_rates(struct lp_hashrate_meter *m, uint32_t device, uint64_t now_ns,
                             struct lp_hashrate_rates *out)
{
    memset(out, 0, sizeof *out);
    if (m == NULL)
        return;
    out->r10s = lp_hashrate_meter_rate(m, device, 10, now_ns);
    out->r60s = lp_hashrate_meter_rate(m, device, 60, now_ns);
    out->r15m = lp_hashrate_meter_rate(m, device, 900, now_ns);
    pthread_mutex_lock(&m->lock);
    for (uint32_t d = 0; d < m->devices; d++)
        if (device == LP_HASHRATE_ALL || device == d)
            out->total += m->ring[d].total;
    pthread_mutex_unlock(&m->lock);
}
