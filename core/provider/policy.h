/* The provider's module allowlist and denylist (Lilypad's own list of module CIDs was
 * unusable: nobody knows a module by its CID). Entries name a module the way people know it:
 *   NAME            the repo's last path component, with or without "lilypad-module-"
 *                   ("cowsay" matches .../lilypad-module-cowsay and .../cowsay)
 *   REPO            "https://github.com/o/r" or "github.com/o/r" (scheme and ".git" ignored)
 *   REPO@COMMIT     that repo at a commit (full hash, or a prefix of at least 7 hex digits)
 *   COMMIT          a full commit hash (40 or 64 hex digits) in any repo
 *   sha256:DIGEST   the job's image: its config or manifest digest (64 hex digits), as the
 *                   local image store resolves it, or pinned in the image reference
 * The denylist wins; an empty allowlist allows every module the denylist does not name. */
#ifndef LP_PROVIDER_POLICY_H
#define LP_PROVIDER_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <lilypad/plugin.h>

struct lp_module_identity {
    const char *repo;
    const char *commit;
    const char *image;           /* as the job spec names it */
    const char *image_digest;    /* "sha256:..." config digest, or NULL when unknown */
    const char *manifest_digest; /* "sha256:..." or NULL */
};

/* Checks that every entry has one of the forms above. -1 with "list[i]: ..." in err. */
int lp_policy_validate(const struct lp_str_list *list, const char *list_name, char *err,
                       size_t errlen);
bool lp_policy_entry_matches(const char *entry, const struct lp_module_identity *m);
/* 0 allowed; 1 refused with a one-line reason naming the list and the entry. */
int lp_policy_check(const struct lp_str_list *allow, const struct lp_str_list *deny,
                    const struct lp_module_identity *m, char *reason, size_t cap);

#endif
