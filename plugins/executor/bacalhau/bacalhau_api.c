/* executor/bacalhau: HTTP requests to the orchestrator with libcurl. One easy handle per
 * request: requests are rare (one status request per job per poll interval), and a handle per
 * call keeps the plugin free of shared mutable state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bacalhau.h"

/* A reply body larger than this is not a reply this plugin can use (job documents with their
 * RunOutput are a few MiB at most: Bacalhau truncates the stored output). */
#define MAX_REPLY_BYTES (64u * 1024u * 1024u)

void bac_api_init(struct bac_api *api, const char *base, const char *token, uint64_t timeout_ms)
{
    memset(api, 0, sizeof *api);
    snprintf(api->base, sizeof api->base, "%s", base);
    size_t n = strlen(api->base);
    while (n > 0 && api->base[n - 1] == '/')
        api->base[--n] = '\0';
    if (token != NULL && token[0] != '\0') {
        snprintf(api->auth, sizeof api->auth, "Authorization: Bearer %s", token);
        api->token = token;
    }
    api->request_timeout_ms = timeout_ms > 0 ? (long)timeout_ms : 30000;
}

void bac_api_scrub(const struct bac_api *api, char *text)
{
    if (api == NULL || api->token == NULL || api->token[0] == '\0' || text == NULL)
        return;
    size_t tlen = strlen(api->token);
    for (char *p = strstr(text, api->token); p != NULL; p = strstr(p, api->token)) {
        memmove(p + 3, p + tlen, strlen(p + tlen) + 1);
        memcpy(p, "***", 3);
        p += 3;
    }
}

void bac_url_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s != '\0' && n + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    if (cap > 0)
        out[n] = '\0';
}

struct sink {
    char *data;
    size_t len, cap;
    bool too_big;
};

static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    if (s->len + n > MAX_REPLY_BYTES) {
        s->too_big = true;
        return 0;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *d = realloc(s->data, cap);
        if (d == NULL)
            return 0;
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return n;
}

int bac_api_call(const struct bac_api *api, const char *method, const char *path, const char *body,
                 struct bac_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(reply->error, sizeof reply->error, "cannot make a curl handle");
        return -1;
    }
    char url[2048];
    snprintf(url, sizeof url, "%s%s", api->base, path);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Accept: application/json");
    if (body != NULL)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    if (api->auth[0] != '\0')
        headers = curl_slist_append(headers, api->auth);
    struct sink s = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     api->request_timeout_ms < 5000 ? api->request_timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, api->request_timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    int ret = -1;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
        reply->body = s.data;
        reply->len = s.len;
        s.data = NULL;
        ret = 0;
    } else {
        reply->unreachable = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                             rc == CURLE_COULDNT_RESOLVE_PROXY;
        if (s.too_big)
            snprintf(reply->error, sizeof reply->error, "reply larger than %u MiB",
                     MAX_REPLY_BYTES >> 20);
        else
            snprintf(reply->error, sizeof reply->error, "%s",
                     errbuf[0] ? errbuf : curl_easy_strerror(rc));
        bac_api_scrub(api, reply->error);
    }
    free(s.data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return ret;
}

void bac_reply_free(struct bac_reply *reply)
{
    free(reply->body);
    reply->body = NULL;
    reply->len = 0;
}

void bac_reply_describe(const struct bac_reply *reply, char *out, size_t cap)
{
    if (reply->status == 0) {
        snprintf(out, cap, "%s", reply->error);
        return;
    }
    char msg[512];
    bac_decode_error(reply->body, reply->len, msg, sizeof msg);
    if (msg[0] != '\0')
        snprintf(out, cap, "HTTP %ld: %s", reply->status, msg);
    else
        snprintf(out, cap, "HTTP %ld", reply->status);
}
