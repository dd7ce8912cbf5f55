/* The image store: docker-archive and OCI-layout imports built here with libarchive's writer
 * (plain and gzip layers), layer order and whiteouts, names and digests, refusal of path
 * traversal, escaping symlinks and bad digests, device nodes and setuid bits dropped, list and
 * rm, concurrent imports of one image, entry-name cleaning, and the `lilypad image` CLI. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "image/fs_tree.h"
#include "image/store.h"
#include "image/tar_path.h"

static char tmp[64];
static struct lp_image_store store;
static int serial;

/* ---- building archives ------------------------------------------------------------------ */
struct ent {
    const char *name;
    char type; /* f file, d dir, l symlink, h hard link, c char device */
    unsigned mode;
    const char *data; /* file content, or link target */
};

static void add_mem(struct archive *a, const char *name, const void *data, size_t len)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (len > 0)
        assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
    archive_entry_free(e);
}

/* Writes a tar of ents to memory (gzip when asked); returns malloc'd bytes. */
static unsigned char *make_tar(const struct ent *ents, size_t n, bool gzip, size_t *len)
{
    size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip)
        archive_write_add_filter_gzip(a);
    archive_write_set_bytes_in_last_block(a, 1);
    assert_int_equal(archive_write_open_memory(a, buf, cap, len), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, ents[i].name);
        archive_entry_set_perm(e, ents[i].mode ? ents[i].mode : 0644);
        size_t dlen = 0;
        switch (ents[i].type) {
        case 'd':
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, ents[i].mode ? ents[i].mode : 0755);
            break;
        case 'l':
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, ents[i].data);
            break;
        case 'h':
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, ents[i].data);
            break;
        case 'c':
            archive_entry_set_filetype(e, AE_IFCHR);
            archive_entry_set_rdev(e, makedev(1, 3));
            break;
        default:
            archive_entry_set_filetype(e, AE_IFREG);
            dlen = ents[i].data ? strlen(ents[i].data) : 0;
            archive_entry_set_size(e, (la_int64_t)dlen);
        }
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (dlen)
            archive_write_data(a, ents[i].data, dlen);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return buf;
}

static void sha256(const void *data, size_t len, char out[72])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    strcpy(out, "sha256:");
    for (int i = 0; i < 32; i++)
        sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

struct layer {
    const struct ent *ents;
    size_t n;
};

static char *config_json(char diffs[][72], size_t n)
{
    static char cfg[4096];
    int w = snprintf(cfg, sizeof cfg,
                     "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/"
                     "bin\"],\"Cmd\":[\"/bin/sh\"],\"WorkingDir\":\"/w\"},\"rootfs\":{\"type\":"
                     "\"layers\",\"diff_ids\":[");
    for (size_t i = 0; i < n; i++)
        w += snprintf(cfg + w, sizeof cfg - (size_t)w, "%s\"%s\"", i ? "," : "", diffs[i]);
    snprintf(cfg + w, sizeof cfg - (size_t)w, "]},\"serial\":%d}", serial++);
    return cfg;
}

/* A `docker save` archive with the layers (uncompressed, as docker writes them). */
static void docker_archive(const char *path, const struct layer *layers, size_t n, const char *tag,
                           char digest_out[72])
{
    char diffs[8][72], names[8][128];
    unsigned char *blobs[8];
    size_t lens[8];
    for (size_t i = 0; i < n; i++) {
        blobs[i] = make_tar(layers[i].ents, layers[i].n, false, &lens[i]);
        sha256(blobs[i], lens[i], diffs[i]);
        snprintf(names[i], sizeof names[i], "%.16s/layer.tar", diffs[i] + 7);
    }
    const char *cfg = config_json(diffs, n);
    char cdig[72], cname[96], manifest[2048];
    sha256(cfg, strlen(cfg), cdig);
    snprintf(cname, sizeof cname, "%s.json", cdig + 7);
    int w = snprintf(manifest, sizeof manifest,
                     "[{\"Config\":\"%s\",\"RepoTags\":[\"%s\"],"
                     "\"Layers\":[",
                     cname, tag);
    for (size_t i = 0; i < n; i++)
        w +=
            snprintf(manifest + w, sizeof manifest - (size_t)w, "%s\"%s\"", i ? "," : "", names[i]);
    snprintf(manifest + w, sizeof manifest - (size_t)w, "]}]");
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    add_mem(a, "manifest.json", manifest, strlen(manifest));
    add_mem(a, cname, cfg, strlen(cfg));
    for (size_t i = 0; i < n; i++) {
        add_mem(a, names[i], blobs[i], lens[i]);
        free(blobs[i]);
    }
    archive_write_close(a);
    archive_write_free(a);
    if (digest_out)
        strcpy(digest_out, cdig);
}

