#include "loader/auto_select.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"

/* The GPU plugin that stands for each vendor the gpu setting can name. */
static const char *const vendor_plugins[][2] = {{"nvidia", "cuda"}, {"amd", "rocm"}};

static const char *vendor_plugin(const char *gpu)
{
    for (size_t i = 0; i < sizeof(vendor_plugins) / sizeof(vendor_plugins[0]); i++) {
        if (strcmp(vendor_plugins[i][0], gpu) == 0)
            return vendor_plugins[i][1];
    }
    return NULL;
}

bool lp_auto_tries(const char *gpu, const char *name)
{
    if (strcmp(gpu, "none") == 0)
        return false;
    const char *only = vendor_plugin(gpu);
    return only == NULL || strcmp(only, name) == 0;
}

bool lp_auto_pass_is_problem(const char *gpu, enum lp_plugin_state state)
{
    return vendor_plugin(gpu) != NULL || lp_plugin_state_is_broken(state) ||
           state == LP_PLUGIN_LOADED;
}

void lp_auto_report_add(struct lp_auto_report *r, const char *gpu, const struct lp_plugin_handle *h,
                        const char *why)
{
    size_t used = strlen(r->text);
    const char *sep = r->tried++ ? "; " : "";
    /* Plugin states read "plugin CONCERN/NAME ...: reason"; a settings error is "FILE:LINE: ..." */
    if (strncmp(why, "plugin ", 7) == 0)
        snprintf(r->text + used, sizeof(r->text) - used, "%s%s", sep, why + 7);
    else
        snprintf(r->text + used, sizeof(r->text) - used, "%s%s/%s: %s", sep, h->concern, h->name,
                 why);
    r->problem = r->problem || lp_auto_pass_is_problem(gpu, h->state);
}

void lp_auto_report_format(const struct lp_auto_report *r, const char *concern, const char *gpu,
                           char *buf, size_t len)
{
    snprintf(buf, len, "%s: backend \"auto\" with gpu = \"%s\" could not use %s", concern, gpu,
             r->text);
}

void lp_auto_report_log(const struct lp_auto_report *r, const char *concern, const char *gpu,
                        const char *chosen, bool ok)
{
    if (r->tried == 0)
        return;
    char line[2048];
    lp_auto_report_format(r, concern, gpu, line, sizeof(line));
    if (ok)
        lp_log(r->problem ? LP_LOG_WARN : LP_LOG_INFO, "%s; using %s/%s", line, concern, chosen);
    else
        lp_warn("%s; %s/%s cannot be used either", line, concern, chosen);
}
