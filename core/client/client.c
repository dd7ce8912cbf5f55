/* Solver HTTP client on libcurl (client.h). */
#include "client/client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/hex.h"
#include "wire/sigreq.h"

struct lp_client {
    char *base;
    char host[LP_SIGREQ_MAX_HOST + 1]; /* the URL's authority: signed, and sent as Host */
    struct lp_key key;
    long timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int fail(struct lp_client_error *err, long status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct lp_client_error *err, long status, const char *fmt, ...)
{
    if (err) {
        err->status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

struct lp_client *lp_client_new(const char *base_url, const struct lp_key *key, long timeout_ms)
{
    char host[LP_SIGREQ_MAX_HOST + 1];
    if (!base_url || !key || lp_sigreq_url_host(base_url, host, sizeof host, NULL) != 0)
        return NULL;
    pthread_once(&curl_once, curl_init_once);
    struct lp_client *c = calloc(1, sizeof *c);
    if (!c || !(c->base = strdup(base_url))) {
        free(c);
        return NULL;
    }
    size_t n = strlen(c->base);
    while (n > 0 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    memcpy(c->host, host, sizeof c->host);
    c->key = *key;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
    return c;
}

void lp_client_free(struct lp_client *c)
{
    if (!c)
        return;
    lp_key_wipe(&c->key);
    free(c->base);
    free(c);
}

const uint8_t *lp_client_address(const struct lp_client *c)
{
    return c->key.address;
}

struct buf {
    uint8_t *p;
    size_t n, cap;
};

#define MAX_RESPONSE (1024u * 1024u * 1024u)

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t n = size * nmemb;
    if (b->n + n + 1 > MAX_RESPONSE)
        return 0;
    if (b->n + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->n + n + 1)
            ncap *= 2;
        uint8_t *p = realloc(b->p, ncap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = ncap;
    }
    memcpy(b->p + b->n, ptr, n);
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

struct lp_client_cancel {
    pthread_mutex_t mu;
    bool fired;
    CURLM *active; /* the multi handle of the request waiting on this token, if any */
};

struct lp_client_cancel *lp_client_cancel_new(void)
{
    struct lp_client_cancel *t = calloc(1, sizeof *t);
    if (t)
        pthread_mutex_init(&t->mu, NULL);
    return t;
}

void lp_client_cancel_free(struct lp_client_cancel *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void lp_client_cancel_fire(struct lp_client_cancel *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->fired = true;
    if (t->active)
        curl_multi_wakeup(t->active); /* documented as callable from any thread */
    pthread_mutex_unlock(&t->mu);
}

void lp_client_cancel_reset(struct lp_client_cancel *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->fired = false;
    pthread_mutex_unlock(&t->mu);
}

bool lp_client_cancel_fired(struct lp_client_cancel *t)
{
    if (!t)
        return false;
    pthread_mutex_lock(&t->mu);
    bool f = t->fired;
    pthread_mutex_unlock(&t->mu);
    return f;
}

/* curl_easy_perform() through a multi handle so that a fired token wakes the wait at once.
 * Sets *cancelled when the token ended it. */
static CURLcode perform_cancellable(CURL *curl, struct lp_client_cancel *t, bool *cancelled)
{
    *cancelled = false;
    if (!t)
        return curl_easy_perform(curl);
    CURLM *m = curl_multi_init();
    if (!m)
        return CURLE_OUT_OF_MEMORY;
    curl_multi_add_handle(m, curl);
    pthread_mutex_lock(&t->mu);
    t->active = m;
    bool fired = t->fired;
    pthread_mutex_unlock(&t->mu);
    CURLcode result = CURLE_OK;
    bool done = false;
    while (!fired && !done) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(m, &running);
        if (mc != CURLM_OK) {
            result = CURLE_RECV_ERROR;
            break;
        }
        int left;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg == CURLMSG_DONE) {
                result = msg->data.result;
                done = true;
            }
        }
        if (!done && running == 0)
            done = true; /* finished without a message: nothing more will come */
        if (!done)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
        pthread_mutex_lock(&t->mu);
        fired = t->fired;
        pthread_mutex_unlock(&t->mu);
    }
    pthread_mutex_lock(&t->mu);
    t->active = NULL;
    pthread_mutex_unlock(&t->mu);
    curl_multi_remove_handle(m, curl);
    curl_multi_cleanup(m);
    if (fired && !done) {
        *cancelled = true;
        return CURLE_ABORTED_BY_CALLBACK;
    }
    return result;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One line out of an error body {"error": ..., "hint": ...}, or its raw start. */
static void describe(const struct buf *b, char *out, size_t cap)
{
    json_t *j = b->p ? json_loadb((const char *)b->p, b->n, 0, NULL) : NULL;
    const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;
    const char *h = j ? json_string_value(json_object_get(j, "hint")) : NULL;
    if (e && h && *h)
        snprintf(out, cap, "%s (hint: %s)", e, h);
    else if (e)
        snprintf(out, cap, "%s", e);
    else
        snprintf(out, cap, "%.200s", b->p ? (const char *)b->p : "(empty body)");
    json_decref(j);
}

static int do_request_t(struct lp_client *c, const char *method, const char *path, const void *body,
                        size_t len, long extra_timeout_ms, struct lp_client_cancel *token,
                        uint8_t **resp, size_t *resp_len, struct lp_client_error *err)
{
    if (resp)
        *resp = NULL;
    if (resp_len)
        *resp_len = 0;
    struct lp_sigreq_headers h;
    struct lp_wire_error werr;
    if (lp_sigreq_sign(&c->key, method, c->host, path, body, len, now_ms(), NULL, &h, &werr) != 0)
        return fail(err, 0, "%s %s: cannot sign the request: %s", method, path, werr.message);
    size_t ulen = strlen(c->base) + strlen(path) + 1;
    char *url = malloc(ulen);
    CURL *curl = curl_easy_init();
    if (!url || !curl) {
        free(url);
        if (curl)
            curl_easy_cleanup(curl);
        return fail(err, 0, "%s %s: out of memory", method, path);
    }
    snprintf(url, ulen, "%s%s", c->base, path);
    /* Host is sent as signed: libcurl would drop a default port the signature names. */
    char lines[7][320];
    snprintf(lines[0], sizeof lines[0], "Host: %s", c->host);
    snprintf(lines[1], sizeof lines[1], "%s: %s", LP_SIGREQ_HDR_VERSION, h.version);
    snprintf(lines[2], sizeof lines[2], "%s: %s", LP_SIGREQ_HDR_ADDRESS, h.address);
    snprintf(lines[3], sizeof lines[3], "%s: %s", LP_SIGREQ_HDR_TIMESTAMP, h.timestamp);
    snprintf(lines[4], sizeof lines[4], "%s: %s", LP_SIGREQ_HDR_NONCE, h.nonce);
    snprintf(lines[5], sizeof lines[5], "%s: %s", LP_SIGREQ_HDR_BODY_KECCAK, h.body_keccak);
    snprintf(lines[6], sizeof lines[6], "%s: %s", LP_SIGREQ_HDR_SIGNATURE, h.signature);
    struct curl_slist *hdrs = NULL;
    for (int i = 0; i < 7; i++)
        hdrs = curl_slist_append(hdrs, lines[i]);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    struct buf b = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms + extra_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL);
    }
    bool cancelled = false;
    CURLcode cc = perform_cancellable(curl, token, &cancelled);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    free(url);
    if (cancelled) {
        free(b.p);
        return fail(err, LP_CLIENT_CANCELLED, "%s %s: cancelled", method, path);
    }
    if (cc != CURLE_OK) {
        free(b.p);
        return fail(err, 0, "%s %s: cannot reach the solver at %s: %s", method, path, c->base,
                    curl_easy_strerror(cc));
    }
    if (status < 200 || status > 299) {
        char why[400];
        describe(&b, why, sizeof why);
        free(b.p);
        return fail(err, status, "%s %s: HTTP %ld: %s", method, path, status, why);
    }
    if (err)
        err->status = status;
    if (resp) {
        *resp = b.p ? b.p : calloc(1, 1);
        if (resp_len)
            *resp_len = b.n;
    } else {
        free(b.p);
    }
    return 0;
}

static int do_request(struct lp_client *c, const char *method, const char *path, const void *body,
                      size_t len, long extra_timeout_ms, uint8_t **resp, size_t *resp_len,
                      struct lp_client_error *err)
{
    return do_request_t(c, method, path, body, len, extra_timeout_ms, NULL, resp, resp_len, err);
}

int lp_client_request(struct lp_client *c, const char *method, const char *path_and_query,
                      const void *body, size_t len, uint8_t **resp, size_t *resp_len,
                      struct lp_client_error *err)
{
    return do_request(c, method, path_and_query, body, len, 0, resp, resp_len, err);
}

static int request_json_t(struct lp_client *c, const char *method, const char *path,
                          const void *body, size_t len, long extra_ms,
                          struct lp_client_cancel *token, json_t **out, struct lp_client_error *err)
{
    uint8_t *resp = NULL;
    size_t n = 0;
    if (do_request_t(c, method, path, body, len, extra_ms, token, &resp, &n, err) != 0)
        return -1;
    json_error_t je;
    json_t *j = json_loadb((const char *)resp, n, 0, &je);
    free(resp);
    if (!j)
        return fail(err, 0, "%s %s: the answer is not JSON: %s", method, path, je.text);
    if (out)
        *out = j;
    else
        json_decref(j);
    return 0;
}

static int request_json(struct lp_client *c, const char *method, const char *path, const void *body,
                        size_t len, long extra_ms, json_t **out, struct lp_client_error *err)
{
    return request_json_t(c, method, path, body, len, extra_ms, NULL, out, err);
}

int lp_client_request_json(struct lp_client *c, const char *method, const char *path_and_query,
                           const void *body, size_t len, json_t **out, struct lp_client_error *err)
{
    return request_json(c, method, path_and_query, body, len, 0, out, err);
}

int lp_client_json_id(const json_t *obj, const char *key, uint8_t id[LP_WIRE_ID_LEN])
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? lp_hex_decode_fixed(s, id, LP_WIRE_ID_LEN) : -1;
}

