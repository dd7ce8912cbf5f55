/* The devnet's provider: core/provider run in-process on the embedded defaults, with its state
 * in DIR/provider and the images in the default local image store. */
#ifndef LP_DEVNET_DEVNET_PROVIDER_H
#define LP_DEVNET_DEVNET_PROVIDER_H

#include <stddef.h>

#include "crypto/key.h"

struct lp_devnet_provider;

/* max_jobs: deals run at once; 0: lp_devnet_default_max_jobs. config_path: a configuration
 * file whose settings (backends, gpu, provider limits) replace the embedded defaults; the
 * provider's solver, key and work_dir stay the devnet's. NULL: the defaults alone. */
int lp_devnet_provider_start(const char *dir, const char *solver_url, const struct lp_key *key,
                             const char *config_path, const char *plugin_path, int max_jobs,
                             struct lp_devnet_provider **out, char *err, size_t errlen);
/* As many deals at once as the machine allows: one per CPU thread this process may use, with
 * at least 512 MiB of available RAM each, within the provider's 1..16. dir: where the provider
 * keeps its data (for the probe's disk figure). */
int lp_devnet_default_max_jobs(const char *dir);
void lp_devnet_provider_stop(struct lp_devnet_provider *p);

#endif
