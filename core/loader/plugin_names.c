#include "loader/plugin_names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/embedded.h"

struct collector {
    struct lp_plugin_names *names;
    bool failed;
};

static void add(struct collector *c, const char *concern, const char *name)
{
    char key[sizeof(*c->names->items)];
    snprintf(key, sizeof(key), "%s/%s", concern, name);
    for (size_t i = 0; i < c->names->count; i++) {
        if (strcmp(c->names->items[i], key) == 0)
            return;
    }
    void *grown = realloc(c->names->items, (c->names->count + 1) * sizeof(*c->names->items));
    if (grown == NULL) {
        c->failed = true;
        return;
    }
    c->names->items = grown;
    memcpy(c->names->items[c->names->count++], key, sizeof(key));
}

static void visit(void *arg, const char *concern, const char *name, const char *path)
{
    (void)path;
    add(arg, concern, name);
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(a, b);
}

int lp_plugin_names_collect(const struct lp_search_path *sp, struct lp_plugin_names *out)
{
    memset(out, 0, sizeof(*out));
    struct collector c = {out, false};
    /* lp_plugin_foreach visits the embedded plugins first. */
    lp_plugin_foreach(sp, visit, &c);
    for (const struct lp_plugin_name *r = lp_release_plugins; r->name; r++)
        add(&c, r->concern, r->name);
    if (c.failed) {
        lp_plugin_names_free(out);
        return -1;
    }
    qsort(out->items, out->count, sizeof(*out->items), compare_keys);
    return 0;
}

void lp_plugin_names_free(struct lp_plugin_names *names)
{
    free(names->items);
    names->items = NULL;
    names->count = 0;
}

bool lp_plugin_names_has(const struct lp_plugin_names *names, const char *concern, const char *name)
{
    char key[sizeof(*names->items)];
    snprintf(key, sizeof(key), "%s/%s", concern, name);
    for (size_t i = 0; i < names->count; i++) {
        if (strcmp(names->items[i], key) == 0)
            return true;
    }
    return false;
}

void lp_plugin_names_format(const struct lp_plugin_names *names, const char *concern, char *buf,
                            size_t len)
{
    size_t used = 0, clen = concern ? strlen(concern) : 0;
    buf[0] = '\0';
    for (size_t i = 0; i < names->count && used + 1 < len; i++) {
        const char *key = names->items[i];
        if (concern && (strncmp(key, concern, clen) != 0 || key[clen] != '/'))
            continue;
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                         concern ? key + clen + 1 : key);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(buf, len, "(none)");
}
