/* Host paths out of what the plugin hands back (process.h): its callers pass error lines and a
 * job's status message on to people who have no business knowing this machine's layout (a
 * provider posts them to the job creator). The plugin's own log keeps the full paths. */
#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "process.h"

struct swap {
    const char *from;
    const char *to;
};

/* A character that continues a file name: "/jobs" must not match inside "/jobs2". */
static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' ||
           (unsigned char)c >= 0x80;
}

void lp_proc_neutral_text(const struct lp_process *p, const struct lp_proc_job *job,
                          const char *text, char *out, size_t cap)
{
    if (cap == 0)
        return;
    /* Longest first: a job's folder lies inside the work_dir. */
    struct swap swaps[] = {
        {job ? job->outputs : NULL, "/outputs"},
        {job ? job->inputs : NULL, "/inputs"},
        {job ? job->dir : NULL, "<job>"},
        {p->work_dir, "<jobs>"},
        {p->store.dir, "<images>"},
    };
    size_t n = sizeof swaps / sizeof swaps[0];
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++) {
            size_t li = swaps[i].from ? strlen(swaps[i].from) : 0;
            size_t lk = swaps[k].from ? strlen(swaps[k].from) : 0;
            if (lk > li) {
                struct swap t = swaps[i];
                swaps[i] = swaps[k];
                swaps[k] = t;
            }
        }
    size_t o = 0;
    const char *s = text ? text : "";
    while (*s && o + 1 < cap) {
        const struct swap *hit = NULL;
        for (size_t i = 0; i < n && !hit; i++) {
            size_t len = swaps[i].from ? strlen(swaps[i].from) : 0;
            if (len > 1 && strncmp(s, swaps[i].from, len) == 0 && !name_char(s[len]))
                hit = &swaps[i];
        }
        const char *piece = hit ? hit->to : s;
        size_t len = hit ? strlen(hit->to) : 1;
        if (o + len + 1 > cap)
            break;
        memcpy(out + o, piece, len);
        o += len;
        s += hit ? strlen(hit->from) : 1;
    }
    out[o] = '\0';
}
