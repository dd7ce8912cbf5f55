/* Reading docker-archive and OCI image-layout tarballs into the store (store_internal.h). The
 * outer tarball is never unpacked to disk: each member is found by re-reading the archive, and
 * a layer is streamed from the outer archive straight into a second libarchive reader, hashed
 * on the way so its digest is checked without a second pass. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "image/fs_tree.h"
#include "image/manifest.h"
#include "image/store.h"
#include "image/store_internal.h"
#include "image/tar_path.h"
#include "util/log.h"

#define SMALL_MEMBER_MAX   (16u << 20) /* manifests and configs; real ones are a few KiB */
#define MAX_REDIRECTS      8
#define DEFAULT_MAX_UNPACK (UINT64_C(64) << 30)

static void add_decoders(struct archive *a)
{
    /* Named filters only: support_filter_all may also run external programs. */
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
}

static struct archive *outer_new(const char *file, char *err, size_t errlen)
{
    struct archive *a = archive_read_new();
    if (a == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    add_decoders(a);
    if (archive_read_open_filename(a, file, 1 << 16) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s: cannot read: %s", file, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Opens the archive positioned at member `want`, following links inside the archive (newer
 * `docker save` links <id>/layer.tar to blobs/sha256/<hex>). */
static struct archive *outer_open_at(const char *file, const char *want_in, char *err,
                                     size_t errlen)
{
    char want[PATH_MAX], clean[PATH_MAX], why[256];
    if (lp_image_clean_path(want_in, want, sizeof want, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: bad member name in manifest: %s", file, why);
        return NULL;
    }
    for (int hop = 0; hop < MAX_REDIRECTS; hop++) {
        struct archive *a = outer_new(file, err, errlen);
        if (a == NULL)
            return NULL;
        struct archive_entry *e;
        int r;
        bool redirected = false;
        while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
            if (lp_image_clean_path(archive_entry_pathname(e), clean, sizeof clean, why,
                                    sizeof why) != 0 ||
                strcmp(clean, want) != 0)
                continue;
            const char *hard = archive_entry_hardlink(e);
            if (hard != NULL) {
                if (lp_image_clean_path(hard, want, sizeof want, why, sizeof why) != 0)
                    break;
                redirected = true;
                break;
            }
            if (archive_entry_filetype(e) == AE_IFLNK) {
                const char *target = archive_entry_symlink(e);
                char joined[PATH_MAX];
                char *slash = strrchr(clean, '/');
                if (slash != NULL)
                    *slash = '\0';
                snprintf(joined, sizeof joined, "%s%s%s", slash ? clean : "", slash ? "/" : "",
                         target ? target : "");
                /* "../blobs/x" from "<id>/layer.tar": fold ".." against the member's dir. */
                char out[PATH_MAX] = "";
                size_t n = 0;
                for (char *save = NULL, *c = strtok_r(joined, "/", &save); c != NULL;
                     c = strtok_r(NULL, "/", &save)) {
                    if (strcmp(c, ".") == 0)
                        continue;
                    if (strcmp(c, "..") == 0) {
                        char *s = strrchr(out, '/');
                        n = s ? (size_t)(s - out) : 0;
                        out[n] = '\0';
                        continue;
                    }
                    n += (size_t)snprintf(out + n, sizeof out - n, "%s%s", n ? "/" : "", c);
                }
                snprintf(want, sizeof want, "%s", out);
                redirected = true;
                break;
            }
            if (archive_entry_filetype(e) != AE_IFREG) {
                snprintf(err, errlen, "%s: member %s is not a regular file", file, want);
                archive_read_free(a);
                return NULL;
            }
            return a;
        }
        if (!redirected) {
            if (r != ARCHIVE_EOF && r != ARCHIVE_OK && r != ARCHIVE_WARN)
                snprintf(err, errlen, "%s: damaged archive: %s", file, archive_error_string(a));
            else
                snprintf(err, errlen, "%s: the archive has no member \"%s\"", file, want);
            archive_read_free(a);
            return NULL;
        }
        archive_read_free(a);
    }
    snprintf(err, errlen, "%s: too many links to follow for member \"%s\"", file, want_in);
    return NULL;
}

static void sha256_hex(const void *data, size_t len, char out[LP_IMAGE_DIGEST_LEN + 1])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* Reads a small member whole; verifies it against want_digest when given. */
static char *read_member(const char *file, const char *member, const char *want_digest,
                         size_t *len_out, char *err, size_t errlen)
{
    struct archive *a = outer_open_at(file, member, err, errlen);
    if (a == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf != NULL && (n = archive_read_data(a, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (len + 1 == cap) {
            if (cap >= SMALL_MEMBER_MAX) {
                snprintf(err, errlen, "%s: member %s is larger than 16 MiB", file, member);
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    archive_read_free(a);
    if (buf == NULL) {
        if (err[0] == '\0')
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    buf[len] = '\0';
    if (want_digest != NULL) {
        char got[LP_IMAGE_DIGEST_LEN + 1];
        sha256_hex(buf, len, got);
        if (strcmp(got, want_digest) != 0) {
            snprintf(err, errlen, "%s: member %s has digest %s, expected %s", file, member, got,
                     want_digest);
            free(buf);
            return NULL;
        }
    }
    *len_out = len;
    return buf;
}

/* Which format: scans the member names once. */
static int detect_format(const char *file, bool *oci, char *err, size_t errlen)
{
    struct archive *a = outer_new(file, err, errlen);
    if (a == NULL)
        return -1;
    struct archive_entry *e;
    int r;
    bool manifest = false, layout = false, index = false;
    char clean[PATH_MAX], why[256];
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        if (lp_image_clean_path(archive_entry_pathname(e), clean, sizeof clean, why, sizeof why) !=
            0)
            continue;
        manifest |= strcmp(clean, "manifest.json") == 0;
        layout |= strcmp(clean, "oci-layout") == 0;
        index |= strcmp(clean, "index.json") == 0;
    }
    if (r != ARCHIVE_EOF) {
        snprintf(err, errlen, "%s: not a readable tar archive: %s", file,
                 archive_error_string(a) ? archive_error_string(a) : "unknown error");
        archive_read_free(a);
        return -1;
    }
    archive_read_free(a);
    /* Docker 25+ writes both; manifest.json names the tags, so it wins. */
    if (manifest) {
        *oci = false;
        return 0;
    }
    if (layout && index) {
        *oci = true;
        return 0;
    }
    snprintf(err, errlen,
             "%s: neither a docker-archive (manifest.json) nor an OCI image layout "
             "(oci-layout + index.json); hint: make it with `docker save` or `skopeo copy ... "
             "oci-archive:`",
             file);
    return -1;
}

/* ---- streaming one layer ---------------------------------------------------------------- */
struct layer_feed {
    struct archive *outer;
    EVP_MD_CTX *md;
    char buf[1 << 16];
    int failed;
};

static la_ssize_t feed_read(struct archive *inner, void *arg, const void **out)
{
    (void)inner;
    struct layer_feed *f = arg;
    la_ssize_t n = archive_read_data(f->outer, f->buf, sizeof f->buf);
    if (n < 0) {
        f->failed = 1;
        return -1;
    }
    EVP_DigestUpdate(f->md, f->buf, (size_t)n);
    *out = f->buf;
    return n;
}

/* Applies layer `member` onto rootfd; checks its blob digest (want_blob) and, when the layer
 * is an uncompressed tar, its diff_id. */
static int apply_member_layer(const char *file, const char *member, const char *want_blob,
                              const char *want_diff, int rootfd,
                              struct lp_image_unpack_stats *stats, char *err, size_t errlen)
{
    struct archive *outer = outer_open_at(file, member, err, errlen);
    if (outer == NULL)
        return -1;
    struct layer_feed *f = calloc(1, sizeof *f);
    struct archive *inner = archive_read_new();
    int rc = -1;
    if (f == NULL || inner == NULL || (f->md = EVP_MD_CTX_new()) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    f->outer = outer;
    EVP_DigestInit_ex(f->md, EVP_sha256(), NULL);
    add_decoders(inner);
    if (archive_read_open(inner, f, NULL, feed_read, NULL) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s: layer %s: %s", file, member, archive_error_string(inner));
        goto out;
    }
    char why[512] = "";
    if (lp_image_apply_layer(rootfd, inner, stats, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: layer %s: %s", file, member, why);
        goto out;
    }
    bool plain =
        archive_filter_count(inner) <= 1 || archive_filter_code(inner, 0) == ARCHIVE_FILTER_NONE;
    /* The tar may end before the blob does (padding): hash the rest too. */
    const void *p;
    while (feed_read(inner, f, &p) > 0)
        ;
    if (f->failed) {
        snprintf(err, errlen, "%s: layer %s: %s", file, member, archive_error_string(outer));
        goto out;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(f->md, md, &mdlen);
    char got[LP_IMAGE_DIGEST_LEN + 1] = "sha256:";
    for (int i = 0; i < 32; i++)
        snprintf(got + 7 + 2 * i, 3, "%02x", md[i]);
    if (want_blob != NULL && strcmp(got, want_blob) != 0) {
        snprintf(err, errlen, "%s: layer %s has digest %s, the manifest says %s", file, member, got,
                 want_blob);
        goto out;
    }
    if (want_diff != NULL && plain && strcmp(got, want_diff) != 0) {
        snprintf(err, errlen, "%s: layer %s has digest %s, the image config says %s", file, member,
                 got, want_diff);
        goto out;
    }
    rc = 0;
out:
    if (inner != NULL)
        archive_read_free(inner);
    archive_read_free(outer);
    if (f != NULL)
        EVP_MD_CTX_free(f->md);
    free(f);
    return rc;
}

/* Mount points the sandbox binds over; made here so a read-only rootfs can be used as is. */
static void add_mount_points(int rootfd)
{
    static const char *const dirs[] = {"proc", "dev", "sys", "tmp", "inputs", "outputs"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        (void)mkdirat(rootfd, dirs[i], strcmp(dirs[i], "tmp") == 0 ? 01777 : 0755);
}

static uint64_t max_unpack(void)
{
    const char *v = getenv("LILYPAD_IMAGE_MAX_BYTES");
    if (v != NULL && *v) {
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        if (*end == '\0' && n > 0)
            return n;
    }
    return DEFAULT_MAX_UNPACK;
}

struct layer_ref {
    const char *member; /* path inside the archive */
    const char *blob;   /* expected blob digest, or NULL */
};

/* Unpacks one image (config already read and verified) and publishes it with its names. */
static int import_image(const struct lp_image_store *s, const char *file, const char *config,
                        size_t config_len, const char *manifest_digest,
                        const struct layer_ref *layers, size_t nlayers, char names[][256],
                        size_t nnames, struct lp_image_imported *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    sha256_hex(config, config_len, out->digest);
    struct lp_image_config cfg;
    char why[512];
    if (lp_image_parse_config(config, config_len, &cfg, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: image config %s: %s", file, out->digest, why);
        return -1;
    }
    int rc = -1;
    if (cfg.diff_ids.count != nlayers) {
        snprintf(err, errlen, "%s: image %s lists %zu layers in its config and %zu in its manifest",
                 file, out->digest, cfg.diff_ids.count, nlayers);
        goto done;
    }
    if (lp_image_store_has(s, out->digest)) {
        out->cached = true;
    } else {
        char tmp[PATH_MAX], rootfs[PATH_MAX];
        if (lp_image_store_mktemp(s, tmp, sizeof tmp) != 0) {
            snprintf(err, errlen, "%s: cannot make a scratch dir in the image store: %s", s->dir,
                     strerror(errno));
            goto done;
        }
        snprintf(rootfs, sizeof rootfs, "%s/rootfs", tmp);
        int rootfd = -1;
        if (mkdir(rootfs, 0755) != 0 ||
            (rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
            snprintf(err, errlen, "%s: %s", rootfs, strerror(errno));
            lp_fs_remove_tree(tmp);
            goto done;
        }
        out->stats.max_bytes = max_unpack();
        int lrc = 0;
        for (size_t i = 0; lrc == 0 && i < nlayers; i++)
            lrc = apply_member_layer(file, layers[i].member, layers[i].blob, cfg.diff_ids.items[i],
                                     rootfd, &out->stats, err, errlen);
        if (lrc == 0)
            add_mount_points(rootfd);
        close(rootfd);
        bool cached = false;
        if (lrc == 0)
            lrc = lp_image_store_publish(s, rootfs, out->digest, manifest_digest, config,
                                         config_len, &out->stats, &cached, err, errlen);
        lp_fs_remove_tree(tmp);
        if (lrc != 0)
            goto done;
        out->cached = cached;
        if (out->stats.devices_refused || out->stats.setid_stripped)
            lp_warn("image %.19s: %llu device node(s) not created, %llu setuid/setgid bit(s) "
                    "dropped",
                    out->digest, (unsigned long long)out->stats.devices_refused,
                    (unsigned long long)out->stats.setid_stripped);
    }
    for (size_t i = 0; i < nnames && out->name_count < LP_IMAGE_MAX_NAMES; i++) {
        if (lp_image_store_set_ref(s, names[i], out->digest, err, errlen) != 0)
            goto done;
        snprintf(out->names[out->name_count++], sizeof out->names[0], "%s", names[i]);
    }
    rc = 0;
done:
    lp_image_config_free(&cfg);
    return rc;
}

/* Adds a normalised name to names[] unless already there or invalid. */
static void add_name(char names[][256], size_t *n, const char *name)
{
    char norm[256];
    if (name == NULL || *n >= LP_IMAGE_MAX_NAMES ||
        lp_image_normalize_name(name, norm, sizeof norm) != 0)
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(names[i], norm) == 0)
            return;
    snprintf(names[(*n)++], 256, "%s", norm);
}

static int import_docker(const struct lp_image_store *s, const char *file, const char *extra,
                         struct lp_image_import_result *res, char *err, size_t errlen)
{
    size_t len = 0;
    char *json = read_member(file, "manifest.json", NULL, &len, err, errlen);
    if (json == NULL)
        return -1;
    struct lp_image_docker_manifest m;
    char why[512];
    if (lp_image_parse_docker_manifest(json, len, &m, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", file, why);
        free(json);
        return -1;
    }
    free(json);
    int rc = 0;
    if (m.count > LP_IMAGE_MAX_PER_ARCHIVE || (extra != NULL && m.count != 1)) {
        snprintf(err, errlen, "%s: holds %zu images; %s", file, m.count,
                 extra ? "--tag needs an archive with exactly one" : "at most 16 are imported");
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < m.count; i++) {
        struct lp_image_docker_entry *img = &m.images[i];
        char *config = read_member(file, img->config, NULL, &len, err, errlen);
        if (config == NULL) {
            rc = -1;
            break;
        }
        struct layer_ref *layers = calloc(img->layers.count + 1, sizeof *layers);
        char(*names)[256] = calloc(LP_IMAGE_MAX_NAMES, 256);
        size_t nnames = 0;
        if (layers == NULL || names == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else {
            for (size_t j = 0; j < img->layers.count; j++)
                layers[j].member = img->layers.items[j];
            for (size_t j = 0; j < img->tags.count; j++)
                add_name(names, &nnames, img->tags.items[j]);
            add_name(names, &nnames, extra);
            rc = import_image(s, file, config, len, NULL, layers, img->layers.count, names, nnames,
                              &res->images[res->count], err, errlen);
            if (rc == 0)
                res->count++;
        }
        free(layers);
        free(names);
        free(config);
    }
    lp_image_docker_manifest_free(&m);
    return rc;
}

static const char *host_arch(void)
{
    static struct utsname u;
    if (uname(&u) != 0)
        return "amd64";
    if (strcmp(u.machine, "x86_64") == 0)
        return "amd64";
    if (strcmp(u.machine, "aarch64") == 0)
        return "arm64";
    return u.machine;
}

static int import_oci_manifest(const struct lp_image_store *s, const char *file,
                               const struct lp_image_descriptor *d, const char *name_hint,
                               const char *extra, struct lp_image_import_result *res, char *err,
                               size_t errlen)
{
    if (res->count >= LP_IMAGE_MAX_PER_ARCHIVE) {
        snprintf(err, errlen, "%s: more than 16 images", file);
        return -1;
    }
    char member[128];
    snprintf(member, sizeof member, "blobs/sha256/%s", d->digest + 7);
    size_t len = 0;
    char *json = read_member(file, member, d->digest, &len, err, errlen);
    if (json == NULL)
        return -1;
    struct lp_image_descriptor config;
    struct lp_image_descriptors layers;
    char why[512];
    if (lp_image_parse_oci_manifest(json, len, &config, &layers, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: manifest %s: %s", file, d->digest, why);
        free(json);
        return -1;
    }
    free(json);
    int rc = -1;
    char cmember[128];
    snprintf(cmember, sizeof cmember, "blobs/sha256/%s", config.digest + 7);
    char *cfg = read_member(file, cmember, config.digest, &len, err, errlen);
    struct layer_ref *refs = calloc(layers.count + 1, sizeof *refs);
    char(*members)[128] = calloc(layers.count + 1, 128);
    char(*names)[256] = calloc(LP_IMAGE_MAX_NAMES, 256);
    size_t nnames = 0;
    if (cfg == NULL || refs == NULL || members == NULL || names == NULL) {
        if (err[0] == '\0')
            snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < layers.count; i++) {
        snprintf(members[i], 128, "blobs/sha256/%s", layers.items[i].digest + 7);
        refs[i].member = members[i];
        refs[i].blob = layers.items[i].digest;
    }
    add_name(names, &nnames, d->image_name);
    add_name(names, &nnames, name_hint);
    /* ref.name is often only a tag ("latest"): a name needs a repository. */
    if (d->ref_name != NULL && (strchr(d->ref_name, ':') || strchr(d->ref_name, '/')))
        add_name(names, &nnames, d->ref_name);
    add_name(names, &nnames, extra);
    rc = import_image(s, file, cfg, len, d->digest, refs, layers.count, names, nnames,
                      &res->images[res->count], err, errlen);
    if (rc == 0)
        res->count++;
out:
    free(cfg);
    free(refs);
    free(members);
    free(names);
    lp_image_descriptor_free(&config);
    lp_image_descriptors_free(&layers);
    return rc;
}

static int import_oci_index(const struct lp_image_store *s, const char *file, const char *member,
                            const char *digest, const char *name_hint, const char *extra, int depth,
                            struct lp_image_import_result *res, char *err, size_t errlen)
{
    size_t len = 0;
    char *json = read_member(file, member, digest, &len, err, errlen);
    if (json == NULL)
        return -1;
    struct lp_image_descriptors list;
    char why[512];
    if (lp_image_parse_oci_index(json, len, &list, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s: %s", file, member, why);
        free(json);
        return -1;
    }
    free(json);
    int rc = 0;
    size_t before = res->count;
    /* In a nested (multi-platform) index only this machine's platform is imported. */
    const char *arch = host_arch();
    for (size_t i = 0; rc == 0 && i < list.count; i++) {
        struct lp_image_descriptor *d = &list.items[i];
        if (depth > 0 && d->arch != NULL && strcmp(d->arch, arch) != 0)
            continue;
        if (depth > 0 && d->os != NULL && strcmp(d->os, "linux") != 0)
            continue;
        const char *hint = d->image_name ? d->image_name : name_hint;
        if (lp_image_media_is_index(d->media_type)) {
            if (depth >= 2) {
                snprintf(err, errlen, "%s: image indexes nested too deep", file);
                rc = -1;
                break;
            }
            char sub[128];
            snprintf(sub, sizeof sub, "blobs/sha256/%s", d->digest + 7);
            rc =
                import_oci_index(s, file, sub, d->digest, hint, extra, depth + 1, res, err, errlen);
        } else if (lp_image_media_is_manifest(d->media_type)) {
            rc = import_oci_manifest(s, file, d, hint, extra, res, err, errlen);
            if (depth > 0)
                break; /* one platform is enough */
        }
    }
    if (rc == 0 && depth == 0 && res->count == before) {
        snprintf(err, errlen, "%s: no image for linux/%s in the layout", file, arch);
        rc = -1;
    }
    lp_image_descriptors_free(&list);
    return rc;
}

int lp_image_import(const struct lp_image_store *s, const char *file, const char *extra_name,
                    struct lp_image_import_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    char norm[256];
    if (extra_name != NULL && lp_image_normalize_name(extra_name, norm, sizeof norm) != 0) {
        snprintf(err, errlen, "\"%s\" is not a valid image name (want repo[:tag])", extra_name);
        return -1;
    }
    bool oci = false;
    if (detect_format(file, &oci, err, errlen) != 0)
        return -1;
    if (!oci)
        return import_docker(s, file, extra_name, out, err, errlen);
    int rc = import_oci_index(s, file, "index.json", NULL, NULL, extra_name, 0, out, err, errlen);
    if (rc == 0 && extra_name != NULL && out->count != 1) {
        snprintf(err, errlen, "%s: --tag needs an archive with exactly one image", file);
        return -1;
    }
    return rc;
}
