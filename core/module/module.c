#include "module/module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/small_file.h"

void lp_module_compute_id(const char *repo, const char *commit, const char *path,
                          uint8_t id[LP_KECCAK256_LEN])
{
    struct lp_keccak k;
    lp_keccak256_init(&k);
    lp_keccak256_update(&k, LP_MODULE_ID_PREFIX, strlen(LP_MODULE_ID_PREFIX));
    const char *parts[3] = {repo, commit, path};
    for (int i = 0; i < 3; i++) {
        lp_keccak256_update(&k, parts[i], strlen(parts[i]));
        lp_keccak256_update(&k, "\n", 1);
    }
    lp_keccak256_final(&k, id);
}

void lp_module_free(struct lp_module *m)
{
    if (m == NULL)
        return;
    free(m->reference);
    lp_module_location_free(&m->loc);
    free(m->repo);
    free(m->template_text);
    memset(m, 0, sizeof *m);
}

static int read_dir_template(const struct lp_module *m, char **text, size_t *len,
                             struct lp_module_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", m->loc.dir, LP_MODULE_TEMPLATE_FILE);
    /* A regular file only, read without blocking: a FIFO or a device in a module folder (or a
     * symlink to one) must not hang us. */
    char why[4400];
    *text = lp_small_file_read(path, LP_TEMPLATE_MAX_TEXT, "a module template", len, NULL, why,
                               sizeof why);
    if (*text == NULL) {
        lp_module_errorf(err, m->reference, "%s", why);
        return -1;
    }
    return 0;
}

int lp_module_load(const char *reference, const char *cache_dir, struct lp_module *m,
                   struct lp_module_error *err)
{
    memset(m, 0, sizeof *m);
    m->template_path = LP_MODULE_TEMPLATE_FILE;
    if (lp_module_location_parse(reference, &m->loc, err) != 0)
        return -1;
    m->reference = strdup(reference);
    if (m->reference == NULL)
        goto fail;
    if (m->loc.kind == LP_MODULE_DIR) {
        if (read_dir_template(m, &m->template_text, &m->template_len, err) != 0)
            goto fail;
        uint8_t h[LP_KECCAK256_LEN];
        lp_keccak256(m->template_text, m->template_len, h);
        lp_hex_encode(h, sizeof h, m->commit);
        size_t n = strlen(m->loc.dir) + 8;
        m->repo = malloc(n);
        if (m->repo == NULL)
            goto fail;
        snprintf(m->repo, n, "file://%s", m->loc.dir);
    } else {
        if (lp_module_git_resolve(reference, &m->loc, cache_dir, m->commit, &m->template_text,
                                  &m->template_len, err) != 0)
            goto fail;
        m->repo = strdup(m->loc.url);
        if (m->repo == NULL)
            goto fail;
    }
    lp_module_compute_id(m->repo, m->commit, m->template_path, m->id);
    return 0;
fail:
    if (err->message[0] == '\0')
        lp_module_errorf(err, reference, "out of memory");
    lp_module_free(m);
    return -1;
}

int lp_module_render(const struct lp_module *m, const struct lp_template_input *inputs,
                     size_t n_inputs, struct lp_module_job *job, struct lp_module_error *err)
{
    memset(job, 0, sizeof *job);
    struct lp_template *t = NULL;
    struct lp_template_error terr = {{0}};
    if (lp_template_parse(m->template_path, m->template_text, m->template_len, &t, &terr) != 0 ||
        lp_template_render(t, inputs, n_inputs, &job->rendered, &job->rendered_len, &terr) != 0) {
        lp_module_errorf(err, m->reference, "%s", terr.message);
        lp_template_free(t);
        return -1;
    }
    lp_template_free(t);
    if (lp_module_spec_parse(m->reference, job->rendered, job->rendered_len, &job->spec,
                             &job->canonical, err) != 0) {
        lp_module_job_free(job);
        return -1;
    }
    return 0;
}

void lp_module_job_free(struct lp_module_job *job)
{
    if (job == NULL)
        return;
    free(job->rendered);
    free(job->canonical);
    lp_module_spec_free(&job->spec);
    memset(job, 0, sizeof *job);
}