static void id_hex(const uint8_t id[LP_WIRE_ID_LEN], char out[2 * LP_WIRE_ID_LEN + 3])
{
    lp_hex_encode_0x(id, LP_WIRE_ID_LEN, out);
}

int lp_client_post_object(struct lp_client *c, const struct lp_wire_object *obj,
                          const uint8_t *inputs_keccak, uint8_t id[LP_WIRE_ID_LEN], json_t **out,
                          struct lp_client_error *err)
{
    char path[256], hex[2 * LP_WIRE_ID_LEN + 3];
    switch (obj->kind) {
    case LP_WIRE_JOB_OFFER:
        if (inputs_keccak) {
            id_hex(inputs_keccak, hex);
            snprintf(path, sizeof path, "/api/v1/job_offers?inputs=%s", hex);
        } else {
            snprintf(path, sizeof path, "/api/v1/job_offers");
        }
        break;
    case LP_WIRE_RESOURCE_OFFER:
        snprintf(path, sizeof path, "/api/v1/resource_offers");
        break;
    case LP_WIRE_RESULT:
        id_hex(obj->u.result.deal_id, hex);
        snprintf(path, sizeof path, "/api/v1/deals/%s/result", hex);
        break;
    case LP_WIRE_MEDIATION_REQUEST:
        id_hex(obj->u.mediation_request.deal_id, hex);
        snprintf(path, sizeof path, "/api/v1/deals/%s/challenge", hex);
        break;
    case LP_WIRE_MEDIATION_VERDICT:
        id_hex(obj->u.mediation_verdict.deal_id, hex);
        snprintf(path, sizeof path, "/api/v1/deals/%s/verdict", hex);
        break;
    default:
        return fail(err, 0, "post: the solver takes no %s objects", lp_wire_kind_name(obj->kind));
    }
    uint8_t *env = NULL;
    size_t env_len = 0;
    uint8_t local_id[LP_WIRE_ID_LEN];
    struct lp_wire_error werr;
    if (lp_wire_sign(&c->key, obj, &env, &env_len, id ? id : local_id, &werr) != 0)
        return fail(err, 0, "post %s: %s", lp_wire_kind_name(obj->kind), werr.message);
    int rc = request_json(c, "POST", path, env, env_len, 0, out, err);
    free(env);
    return rc;
}

