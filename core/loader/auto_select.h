/*
 * How a concern's backend "auto" chooses (hashrate only): the plugins of probe_order that the
 * top-level gpu setting allows, in order, then the concern's default (cpu). Everything it
 * passed over is said in one line, a warning when the user asked for a vendor by name or a
 * plugin is broken, otherwise information: a machine without a GPU plugin is no fault.
 */
#ifndef LP_LOADER_AUTO_SELECT_H
#define LP_LOADER_AUTO_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include "loader/loader.h"

/* Whether "auto" tries plugin `name` under gpu: "none" tries none, "nvidia" only cuda, "amd"
 * only rocm, "auto" every one. */
bool lp_auto_tries(const char *gpu, const char *name);

/* Whether passing over a plugin left in `state` deserves a warning. LOADED stands for a plugin
 * that loaded but whose settings or creation failed. */
bool lp_auto_pass_is_problem(const char *gpu, enum lp_plugin_state state);

/* The plugins "auto" passed over, for its one line. */
struct lp_auto_report {
    char text[1792];
    size_t tried;
    bool problem;
};

/* Adds a plugin "auto" could not use: its handle and the error opening it gave. */
void lp_auto_report_add(struct lp_auto_report *r, const char *gpu, const struct lp_plugin_handle *h,
                        const char *why);
/* Logs the line (nothing when nothing was passed over): which plugins, why, and `chosen`, the
 * plugin used in the end (ok) or the one that failed last (!ok). */
void lp_auto_report_log(const struct lp_auto_report *r, const char *concern, const char *gpu,
                        const char *chosen, bool ok);
/* The same line without the "using ..." end, for callers that print it themselves. */
void lp_auto_report_format(const struct lp_auto_report *r, const char *concern, const char *gpu,
                           char *buf, size_t len);

#endif
