#include "module/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/hex.h"
#include "util/tarball.h"

#define HEX_LEN (2 * LP_KECCAK256_LEN)

static bool lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return s[n] == '\0';
}

bool lp_module_is_bundle(const char *repo)
{
    return repo && strncmp(repo, "bundle:", 7) == 0;
}

int lp_module_bundle_parse(const char *repo, const char *commit, uint8_t keccak[LP_KECCAK256_LEN],
                           struct lp_module_error *err)
{
    size_t p = strlen(LP_MODULE_BUNDLE_PREFIX);
    if (!repo || strncmp(repo, LP_MODULE_BUNDLE_PREFIX, p) != 0 || !lower_hex(repo + p, HEX_LEN)) {
        lp_module_errorf(err, repo, "a bundle is named bundle:0x + 64 lowercase hex digits");
        return -1;
    }
    if (!commit || strcmp(commit, repo + p) != 0) {
        lp_module_errorf(err, repo, "a bundle's commit must be its own hash (%s), not \"%.70s\"",
                         repo + p, commit ? commit : "");
        return -1;
    }
    if (lp_hex_decode_fixed(repo + p, keccak, LP_KECCAK256_LEN) != 0) {
        lp_module_errorf(err, repo, "bad bundle hash");
        return -1;
    }
    return 0;
}

void lp_module_bundle_name(const uint8_t keccak[LP_KECCAK256_LEN],
                           char repo[LP_MODULE_BUNDLE_REPO_LEN], char commit[HEX_LEN + 1])
{
    lp_hex_encode(keccak, LP_KECCAK256_LEN, commit);
    snprintf(repo, LP_MODULE_BUNDLE_REPO_LEN, "%s%s", LP_MODULE_BUNDLE_PREFIX, commit);
}

int lp_module_bundle_pack(const char *template_text, size_t template_len, uint8_t **out,
                          size_t *out_len, struct lp_module_error *err)
{
    *out = NULL;
    *out_len = 0;
    if (template_len > LP_TEMPLATE_MAX_TEXT) {
        lp_module_errorf(err, "bundle", "the template is larger than %u bytes",
                         LP_TEMPLATE_MAX_TEXT);
        return -1;
    }
    /* The packer takes a folder: one made for the template alone, so nothing else of the
     * module's folder can slip in. */
    const char *tmp = getenv("TMPDIR");
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/lp-bundle-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        lp_module_errorf(err, "bundle", "cannot make a temporary folder in %s: %s",
                         tmp && tmp[0] ? tmp : "/tmp", strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, LP_MODULE_TEMPLATE_FILE);
    int rc = -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 ||
        (template_len && write(fd, template_text, template_len) != (ssize_t)template_len) ||
        fchmod(fd, 0644) != 0) {
        lp_module_errorf(err, "bundle", "cannot write %s: %s", path, strerror(errno));
    } else {
        struct lp_tarball_pack_options o;
        lp_tarball_pack_options_default(&o, LP_MODULE_BUNDLE_MAX);
        o.what = "module bundle";
        o.refuse_symlinks = true;
        o.max_files = 1;
        char why[512];
        if (lp_tarball_pack_with(dir, &o, out, out_len, why, sizeof why) != 0)
            lp_module_errorf(err, "bundle", "%s", why);
        else
            rc = 0;
    }
    if (fd >= 0)
        close(fd);
    unlink(path);
    rmdir(dir);
    return rc;
}

/* The template out of a bundle's tar: exactly one entry, the template as a regular file. */
static int read_template(const uint8_t *data, size_t len, const char *name, char **text,
                         size_t *text_len, struct lp_module_error *err)
{
    *text = NULL;
    struct archive *a = archive_read_new();
    if (!a) {
        lp_module_errorf(err, name, "out of memory");
        return -1;
    }
    archive_read_support_format_tar(a);
    int rc = -1;
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        lp_module_errorf(err, name, "not a tar archive: %s", archive_error_string(a));
        goto out;
    }
    struct archive_entry *e;
    int entries = 0, r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *path = archive_entry_pathname(e);
        if (entries++ > 0 || !path || strcmp(path, LP_MODULE_TEMPLATE_FILE) != 0 ||
            archive_entry_filetype(e) != AE_IFREG) {
            lp_module_errorf(err, name, "unexpected entry \"%.100s\" (a bundle holds only %s)",
                             path ? path : "?", LP_MODULE_TEMPLATE_FILE);
            goto out;
        }
        la_int64_t size = archive_entry_size(e);
        if (size < 0 || (uint64_t)size > LP_TEMPLATE_MAX_TEXT) {
            lp_module_errorf(err, name, "the template is larger than %u bytes",
                             LP_TEMPLATE_MAX_TEXT);
            goto out;
        }
        *text = malloc((size_t)size + 1);
        if (!*text) {
            lp_module_errorf(err, name, "out of memory");
            goto out;
        }
        la_ssize_t got = archive_read_data(a, *text, (size_t)size);
        if (got != size) {
            lp_module_errorf(err, name, "the template's data is cut short");
            goto out;
        }
        (*text)[size] = '\0';
        *text_len = (size_t)size;
    }
    if (r != ARCHIVE_EOF)
        lp_module_errorf(err, name, "bad tar: %s", archive_error_string(a));
    else if (!*text)
        lp_module_errorf(err, name, "the bundle holds no %s", LP_MODULE_TEMPLATE_FILE);
    else
        rc = 0;
out:
    archive_read_free(a);
    if (rc != 0) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

int lp_module_load_bundle(const uint8_t *data, size_t len, const uint8_t want[LP_KECCAK256_LEN],
                          struct lp_module *m, struct lp_module_error *err)
{
    memset(m, 0, sizeof *m);
    char repo[LP_MODULE_BUNDLE_REPO_LEN], commit[HEX_LEN + 1];
    lp_module_bundle_name(want, repo, commit);
    uint8_t got[LP_KECCAK256_LEN];
    lp_keccak256(data, len, got);
    if (memcmp(got, want, LP_KECCAK256_LEN) != 0) {
        char hex[HEX_LEN + 1];
        lp_hex_encode(got, sizeof got, hex);
        lp_module_errorf(err, repo,
                         "the bundle's bytes hash to 0x%s, not to its name (hint: the bundle was "
                         "changed after upload or the solver served other bytes)",
                         hex);
        return -1;
    }
    if (len > LP_MODULE_BUNDLE_MAX) {
        lp_module_errorf(err, repo, "the bundle is larger than %u bytes", LP_MODULE_BUNDLE_MAX);
        return -1;
    }
    if (read_template(data, len, repo, &m->template_text, &m->template_len, err) != 0)
        return -1;
    m->reference = strdup(repo);
    m->repo = strdup(repo);
    if (!m->reference || !m->repo) {
        lp_module_free(m);
        lp_module_errorf(err, repo, "out of memory");
        return -1;
    }
    m->loc.kind = LP_MODULE_DIR;
    memcpy(m->commit, commit, sizeof commit);
    m->template_path = LP_MODULE_TEMPLATE_FILE;
    lp_module_compute_id(m->repo, m->commit, m->template_path, m->id);
    return 0;
}
