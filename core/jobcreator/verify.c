#include "jobcreator/verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cid/cid.h"
#include "cid/importer.h"
#include "crypto/keccak.h"

int lp_verify_blob_cid(const char *cid, const uint8_t *data, size_t len, char *err, size_t errlen)
{
    struct lp_cidb want;
    char why[200];
    if (lp_cid_parse(cid, &want, why, sizeof why) != 0) {
        snprintf(err, errlen, "result CID %s: %s", cid, why);
        return -1;
    }
    for (int raw = 0; raw < 2; raw++) {
        struct lp_cid_options opt;
        lp_cid_options_default(&opt, want.version);
        if (raw == 1) {
            if (want.version == 0)
                break; /* v0 has dag-pb leaves only */
            opt.raw_leaves = !opt.raw_leaves;
        }
        struct lp_cid_file *f = lp_cid_file_new(&opt, NULL, NULL);
        if (!f) {
            snprintf(err, errlen, "result CID: out of memory");
            return -1;
        }
        struct lp_cid_node root;
        int rc = lp_cid_file_write(f, data, len) == 0 ? lp_cid_file_finish(f, &root) : -1;
        lp_cid_file_free(f);
        if (rc == 0 && lp_cid_equal(&root.cid, &want))
            return 0;
    }
    return 1;
}

int lp_verify_dir_cid(const char *cid, const char *dir, char *err, size_t errlen)
{
    struct lp_cidb want;
    char why[300];
    if (lp_cid_parse(cid, &want, why, sizeof why) != 0) {
        snprintf(err, errlen, "result CID %s: %s", cid, why);
        return -1;
    }
    char got[LP_CID_STRING_MAX] = "";
    for (int attempt = 0; attempt < 4; attempt++) {
        struct lp_cid_options opt;
        lp_cid_options_default(&opt, want.version);
        if (attempt & 1) {
            if (want.version == 0)
                continue;
            opt.raw_leaves = !opt.raw_leaves;
        }
        /* kubo leaves dot-files out unless --hidden; a provider may have passed it. */
        opt.include_hidden = (attempt & 2) != 0;
        struct lp_cid_node root;
        if (lp_cid_import_path(dir, &opt, NULL, NULL, &root, NULL, why, sizeof why) != 0) {
            snprintf(err, errlen, "results %s: %s", dir, why);
            return -1;
        }
        if (lp_cid_equal(&root.cid, &want))
            return 0;
        if (attempt == 0)
            lp_cid_format(&root.cid, got);
    }
    snprintf(err, errlen,
             "results do not match their CID: the provider signed %s, the downloaded files are "
             "%s (the results were altered or corrupted; they are not trusted)",
             cid, got);
    return -1;
}

int lp_verify_file_keccak(const char *path, const uint8_t digest[32], uint64_t size, char *err,
                          size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct lp_keccak k;
    lp_keccak256_init(&k);
    uint8_t buf[65536];
    ssize_t n;
    uint64_t total = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        lp_keccak256_update(&k, buf, (size_t)n);
        total += (uint64_t)n;
    }
    close(fd);
    uint8_t got[32];
    lp_keccak256_final(&k, got);
    if (n < 0 || total != size || memcmp(got, digest, 32) != 0) {
        snprintf(err, errlen, "%s does not match the digest in the provider's signed result", path);
        return -1;
    }
    return 0;
}
