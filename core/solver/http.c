/* libmicrohttpd glue: request bodies, signed-request checks, rate limits, dispatch to the
 * solver and JSON/msgpack/octet responses. */
#include "solver/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "solver/route.h"
#include "util/hex.h"
#include "wire/sigreq.h"

#define MAX_CONNECTIONS 256
#define REPLAY_ENTRIES  (1u << 20)

struct lp_solver_http {
    struct lp_solver *s;
    struct MHD_Daemon *d;
    struct lp_sigreq_verifier *verifier;
    uint16_t port;
    uint64_t requests, refused_auth;
};

struct req {
    char *uri; /* raw request target as sent (what the client signed) */
    bool started;
    bool too_large;
    struct lp_route route;
    int route_rc;
    uint8_t *body;
    size_t len, cap, limit;
};

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    struct req *r = calloc(1, sizeof *r);
    if (r)
        r->uri = strdup(uri ? uri : "");
    return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    struct req *r = *con_cls;
    if (r) {
        free(r->uri);
        free(r->body);
        free(r);
    }
    *con_cls = NULL;
}

static enum MHD_Result send_bytes(struct MHD_Connection *c, unsigned status, void *data, size_t len,
                                  const char *type)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data, data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return MHD_NO;
    return send_bytes(c, status, text, strlen(text), "application/json");
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *error,
                                  const char *hint)
{
    json_t *j = json_pack("{s:s,s:s}", "error", error, "hint", hint ? hint : "");
    return j ? send_json(c, status, j) : MHD_NO;
}

static enum MHD_Result send_status(struct MHD_Connection *c, const struct lp_solver_status *st)
{
    return send_error(c, st->http ? (unsigned)st->http : 500, st->error, st->hint);
}

static json_t *id_json(const char *key, const uint8_t id[LP_WIRE_ID_LEN])
{
    char hex[2 * LP_WIRE_ID_LEN + 3];
    lp_hex_encode_0x(id, LP_WIRE_ID_LEN, hex);
    return json_pack("{s:s}", key, hex);
}

static enum MHD_Result metrics(struct lp_solver_http *h, struct MHD_Connection *c)
{
    struct lp_solver_metrics m;
    lp_solver_get_metrics(h->s, &m);
    char *text = NULL;
    int n = asprintf(
        &text,
        "# TYPE lilypad_solver_job_offers_total counter\nlilypad_solver_job_offers_total %llu\n"
        "# TYPE lilypad_solver_resource_offers_total counter\n"
        "lilypad_solver_resource_offers_total %llu\n"
        "# TYPE lilypad_solver_deals_total counter\nlilypad_solver_deals_total %llu\n"
        "# TYPE lilypad_solver_match_attempts_total counter\n"
        "lilypad_solver_match_attempts_total %llu\n"
        "# TYPE lilypad_solver_match_seconds_total counter\n"
        "lilypad_solver_match_seconds_total %.9f\n"
        "# TYPE lilypad_solver_timeouts_total counter\nlilypad_solver_timeouts_total %llu\n"
        "# TYPE lilypad_solver_rejected_total counter\nlilypad_solver_rejected_total %llu\n"
        "# TYPE lilypad_solver_open_resource_offers gauge\n"
        "lilypad_solver_open_resource_offers %zu\n"
        "# TYPE lilypad_solver_pending_job_offers gauge\nlilypad_solver_pending_job_offers %zu\n"
        "# TYPE lilypad_solver_http_requests_total counter\n"
        "lilypad_solver_http_requests_total %llu\n"
        "# TYPE lilypad_solver_http_auth_refused_total counter\n"
        "lilypad_solver_http_auth_refused_total %llu\n",
        (unsigned long long)m.job_offers, (unsigned long long)m.resource_offers,
        (unsigned long long)m.deals, (unsigned long long)m.matches, (double)m.match_ns_total / 1e9,
        (unsigned long long)m.timeouts, (unsigned long long)m.rejected, m.open_resource_offers,
        m.pending_jobs, (unsigned long long)__atomic_load_n(&h->requests, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&h->refused_auth, __ATOMIC_RELAXED));
    if (n < 0)
        return MHD_NO;
    char *providers = lp_solver_providers_metrics(h->s);
    if (providers) {
        char *both = NULL;
        int k = asprintf(&both, "%s%s", text, providers);
        free(providers);
        if (k >= 0) {
            free(text);
            text = both;
            n = k;
        }
    }
    char *pow = lp_solver_pow_metrics(h->s);
    if (pow) {
        char *both = NULL;
        int k = asprintf(&both, "%s%s", text, pow);
        free(pow);
        if (k >= 0) {
            free(text);
            text = both;
            n = k;
        }
    }
    return send_bytes(c, 200, text, (size_t)n, "text/plain; version=0.0.4");
}