int lp_client_get_deal(struct lp_client *c, const uint8_t deal_id[LP_WIRE_ID_LEN], json_t **out,
                       struct lp_client_error *err)
{
    char path[128], hex[2 * LP_WIRE_ID_LEN + 3];
    id_hex(deal_id, hex);
    snprintf(path, sizeof path, "/api/v1/deals/%s", hex);
    return request_json(c, "GET", path, NULL, 0, 0, out, err);
}

int lp_client_list_deals(struct lp_client *c, bool active_only, json_t **out,
                         struct lp_client_error *err)
{
    return request_json(c, "GET", active_only ? "/api/v1/deals?active=1" : "/api/v1/deals", NULL, 0,
                        0, out, err);
}

static const char *collection(uint32_t kind)
{
    return kind == LP_WIRE_JOB_OFFER ? "job_offers" : "resource_offers";
}

int lp_client_get_offer(struct lp_client *c, uint32_t kind, const uint8_t id[LP_WIRE_ID_LEN],
                        json_t **out, struct lp_client_error *err)
{
    char path[128], hex[2 * LP_WIRE_ID_LEN + 3];
    id_hex(id, hex);
    snprintf(path, sizeof path, "/api/v1/%s/%s", collection(kind), hex);
    return request_json(c, "GET", path, NULL, 0, 0, out, err);
}

