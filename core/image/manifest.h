/*
 * The JSON documents of an image archive, parsed strictly (jansson) into plain structs:
 *   - docker-archive (`docker save`): manifest.json, a list of {Config, RepoTags, Layers};
 *   - OCI image layout: index.json (and nested indexes) and image manifests (descriptors);
 *   - the image configuration both formats share (Env, Entrypoint, Cmd, WorkingDir, diff_ids).
 * Every parser takes untrusted bytes and either fills its struct or returns -1 with one line
 * in err; nothing here touches the file system (the fuzz target drives these directly).
 */
#ifndef LP_IMAGE_MANIFEST_H
#define LP_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LP_IMAGE_DIGEST_LEN 71 /* "sha256:" + 64 hex */

struct lp_image_strv {
    char **items;
    size_t count;
};
void lp_image_strv_free(struct lp_image_strv *v);

/* One image of a docker-archive manifest.json. */
struct lp_image_docker_entry {
    char *config;                /* path of the config JSON inside the archive */
    struct lp_image_strv tags;   /* RepoTags, may be empty */
    struct lp_image_strv layers; /* layer tar paths, bottom first */
};

struct lp_image_docker_manifest {
    struct lp_image_docker_entry *images;
    size_t count;
};

int lp_image_parse_docker_manifest(const char *json, size_t len,
                                   struct lp_image_docker_manifest *out, char *err, size_t errlen);
void lp_image_docker_manifest_free(struct lp_image_docker_manifest *m);

/* An OCI content descriptor. */
struct lp_image_descriptor {
    char *media_type;
    char digest[LP_IMAGE_DIGEST_LEN + 1];
    int64_t size;
    char *ref_name;   /* annotations["org.opencontainers.image.ref.name"], or NULL */
    char *image_name; /* annotations["io.containerd.image.name"], or NULL */
    char *os, *arch;  /* platform, or NULL */
};

struct lp_image_descriptors {
    struct lp_image_descriptor *items;
    size_t count;
};

/* index.json or a nested image index: its manifests[]. */
int lp_image_parse_oci_index(const char *json, size_t len, struct lp_image_descriptors *out,
                             char *err, size_t errlen);
/* An image manifest: config descriptor and layer descriptors (bottom first). */
int lp_image_parse_oci_manifest(const char *json, size_t len, struct lp_image_descriptor *config,
                                struct lp_image_descriptors *layers, char *err, size_t errlen);
void lp_image_descriptor_free(struct lp_image_descriptor *d);
void lp_image_descriptors_free(struct lp_image_descriptors *d);

/* True for an OCI or Docker media type naming an index / an image manifest. */
bool lp_image_media_is_index(const char *media_type);
bool lp_image_media_is_manifest(const char *media_type);

/* The runtime part of an image configuration. */
struct lp_image_config {
    struct lp_image_strv env;
    struct lp_image_strv entrypoint;
    struct lp_image_strv cmd;
    char *workdir; /* NULL when unset */
    char *os, *arch;
    struct lp_image_strv diff_ids;
};

int lp_image_parse_config(const char *json, size_t len, struct lp_image_config *out, char *err,
                          size_t errlen);
void lp_image_config_free(struct lp_image_config *c);

/* "sha256:" followed by exactly 64 lowercase hex digits. */
bool lp_image_digest_valid(const char *digest);

#endif
