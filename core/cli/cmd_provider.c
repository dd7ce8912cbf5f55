/* `lilypad provider -c FILE [--probe] [--once]`: runs a resource provider until SIGINT or
 * SIGTERM (core/provider/README.md). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <lilypad/hashrate.h>

#include "cli_options.h"
#include "commands.h"
#include "config/config.h"
#include "host/host.h"
#include "loader/backend.h"
#include "provider/probe.h"
#include "provider/provider.h"
#include "provider/settings.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lilypad provider -c FILE [--probe] [--once]\n"
            "\n"
            "Runs a resource provider: offers this machine's resources to the solver named in\n"
            "provider.solver, runs the deals it gets through the executor plugin, stores the\n"
            "outputs through the storage plugin, posts signed results and records them through\n"
            "the verifier plugin, and mines proof of work in the background. A journal in\n"
            "provider.work_dir lets a restart resume or fail every deal in flight.\n"
            "\n"
            "options:\n"
            "  -c, --config FILE   configuration with a `provider { ... }` section\n"
            "  --probe             print what the machine has and exit: CPU, RAM, GPUs, and\n"
            "                      disk where the provider keeps its data (provider.work_dir,\n"
            "                      relative to FILE; without -c, ./provider-data)\n"
            "  --once              take at most one deal, finish it and exit (tests)\n"
            "  --plugin-path DIRS  extra plugin folders searched first\n");
}

static int probe_only(const struct lp_config *cfg)
{
    char err[1024];
    struct lp_provider_runtime rt;
    if (lp_provider_settings_load(cfg, &rt, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: %s\n", err);
        return 1;
    }
    struct lp_probe probe;
    int status = 1;
    if (lp_probe_host(rt.work_dir, &probe, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: provider: %s\n", err);
        goto out;
    }
    struct lp_backend *b = NULL;
    if (lp_backend_open(cfg, "hashrate", NULL, &b, err, sizeof err) != 0)
        fprintf(stderr, "lilypad: provider: hashrate backend: %s; GPUs not probed\n", err);
    else
        lp_probe_add_devices(&probe, b);
    lp_probe_print(stdout, &probe);
    lp_backend_close(b);
    status = 0;
out:
    lp_provider_settings_free(&rt);
    return status;
}

struct signal_ctx {
    sigset_t set;
    struct lp_provider *p;
};

static void *signal_main(void *arg)
{
    struct signal_ctx *s = arg;
    int sig = 0;
    sigwait(&s->set, &sig);
    if (sig == SIGINT || sig == SIGTERM) {
        fprintf(stderr, "lilypad: provider: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
        lp_host_request_cancel(); /* plugins' long calls see host->cancelled() */
        lp_provider_stop(s->p);
    }
    return NULL;
}

int lp_cmd_provider(int argc, char **argv)
{
    const char *config_path = NULL;
    bool probe = false, once = false;
    for (int i = 1; i < argc; i++) {
        int rc = lp_cli_common_option(argc, argv, &i, &config_path);
        if (rc < 0)
            return 2;
        if (rc > 0)
            continue;
        if (lp_cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--probe") == 0)
            probe = true;
        else if (strcmp(argv[i], "--once") == 0)
            once = true;
        else {
            fprintf(stderr, "lilypad: provider: unknown argument \"%s\" (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!config_path && !probe) {
        fprintf(stderr, "lilypad: provider: -c FILE is required (see --help)\n");
        return 2;
    }
    struct lp_config *cfg = NULL;
    if (lp_cli_load_config(config_path, &cfg) != 0)
        return 1;
    if (probe) {
        int rc = probe_only(cfg);
        lp_config_free(cfg);
        return rc;
    }
    /* Signals go to the signal thread only: block them before any thread starts. */
    struct signal_ctx sc;
    sigemptyset(&sc.set);
    sigaddset(&sc.set, SIGINT);
    sigaddset(&sc.set, SIGTERM);
    sigaddset(&sc.set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sc.set, NULL);
    char err[1024];
    struct lp_provider_options opt = {.once = once};
    if (lp_provider_open(cfg, &opt, &sc.p, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: %s\n", err);
        lp_config_free(cfg);
        return 1;
    }
    pthread_t sig_thread;
    bool have_thread = pthread_create(&sig_thread, NULL, signal_main, &sc) == 0;
    int status = lp_provider_run(sc.p);
    if (have_thread) {
        pthread_kill(sig_thread, SIGUSR1); /* wakes sigwait when run() ended by itself */
        pthread_join(sig_thread, NULL);
    }
    lp_provider_close(sc.p);
    lp_config_free(cfg);
    return status;
}