/* Verifies the signed request; 0 with the signer in caller, else a response was queued. */
static int authenticate(struct lp_solver_http *h, struct MHD_Connection *c, const char *method,
                        struct req *r, uint8_t caller[LP_WIRE_ADDR_LEN], enum MHD_Result *res)
{
    struct lp_sigreq_header_refs hdr = {
        .address = MHD_lookup_connection_value(c, MHD_HEADER_KIND, LP_SIGREQ_HDR_ADDRESS),
        .timestamp = MHD_lookup_connection_value(c, MHD_HEADER_KIND, LP_SIGREQ_HDR_TIMESTAMP),
        .nonce = MHD_lookup_connection_value(c, MHD_HEADER_KIND, LP_SIGREQ_HDR_NONCE),
        .signature = MHD_lookup_connection_value(c, MHD_HEADER_KIND, LP_SIGREQ_HDR_SIGNATURE),
    };
    struct lp_wire_error werr;
    int rc = lp_sigreq_verify(h->verifier, &hdr, method, r->uri, r->body, r->len,
                              lp_solver_now_ms(), caller, &werr);
    if (rc == LP_SIGREQ_OK)
        return 0;
    __atomic_fetch_add(&h->refused_auth, 1, __ATOMIC_RELAXED);
    unsigned status = 401;
    const char *hint = "sign the request with lp_sigreq_sign (core/wire/sigreq.h)";
    switch (rc) {
    case LP_SIGREQ_MALFORMED:
        status = 400;
        break;
    case LP_SIGREQ_STALE:
        hint = "check the client's clock: requests must be signed within 30 s of the solver's";
        break;
    case LP_SIGREQ_REPLAY:
        hint = "every request needs a fresh random nonce; do not resend a signed request";
        break;
    case LP_SIGREQ_BUSY:
        status = 503;
        hint = "the solver is overloaded; retry in a few seconds";
        break;
    default:
        break;
    }
    *res = send_error(c, status, werr.message, hint);
    return -1;
}

