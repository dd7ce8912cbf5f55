#include "devnet/devnet_provider.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "loader/backend.h"
#include "provider/probe.h"
#include "provider/provider.h"

struct lp_devnet_provider {
    struct lp_config *cfg;
    struct lp_provider *p;
    pthread_t thread;
    bool running;
};

/* The provider's max_jobs allows 1..16: the solver keeps at most 16 open offers per address. */
#define MAX_JOBS_LIMIT 16
/* Each slot gets an equal share of the RAM offered; below this a slot is not worth offering. */
#define RAM_PER_JOB (512ull << 20)

/* As many deals at once as the machine allows: one per CPU thread this process may use,
 * bounded by RAM (RAM_PER_JOB each) and by the provider's limit. A provider's own default is
 * one job at a time, which makes parallel `lilypad run`s on a devnet queue behind each other. */
int lp_devnet_default_max_jobs(const char *dir)
{
    struct lp_probe probe;
    char err[256];
    if (lp_probe_host(dir, &probe, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: devnet: %s; running one job at a time\n", err);
        return 1;
    }
    uint64_t n = probe.cpu_threads;
    if (probe.ram_available / RAM_PER_JOB < n)
        n = probe.ram_available / RAM_PER_JOB;
    if (n > MAX_JOBS_LIMIT)
        n = MAX_JOBS_LIMIT;
    return n < 1 ? 1 : (int)n;
}

static void *provider_main(void *arg)
{
    struct lp_devnet_provider *d = arg;
    if (lp_provider_run(d->p) != 0)
        fprintf(stderr, "lilypad: devnet: the provider stopped working (see above)\n");
    return NULL;
}

/* What the devnet decides whatever a configuration file says: its provider works for its own
 * solver, with its own key and folders. */
static const char *const devnet_owned[] = {"provider.solver", "provider.key", "provider.work_dir",
                                           NULL};

/* The configuration: the defaults alone, or the file's settings with the defaults filling what
 * it leaves out. */
static int load_config(const char *defaults, const char *config_path, struct lp_config **out,
                       char *err, size_t errlen)
{
    if (config_path == NULL)
        return lp_config_load_string(defaults, "devnet", out, err, errlen);
    struct lp_config *file = NULL, *base = NULL;
    char why[1024];
    if (lp_config_load_file(config_path, &file, err, errlen) != 0)
        return -1;
    if (lp_config_load_string(defaults, "devnet", &base, err, errlen) != 0 ||
        lp_config_merge(file, base, devnet_owned, why, sizeof why) != 0) {
        if (base != NULL)
            snprintf(err, errlen, "%s: %s", config_path, why);
        lp_config_free(base);
        lp_config_free(file);
        return -1;
    }
    lp_config_free(base);
    *out = file;
    return 0;
}

int lp_devnet_provider_start(const char *dir, const char *solver_url, const struct lp_key *key,
                             const char *config_path, const char *plugin_path, int max_jobs,
                             struct lp_devnet_provider **out, char *err, size_t errlen)
{
    if (max_jobs <= 0)
        max_jobs = lp_devnet_default_max_jobs(dir);
    /* The embedded defaults, spelt out so the devnet does not depend on the user's usual
     * configuration; a file given with `lilypad devnet -c` replaces what it sets (the
     * backends), never the provider's solver, key and folders. Images come from the default
     * image store (the data folder's "images", util/data_home.h), where
     * scripts/build-example-images.sh imports the examples. Mining is off: a devnet runs on a
     * developer's machine next to everything else, and jobs should not queue behind it. */
    char text[4096];
    int n =
        snprintf(text, sizeof text,
                 "gpu = \"none\";\n"
                 "hashrate: { backend = \"cpu\"; cpu: { threads = 1; }; };\n"
                 "executor: { backend = \"process\"; process: { work_dir = \"%s/provider/jobs\"; "
                 "}; };\n"
                 "storage: { backend = \"local\"; local: { root = \"%s/provider/storage\"; }; };\n"
                 "verifier: { backend = \"ledger\"; ledger: { path = "
                 "\"%s/provider/ledger.sqlite\"; }; };\n"
                 "provider: { solver = \"%s\"; key = \"%s/provider.key\"; work_dir = "
                 "\"%s/provider/work\"; poll_wait = \"1s\"; mining_duty = 0; max_jobs = %d; };\n",
                 dir, dir, dir, solver_url, dir, dir, max_jobs);
    if (n < 0 || (size_t)n >= sizeof text || strchr(dir, '"') || strchr(dir, '\\')) {
        snprintf(err, errlen, "devnet folder %s: unusable in a configuration", dir);
        return -1;
    }
    struct lp_devnet_provider *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (plugin_path)
        lp_loader_set_cli_path(plugin_path);
    struct lp_provider_options opt = {.key = key};
    if (load_config(text, config_path, &d->cfg, err, errlen) != 0 ||
        lp_provider_open(d->cfg, &opt, &d->p, err, errlen) != 0) {
        lp_devnet_provider_stop(d);
        return -1;
    }
    if (pthread_create(&d->thread, NULL, provider_main, d) != 0) {
        snprintf(err, errlen, "cannot start the provider thread");
        lp_devnet_provider_stop(d);
        return -1;
    }
    d->running = true;
    *out = d;
    return 0;
}

void lp_devnet_provider_stop(struct lp_devnet_provider *d)
{
    if (!d)
        return;
    if (d->running) {
        lp_provider_stop(d->p);
        pthread_join(d->thread, NULL);
    }
    if (d->p)
        lp_provider_close(d->p);
    lp_config_free(d->cfg);
    free(d);
}
