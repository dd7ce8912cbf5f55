/* The parsed file behind struct lp_config, for the files of core/config only. */
#ifndef LP_CONFIG_CONFIG_IMPL_H
#define LP_CONFIG_CONFIG_IMPL_H

#include <libconfig.h>

#include "config/config.h"

struct lp_config {
    config_t cfg;
    char *file;
    char *dir;
};

#endif
