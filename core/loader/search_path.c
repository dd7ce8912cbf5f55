#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/embedded.h"
#include "loader/loader.h"

#ifndef LP_PLUGIN_INSTALL_DIR
#define LP_PLUGIN_INSTALL_DIR "/usr/local/lib/lilypad/plugins"
#endif

static int add_dir(struct lp_search_path *sp, const char *dir, size_t len)
{
    if (len == 0)
        return 0;
    char **grown = realloc(sp->dirs, (sp->count + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    sp->dirs = grown;
    sp->dirs[sp->count] = strndup(dir, len);
    if (sp->dirs[sp->count] == NULL)
        return -1;
    sp->count++;
    return 0;
}

static int add_colon_list(struct lp_search_path *sp, const char *list)
{
    while (list && *list) {
        const char *colon = strchr(list, ':');
        size_t len = colon ? (size_t)(colon - list) : strlen(list);
        if (add_dir(sp, list, len) != 0)
            return -1;
        list = colon ? colon + 1 : NULL;
    }
    return 0;
}

int lp_search_path_build(struct lp_search_path *sp, const char *cli_dirs,
                         const struct lp_str_list *config_dirs, const char *config_dir)
{
    memset(sp, 0, sizeof(*sp));
    if (add_colon_list(sp, cli_dirs) != 0 || add_colon_list(sp, getenv("LILYPAD_PLUGIN_PATH")) != 0)
        goto fail;
    for (size_t i = 0; config_dirs && i < config_dirs->count; i++) {
        const char *d = config_dirs->items[i];
        char joined[PATH_MAX];
        if (d[0] != '/' && config_dir != NULL) {
            snprintf(joined, sizeof(joined), "%s/%s", config_dir, d);
            d = joined;
        }
        if (add_dir(sp, d, strlen(d)) != 0)
            goto fail;
    }
    if (add_dir(sp, LP_PLUGIN_INSTALL_DIR, strlen(LP_PLUGIN_INSTALL_DIR)) != 0)
        goto fail;
    /* <exe dir>/../lib/lilypad/plugins: lets the build tree and a relocated install run as is. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char rel[PATH_MAX + 32];
        snprintf(rel, sizeof(rel), "%s/../lib/lilypad/plugins", dirname(exe));
        char resolved[PATH_MAX];
        const char *dir = realpath(rel, resolved) ? resolved : rel;
        if (add_dir(sp, dir, strlen(dir)) != 0)
            goto fail;
    }
    return 0;
fail:
    lp_search_path_free(sp);
    return -1;
}

void lp_search_path_free(struct lp_search_path *sp)
{
    for (size_t i = 0; i < sp->count; i++)
        free(sp->dirs[i]);
    free(sp->dirs);
    sp->dirs = NULL;
    sp->count = 0;
}

void lp_search_path_format(const struct lp_search_path *sp, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sp->count && used + 1 < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ":" : "", sp->dirs[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Splits "storage_ipfs.so" into concern "storage" and name "ipfs"; false for other files. */
static bool split_file_name(const char *file, char *concern, char *name)
{
    size_t len = strlen(file);
    if (len < 4 || strcmp(file + len - 3, ".so") != 0)
        return false;
    const char *underscore = strchr(file, '_');
    if (underscore == NULL)
        return false;
    size_t clen = (size_t)(underscore - file);
    size_t nlen = len - 3 - clen - 1;
    if (clen == 0 || clen >= LP_CONCERN_NAME_MAX || nlen == 0 || nlen >= LP_PLUGIN_NAME_MAX)
        return false;
    memcpy(concern, file, clen);
    concern[clen] = '\0';
    memcpy(name, underscore + 1, nlen);
    name[nlen] = '\0';
    return lp_concern_from_name(concern) != 0;
}

struct seen {
    char (*keys)[LP_CONCERN_NAME_MAX + LP_PLUGIN_NAME_MAX];
    size_t count;
};

static bool seen_add(struct seen *s, const char *concern, const char *name)
{
    char key[LP_CONCERN_NAME_MAX + LP_PLUGIN_NAME_MAX];
    snprintf(key, sizeof(key), "%s/%s", concern, name);
    for (size_t i = 0; i < s->count; i++) {
        if (strcmp(s->keys[i], key) == 0)
            return false;
    }
    void *grown = realloc(s->keys, (s->count + 1) * sizeof(*s->keys));
    if (grown == NULL)
        return false;
    s->keys = grown;
    memcpy(s->keys[s->count++], key, sizeof(key));
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void lp_plugin_foreach(const struct lp_search_path *sp, lp_plugin_visit_fn fn, void *arg)
{
    struct seen seen = {0};
    for (const struct lp_embedded_plugin *e = lp_embedded_plugins; e->name; e++) {
        if (seen_add(&seen, e->concern, e->name))
            fn(arg, e->concern, e->name, NULL);
    }
    for (size_t d = 0; d < sp->count; d++) {
        DIR *dir = opendir(sp->dirs[d]);
        if (dir == NULL)
            continue;
        /* Sorted, so listings are stable across file systems. */
        char **files = NULL;
        size_t nfiles = 0;
        struct dirent *ent;
        while ((ent = readdir(dir)) != NULL) {
            char **grown = realloc(files, (nfiles + 1) * sizeof(*files));
            if (grown == NULL)
                break;
            files = grown;
            if ((files[nfiles] = strdup(ent->d_name)) != NULL)
                nfiles++;
        }
        closedir(dir);
        qsort(files, nfiles, sizeof(*files), compare_names);
        for (size_t i = 0; i < nfiles; i++) {
            char concern[LP_CONCERN_NAME_MAX], name[LP_PLUGIN_NAME_MAX], path[PATH_MAX];
            struct stat st;
            snprintf(path, sizeof(path), "%s/%s", sp->dirs[d], files[i]);
            if (split_file_name(files[i], concern, name) && stat(path, &st) == 0 &&
                S_ISREG(st.st_mode) && seen_add(&seen, concern, name))
                fn(arg, concern, name, path);
            free(files[i]);
        }
        free(files);
    }
    free(seen.keys);
}
