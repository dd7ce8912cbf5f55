/* The engine client: one HTTP request over the unix socket with libcurl, the error text of a
 * failed one, and the version and engine probe (/_ping, /version, /info, /networks).
 * Every request uses its own curl handle, so any thread may make one at any time. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "docker.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int dk_engine_socket(const char *configured, char *out, size_t cap, char *err, size_t errlen)
{
    const char *path = configured;
    const char *env = getenv("DOCKER_HOST");
    if (strcmp(configured, "/var/run/docker.sock") == 0 && env != NULL && *env != '\0') {
        if (strncmp(env, "unix://", 7) != 0) {
            snprintf(err, errlen,
                     "DOCKER_HOST=%s is not a unix socket: this plugin talks to the engine only "
                     "over unix://PATH (set executor.docker.socket, or unset DOCKER_HOST)",
                     env);
            return -1;
        }
        path = env + 7;
    }
    if (path[0] != '/' || strlen(path) >= cap) {
        snprintf(err, errlen, "socket \"%s\": expected an absolute path of at most %zu bytes", path,
                 cap - 1);
        return -1;
    }
    snprintf(out, cap, "%s", path);
    return 0;
}

struct transfer {
    CURL *curl;
    const struct dk_request *rq;
    struct dk_response *resp;
    bool sink_stopped;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (t->rq->sink != NULL && status >= 200 && status < 300) {
        if (t->rq->sink(t->rq->sink_arg, data, len) != 0) {
            t->sink_stopped = true;
            return 0; /* curl ends the transfer: the receiver wants no more */
        }
        return len;
    }
    /* Error bodies, and bodies nobody streams, are kept; no reply here is large. */
    if (t->resp->body.len + len > (64u << 20) || dk_buf_append(&t->resp->body, data, len) != 0)
        return 0;
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct dk_response *r = arg;
    size_t len = size * n;
    static const char name[] = "api-version:";
    if (len > sizeof name && strncasecmp(data, name, sizeof name - 1) == 0) {
        const char *v = data + sizeof name - 1;
        size_t vlen = len - (sizeof name - 1);
        while (vlen > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        if (vlen < sizeof r->api_version) {
            memcpy(r->api_version, v, vlen);
            r->api_version[vlen] = '\0';
        }
    }
    return len;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    struct transfer *t = arg;
    if (t->rq->aborted != NULL && t->rq->aborted(t->rq->abort_arg)) {
        t->resp->aborted = true;
        return 1;
    }
    return 0;
}

static size_t on_upload(char *buf, size_t size, size_t n, void *arg)
{
    return fread(buf, size, n, (FILE *)arg);
}

