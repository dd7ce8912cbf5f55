/* Modules: resolve a reference (see reference.h) to an exact version, compute its identity, and
 * render its template with the job creator's inputs into a checked job spec.
 *
 * Module ID: keccak256 over the canonical text
 *     "lilypad-module-id/1\n" REPO "\n" COMMIT "\n" PATH "\n"
 * where REPO is the repository URL as resolved (https://github.com/Lilypad-Tech/lilypad-module-
 * cowsay, https://host/owner/repo, file:///abs/path; a plain folder: file:// + its absolute
 * path), COMMIT the full commit hash in lowercase hex (a plain folder has no commit: the
 * keccak256 of the template bytes in lowercase hex stands in), and PATH the template's path in
 * the repository (lilypad_module.json.tmpl). None of the three can contain a newline, so the
 * text is unambiguous. Printed as 0x + 64 lowercase hex digits. The same repository at the same
 * commit has the same ID wherever it is resolved (a tag or branch name does not enter it). */
#ifndef LP_MODULE_MODULE_H
#define LP_MODULE_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keccak.h"
#include "module/git_resolve.h"
#include "module/job_spec.h"
#include "module/reference.h"
#include "module/template.h"

#define LP_MODULE_ID_PREFIX "lilypad-module-id/1\n"

struct lp_module {
    char *reference; /* as the user typed it */
    struct lp_module_location loc;
    char *repo;                                /* canonical repository URL */
    char commit[LP_MODULE_COMMIT_HEX_MAX + 1]; /* lowercase hex */
    const char *template_path;                 /* LP_MODULE_TEMPLATE_FILE */
    char *template_text;
    size_t template_len;
    uint8_t id[LP_KECCAK256_LEN];
};

/* What rendering produced: the raw template output, its canonical JSON, and the checked spec. */
struct lp_module_job {
    char *rendered;
    size_t rendered_len;
    char *canonical;
    struct lp_module_spec spec;
};

/* Resolves and reads a module. cache_dir NULL: the default cache (git_resolve.h). */
int lp_module_load(const char *reference, const char *cache_dir, struct lp_module *m,
                   struct lp_module_error *err);
void lp_module_free(struct lp_module *m);

/* The module ID for (repo, commit, path), as documented above. */
void lp_module_compute_id(const char *repo, const char *commit, const char *path,
                          uint8_t id[LP_KECCAK256_LEN]);

int lp_module_render(const struct lp_module *m, const struct lp_template_input *inputs,
                     size_t n_inputs, struct lp_module_job *job, struct lp_module_error *err);
void lp_module_job_free(struct lp_module_job *job);

#endif