static enum MHD_Result dispatch(struct lp_solver_http *h, struct MHD_Connection *c, struct req *r,
                                const uint8_t caller[LP_WIRE_ADDR_LEN])
{
    struct lp_solver *s = h->s;
    struct lp_solver_status st = {0};
    const struct lp_route *rt = &r->route;
    json_t *out = NULL;
    uint8_t id[LP_WIRE_ID_LEN];
    int rc = -1;
    switch (rt->id) {
    case LP_ROUTE_JOB_OFFER_POST:
        rc = lp_solver_post_job_offer(s, caller, r->body, r->len,
                                      rt->has_inputs ? rt->inputs : NULL, id, &st);
        if (rc == 0)
            out = id_json("id", id);
        break;
    case LP_ROUTE_RESOURCE_OFFER_POST:
        rc = lp_solver_post_resource_offer(s, caller, r->body, r->len, id, &st);
        if (rc == 0)
            out = id_json("id", id);
        break;
    case LP_ROUTE_JOB_OFFER_LIST:
    case LP_ROUTE_RESOURCE_OFFER_LIST:
        rc = lp_solver_view_offers(s, caller,
                                   rt->id == LP_ROUTE_JOB_OFFER_LIST ? LP_WIRE_JOB_OFFER
                                                                     : LP_WIRE_RESOURCE_OFFER,
                                   &out, &st);
        break;
    case LP_ROUTE_JOB_OFFER_GET:
    case LP_ROUTE_RESOURCE_OFFER_GET:
        rc = lp_solver_view_offer(s, caller,
                                  rt->id == LP_ROUTE_JOB_OFFER_GET ? LP_WIRE_JOB_OFFER
                                                                   : LP_WIRE_RESOURCE_OFFER,
                                  rt->object_id, &out, &st);
        break;
    case LP_ROUTE_JOB_OFFER_CANCEL:
    case LP_ROUTE_RESOURCE_OFFER_CANCEL:
        rc = lp_solver_cancel_offer(s, caller,
                                    rt->id == LP_ROUTE_JOB_OFFER_CANCEL ? LP_WIRE_JOB_OFFER
                                                                        : LP_WIRE_RESOURCE_OFFER,
                                    rt->object_id, &st);
        if (rc == 0)
            out = json_pack("{s:b}", "cancelled", 1);
        break;
    case LP_ROUTE_DEAL_LIST:
        rc = lp_solver_view_deals(s, caller, rt->active_only, &out, &st);
        break;
    case LP_ROUTE_DEAL_GET:
        rc = lp_solver_view_deal(s, caller, rt->object_id, &out, &st);
        break;
    case LP_ROUTE_DEAL_ACTION:
        rc = lp_solver_deal_action(s, caller, rt->object_id, rt->action, &st);
        if (rc == 0)
            rc = lp_solver_view_deal(s, caller, rt->object_id, &out, &st);
        break;
    case LP_ROUTE_DEAL_CHALLENGE:
        rc = lp_solver_challenge(s, caller, rt->object_id, r->body, r->len, &st);
        if (rc == 0)
            rc = lp_solver_view_deal(s, caller, rt->object_id, &out, &st);
        break;
    case LP_ROUTE_DEAL_RESULT:
        rc = lp_solver_post_result(s, caller, rt->object_id, r->body, r->len, &st);
        if (rc == 0)
            rc = lp_solver_view_deal(s, caller, rt->object_id, &out, &st);
        break;
    case LP_ROUTE_DEAL_VERDICT:
        rc = lp_solver_post_verdict(s, caller, rt->object_id, r->body, r->len, &st);
        if (rc == 0)
            rc = lp_solver_view_deal(s, caller, rt->object_id, &out, &st);
        break;
    case LP_ROUTE_DEAL_OUTPUTS_PUT:
        rc = lp_solver_put_outputs(s, caller, rt->object_id, r->body, r->len, &st);
        if (rc == 0)
            rc = lp_solver_view_deal(s, caller, rt->object_id, &out, &st);
        break;
    case LP_ROUTE_DEAL_FILE_GET: {
        uint8_t *data = NULL;
        size_t len = 0;
        if (lp_solver_read_file(s, caller, rt->object_id, rt->action, &data, &len, &st) != 0)
            return send_status(c, &st);
        return send_bytes(c, 200, data, len, "application/octet-stream");
    }
    case LP_ROUTE_FILE_POST:
        rc = lp_solver_upload_file(s, caller, r->body, r->len, id, &st);
        if (rc == 0) {
            out = id_json("keccak", id);
            json_object_set_new(out, "size", json_integer((json_int_t)r->len));
        }
        break;
    case LP_ROUTE_EVENTS:
        rc = lp_solver_events(s, caller, rt->cursor, rt->wait_s * 1000u, &out, &st);
        break;
    case LP_ROUTE_POW_CHALLENGE:
        rc = lp_solver_pow_challenge(s, caller, &out, &st);
        break;
    case LP_ROUTE_POW_SUBMISSION:
        rc = lp_solver_pow_submit(s, caller, r->body, r->len, &out, &st);
        break;
    default:
        return send_error(c, 404, "no such route", "see core/solver/README.md");
    }
    if (rc != 0) {
        json_decref(out);
        return send_status(c, &st);
    }
    if (!out)
        return send_error(c, 500, "out of memory", "");
    return send_json(c, 200, out);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    (void)url;
    (void)version;
    struct lp_solver_http *h = cls;
    struct req *r = *con_cls;
    if (!r || !r->uri)
        return MHD_NO;
    if (!r->started) {
        r->started = true;
        __atomic_fetch_add(&h->requests, 1, __ATOMIC_RELAXED);
        r->route_rc = lp_route_parse(method, r->uri, &r->route);
        r->limit = lp_route_takes_file(r->route.id) ? lp_solver_get_config(h->s)->max_file_bytes
                                                    : LP_WIRE_MAX_SIZE;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > r->limit)
            r->too_large = true; /* refused once the body is drained, not buffered */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large || r->len + n > r->limit) {
            r->too_large = true;
            return MHD_YES;
        }
        if (r->len + n > r->cap) {
            size_t ncap = r->cap ? r->cap : 4096;
            while (ncap < r->len + n)
                ncap *= 2;
            uint8_t *p = realloc(r->body, ncap);
            if (!p)
                return MHD_NO;
            r->body = p;
            r->cap = ncap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        return MHD_YES;
    }
    /* The whole request is here. */
    if (r->route_rc != 0)
        return send_error(c, 400, r->route.error, "see core/solver/README.md for the routes");
    if (r->route.id == LP_ROUTE_NONE)
        return send_error(c, r->route.wrong_method ? 405 : 404,
                          r->route.wrong_method ? "method not allowed on this path"
                                                : "no such route",
                          "see core/solver/README.md for the routes");
    if (r->too_large) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body too large (limit %zu bytes)", r->limit);
        return send_error(c, 413, msg,
                          lp_route_takes_file(r->route.id)
                              ? "raise solver.max_file_size, or send smaller files"
                              : "protocol objects are at most 1 MiB");
    }
    if (r->route.id == LP_ROUTE_HEALTH) {
        json_t *j = json_pack("{s:s}", "status", "ok");
        return send_json(c, 200, j);
    }
    if (r->route.id == LP_ROUTE_METRICS)
        return metrics(h, c);
    if (r->route.id == LP_ROUTE_LEADERBOARD)
        return send_json(c, 200, lp_solver_pow_leaderboard(h->s));
    if (r->route.id == LP_ROUTE_PROVIDERS)
        return send_json(c, 200, lp_solver_providers_view(h->s));
    uint8_t caller[LP_WIRE_ADDR_LEN];
    enum MHD_Result res = MHD_NO;
    if (authenticate(h, c, method, r, caller, &res) != 0)
        return res;
    struct lp_solver_status st = {0};
    if (lp_solver_rate_check(h->s, caller, &st) != 0)
        return send_status(c, &st);
    return dispatch(h, c, r, caller);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, char *err, size_t errlen)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (!colon || colon == listen) {
        snprintf(err, errlen, "listen \"%s\": expected HOST:PORT, e.g. 127.0.0.1:8080",
                 listen ? listen : "");
        return -1;
    }
    char host[64];
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof host) {
        snprintf(err, errlen, "listen \"%s\": host too long", listen);
        return -1;
    }
    memcpy(host, listen, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
        snprintf(err, errlen, "listen \"%s\": \"%s\" is not an IPv4 address", listen, host);
        return -1;
    }
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port > 65535) {
        snprintf(err, errlen, "listen \"%s\": port must be 0..65535", listen);
        return -1;
    }
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

