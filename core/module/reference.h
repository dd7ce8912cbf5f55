/* Module references as users type them, turned into where the module lives.
 *
 *   name:tag                 a Lilypad module: https://github.com/Lilypad-Tech/lilypad-module-NAME
 *                            at ref TAG (cowsay:v0.0.4), as Lilypad's shortcuts.go expands it
 *   host/owner/repo:ref      https://host/owner/repo at ref (github.com/foo/bar:v1); an explicit
 *                            https:// prefix is accepted too
 *   file:///path/repo[:ref]  a local git repository (ref defaults to HEAD)
 *   /dir, ./dir, ../dir, or an existing directory given without ':'
 *                            a plain folder holding lilypad_module.json.tmpl (no git)
 *
 * Apart from a file:// path, exactly one ':' separates repository and ref, as in Lilypad. Names
 * and refs are checked for characters git and URLs accept, so a reference can never smuggle
 * options, whitespace or "..", and errors are one line saying what is wrong. */
#ifndef LP_MODULE_REFERENCE_H
#define LP_MODULE_REFERENCE_H

#define LP_MODULE_TEMPLATE_FILE "lilypad_module.json.tmpl"
#define LP_MODULE_SHORTCUT_BASE "https://github.com/Lilypad-Tech/lilypad-module-"
#define LP_MODULE_MAX_REFERENCE 512

struct lp_module_error {
    char message[512];
};

enum lp_module_kind {
    LP_MODULE_GIT, /* a git repository (remote or file://) at a ref */
    LP_MODULE_DIR, /* a plain local folder */
};

struct lp_module_location {
    enum lp_module_kind kind;
    char *name; /* the shortcut name (cowsay), else NULL */
    char *url;  /* LP_MODULE_GIT: https://... or file:///... */
    char *ref;  /* LP_MODULE_GIT: tag, branch or (short) commit */
    char *dir;  /* LP_MODULE_DIR: absolute, symlinks resolved */
};

/* Returns 0, or -1 with err set. */
int lp_module_location_parse(const char *text, struct lp_module_location *out,
                             struct lp_module_error *err);
void lp_module_location_free(struct lp_module_location *loc);

/* Fills err->message with "module REF: ..." (shared by the module files). */
void lp_module_errorf(struct lp_module_error *err, const char *reference, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