int dk_call(struct dk_engine *e, const struct dk_request *rq, struct dk_response *out, char *err,
            size_t errlen)
{
    pthread_once(&curl_once, curl_init_once);
    memset(out, 0, sizeof *out);
    char url[2048];
    int api = e->api_minor ? e->api_minor : DK_API_OLDEST;
    if (rq->unversioned)
        snprintf(url, sizeof url, "http://localhost%s", rq->path);
    else
        snprintf(url, sizeof url, "http://localhost/v1.%d%s", api, rq->path);
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(err, errlen, "cannot make a curl handle (out of memory)");
        return -1;
    }
    struct transfer t = {.curl = curl, .rq = rq, .resp = out};
    struct curl_slist *headers = NULL;
    FILE *upload = NULL;
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, e->socket);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, rq->method);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    if (rq->timeout_ms > 0)
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    if (rq->aborted != NULL) {
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
    }
    /* An empty Expect: the engine answers at once; curl would otherwise wait a second for a
     * "100 Continue" before a large body. */
    headers = curl_slist_append(headers, "Expect:");
    if (rq->content_type != NULL) {
        char line[128];
        snprintf(line, sizeof line, "Content-Type: %s", rq->content_type);
        headers = curl_slist_append(headers, line);
    }
    if (rq->extra_header != NULL)
        headers = curl_slist_append(headers, rq->extra_header);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (rq->upload_file != NULL) {
        upload = fopen(rq->upload_file, "rb");
        if (upload == NULL) {
            snprintf(err, errlen, "cannot open %s", rq->upload_file);
            curl_slist_free_all(headers);
            curl_easy_cleanup(curl);
            return -1;
        }
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(curl, CURLOPT_READDATA, upload);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (rq->body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else if (strcmp(rq->method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    out->curl_code = (int)rc;
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (upload != NULL)
        fclose(upload);
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && t.sink_stopped))
        return 0;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        out->timed_out = true;
    if (out->aborted || out->timed_out) {
        snprintf(err, errlen, "%s %s: %s", rq->method, rq->path,
                 out->aborted ? "stopped" : "timed out");
        return -1;
    }
    snprintf(err, errlen,
             "docker daemon not reachable at %s: %s (hint: start it, or set "
             "executor.docker.socket / DOCKER_HOST)",
             e->socket, curl_easy_strerror(rc));
    return -1;
}

void dk_response_free(struct dk_response *r)
{
    dk_buf_free(&r->body);
}

void dk_response_error(const struct dk_response *r, char *out, size_t cap)
{
    if (dk_parse_error_message(r->body.data, r->body.len, out, cap) == 0 && out[0] != '\0')
        return;
    if (r->body.len > 0) {
        size_t i = 0;
        for (; i < r->body.len && r->body.data[i] != '\n' && i + 1 < cap; i++)
            out[i] = (unsigned char)r->body.data[i] < 0x20 ? ' ' : r->body.data[i];
        out[i] = '\0';
        if (i > 0)
            return;
    }
    snprintf(out, cap, "HTTP %ld", r->status);
}

int dk_escape(const char *s, char *out, size_t cap)
{
    pthread_once(&curl_once, curl_init_once);
    char *esc = curl_easy_escape(NULL, s, 0);
    if (esc == NULL)
        return -1;
    int rc = strlen(esc) < cap ? 0 : -1;
    if (rc == 0)
        strcpy(out, esc);
    curl_free(esc);
    return rc;
}

/* GET of a JSON document into r; 0 with a 2xx, else -1 with why. */
static int get_json(struct dk_engine *e, const char *path, struct dk_response *r, char *err,
                    size_t errlen)
{
    struct dk_request rq = {.method = "GET", .path = path, .timeout_ms = 30000};
    if (dk_call(e, &rq, r, err, errlen) != 0)
        return -1;
    if (r->status < 200 || r->status >= 300) {
        char why[300];
        dk_response_error(r, why, sizeof why);
        snprintf(err, errlen, "GET %s: %s", path, why);
        return -1;
    }
    return 0;
}

int dk_engine_connect(struct dk_engine *e, char *err, size_t errlen)
{
    pthread_mutex_lock(&e->lock);
    if (e->known) {
        pthread_mutex_unlock(&e->lock);
        return LP_OK;
    }
    struct dk_response r;
    struct dk_request ping = {
        .method = "GET", .path = "/_ping", .timeout_ms = 10000, .unversioned = true};
    int rc = LP_OK;
    if (dk_call(e, &ping, &r, err, errlen) != 0) {
        rc = LP_EUNAVAILABLE;
        goto out;
    }
    int server = dk_parse_api_version(r.api_version);
    if (r.status != 200 || server < 0) {
        char why[200];
        dk_response_error(&r, why, sizeof why);
        snprintf(err, errlen,
                 "docker daemon at %s answered /_ping with %s and no usable Api-Version "
                 "header (\"%s\"): is it a Docker or Podman engine?",
                 e->socket, why, r.api_version);
        rc = LP_EUNAVAILABLE;
        goto out;
    }
    if (server < DK_API_OLDEST) {
        snprintf(err, errlen,
                 "the engine at %s speaks API 1.%d, older than 1.%d, the oldest this plugin "
                 "speaks: upgrade Docker (20.10 or newer) or Podman (4 or newer)",
                 e->socket, server, DK_API_OLDEST);
        rc = LP_ERR;
        goto out;
    }
    e->api_minor = server < DK_API_NEWEST ? server : DK_API_NEWEST; /* the calls below use it */
    dk_response_free(&r);
    if (get_json(e, "/version", &r, err, errlen) != 0 ||
        dk_parse_version(r.body.data, r.body.len, &e->podman, e->version, sizeof e->version) != 0) {
        if (r.status >= 200 && r.status < 300)
            snprintf(err, errlen, "GET /version at %s: not the reply of a Docker engine",
                     e->socket);
        rc = r.status ? LP_ERR : LP_EUNAVAILABLE;
        goto out;
    }
    snprintf(e->runtime, sizeof e->runtime, "%s %s (API 1.%d)", e->podman ? "podman" : "docker",
             e->version, e->api_minor);
    dk_response_free(&r);
    struct dk_info info;
    if (get_json(e, "/info", &r, err, errlen) != 0 ||
        dk_parse_info(r.body.data, r.body.len, &info) != 0) {
        rc = r.status ? LP_ERR : LP_EUNAVAILABLE;
        goto out;
    }
    e->memory_limit = info.memory_limit;
    e->cpu_limit = info.cpu_limit;
    e->pids_limit = info.pids_limit;
    e->nvidia_runtime = info.nvidia_runtime;
    dk_response_free(&r);
    if (get_json(e, "/networks", &r, err, errlen) != 0 ||
        dk_parse_has_default_network(r.body.data, r.body.len, &e->has_network) != 0)
        e->has_network = false; /* then jobs asking for a network are refused, saying so */
    err[0] = '\0';
    e->known = true;
out:
    dk_response_free(&r);
    pthread_mutex_unlock(&e->lock);
    return rc;
}