int lp_solver_http_start(struct lp_solver *s, const char *listen, struct lp_solver_http **out,
                         char *err, size_t errlen)
{
    *out = NULL;
    struct sockaddr_in sa;
    if (parse_listen(listen, &sa, err, errlen) != 0)
        return -1;
    if (ntohl(sa.sin_addr.s_addr) >> 24 != 127)
        fprintf(stderr,
                "lilypad: solver: listening on %s, which is not loopback; put TLS in "
                "front of it\n",
                listen);
    struct lp_solver_http *h = calloc(1, sizeof *h);
    if (!h || !(h->verifier = lp_sigreq_verifier_new(REPLAY_ENTRIES))) {
        free(h);
        snprintf(err, errlen, "solver: out of memory");
        return -1;
    }
    h->s = s;
    h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                            NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_URI_LOG_CALLBACK, uri_logger, h, MHD_OPTION_NOTIFY_COMPLETED,
                            completed, h, MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen,
                 "solver: cannot listen on %s (in use, or not an address of this "
                 "machine)",
                 listen);
        lp_sigreq_verifier_free(h->verifier);
        free(h);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : ntohs(sa.sin_port);
    *out = h;
    return 0;
}

uint16_t lp_solver_http_port(const struct lp_solver_http *h)
{
    return h->port;
}

void lp_solver_http_stop(struct lp_solver_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    lp_sigreq_verifier_free(h->verifier);
    free(h);
}
