/* Module bundles: a module from a local folder, packed so that machines without the folder (the
 * solver, providers) render exactly what the job creator rendered.
 *
 * A bundle is a plain POSIX tar (util/tarball.h: entries sorted, owner 0, mtime 0, last block
 * trimmed, so the same template always gives the same bytes) holding one regular file,
 * lilypad_module.json.tmpl, mode 0644. Only the template travels: it is all a module is (the
 * image it names is fetched by the provider), and packing the whole folder would upload
 * whatever else lies there (data, keys, a .git folder).
 *
 * Its name in a job offer's module field: repo "bundle:0x" + 64 lowercase hex digits of the
 * keccak256 of the tar bytes, commit the same 64 hex digits. The creator uploads the bundle to
 * the solver's file store (POST /api/v1/files, which addresses files by that keccak), the
 * solver reads it from there, a provider downloads it with GET /api/v1/deals/{deal}/module and
 * checks that its bytes hash to the name before rendering. */
#ifndef LP_MODULE_BUNDLE_H
#define LP_MODULE_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keccak.h"
#include "module/module.h"

#define LP_MODULE_BUNDLE_PREFIX "bundle:0x"
/* "bundle:0x" + 64 hex + NUL */
#define LP_MODULE_BUNDLE_REPO_LEN (sizeof LP_MODULE_BUNDLE_PREFIX + 2 * LP_KECCAK256_LEN)
/* The template's cap plus the tar's headers. */
#define LP_MODULE_BUNDLE_MAX (LP_TEMPLATE_MAX_TEXT + 16u * 1024u)

/* Whether a job offer's repo names a bundle (by its prefix; the rest is checked by
 * lp_module_bundle_parse). */
bool lp_module_is_bundle(const char *repo);

/* Checks a bundle name (repo and commit as above) and writes its keccak. 0, or -1 with err. */
int lp_module_bundle_parse(const char *repo, const char *commit, uint8_t keccak[LP_KECCAK256_LEN],
                           struct lp_module_error *err);

/* The repo and commit naming the bundle whose bytes hash to keccak. */
void lp_module_bundle_name(const uint8_t keccak[LP_KECCAK256_LEN],
                           char repo[LP_MODULE_BUNDLE_REPO_LEN],
                           char commit[2 * LP_KECCAK256_LEN + 1]);

/* Packs a template into a bundle (*out malloc'd). 0, or -1 with err. */
int lp_module_bundle_pack(const char *template_text, size_t template_len, uint8_t **out,
                          size_t *out_len, struct lp_module_error *err);

/* A module from a bundle's bytes: refused unless they hash to want (the name the job offer
 * gives) and hold exactly the template. m as lp_module_load fills it (repo and commit the
 * bundle's name). 0, or -1 with err. */
int lp_module_load_bundle(const uint8_t *data, size_t len, const uint8_t want[LP_KECCAK256_LEN],
                          struct lp_module *m, struct lp_module_error *err);

#endif
