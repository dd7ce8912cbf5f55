/* Makes a job's image present: inspect, pull by the pull policy (with registry credentials when
 * configured), or load it from the image_archives folder; a pinned digest is checked. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "docker.h"

void dk_image_archive_name(const char *image, char *out, size_t cap)
{
    size_t i = 0;
    for (; image[i] != '\0' && i + 5 < cap; i++)
        out[i] = strchr("/:@", image[i]) ? '_' : image[i];
    snprintf(out + i, cap - i, ".tar");
}

/* 1 present, 0 absent, -1 on failure (why in err); *has_digest when `digest` is among its
 * RepoDigests. */
static int inspect(struct lp_docker *d, const char *image, const char *digest, bool *has_digest,
                   char *err, size_t errlen)
{
    char name[768], path[1024];
    if (dk_escape(image, name, sizeof name) != 0) {
        snprintf(err, errlen, "image name too long: %.80s...", image);
        return -1;
    }
    snprintf(path, sizeof path, "/images/%s/json", name);
    struct dk_request rq = {.method = "GET", .path = path, .timeout_ms = 30000};
    struct dk_response r;
    if (dk_call(&d->engine, &rq, &r, err, errlen) != 0)
        return -1;
    int rc;
    if (r.status == 404) {
        dk_response_error(&r, err, errlen);
        rc = 0;
    } else if (r.status != 200) {
        char why[1024];
        dk_response_error(&r, why, sizeof why);
        snprintf(err, errlen, "inspecting image %s: %s", image, why);
        rc = -1;
    } else {
        rc = 1;
        *has_digest = false;
        if (digest != NULL)
            dk_parse_image_has_digest(r.body.data, r.body.len, digest, has_digest);
    }
    dk_response_free(&r);
    return rc;
}

/* The registry an image reference names: its first component when that looks like a host
 * (has a dot or a port, or is localhost), else Docker Hub. */
static void image_registry(const char *image, char *out, size_t cap)
{
    const char *slash = strchr(image, '/');
    size_t n = slash ? (size_t)(slash - image) : 0;
    if (slash != NULL && (memchr(image, '.', n) || memchr(image, ':', n) ||
                          (n == 9 && strncmp(image, "localhost", 9) == 0)))
        snprintf(out, cap, "%.*s", (int)n, image);
    else
        snprintf(out, cap, "docker.io");
}

/* The configured registry without scheme and path, Docker Hub's aliases as docker.io. */
static void normal_registry(const char *configured, char *out, size_t cap)
{
    const char *s = configured;
    if (strncmp(s, "https://", 8) == 0)
        s += 8;
    else if (strncmp(s, "http://", 7) == 0)
        s += 7;
    size_t n = strcspn(s, "/");
    snprintf(out, cap, "%.*s", (int)n, s);
    if (strcmp(out, "index.docker.io") == 0 || strcmp(out, "registry-1.docker.io") == 0)
        snprintf(out, cap, "docker.io");
}

/* "X-Registry-Auth: <base64url of {username, password, serveraddress}>" when credentials are
 * configured for the image's registry; NULL otherwise. The caller frees it with
 * free_auth_header (which wipes the password's trace). */
static char *auth_header(const struct lp_docker *d, const char *image)
{
    const struct lp_docker_config *c = &d->cfg;
    if (c->registry_username[0] == '\0')
        return NULL;
    char want[256], have[256];
    image_registry(image, have, sizeof have);
    if (c->registry[0] != '\0') {
        normal_registry(c->registry, want, sizeof want);
        if (strcmp(want, have) != 0)
            return NULL; /* the credentials are for another registry */
    }
    json_t *auth =
        json_pack("{s:s, s:s, s:s}", "username", c->registry_username, "password",
                  c->registry_password, "serveraddress", c->registry[0] ? c->registry : have);
    char *text = auth ? json_dumps(auth, JSON_COMPACT) : NULL;
    json_decref(auth);
    if (text == NULL)
        return NULL;
    size_t len = strlen(text);
    static const char prefix[] = "X-Registry-Auth: ";
    char *header = malloc(sizeof prefix + 4 * (len / 3 + 2));
    if (header != NULL) {
        memcpy(header, prefix, sizeof prefix - 1);
        unsigned char *b64 = (unsigned char *)header + sizeof prefix - 1;
        int n = EVP_EncodeBlock(b64, (const unsigned char *)text, (int)len);
        /* The engine wants base64url: the URL-safe alphabet, padding kept. */
        for (int i = 0; i < n; i++)
            b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
        b64[n] = '\0';
    }
    explicit_bzero(text, len);
    free(text);
    return header;
}

static void free_auth_header(char *header)
{
    if (header != NULL) {
        explicit_bzero(header, strlen(header));
        free(header);
    }
}

static int progress_sink(void *arg, const char *data, size_t len)
{
    dk_progress_feed(arg, data, len);
    return 0;
}