/* An OCI image layout with gzip layers; bad_layer_digest corrupts the manifest's claim. */
static void oci_archive(const char *path, const struct layer *layers, size_t n, const char *name,
                        bool bad_layer_digest, char cfg_out[72], char manifest_out[72])
{
    char diffs[8][72], blob_digests[8][72];
    unsigned char *blobs[8];
    size_t lens[8];
    for (size_t i = 0; i < n; i++) {
        size_t plain_len;
        unsigned char *plain = make_tar(layers[i].ents, layers[i].n, false, &plain_len);
        sha256(plain, plain_len, diffs[i]);
        free(plain);
        blobs[i] = make_tar(layers[i].ents, layers[i].n, true, &lens[i]);
        sha256(blobs[i], lens[i], blob_digests[i]);
    }
    const char *cfg = config_json(diffs, n);
    char cdig[72], mdig[72], manifest[4096], index[2048];
    sha256(cfg, strlen(cfg), cdig);
    int w = snprintf(manifest, sizeof manifest,
                     "{\"schemaVersion\":2,\"mediaType\":\"application/"
                     "vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/"
                     "vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[",
                     cdig, strlen(cfg));
    for (size_t i = 0; i < n; i++) {
        const char *d = blob_digests[i];
        if (bad_layer_digest)
            d = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        w += snprintf(manifest + w, sizeof manifest - (size_t)w,
                      "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                      "\"digest\":\"%s\",\"size\":%zu}",
                      i ? "," : "", d, lens[i]);
    }
    snprintf(manifest + w, sizeof manifest - (size_t)w, "]}");
    sha256(manifest, strlen(manifest), mdig);
    snprintf(index, sizeof index,
             "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
             "vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,\"annotations\":{"
             "\"io.containerd.image.name\":\"%s\",\"org.opencontainers.image.ref.name\":"
             "\"v1\"}}]}",
             mdig, strlen(manifest), name);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    add_mem(a, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
    add_mem(a, "index.json", index, strlen(index));
    char member[128];
    snprintf(member, sizeof member, "blobs/sha256/%s", mdig + 7);
    add_mem(a, member, manifest, strlen(manifest));
    snprintf(member, sizeof member, "blobs/sha256/%s", cdig + 7);
    add_mem(a, member, cfg, strlen(cfg));
    for (size_t i = 0; i < n; i++) {
        snprintf(member, sizeof member, "blobs/sha256/%s", blob_digests[i] + 7);
        add_mem(a, member, blobs[i], lens[i]);
        free(blobs[i]);
    }
    archive_write_close(a);
    archive_write_free(a);
    if (cfg_out)
        strcpy(cfg_out, cdig);
    if (manifest_out)
        strcpy(manifest_out, mdig);
}

/* ---- helpers -------------------------------------------------------------------------------- */
static int setup(void **state)
{
    (void)state;
    strcpy(tmp, "/tmp/lp-test-image-XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return -1;
    char dir[128], err[256];
    snprintf(dir, sizeof dir, "%s/store", tmp);
    return lp_image_store_open(&store, dir, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    lp_fs_remove_tree(tmp);
    return 0;
}

static const char *tpath(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", tmp, name);
    return buf[i];
}

static int import(const char *file, struct lp_image_import_result *res, char *err, size_t len)
{
    memset(res, 0, sizeof *res);
    err[0] = '\0';
    return lp_image_import(&store, file, NULL, res, err, len);
}

static char *read_text(const char *dir, const char *rel)
{
    static char buf[4096];
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bool exists(const char *dir, const char *rel)
{
    char path[PATH_MAX + 300];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return lstat(path, &st) == 0;
}

/* ---- cases -------------------------------------------------------------------------------- */
static const struct ent base_layer[] = {
    {"bin/", 'd', 0, NULL},
    {"bin/tool", 'f', 0755, "v1"},
    {"etc/", 'd', 0, NULL},
    {"etc/keep", 'f', 0, "keep"},
    {"etc/gone", 'f', 0, "gone"},
    {"var/", 'd', 0, NULL},
    {"var/cache/", 'd', 0, NULL},
    {"var/cache/old1", 'f', 0, "old"},
    {"var/cache/sub/old2", 'f', 0, "old"},
    {"lib", 'l', 0, "usr/lib"},
    {"usr/lib/libx", 'f', 0, "x"},
    {"bin/tool-link", 'h', 0, "bin/tool"},
};
static const struct ent top_layer[] = {
    {"bin/tool", 'f', 0755, "v2"},
    {"etc/.wh.gone", 'f', 0, ""},
    {"var/cache/new-before", 'f', 0, "new"},
    {"var/cache/.wh..wh..opq", 'f', 0, ""},
    {"var/cache/new-after", 'f', 0, "new"},
    {"lib/liby", 'f', 0, "y"}, /* through an in-rootfs symlink: allowed */
};

static void test_docker_archive_layers_and_whiteouts(void **state)
{
    (void)state;
    struct layer layers[] = {{base_layer, 12}, {top_layer, 6}};
    char digest[72], err[512];
    docker_archive(tpath("d.tar"), layers, 2, "example/app:1.0", digest);
    struct lp_image_import_result res;
    if (import(tpath("d.tar"), &res, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(res.count, 1);
    assert_string_equal(res.images[0].digest, digest);
    assert_string_equal(res.images[0].names[0], "example/app:1.0");
    assert_false(res.images[0].cached);

    struct lp_image_info info;
    assert_int_equal(lp_image_resolve(&store, "example/app:1.0", &info, err, sizeof err), 0);
    const char *r = info.rootfs;
    assert_string_equal(read_text(r, "bin/tool"), "v2");
    assert_string_equal(read_text(r, "bin/tool-link"), "v1"); /* linked to the lower file */
    assert_string_equal(read_text(r, "etc/keep"), "keep");
    assert_false(exists(r, "etc/gone"));
    assert_false(exists(r, "etc/.wh.gone"));
    assert_false(exists(r, "var/cache/old1"));
    assert_false(exists(r, "var/cache/sub"));
    assert_true(exists(r, "var/cache/new-before")); /* same layer as the opaque marker */
    assert_true(exists(r, "var/cache/new-after"));
    assert_string_equal(read_text(r, "usr/lib/liby"), "y");
    assert_true(exists(r, "inputs") && exists(r, "outputs") && exists(r, "proc"));
    assert_string_equal(info.config.workdir, "/w");
    assert_string_equal(info.config.cmd.items[0], "/bin/sh");
    lp_image_info_free(&info);

    /* Again: nothing unpacked, same identity; and by digest and prefix. */
    assert_int_equal(import(tpath("d.tar"), &res, err, sizeof err), 0);
    assert_true(res.images[0].cached);
    assert_int_equal(lp_image_resolve(&store, digest, &info, err, sizeof err), 0);
    lp_image_info_free(&info);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%.19s", digest + 7);
    assert_int_equal(lp_image_resolve(&store, prefix, &info, err, sizeof err), 0);
    assert_string_equal(info.digest, digest);
    lp_image_info_free(&info);
    assert_int_equal(lp_image_resolve(&store, "docker.io/example/app:1.0", &info, err, sizeof err),
                     0);
    lp_image_info_free(&info);
    assert_int_not_equal(lp_image_resolve(&store, "example/app", &info, err, sizeof err), 0);
    assert_non_null(strstr(err, "example/app:latest"));
}

static void test_oci_layout_gzip(void **state)
{
    (void)state;
    static const struct ent l1[] = {{"hello.txt", 'f', 0, "hello oci"}};
    struct layer layers[] = {{l1, 1}};
    char cfg[72], man[72], err[512];
    oci_archive(tpath("o.tar"), layers, 1, "registry.example/team/oci:v1", false, cfg, man);
    struct lp_image_import_result res;
    if (import(tpath("o.tar"), &res, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(res.count, 1);
    assert_string_equal(res.images[0].digest, cfg);
    struct lp_image_info info;
    assert_int_equal(
        lp_image_resolve(&store, "registry.example/team/oci:v1", &info, err, sizeof err), 0);
    assert_string_equal(read_text(info.rootfs, "hello.txt"), "hello oci");
    assert_string_equal(info.manifest_digest, man);
    lp_image_info_free(&info);
    /* Pinned by manifest digest, as published modules do. */
    char pinned[160];
    snprintf(pinned, sizeof pinned, "whatever/name:latest@%s", man);
    assert_int_equal(lp_image_resolve(&store, pinned, &info, err, sizeof err), 0);
    assert_string_equal(info.digest, cfg);
    lp_image_info_free(&info);

    /* A manifest whose layer digest lies is refused, and leaves nothing behind. */
    oci_archive(tpath("bad.tar"), layers, 1, "bad/oci:v1", true, cfg, man);
    assert_int_not_equal(import(tpath("bad.tar"), &res, err, sizeof err), 0);
    assert_non_null(strstr(err, "no member")); /* its blob is not where the lie points */
    assert_int_not_equal(lp_image_resolve(&store, cfg, &info, err, sizeof err), 0);
}

static void expect_refused(const struct ent *ents, size_t n, const char *why)
{
    struct layer layers[] = {{ents, n}};
    char err[512], digest[72];
    docker_archive(tpath("evil.tar"), layers, 1, "evil/x:1", digest);
    struct lp_image_import_result res;
    assert_int_not_equal(import(tpath("evil.tar"), &res, err, sizeof err), 0);
    if (strstr(err, why) == NULL)
        fail_msg("expected \"%s\" in: %s", why, err);
    struct lp_image_info info;
    assert_int_not_equal(lp_image_resolve(&store, digest, &info, err, sizeof err), 0);
}

static void test_traversal_refused(void **state)
{
    (void)state;
    char outside[256];
    snprintf(outside, sizeof outside, "%s/outside", tmp);
    mkdir(outside, 0755);
    static const struct ent dotdot[] = {{"a/../../escape", 'f', 0, "x"}};
    expect_refused(dotdot, 1, "..");
    static const struct ent absolute[] = {{"/etc/escape", 'f', 0, "x"}};
    expect_refused(absolute, 1, "absolute");
    struct ent via_link[] = {{"out", 'l', 0, outside}, {"out/pwned", 'f', 0, "x"}};
    expect_refused(via_link, 2, "leaves the rootfs");
    static const struct ent rel_link[] = {{"up", 'l', 0, "../../../../.."},
                                          {"up/pwned", 'f', 0, "x"}};
    expect_refused(rel_link, 2, "leaves the rootfs");
    static const struct ent hard_out[] = {{"h", 'h', 0, "../../../etc/passwd"}};
    expect_refused(hard_out, 1, "outside");
    char probe[300];
    snprintf(probe, sizeof probe, "%s/pwned", outside);
    assert_int_not_equal(access(probe, F_OK), 0);
}

static void test_devices_and_setuid_dropped(void **state)
{
    (void)state;
    static const struct ent ents[] = {{"dev/", 'd', 0, NULL},
                                      {"dev/null", 'c', 0666, NULL},
                                      {"bin/su", 'f', 04755, "su"},
                                      {"bin/sg", 'f', 02755, "sg"}};
    struct layer layers[] = {{ents, 4}};
    char err[512];
    docker_archive(tpath("suid.tar"), layers, 1, "suid/x:1", NULL);
    struct lp_image_import_result res;
    if (import(tpath("suid.tar"), &res, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(res.images[0].stats.devices_refused, 1);
    assert_int_equal(res.images[0].stats.setid_stripped, 2);
    struct lp_image_info info;
    assert_int_equal(lp_image_resolve(&store, "suid/x:1", &info, err, sizeof err), 0);
    assert_false(exists(info.rootfs, "dev/null"));
    char path[PATH_MAX + 16];
    struct stat st;
    snprintf(path, sizeof path, "%s/bin/su", info.rootfs);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    snprintf(path, sizeof path, "%s/bin/sg", info.rootfs);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    lp_image_info_free(&info);
}

static void test_bad_archives(void **state)
{
    (void)state;
    char err[512];
    struct lp_image_import_result res;
    FILE *f = fopen(tpath("junk.tar"), "w");
    fputs("this is not a tar file at all", f);
    fclose(f);
    assert_int_not_equal(import(tpath("junk.tar"), &res, err, sizeof err), 0);
    assert_true(strlen(err) > 0);
    assert_int_not_equal(import(tpath("missing.tar"), &res, err, sizeof err), 0);
    assert_non_null(strstr(err, "missing.tar"));
    /* A tar that is neither format. */
    static const struct ent other[] = {{"README", 'f', 0, "hi"}};
    size_t len;
    unsigned char *b = make_tar(other, 1, false, &len);
    f = fopen(tpath("other.tar"), "w");
    fwrite(b, 1, len, f);
    fclose(f);
    free(b);
    assert_int_not_equal(import(tpath("other.tar"), &res, err, sizeof err), 0);
    assert_non_null(strstr(err, "neither a docker-archive"));
}

static int count_rows;
static void count_row(void *arg, const char *name, const struct lp_image_info *info)
{
    (void)info;
    if (name != NULL && strcmp(name, (const char *)arg) == 0)
        count_rows++;
}

static void test_list_and_remove(void **state)
{
    (void)state;
    static const struct ent l1[] = {{"f", 'f', 0, "list"}};
    struct layer layers[] = {{l1, 1}};
    char digest[72], err[512];
    docker_archive(tpath("l.tar"), layers, 1, "list/me:1", digest);
    struct lp_image_import_result res;
    assert_int_equal(import(tpath("l.tar"), &res, err, sizeof err), 0);
    assert_int_equal(lp_image_import(&store, tpath("l.tar"), "list/alias:2", &res, err, sizeof err),
                     0);
    count_rows = 0;
    assert_int_equal(lp_image_list(&store, count_row, "list/me:1", err, sizeof err), 0);
    assert_int_equal(count_rows, 1);
    struct lp_image_info info;
    assert_int_equal(lp_image_resolve(&store, "list/me:1", &info, err, sizeof err), 0);
    char rootfs[PATH_MAX];
    strcpy(rootfs, info.rootfs);
    lp_image_info_free(&info);
    /* Dropping one of two names keeps the image. */
    assert_int_equal(lp_image_remove(&store, "list/me:1", err, sizeof err), 0);
    assert_int_not_equal(lp_image_resolve(&store, "list/me:1", &info, err, sizeof err), 0);
    assert_int_equal(access(rootfs, F_OK), 0);
    /* The last name takes the image along. */
    assert_int_equal(lp_image_remove(&store, "list/alias:2", err, sizeof err), 0);
    assert_int_not_equal(access(rootfs, F_OK), 0);
    assert_int_not_equal(lp_image_resolve(&store, digest, &info, err, sizeof err), 0);
    assert_int_not_equal(lp_image_remove(&store, "list/alias:2", err, sizeof err), 0);
    assert_non_null(strstr(err, "not in the store"));
}

static void test_concurrent_imports(void **state)
{
    (void)state;
    static const struct ent l1[] = {{"data/a", 'f', 0, "concurrent"}, {"data/b", 'f', 0, "b"}};
    struct layer layers[] = {{l1, 2}};
    char digest[72], err[512];
    docker_archive(tpath("c.tar"), layers, 1, "race/x:1", digest);
    enum { N = 4 };
    pid_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            struct lp_image_import_result *res = calloc(1, sizeof *res);
            char e[512];
            _exit(lp_image_import(&store, tpath("c.tar"), NULL, res, e, sizeof e) == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < N; i++) {
        int st;
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    struct lp_image_info info;
    assert_int_equal(lp_image_resolve(&store, "race/x:1", &info, err, sizeof err), 0);
    assert_string_equal(read_text(info.rootfs, "data/a"), "concurrent");
    lp_image_info_free(&info);
    /* Nothing left in tmp/ */
    char tmpdir[PATH_MAX + 8];
    snprintf(tmpdir, sizeof tmpdir, "%s/tmp", store.dir);
    uint64_t bytes, entries;
    assert_int_equal(lp_fs_tree_usage(tmpdir, &bytes, &entries), 0);
    assert_int_equal(entries, 0);
}

static void test_clean_path(void **state)
{
    (void)state;
    char out[64], err[256];
    assert_int_equal(lp_image_clean_path("./a//b/./c/", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "a/b/c");
    assert_int_equal(lp_image_clean_path("./", out, sizeof out, err, sizeof err), 1);
    assert_int_equal(lp_image_clean_path(".", out, sizeof out, err, sizeof err), 1);
    assert_int_equal(lp_image_clean_path("a/..", out, sizeof out, err, sizeof err), -1);
    assert_int_equal(lp_image_clean_path("..a/b..", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "..a/b..");
    assert_int_equal(lp_image_clean_path("/abs", out, sizeof out, err, sizeof err), -1);
    assert_int_equal(lp_image_clean_path("x", out, 1, err, sizeof err), -1);
    char norm[64];
    assert_int_equal(lp_image_normalize_name("busybox", norm, sizeof norm), 0);
    assert_string_equal(norm, "busybox:latest");
    assert_int_equal(lp_image_normalize_name("docker.io/library/busybox:1.36", norm, sizeof norm),
                     0);
    assert_string_equal(norm, "busybox:1.36");
    assert_int_equal(lp_image_normalize_name("localhost:5000/x", norm, sizeof norm), 0);
    assert_string_equal(norm, "localhost:5000/x:latest");
    assert_int_equal(lp_image_normalize_name("../x", norm, sizeof norm), -1);
    assert_int_equal(lp_image_normalize_name("a b", norm, sizeof norm), -1);
    assert_int_equal(lp_image_normalize_name("a//b", norm, sizeof norm), -1);
}

/* `lilypad image import|list|inspect|rm` on a generated archive. */
static void test_cli(void **state)
{
    (void)state;
    static const struct ent l1[] = {{"f", 'f', 0, "cli"}};
    struct layer layers[] = {{l1, 1}};
    char digest[72];
    docker_archive(tpath("cli.tar"), layers, 1, "cli/img:3", digest);
    char cmd[1024], out[4096];
    const char *sub[] = {"import '%s/cli.tar' --tag cli/other",
                         "list",
                         "inspect cli/img:3",
                         "rm cli/img:3 cli/other",
                         "list",
                         "rm cli/img:3",
                         "bogus",
                         "import"};
    const int want[] = {0, 0, 0, 0, 0, 1, 2, 2};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        char args[512];
        snprintf(args, sizeof args, sub[i], tmp);
        snprintf(cmd, sizeof cmd, "'%s/bin/lilypad' image %s --store '%s/cli-store' 2>&1",
                 LP_BINARY_DIR, args, tmp);
        FILE *p = popen(cmd, "r");
        size_t n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        int st = pclose(p);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != want[i])
            fail_msg("lilypad image %s: exit %d, want %d:\n%s", args, WEXITSTATUS(st), want[i],
                     out);
        if (i == 0)
            assert_non_null(strstr(out, digest));
        if (i == 1)
            assert_true(strstr(out, "cli/img:3") && strstr(out, "cli/other:latest"));
        if (i == 2)
            assert_non_null(strstr(out, "workdir: /w"));
        if (i == 4)
            assert_null(strstr(out, "cli/img"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_archive_layers_and_whiteouts),
        cmocka_unit_test(test_oci_layout_gzip),
        cmocka_unit_test(test_traversal_refused),
        cmocka_unit_test(test_devices_and_setuid_dropped),
        cmocka_unit_test(test_bad_archives),
        cmocka_unit_test(test_list_and_remove),
        cmocka_unit_test(test_concurrent_imports),
        cmocka_unit_test(test_clean_path),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