int lp_client_cancel_offer(struct lp_client *c, uint32_t kind, const uint8_t id[LP_WIRE_ID_LEN],
                           struct lp_client_error *err)
{
    char path[160], hex[2 * LP_WIRE_ID_LEN + 3];
    id_hex(id, hex);
    snprintf(path, sizeof path, "/api/v1/%s/%s/cancel", collection(kind), hex);
    return request_json(c, "POST", path, NULL, 0, 0, NULL, err);
}

int lp_client_deal_action(struct lp_client *c, const uint8_t deal_id[LP_WIRE_ID_LEN],
                          const char *action, json_t **out, struct lp_client_error *err)
{
    char path[160], hex[2 * LP_WIRE_ID_LEN + 3];
    id_hex(deal_id, hex);
    snprintf(path, sizeof path, "/api/v1/deals/%s/%.16s", hex, action);
    return request_json(c, "POST", path, NULL, 0, 0, out, err);
}

int lp_client_upload_file(struct lp_client *c, const void *data, size_t len,
                          uint8_t keccak[LP_WIRE_ID_LEN], struct lp_client_error *err)
{
    json_t *j = NULL;
    if (request_json(c, "POST", "/api/v1/files", data, len, 0, &j, err) != 0)
        return -1;
    int rc = lp_client_json_id(j, "keccak", keccak);
    json_decref(j);
    return rc == 0 ? 0 : fail(err, 0, "POST /api/v1/files: answer without a keccak");
}

int lp_client_put_outputs(struct lp_client *c, const uint8_t deal_id[LP_WIRE_ID_LEN],
                          const void *data, size_t len, struct lp_client_error *err)
{
    char path[160], hex[2 * LP_WIRE_ID_LEN + 3];
    id_hex(deal_id, hex);
    snprintf(path, sizeof path, "/api/v1/deals/%s/outputs", hex);
    return request_json(c, "PUT", path, data, len, 0, NULL, err);
}

int lp_client_download(struct lp_client *c, const uint8_t deal_id[LP_WIRE_ID_LEN],
                       const char *which, uint8_t **data, size_t *len, struct lp_client_error *err)
{
    if (strcmp(which, "inputs") != 0 && strcmp(which, "outputs") != 0 &&
        strcmp(which, "module") != 0)
        return fail(err, 0, "download: which must be \"inputs\", \"outputs\" or \"module\"");
    char path[160], hex[2 * LP_WIRE_ID_LEN + 3];
    id_hex(deal_id, hex);
    snprintf(path, sizeof path, "/api/v1/deals/%s/%s", hex, which);
    return do_request(c, "GET", path, NULL, 0, 0, data, len, err);
}

int lp_client_events(struct lp_client *c, uint64_t cursor, unsigned wait_s, json_t **events,
                     uint64_t *next_cursor, struct lp_client_error *err)
{
    return lp_client_events_cancellable(c, cursor, wait_s, NULL, events, next_cursor, err);
}

int lp_client_events_cancellable(struct lp_client *c, uint64_t cursor, unsigned wait_s,
                                 struct lp_client_cancel *token, json_t **events,
                                 uint64_t *next_cursor, struct lp_client_error *err)
{
    if (wait_s > 60)
        wait_s = 60;
    char path[128];
    snprintf(path, sizeof path, "/api/v1/events?cursor=%llu&wait=%u", (unsigned long long)cursor,
             wait_s);
    json_t *j = NULL;
    if (request_json_t(c, "GET", path, NULL, 0, (long)wait_s * 1000, token, &j, err) != 0)
        return -1;
    json_t *arr = json_object_get(j, "events");
    json_t *cur = json_object_get(j, "cursor");
    if (!json_is_array(arr) || !json_is_integer(cur)) {
        json_decref(j);
        return fail(err, 0, "GET %s: answer without events/cursor", path);
    }
    *next_cursor = (uint64_t)json_integer_value(cur);
    *events = json_incref(arr);
    json_decref(j);
    return 0;
}
