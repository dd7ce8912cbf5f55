/* The provider role: probes the machine, keeps
 * one signed resource offer open per free job slot, follows its events at the solver, runs
 * each deal through the executor plugin, stores the outputs through the storage plugin,
 * uploads them, posts the signed result and records agreement and result through the
 * verifier plugin, while the hashrate plugin mines in the background (paused on the devices
 * a job uses). A SQLite journal in the work folder makes a restart resume or fail every deal
 * in flight (journal.h). Files: README.md here. */
#ifndef LP_PROVIDER_PROVIDER_H
#define LP_PROVIDER_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "crypto/key.h"
#include "provider/probe.h"

struct lp_provider_options {
    bool once;                /* take at most one deal, finish it and return */
    const struct lp_key *key; /* NULL: the key file of the configuration */
};

struct lp_provider_stats {
    uint64_t deals_posted;  /* results posted (successful or not) */
    uint64_t deals_refused; /* refused by the allow/deny lists */
    uint64_t deals_failed;  /* posted with an error */
    uint64_t deals_abandoned;
    uint64_t offers_posted;
};

struct lp_provider;

/* Loads the provider section, the key, the four backends and the journal, probes the
 * machine. Contacts nothing yet. -1 with one line in err. */
int lp_provider_open(const struct lp_config *cfg, const struct lp_provider_options *opt,
                     struct lp_provider **out, char *err, size_t errlen);
/* Runs until lp_provider_stop() (or, with once, until one deal is done). On stop: running
 * jobs are cancelled and failed with a posted reason, open offers withdrawn, the miner
 * stopped. 0 on a clean stop, 1 when it could not work at all. */
int lp_provider_run(struct lp_provider *p);
/* Thread-safe; returns at once (run() notices within poll_wait). */
void lp_provider_stop(struct lp_provider *p);
void lp_provider_close(struct lp_provider *p);

const struct lp_probe *lp_provider_get_probe(const struct lp_provider *p);
const uint8_t *lp_provider_address(const struct lp_provider *p);
void lp_provider_get_stats(struct lp_provider *p, struct lp_provider_stats *out);

#endif
