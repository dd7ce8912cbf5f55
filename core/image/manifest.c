#include "image/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Caps on what one document may declare: far above real images, low enough that a hostile
 * archive cannot make us allocate without bound. */
#define MAX_LIST_ITEMS 4096
#define MAX_STRING     65536

static void set_err(char *err, size_t errlen, const char *fmt, const char *what)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, fmt, what);
}

void lp_image_strv_free(struct lp_image_strv *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->count; i++)
        free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->count = 0;
}

bool lp_image_digest_valid(const char *digest)
{
    if (digest == NULL || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 71)
        return false;
    for (const char *p = digest + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

static json_t *load(const char *json, size_t len, char *err, size_t errlen, const char *what)
{
    json_error_t jerr;
    /* JSON_REJECT_DUPLICATES: two "Layers" keys would let two readers see two images. */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s is not valid JSON (line %d: %s)", what, jerr.line, jerr.text);
    }
    return root;
}

/* A string member, NUL-free and bounded; NULL with err when missing and required. */
static int get_string(json_t *obj, const char *key, bool required, char **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required) {
            set_err(err, errlen, "missing \"%s\"", key);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        set_err(err, errlen, "\"%s\" is not a string", key);
        return -1;
    }
    size_t n = json_string_length(v);
    if (n > MAX_STRING || memchr(json_string_value(v), '\0', n) != NULL) {
        set_err(err, errlen, "\"%s\" is too long or contains NUL", key);
        return -1;
    }
    *out = strdup(json_string_value(v));
    return *out == NULL ? -1 : 0;
}

static int get_strv(json_t *obj, const char *key, struct lp_image_strv *out, char *err,
                    size_t errlen)
{
    out->items = NULL;
    out->count = 0;
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) > MAX_LIST_ITEMS) {
        set_err(err, errlen, "\"%s\" is not a list of at most 4096 strings", key);
        return -1;
    }
    size_t n = json_array_size(v);
    if (n == 0)
        return 0;
    out->items = calloc(n, sizeof *out->items);
    if (out->items == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || json_string_length(s) > MAX_STRING ||
            memchr(json_string_value(s), '\0', json_string_length(s)) != NULL) {
            set_err(err, errlen, "\"%s\" holds something other than a plain string", key);
            lp_image_strv_free(out);
            return -1;
        }
        out->items[i] = strdup(json_string_value(s));
        if (out->items[i] == NULL) {
            lp_image_strv_free(out);
            return -1;
        }
        out->count = i + 1;
    }
    return 0;
}

int lp_image_parse_docker_manifest(const char *json, size_t len,
                                   struct lp_image_docker_manifest *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *root = load(json, len, err, errlen, "manifest.json");
    if (root == NULL)
        return -1;
    int rc = -1;
    size_t n = json_is_array(root) ? json_array_size(root) : 0;
    if (n == 0 || n > MAX_LIST_ITEMS) {
        set_err(err, errlen, "%s is not a non-empty list of images", "manifest.json");
        goto done;
    }
    out->images = calloc(n, sizeof *out->images);
    if (out->images == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(root, i);
        struct lp_image_docker_entry *img = &out->images[i];
        out->count = i + 1;
        if (!json_is_object(e)) {
            set_err(err, errlen, "%s: an image entry is not an object", "manifest.json");
            goto done;
        }
        if (get_string(e, "Config", true, &img->config, err, errlen) != 0 ||
            get_strv(e, "RepoTags", &img->tags, err, errlen) != 0 ||
            get_strv(e, "Layers", &img->layers, err, errlen) != 0)
            goto done;
    }
    rc = 0;
done:
    json_decref(root);
    if (rc != 0)
        lp_image_docker_manifest_free(out);
    return rc;
}

void lp_image_docker_manifest_free(struct lp_image_docker_manifest *m)
{
    for (size_t i = 0; i < m->count; i++) {
        free(m->images[i].config);
        lp_image_strv_free(&m->images[i].tags);
        lp_image_strv_free(&m->images[i].layers);
    }
    free(m->images);
    m->images = NULL;
    m->count = 0;
}

void lp_image_descriptor_free(struct lp_image_descriptor *d)
{
    free(d->media_type);
    free(d->ref_name);
    free(d->image_name);
    free(d->os);
    free(d->arch);
    memset(d, 0, sizeof *d);
}

void lp_image_descriptors_free(struct lp_image_descriptors *d)
{
    for (size_t i = 0; i < d->count; i++)
        lp_image_descriptor_free(&d->items[i]);
    free(d->items);
    d->items = NULL;
    d->count = 0;
}

static int parse_descriptor(json_t *o, struct lp_image_descriptor *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (!json_is_object(o)) {
        set_err(err, errlen, "%s", "a descriptor is not an object");
        return -1;
    }
    char *digest = NULL;
    if (get_string(o, "mediaType", false, &d->media_type, err, errlen) != 0 ||
        get_string(o, "digest", true, &digest, err, errlen) != 0)
        goto fail;
    if (!lp_image_digest_valid(digest)) {
        set_err(err, errlen, "unsupported digest \"%.80s\" (want sha256:<64 hex>)", digest);
        goto fail;
    }
    memcpy(d->digest, digest, LP_IMAGE_DIGEST_LEN + 1);
    free(digest);
    digest = NULL;
    json_t *size = json_object_get(o, "size");
    if (size != NULL && (!json_is_integer(size) || json_integer_value(size) < 0)) {
        set_err(err, errlen, "%s", "a descriptor's size is not a non-negative integer");
        goto fail;
    }
    d->size = size != NULL ? (int64_t)json_integer_value(size) : -1;
    json_t *ann = json_object_get(o, "annotations");
    if (ann != NULL && json_is_object(ann)) {
        if (get_string(ann, "org.opencontainers.image.ref.name", false, &d->ref_name, err,
                       errlen) != 0 ||
            get_string(ann, "io.containerd.image.name", false, &d->image_name, err, errlen) != 0)
            goto fail;
    }
    json_t *platform = json_object_get(o, "platform");
    if (platform != NULL && json_is_object(platform)) {
        if (get_string(platform, "os", false, &d->os, err, errlen) != 0 ||
            get_string(platform, "architecture", false, &d->arch, err, errlen) != 0)
            goto fail;
    }
    return 0;
fail:
    free(digest);
    lp_image_descriptor_free(d);
    return -1;
}

