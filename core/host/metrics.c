/* A small process-wide registry of counters and gauges. Few names, rare updates: a linear
 * table under one mutex is simpler than a hash map and fast enough. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "host/host.h"

#define LP_METRICS_MAX 256

static struct {
    char name[160];
    int64_t value;
} metrics[LP_METRICS_MAX];
static size_t metrics_count;
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t *slot(const char *name)
{
    for (size_t i = 0; i < metrics_count; i++) {
        if (strcmp(metrics[i].name, name) == 0)
            return &metrics[i].value;
    }
    if (metrics_count == LP_METRICS_MAX)
        return NULL;
    snprintf(metrics[metrics_count].name, sizeof(metrics[0].name), "%s", name);
    metrics[metrics_count].value = 0;
    return &metrics[metrics_count++].value;
}

void lp_metric_add(const char *name, int64_t delta)
{
    pthread_mutex_lock(&metrics_lock);
    int64_t *v = slot(name);
    if (v)
        *v += delta;
    pthread_mutex_unlock(&metrics_lock);
}

void lp_metric_set(const char *name, int64_t value)
{
    pthread_mutex_lock(&metrics_lock);
    int64_t *v = slot(name);
    if (v)
        *v = value;
    pthread_mutex_unlock(&metrics_lock);
}

void lp_metrics_foreach(lp_metric_visit_fn fn, void *arg)
{
    pthread_mutex_lock(&metrics_lock);
    for (size_t i = 0; i < metrics_count; i++)
        fn(arg, metrics[i].name, metrics[i].value);
    pthread_mutex_unlock(&metrics_lock);
}
