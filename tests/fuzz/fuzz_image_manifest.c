/* Image archive parsing: docker manifest.json, OCI index and manifest, image config, entry-name
 * cleaning and name normalisation, and a whole layer applied from the input read as a tar into
 * a scratch rootfs. Beyond "never crash", checks that a cleaned name never climbs out (no "..",
 * no leading "/", no empty component) and that applying a layer never writes outside its
 * rootfs. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>

#include "image/fs_tree.h"
#include "image/manifest.h"
#include "image/store.h"
#include "image/tar_path.h"
#include "image/unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_clean(const char *name)
{
    char out[256], err[256];
    if (lp_image_clean_path(name, out, sizeof out, err, sizeof err) != 0)
        return;
    if (out[0] == '/' || strstr(out, "//") != NULL)
        abort();
    for (const char *p = out; *p;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || (len == 2 && p[0] == '.' && p[1] == '.') || (len == 1 && p[0] == '.'))
            abort();
        p += len + (end != NULL);
    }
}

static char scratch[64];

static void remove_scratch(void)
{
    lp_fs_remove_tree(scratch);
}

static void apply_as_layer(const uint8_t *data, size_t size)
{
    if (scratch[0] == '\0') {
        strcpy(scratch, "/tmp/lp-fuzz-image-XXXXXX");
        if (mkdtemp(scratch) == NULL)
            abort();
        char root[96];
        snprintf(root, sizeof root, "%s/root", scratch);
        mkdir(root, 0755);
        atexit(remove_scratch);
    }
    char root[96], canary[96];
    snprintf(root, sizeof root, "%s/root", scratch);
    snprintf(canary, sizeof canary, "%s/outside", scratch);
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        abort();
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_memory(a, data, size) == ARCHIVE_OK) {
        struct lp_image_unpack_stats st = {.max_bytes = 1 << 20};
        char err[512];
        (void)lp_image_apply_layer(fd, a, &st, err, sizeof err);
    }
    archive_read_free(a);
    /* Whatever the layer held, the only thing beside root/ is root/ itself. */
    if (access(canary, F_OK) == 0)
        abort();
    lp_fs_empty_dir_at(fd);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    char err[512];

    struct lp_image_docker_manifest dm;
    if (lp_image_parse_docker_manifest(json, size, &dm, err, sizeof err) == 0) {
        for (size_t i = 0; i < dm.count; i++) {
            check_clean(dm.images[i].config);
            for (size_t j = 0; j < dm.images[i].layers.count; j++)
                check_clean(dm.images[i].layers.items[j]);
        }
        lp_image_docker_manifest_free(&dm);
    }
    struct lp_image_descriptors list;
    if (lp_image_parse_oci_index(json, size, &list, err, sizeof err) == 0) {
        for (size_t i = 0; i < list.count; i++)
            if (!lp_image_digest_valid(list.items[i].digest))
                abort();
        lp_image_descriptors_free(&list);
    }
    struct lp_image_descriptor cfg;
    if (lp_image_parse_oci_manifest(json, size, &cfg, &list, err, sizeof err) == 0) {
        lp_image_descriptor_free(&cfg);
        lp_image_descriptors_free(&list);
    }
    struct lp_image_config ic;
    if (lp_image_parse_config(json, size, &ic, err, sizeof err) == 0)
        lp_image_config_free(&ic);

    char *name = malloc(size + 1);
    if (name == NULL)
        return 0;
    memcpy(name, data, size);
    name[size] = '\0';
    check_clean(name);
    char norm[256];
    if (lp_image_normalize_name(name, norm, sizeof norm) == 0 &&
        (norm[0] == '/' || norm[0] == '.' || strstr(norm, "//") || strstr(norm, "/.")))
        abort();
    free(name);

    if (size >= 512)
        apply_as_layer(data, size);
    return 0;
}