/* POST /images/create for the reference; 0, or -1 with the engine's reason in err. */
static int pull(struct lp_docker *d, const char *image, dk_abort_fn aborted, void *abort_arg,
                char *err, size_t errlen)
{
    char repo[512], tag[256], q_repo[1024], q_tag[600], path[2048];
    const char *at = strchr(image, '@');
    if (at != NULL) {
        /* A digest pin: the whole reference, so exactly that manifest is pulled. */
        snprintf(repo, sizeof repo, "%s", image);
        tag[0] = '\0';
    } else {
        const char *colon = strrchr(image, ':');
        const char *slash = strrchr(image, '/');
        if (colon != NULL && (slash == NULL || colon > slash)) {
            snprintf(repo, sizeof repo, "%.*s", (int)(colon - image), image);
            snprintf(tag, sizeof tag, "%s", colon + 1);
        } else {
            /* Without a tag the engine would pull every tag of the repository. */
            snprintf(repo, sizeof repo, "%s", image);
            snprintf(tag, sizeof tag, "latest");
        }
    }
    if (dk_escape(repo, q_repo, sizeof q_repo) != 0 || dk_escape(tag, q_tag, sizeof q_tag) != 0) {
        snprintf(err, errlen, "image name too long: %.80s...", image);
        return -1;
    }
    if (tag[0] != '\0')
        snprintf(path, sizeof path, "/images/create?fromImage=%s&tag=%s", q_repo, q_tag);
    else
        snprintf(path, sizeof path, "/images/create?fromImage=%s", q_repo);
    char *auth = auth_header(d, image);
    struct dk_progress progress = {0};
    struct dk_request rq = {.method = "POST",
                            .path = path,
                            .extra_header = auth,
                            .sink = progress_sink,
                            .sink_arg = &progress,
                            .aborted = aborted,
                            .abort_arg = abort_arg};
    struct dk_response r;
    int rc = dk_call(&d->engine, &rq, &r, err, errlen);
    free_auth_header(auth);
    dk_progress_finish(&progress);
    if (rc == 0 && (r.status < 200 || r.status >= 300)) {
        dk_response_error(&r, err, errlen);
        rc = -1;
    } else if (rc == 0 && progress.failed) {
        /* The engine said 200, then failed inside the stream. */
        snprintf(err, errlen, "%s", progress.error);
        rc = -1;
    }
    dk_progress_free(&progress);
    dk_response_free(&r);
    return rc;
}

/* POST /images/load of <image_archives>/<name>.tar. 1 loaded, 0 no archive, -1 failed. */
static int load_archive(struct lp_docker *d, const char *image, dk_abort_fn aborted,
                        void *abort_arg, char *file, size_t file_cap, char *err, size_t errlen)
{
    if (d->cfg.image_archives[0] == '\0')
        return 0;
    char name[600];
    dk_image_archive_name(image, name, sizeof name);
    snprintf(file, file_cap, "%s/%s", d->cfg.image_archives, name);
    if (access(file, R_OK) != 0)
        return 0;
    struct dk_progress progress = {0};
    struct dk_request rq = {.method = "POST",
                            .path = "/images/load?quiet=1",
                            .content_type = "application/x-tar",
                            .upload_file = file,
                            .sink = progress_sink,
                            .sink_arg = &progress,
                            .aborted = aborted,
                            .abort_arg = abort_arg};
    struct dk_response r;
    int rc = dk_call(&d->engine, &rq, &r, err, errlen) == 0 ? 1 : -1;
    dk_progress_finish(&progress);
    if (rc == 1 && (r.status < 200 || r.status >= 300)) {
        char why[1024];
        dk_response_error(&r, why, sizeof why);
        snprintf(err, errlen, "loading %s: %s", file, why);
        rc = -1;
    } else if (rc == 1 && progress.failed) {
        snprintf(err, errlen, "loading %s: %s", file, progress.error);
        rc = -1;
    }
    dk_progress_free(&progress);
    dk_response_free(&r);
    return rc;
}

int dk_image_ensure(struct lp_docker *d, const char *image, dk_abort_fn aborted, void *abort_arg,
                    char *err, size_t errlen)
{
    const char *at = strchr(image, '@');
    const char *digest = at ? at + 1 : NULL;
    const char *policy = d->cfg.pull;
    bool verified = false;
    char why[1024] = ""; /* an engine's reason can name long references twice */
    int present = 0;
    if (strcmp(policy, "always") != 0) {
        present = inspect(d, image, digest, &verified, why, sizeof why);
        if (present < 0) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
    }
    bool pulled = false;
    if (present == 0 && strcmp(policy, "never") != 0) {
        if (pull(d, image, aborted, abort_arg, why, sizeof why) == 0)
            pulled = true;
        else if (aborted != NULL && aborted(abort_arg)) {
            snprintf(err, errlen, "pulling image %s: stopped", image);
            return -1;
        } else if (strcmp(policy, "always") == 0) {
            /* Not "not found": the image may well be here, the policy wants it fresh. */
            snprintf(err, errlen, "image %s: pull failed (pull = \"always\"): %s", image, why);
            return -1;
        }
    }
    char file[1024] = "";
    if (present == 0 && !pulled) {
        char load_err[1024];
        int loaded = load_archive(d, image, aborted, abort_arg, file, sizeof file, load_err,
                                  sizeof load_err);
        if (loaded < 0) {
            snprintf(err, errlen, "image %s not found: %s", image, load_err);
            return -1;
        }
        if (loaded == 0) {
            snprintf(err, errlen, "image %s not found: %s%s", image, why,
                     d->cfg.image_archives[0]
                         ? " (and no archive of it in image_archives)"
                         : (strcmp(policy, "never") == 0 ? " (pull = \"never\")" : ""));
            return -1;
        }
    }
    if (present == 0) {
        char again[1024];
        present = inspect(d, image, digest, &verified, again, sizeof again);
        if (present <= 0) {
            if (file[0] != '\0')
                snprintf(err, errlen, "image %s not found: the archive %s holds no such image",
                         image, file);
            else
                snprintf(err, errlen, "image %s not found after the pull: %s", image, again);
            return -1;
        }
    }
    if (digest != NULL && !verified) {
        snprintf(err, errlen,
                 "image %s: the engine does not list digest %s among its RepoDigests, so the "
                 "pin cannot be verified%s",
                 image, digest, file[0] ? " (images loaded from archives carry no digest)" : "");
        return -1;
    }
    return 0;
}
