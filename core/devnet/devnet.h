/* The local development network: a solver and one provider in one process on the embedded
 * defaults (executor/process, storage/local, verifier/ledger, hashrate/cpu), or on the backends
 * a configuration file chooses (`lilypad devnet -c FILE`), with its state in one folder (default:
 * the data folder's "devnet", util/data_home.h):
 *
 *   DIR/devnet.json   {"pid": N, "url": "http://127.0.0.1:PORT", "port": PORT} once it serves;
 *                     removed when it stops
 *   DIR/devnet.lock   held (flock) by the running devnet for its whole life
 *   DIR/start.lock    held by whoever is finding or starting one (two `lilypad run`s at once
 *                     start one devnet, not two)
 *   DIR/devnet.log    what a devnet started in the background writes
 *   DIR/solver.key, DIR/provider.key, DIR/solver/, DIR/provider/  keys and state
 *
 * Its provider is its solver's one configured mediator (solver.mediators): it may judge a
 * challenge of a deal another provider joined to the devnet took, never one of its own.
 *
 * `lilypad run --network local` finds a running devnet through devnet.json (its pid alive and
 * its /healthz answering) or starts one in the background and waits until it serves. */
#ifndef LP_DEVNET_DEVNET_H
#define LP_DEVNET_DEVNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lp_devnet_info {
    pid_t pid;
    uint16_t port;
    char url[64];
};

/* The data folder's "devnet" (util/data_home.h). 0, or -1 with errno as lp_data_home leaves
 * it. */
int lp_devnet_default_dir(char *out, size_t len);

/* A devnet serving from dir: 0 with info filled, 1 when none is running, -1 on error. */
int lp_devnet_find(const char *dir, struct lp_devnet_info *info, char *err, size_t errlen);

/* Finds a running devnet or starts `exe devnet --dir DIR` in the background (own session,
 * output to DIR/devnet.log) and waits up to wait_s for it to serve. *started tells which. */
int lp_devnet_ensure(const char *exe, const char *dir, unsigned wait_s, struct lp_devnet_info *info,
                     bool *started, char *err, size_t errlen);

/* GET url/healthz answered 200 within timeout_ms. */
bool lp_devnet_healthy(const char *url, long timeout_ms);

/* ---- the devnet itself ------------------------------------------------------------------- */

struct lp_devnet_options {
    const char *dir;
    const char *listen;        /* "127.0.0.1:0" when NULL */
    const char *plugin_path;   /* extra plugin folders for the provider; NULL: the defaults */
    const char *config_path;   /* a configuration file choosing the provider's backends (and
                                  their settings, gpu, provider limits); NULL: the embedded
                                  defaults */
    uint64_t match_timeout_ms; /* 0: the solver's default */
    int max_jobs; /* the provider's deals at once; 0: as many as the machine allows (one per CPU
                     thread, bounded by RAM: lp_devnet_default_max_jobs) */
};

struct lp_devnet;

/* Takes DIR/devnet.lock, creates keys on first use, opens the solver, serves HTTP, starts the
 * provider against it, then writes devnet.json. -1 with one line in err (another devnet
 * running in DIR included). */
int lp_devnet_start(const struct lp_devnet_options *opt, struct lp_devnet **out, char *err,
                    size_t errlen);
const struct lp_devnet_info *lp_devnet_get_info(const struct lp_devnet *d);
/* Stops the provider, then the solver; removes devnet.json; releases the lock. */
void lp_devnet_stop(struct lp_devnet *d);

#endif
