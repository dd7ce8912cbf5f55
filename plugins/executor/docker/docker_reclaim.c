/* reclaim: a restarted provider removes the containers its earlier runs left, found by their
 * owner label, except the jobs it still follows. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

struct found {
    char (*names)[64];
    char (*ids)[72];
    size_t count, cap;
};

static void collect(void *arg, const char *id, const char *name)
{
    struct found *f = arg;
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        void *names = realloc(f->names, cap * sizeof *f->names);
        if (names == NULL)
            return;
        f->names = names;
        void *ids = realloc(f->ids, cap * sizeof *f->ids);
        if (ids == NULL)
            return;
        f->ids = ids;
        f->cap = cap;
    }
    snprintf(f->names[f->count], sizeof f->names[0], "%s", name);
    snprintf(f->ids[f->count], sizeof f->ids[0], "%s", id);
    f->count++;
}

static bool kept(const char *name, const char *id, const struct lp_job_handle *keep, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (keep[i].id[0] != '\0' && (strcmp(keep[i].id, name) == 0 || strcmp(keep[i].id, id) == 0))
            return true;
    return false;
}

int dk_reclaim(struct lp_docker *d, const char *owner, const struct lp_job_handle *keep,
               size_t keep_count, size_t *removed, char *err, size_t errlen)
{
    *removed = 0;
    if (owner == NULL || owner[0] == '\0') {
        snprintf(err, errlen, "reclaim: no owner given");
        return LP_EINVAL;
    }
    json_t *filter = json_pack("{s:[s+]}", "label", DK_LABEL_OWNER "=", owner);
    char *text = filter ? json_dumps(filter, JSON_COMPACT) : NULL;
    json_decref(filter);
    char query[1024], path[1200];
    if (text == NULL || dk_escape(text, query, sizeof query) != 0) {
        free(text);
        snprintf(err, errlen, "reclaim: owner too long");
        return LP_EINVAL;
    }
    free(text);
    snprintf(path, sizeof path, "/containers/json?all=1&filters=%s", query);
    struct dk_request rq = {.method = "GET", .path = path, .timeout_ms = 60000};
    struct dk_response r;
    if (dk_call(&d->engine, &rq, &r, err, errlen) != 0)
        return r.status == 0 ? LP_EUNAVAILABLE : LP_ERR;
    struct found f = {0};
    int rc = LP_OK;
    if (r.status != 200) {
        char why[300];
        dk_response_error(&r, why, sizeof why);
        snprintf(err, errlen, "reclaim: listing containers: %s", why);
        rc = LP_ERR;
    } else if (dk_parse_container_list(r.body.data, r.body.len, collect, &f) != 0) {
        snprintf(err, errlen, "reclaim: the container list is not the reply of a Docker engine");
        rc = LP_ERR;
    }
    dk_response_free(&r);
    for (size_t i = 0; rc == LP_OK && i < f.count; i++) {
        if (kept(f.names[i], f.ids[i], keep, keep_count))
            continue;
        /* A job this instance runs now is never an earlier run's leftover. */
        pthread_mutex_lock(&d->lock);
        bool live = false;
        for (struct dk_job *j = d->jobs; j != NULL && !live; j = j->next)
            live = strcmp(j->name, f.names[i]) == 0;
        pthread_mutex_unlock(&d->lock);
        if (live)
            continue;
        char why[300];
        if (dk_container_remove(d, f.ids[i], why, sizeof why) != 0) {
            snprintf(err, errlen, "reclaim: removing container %s: %s", f.names[i], why);
            rc = LP_ERR;
            break;
        }
        (*removed)++;
    }
    free(f.names);
    free(f.ids);
    return rc;
}
