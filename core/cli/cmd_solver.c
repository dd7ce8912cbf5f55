/* `lilypad solver -c FILE [--init] [--listen HOST:PORT] [--db PATH]`: runs the solver until
 * SIGINT or SIGTERM. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_options.h"
#include "commands.h"
#include "config/config.h"
#include "config/core_settings.h"
#include "loader/backend.h"
#include "crypto/keyfile.h"
#include "host/host.h"
#include "solver/http.h"
#include "solver/settings.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: lilypad solver -c FILE [--init] [--listen HOST:PORT] [--db PATH]\n"
        "\n"
        "Runs the solver: the HTTP API (core/solver/README.md) that takes job and resource\n"
        "offers, matches them, keeps the deals and their files, and streams events. State\n"
        "is in SQLite (WAL) under solver.data_dir and survives restarts. The database is\n"
        "checked at start (SQLite quick_check): a corrupt one is refused.\n"
        "\n"
        "options:\n"
        "  -c, --config FILE   configuration with a `solver { ... }` section\n"
        "  --init              create a new, empty database (refused when one exists); without\n"
        "                      it a missing database is an error, not a new network\n"
        "  --listen HOST:PORT  overrides solver.listen (default 127.0.0.1:8080)\n"
        "  --db PATH           overrides solver.db\n"
        "  --plugin-path DIRS  extra plugin folders searched first (the verifier plugin)\n");
}

static int load_key(const char *path, struct lp_key *key)
{
    char err[256];
    if (!path || !path[0]) {
        if (lp_key_generate(key) != 0) {
            fprintf(stderr, "lilypad: solver: cannot generate a key\n");
            return -1;
        }
        fprintf(stderr, "lilypad: solver: no solver.key set: deals are signed with a new key "
                        "for this run only\n");
        return 0;
    }
    int rc = lp_keyfile_load(path, NULL, 0, key, NULL, err, sizeof err);
    if (rc == LP_KEYFILE_NEEDS_PASSWORD) {
        fprintf(stderr,
                "lilypad: solver: %s is a keystore; hint: give the solver a raw hex key "
                "file (lilypad key new --out FILE)\n",
                path);
        return -1;
    }
    if (rc != 0) {
        fprintf(stderr, "lilypad: solver: %s\n", err);
        return -1;
    }
    return 0;
}

int lp_cmd_solver(int argc, char **argv)
{
    const char *config_path = NULL, *listen = NULL, *db = NULL;
    bool init = false;
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
        if (strcmp(argv[i], "--init") == 0) {
            init = true;
            continue;
        }
        const char **value = NULL;
        if (strcmp(argv[i], "--listen") == 0)
            value = &listen;
        else if (strcmp(argv[i], "--db") == 0)
            value = &db;
        if (!value || i + 1 >= argc) {
            fprintf(stderr, "lilypad: solver: %s \"%s\" (see --help)\n",
                    value ? "missing value for" : "unknown argument", argv[i]);
            return 2;
        }
        *value = argv[++i];
    }
    if (!config_path) {
        fprintf(stderr, "lilypad: solver: -c FILE is required (see --help)\n");
        return 2;
    }
    struct lp_config *cfg = NULL;
    if (lp_cli_load_config(config_path, &cfg) != 0)
        return 1;
    /* The top level (disable_plugins, probe_order names included) is checked even when the
     * solver opens no backend, so a mistake there stops it as it stops the provider. */
    struct lp_config_values *core_values = NULL;
    char core_err[1024];
    if (lp_core_settings_load(cfg, &core_values, core_err, sizeof core_err) != 0) {
        fprintf(stderr, "lilypad: config %s\n", core_err);
        lp_config_free(cfg);
        return 1;
    }
    lp_config_values_free(core_values);
    char err[512];
    struct lp_solver_runtime rt;
    if (lp_solver_settings_load(cfg, &rt, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: %s\n", err);
        lp_config_free(cfg);
        return 1;
    }
    if (db)
        snprintf(rt.db_path, sizeof rt.db_path, "%s", db);
    if (!listen)
        listen = rt.settings->listen;
    char why[400];
    if (lp_solver_check_listen(listen, rt.config.n_hosts, why, sizeof why) != 0) {
        fprintf(stderr, "lilypad: solver: --listen: %s\n", why);
        lp_solver_settings_free(&rt);
        lp_config_free(cfg);
        return 1;
    }
    int status = 1;
    struct lp_solver *solver = NULL;
    struct lp_solver_http *http = NULL;
    struct lp_backend *verifier = NULL;
    struct lp_key key;
    struct stat sb;
    if (init && stat(rt.db_path, &sb) == 0) {
        fprintf(stderr,
                "lilypad: solver: --init: %s already exists; hint: drop --init to run on it, or "
                "move it away for a new network\n",
                rt.db_path);
        goto out;
    }
    rt.config.create_db = init;
    if (init && mkdir(rt.data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "lilypad: solver: cannot create %s: %s\n", rt.data_dir, strerror(errno));
        goto out;
    }
    if (load_key(rt.key_path, &key) != 0)
        goto out;
    /* Proof-of-work rounds and submissions are recorded where everyone can check them: the
     * verifier backend (the ledger by default, the chain with verifier/arbitrum). */
    if (rt.config.pow_round_ms != 0) {
        if (lp_backend_open(cfg, "verifier", NULL, &verifier, err, sizeof err) != 0) {
            fprintf(stderr, "lilypad: solver: proof-of-work rounds need a verifier: %s\n", err);
            lp_key_wipe(&key);
            goto out;
        }
        rt.config.verifier = verifier;
    }
    if (lp_solver_open(&rt.config, &key, &solver, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: %s\n", err);
        goto out;
    }
    lp_key_wipe(&key);
    for (size_t i = 0; i < rt.settings->blocklist.count; i++) {
        char module[1024];
        snprintf(module, sizeof module, "%s", rt.settings->blocklist.items[i]);
        char *sp = strchr(module, ' ');
        const char *reason = "blocked by the network's operators";
        if (sp) {
            *sp = '\0';
            reason = sp + 1;
        }
        if (lp_solver_block(solver, module, reason) != 0)
            goto out;
    }
    /* Signals are taken by sigwait below, so block them before any thread starts. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (lp_solver_http_start(solver, listen, &http, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: %s\n", err);
        goto out;
    }
    char addr[43];
    lp_address_to_checksum(lp_solver_address(solver), addr);
    printf("lilypad solver %s listening on http://%.*s:%u (state in %s)\n", addr,
           (int)(strrchr(listen, ':') - listen), listen, lp_solver_http_port(http), rt.db_path);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "lilypad: solver: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    lp_host_request_cancel(); /* the verifier's long calls see host->cancelled() */
    status = 0;
out:
    if (solver)
        lp_solver_interrupt(solver);
    lp_solver_http_stop(http);
    lp_solver_close(solver);
    lp_backend_close(verifier); /* borrowed by the solver until here */
    lp_solver_settings_free(&rt);
    lp_config_free(cfg);
    return status;
}
