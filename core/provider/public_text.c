/* Text that leaves this machine (a posted result's error, a verdict's reason) without its
 * filesystem layout (provider_impl.h). The local log keeps the full paths; the job creator
 * needs what went wrong, not where this provider keeps its files. */
#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider/provider_impl.h"
#include "util/data_home.h"

#define MAX_PAIRS 16

struct pair {
    char from[PATH_MAX + 32];
    const char *to;
};

struct pairs {
    struct pair v[MAX_PAIRS];
    size_t n;
};

/* Adds path (and its real path, when that differs) unless it is too short to be a folder of
 * ours ("/" would match every path). */
static void add(struct pairs *ps, const char *from, const char *suffix, const char *to)
{
    if (!from || !*from)
        return;
    char real[PATH_MAX];
    const char *forms[2] = {from, realpath(from, real) ? real : NULL};
    for (int i = 0; i < 2 && ps->n < MAX_PAIRS; i++) {
        if (!forms[i] || (i == 1 && strcmp(forms[i], from) == 0))
            continue;
        struct pair *p = &ps->v[ps->n];
        int n = snprintf(p->from, sizeof p->from, "%s%s", forms[i], suffix);
        while (n > 1 && p->from[n - 1] == '/')
            p->from[--n] = '\0';
        if (n < 2 || n >= (int)sizeof p->from)
            continue;
        p->to = to;
        ps->n++;
    }
}

static int longest_first(const void *a, const void *b)
{
    size_t la = strlen(((const struct pair *)a)->from), lb = strlen(((const struct pair *)b)->from);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

/* A character that continues a file name: "/work" must not match inside "/workshop". */
static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' ||
           (unsigned char)c >= 0x80;
}

/* Length of the valid UTF-8 sequence at s (not a control character), or 0. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] >= 0x20 && s[0] < 0x7f)
        return 1;
    size_t n = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
               : s[0] >= 0xe0 && s[0] <= 0xef ? 3
               : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                              : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] > 0x9f) ||
        (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

void lp_provider_public_text(const struct lp_provider *p, const char *deal_dir, const char *text,
                             char *out, size_t cap)
{
    if (!cap)
        return;
    struct pairs ps = {.n = 0};
    add(&ps, deal_dir, "/result/outputs", "/outputs");
    add(&ps, deal_dir, "/inputs", "/inputs");
    add(&ps, deal_dir, "/result", "<result>");
    add(&ps, deal_dir, "", "<deal>");
    add(&ps, p->rt.work_dir, "", "<work_dir>");
    add(&ps, p->rt.image_store, "", "<image store>");
    char home[PATH_MAX];
    if (lp_data_home(home, sizeof home) == 0)
        add(&ps, home, "", "<data>");
    add(&ps, getenv("HOME"), "", "~");
    qsort(ps.v, ps.n, sizeof ps.v[0], longest_first);

    size_t o = 0;
    const char *s = text ? text : "";
    while (*s && o + 1 < cap) {
        const struct pair *hit = NULL;
        for (size_t i = 0; i < ps.n && !hit; i++) {
            size_t n = strlen(ps.v[i].from);
            if (strncmp(s, ps.v[i].from, n) == 0 && !name_char(s[n]))
                hit = &ps.v[i];
        }
        char piece[16];
        const char *add_text;
        size_t add_len, skip;
        if (hit) {
            add_text = hit->to;
            add_len = strlen(hit->to);
            skip = strlen(hit->from);
        } else {
            size_t n = utf8_len((const unsigned char *)s);
            if (n) {
                add_text = s;
                add_len = skip = n;
            } else {
                snprintf(piece, sizeof piece, "\\x%02x", (unsigned char)*s);
                add_text = piece;
                add_len = strlen(piece);
                skip = 1;
            }
        }
        if (o + add_len + 1 > cap)
            break; /* cut on a character boundary */
        memcpy(out + o, add_text, add_len);
        o += add_len;
        s += skip;
    }
    out[o] = '\0';
}
