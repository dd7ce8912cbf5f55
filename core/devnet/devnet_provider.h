/* The devnet's provider: core/provider run in-process on the embedded defaults, with its state
 * in DIR/provider and the images in the default local image store. */
#ifndef LP_DEVNET_DEVNET_PROVIDER_H
#define LP_DEVNET_DEVNET_PROVIDER_H

#include <stddef.h>

#include "crypto/key.h"

struct lp_devnet_provider;

int lp_devnet_provider_start(const char *dir, const char *solver_url, const struct lp_key *key,
                             const char *plugin_path, struct lp_devnet_provider **out, char *err,
                             size_t errlen);
void lp_devnet_provider_stop(struct lp_devnet_provider *p);

#endif