static int parse_descriptor_list(json_t *root, const char *key, struct lp_image_descriptors *out,
                                 char *err, size_t errlen)
{
    json_t *list = json_object_get(root, key);
    size_t n = json_is_array(list) ? json_array_size(list) : 0;
    if (!json_is_array(list) || n > MAX_LIST_ITEMS) {
        set_err(err, errlen, "\"%s\" is not a list of descriptors", key);
        return -1;
    }
    if (n == 0)
        return 0;
    out->items = calloc(n, sizeof *out->items);
    if (out->items == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (parse_descriptor(json_array_get(list, i), &out->items[i], err, errlen) != 0) {
            lp_image_descriptors_free(out);
            return -1;
        }
        out->count = i + 1;
    }
    return 0;
}

static int check_schema_version(json_t *root, const char *what, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, "schemaVersion");
    if (!json_is_integer(v) || json_integer_value(v) != 2) {
        set_err(err, errlen, "%s: schemaVersion is not 2", what);
        return -1;
    }
    return 0;
}

int lp_image_parse_oci_index(const char *json, size_t len, struct lp_image_descriptors *out,
                             char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *root = load(json, len, err, errlen, "image index");
    if (root == NULL)
        return -1;
    int rc = -1;
    if (!json_is_object(root)) {
        set_err(err, errlen, "%s is not an object", "image index");
        goto done;
    }
    if (check_schema_version(root, "image index", err, errlen) != 0)
        goto done;
    rc = parse_descriptor_list(root, "manifests", out, err, errlen);
done:
    json_decref(root);
    return rc;
}

int lp_image_parse_oci_manifest(const char *json, size_t len, struct lp_image_descriptor *config,
                                struct lp_image_descriptors *layers, char *err, size_t errlen)
{
    memset(config, 0, sizeof *config);
    memset(layers, 0, sizeof *layers);
    json_t *root = load(json, len, err, errlen, "image manifest");
    if (root == NULL)
        return -1;
    int rc = -1;
    if (!json_is_object(root)) {
        set_err(err, errlen, "%s is not an object", "image manifest");
        goto done;
    }
    if (check_schema_version(root, "image manifest", err, errlen) != 0 ||
        parse_descriptor(json_object_get(root, "config"), config, err, errlen) != 0)
        goto done;
    if (parse_descriptor_list(root, "layers", layers, err, errlen) != 0) {
        lp_image_descriptor_free(config);
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

bool lp_image_media_is_index(const char *media_type)
{
    return media_type != NULL &&
           (strcmp(media_type, "application/vnd.oci.image.index.v1+json") == 0 ||
            strcmp(media_type, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

bool lp_image_media_is_manifest(const char *media_type)
{
    /* A descriptor without a mediaType is taken as a manifest: old tools omit it. */
    return media_type == NULL ||
           strcmp(media_type, "application/vnd.oci.image.manifest.v1+json") == 0 ||
           strcmp(media_type, "application/vnd.docker.distribution.manifest.v2+json") == 0;
}

int lp_image_parse_config(const char *json, size_t len, struct lp_image_config *out, char *err,
                          size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *root = load(json, len, err, errlen, "image config");
    if (root == NULL)
        return -1;
    int rc = -1;
    if (!json_is_object(root)) {
        set_err(err, errlen, "%s is not an object", "image config");
        goto done;
    }
    if (get_string(root, "os", false, &out->os, err, errlen) != 0 ||
        get_string(root, "architecture", false, &out->arch, err, errlen) != 0)
        goto fail;
    json_t *cfg = json_object_get(root, "config");
    if (cfg != NULL && !json_is_null(cfg)) {
        if (!json_is_object(cfg)) {
            set_err(err, errlen, "%s: \"config\" is not an object", "image config");
            goto fail;
        }
        if (get_strv(cfg, "Env", &out->env, err, errlen) != 0 ||
            get_strv(cfg, "Entrypoint", &out->entrypoint, err, errlen) != 0 ||
            get_strv(cfg, "Cmd", &out->cmd, err, errlen) != 0 ||
            get_string(cfg, "WorkingDir", false, &out->workdir, err, errlen) != 0)
            goto fail;
    }
    json_t *rootfs = json_object_get(root, "rootfs");
    if (rootfs != NULL && json_is_object(rootfs) &&
        get_strv(rootfs, "diff_ids", &out->diff_ids, err, errlen) != 0)
        goto fail;
    rc = 0;
    goto done;
fail:
    lp_image_config_free(out);
done:
    json_decref(root);
    return rc;
}

void lp_image_config_free(struct lp_image_config *c)
{
    lp_image_strv_free(&c->env);
    lp_image_strv_free(&c->entrypoint);
    lp_image_strv_free(&c->cmd);
    lp_image_strv_free(&c->diff_ids);
    free(c->workdir);
    free(c->os);
    free(c->arch);
    memset(c, 0, sizeof *c);
}
