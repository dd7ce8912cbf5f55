/* libmicrohttpd glue (http.h): connection limits and timeouts, signed-request checks from the
 * headers, streamed bodies, suspended long-polls, dispatch to the solver and JSON/msgpack/octet
 * responses.
 *
 * Why a worker pool with epoll and not a thread per connection: with a thread per connection,
 * every idle socket and every long-poll holds a thread, and the connection cap is the only
 * thing between an attacker and the last thread /healthz would need; a few hundred idle
 * sockets stalled the whole API. Here workers only ever run short, non-blocking work (long-polls
 * are suspended, bodies are streamed as they arrive), so any idle worker answers /healthz at
 * once whatever the number of idle connections, and the connection limits only cap file
 * descriptors and memory. */
#include "solver/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/keccak.h"
#include "crypto/random.h"
#include "solver/route.h"
#include "util/cond.h"
#include "util/hex.h"
#include "util/log.h"
#include "wire/sigreq.h"

#define REPLAY_ENTRIES (1u << 20)
/* Protocol-object bodies (at most LP_WIRE_MAX_SIZE each) buffered at once, all connections
 * together: beyond it new ones are refused with 503 until some finish. */
#define BODY_BUDGET (64u << 20)
/* The waker thread looks at deadlines and the header watchdog this often, and lets at least
 * this long pass between two rounds of resuming long-polls (a burst of events wakes each one
 * once, not once per event). */
#define WAKE_PERIOD_MS  100u
#define WAKE_MIN_GAP_MS 10u

/* One TCP connection (MHD's socket context), for the header watchdog. */
struct conn {
    struct conn *prev, *next;
    int fd;
    uint64_t since_ms; /* monotonic: when it connected or was last answered */
    bool in_request;   /* its request's header is complete and being served */
    bool cut;          /* shut down by the watchdog */
};

/* One request (MHD's request context). */
struct req {
    char *uri; /* raw request target as sent (what the client signed) */
    struct conn *conn;
    bool started;
    struct lp_route route;
    int route_rc;
    bool has_body;
    /* A refusal decided from the headers of a request without a body, sent at its end. */
    unsigned refuse_status;
    char refuse_error[256], refuse_hint[256];
    /* The signed request. */
    bool authed;
    uint8_t caller[LP_WIRE_ADDR_LEN];
    uint8_t body_keccak[LP_WIRE_ID_LEN]; /* as signed */
    struct lp_keccak hash;               /* of the body as it arrives */
    uint64_t limit, len;
    bool too_large;
    /* The body: to a staged file (uploads) or to memory (protocol objects). */
    int fd;
    char staged[4200];
    int io_errno;
    uint8_t *body;
    size_t cap, reserved; /* reserved: this request's share of BODY_BUDGET */
    /* An event long-poll. */
    bool polling, poll_taken;
    uint64_t poll_deadline_ms, seen_seq;
    struct req *wprev, *wnext;
    bool waiting; /* suspended, in the waiters list */
    struct MHD_Connection *mhd;
};

struct lp_solver_http {
    struct lp_solver *s;
    const struct lp_solver_config *cfg;
    struct MHD_Daemon *d;
    struct lp_sigreq_verifier *verifier;
    uint16_t port;
    char **hosts; /* lower case */
    size_t n_hosts;
    uint64_t requests, refused_auth, header_timeouts, refused_host; /* __atomic */
    uint64_t body_bytes;                                            /* __atomic */

    pthread_mutex_t mu; /* guards what follows; taken before MHD's own locks */
    pthread_cond_t cond;
    struct req *waiters;
    size_t n_waiting;
    struct conn *conns;
    bool closing;
    pthread_t waker;
    bool waker_running;
};

/* ---- connections and requests ----------------------------------------------------------- */

static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    struct lp_solver_http *h = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn *cn = calloc(1, sizeof *cn);
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!cn || !fd) {
            free(cn);
            *socket_context = NULL;
            return;
        }
        cn->fd = fd->connect_fd;
        cn->since_ms = lp_solver_mono_ms();
        pthread_mutex_lock(&h->mu);
        cn->next = h->conns;
        if (h->conns)
            h->conns->prev = cn;
        h->conns = cn;
        pthread_mutex_unlock(&h->mu);
        *socket_context = cn;
        return;
    }
    /* Closed: MHD calls this before it closes the socket, so the watchdog (which shuts sockets
     * down under the same lock) never touches a descriptor number that was reused. */
    struct conn *cn = *socket_context;
    if (!cn)
        return;
    pthread_mutex_lock(&h->mu);
    if (cn->prev)
        cn->prev->next = cn->next;
    else
        h->conns = cn->next;
    if (cn->next)
        cn->next->prev = cn->prev;
    pthread_mutex_unlock(&h->mu);
    free(cn);
    *socket_context = NULL;
}

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    struct req *r = calloc(1, sizeof *r);
    if (r) {
        r->uri = strdup(uri ? uri : "");
        r->fd = -1;
        r->mhd = c;
    }
    return r;
}

static void waiter_remove(struct lp_solver_http *h, struct req *r)
{
    if (r->wprev)
        r->wprev->wnext = r->wnext;
    else
        h->waiters = r->wnext;
    if (r->wnext)
        r->wnext->wprev = r->wprev;
    r->wprev = r->wnext = NULL;
    r->waiting = false;
    h->n_waiting--;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode code)
{
    (void)c;
    (void)code;
    struct lp_solver_http *h = cls;
    struct req *r = *con_cls;
    if (r) {
        pthread_mutex_lock(&h->mu);
        if (r->waiting)
            waiter_remove(h, r);
        if (r->conn) {
            r->conn->in_request = false;
            r->conn->since_ms = lp_solver_mono_ms();
        }
        pthread_mutex_unlock(&h->mu);
        if (r->poll_taken)
            lp_solver_long_poll_give(h->s, r->caller);
        if (r->fd >= 0)
            close(r->fd);
        if (r->staged[0])
            unlink(r->staged);
        if (r->reserved)
            __atomic_sub_fetch(&h->body_bytes, r->reserved, __ATOMIC_RELAXED);
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
    pthread_mutex_lock(&h->mu);
    size_t waiting = h->n_waiting;
    pthread_mutex_unlock(&h->mu);
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
        "lilypad_solver_http_auth_refused_total %llu\n"
        "# TYPE lilypad_solver_http_host_refused_total counter\n"
        "lilypad_solver_http_host_refused_total %llu\n"
        "# TYPE lilypad_solver_http_header_timeouts_total counter\n"
        "lilypad_solver_http_header_timeouts_total %llu\n"
        "# TYPE lilypad_solver_http_long_polls_waiting gauge\n"
        "lilypad_solver_http_long_polls_waiting %zu\n",
        (unsigned long long)m.job_offers, (unsigned long long)m.resource_offers,
        (unsigned long long)m.deals, (unsigned long long)m.matches, (double)m.match_ns_total / 1e9,
        (unsigned long long)m.timeouts, (unsigned long long)m.rejected, m.open_resource_offers,
        m.pending_jobs, (unsigned long long)__atomic_load_n(&h->requests, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&h->refused_auth, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&h->refused_host, __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&h->header_timeouts, __ATOMIC_RELAXED), waiting);
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

static enum MHD_Result serve_events(struct lp_solver_http *h, struct MHD_Connection *c,
                                    struct req *r);

/* Runs the request (headers and body checked) and answers it. */
static enum MHD_Result dispatch(struct lp_solver_http *h, struct MHD_Connection *c, struct req *r)
{
    const uint8_t *caller = r->caller;
    struct lp_solver_blob blob = {.data = r->body, .len = r->len, .staged = NULL};
    char staged[sizeof r->staged];
    if (r->staged[0]) {
        memcpy(staged, r->staged, sizeof staged);
        blob.staged = staged;
        memcpy(blob.keccak, r->body_keccak, LP_WIRE_ID_LEN);
        r->staged[0] = '\0'; /* consumed: moved into the store or deleted by it */
    }
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
        rc = lp_solver_put_outputs(s, caller, rt->object_id, &blob, &st);
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
        rc = lp_solver_upload_file(s, caller, &blob, id, &st);
        if (rc == 0) {
            out = id_json("keccak", id);
            json_object_set_new(out, "size", json_integer((json_int_t)r->len));
        }
        break;
    case LP_ROUTE_EVENTS:
        return serve_events(h, c, r);
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

/* ---- checks made from the headers ------------------------------------------------------- */

/* Refuses a request from its headers: at once when a body follows (MHD then reads none of it
 * and closes the connection after the answer), else at the end of the request, which keeps
 * the connection open for the next one. */
static enum MHD_Result refuse(struct MHD_Connection *c, struct req *r, unsigned status,
                              const char *error, const char *hint)
{
    if (r->has_body)
        return send_error(c, status, error, hint);
    r->refuse_status = status;
    snprintf(r->refuse_error, sizeof r->refuse_error, "%s", error);
    snprintf(r->refuse_hint, sizeof r->refuse_hint, "%s", hint ? hint : "");
    return MHD_YES;
}

static enum MHD_Result refuse_status(struct MHD_Connection *c, struct req *r,
                                     const struct lp_solver_status *st)
{
    return refuse(c, r, st->http ? (unsigned)st->http : 500, st->error, st->hint);
}

/* Whether the Host the request was sent to is one of this solver's names. */
static bool host_is_ours(const struct lp_solver_http *h, const char *host)
{
    if (!host)
        return false;
    for (size_t i = 0; i < h->n_hosts; i++) {
        if (strcasecmp(h->hosts[i], host) == 0)
            return true;
    }
    return false;
}

/* Verifies the signed request from its headers; 0 with r->caller and r->body_keccak set, or
 * -1 with the refusal in st. */
static int authenticate(struct lp_solver_http *h, struct MHD_Connection *c, const char *method,
                        const char *host, struct req *r, struct lp_solver_status *st)
{
    struct lp_sigreq_header_refs hdr = {
        .version = MHD_lookup_connection_value(c, MHD_HEADER_KIND, LP_SIGREQ_HDR_VERSION),
        .address = MHD_lookup_connection_value(c, MHD_HEADER_KIND, LP_SIGREQ_HDR_ADDRESS),
        .timestamp = MHD_lookup_connection_value(c, MHD_HEADER_KIND, LP_SIGREQ_HDR_TIMESTAMP),
        .nonce = MHD_lookup_connection_value(c, MHD_HEADER_KIND, LP_SIGREQ_HDR_NONCE),
        .body_keccak = MHD_lookup_connection_value(c, MHD_HEADER_KIND, LP_SIGREQ_HDR_BODY_KECCAK),
        .signature = MHD_lookup_connection_value(c, MHD_HEADER_KIND, LP_SIGREQ_HDR_SIGNATURE),
    };
    struct lp_wire_error werr;
    struct lp_sigreq_parsed p;
    int rc = lp_sigreq_verify_headers(h->verifier, &hdr, method, host, r->uri, lp_solver_now_ms(),
                                      &p, &werr);
    if (rc == LP_SIGREQ_OK) {
        memcpy(r->caller, p.address, LP_WIRE_ADDR_LEN);
        memcpy(r->body_keccak, p.body_keccak, LP_WIRE_ID_LEN);
        r->authed = true;
        return 0;
    }
    __atomic_fetch_add(&h->refused_auth, 1, __ATOMIC_RELAXED);
    int status = 401;
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
    st->http = status;
    snprintf(st->error, sizeof st->error, "%s", werr.message);
    snprintf(st->hint, sizeof st->hint, "%s", hint);
    return -1;
}

/* A staged upload's file: a random name in the files folder (the store renames it). */
static int open_staged(struct lp_solver_http *h, struct req *r)
{
    uint8_t rnd[12];
    char hex[25];
    if (lp_random_bytes(rnd, sizeof rnd) != 0)
        return -1;
    lp_hex_encode(rnd, sizeof rnd, hex);
    snprintf(r->staged, sizeof r->staged, "%s/" LP_STORE_STAGING_PREFIX "%s", h->cfg->files_dir,
             hex);
    r->fd = open(r->staged, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (r->fd < 0) {
        r->io_errno = errno;
        r->staged[0] = '\0';
        return -1;
    }
    return 0;
}

/* Strict decimal Content-Length; -1 when absent or malformed. */
static int64_t content_length(struct MHD_Connection *c)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (!cl || !*cl || strlen(cl) > 18)
        return -1;
    int64_t v = 0;
    for (const char *p = cl; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* The first call for a request: its headers are complete, no byte of its body is read yet.
 * Everything that can refuse it without the body is decided here. */
static enum MHD_Result begin_request(struct lp_solver_http *h, struct MHD_Connection *c,
                                     const char *method, struct req *r)
{
    r->started = true;
    __atomic_fetch_add(&h->requests, 1, __ATOMIC_RELAXED);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    r->conn = ci ? ci->socket_context : NULL;
    if (r->conn) {
        pthread_mutex_lock(&h->mu);
        r->conn->in_request = true;
        pthread_mutex_unlock(&h->mu);
    }
    int64_t cl = content_length(c);
    r->has_body = cl > 0 || MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding");
    r->route_rc = lp_route_parse(method, r->uri, &r->route);
    if (r->route_rc != 0)
        return refuse(c, r, 400, r->route.error, "see core/solver/README.md for the routes");
    if (r->route.id == LP_ROUTE_NONE)
        return refuse(c, r, r->route.wrong_method ? 405 : 404,
                      r->route.wrong_method ? "method not allowed on this path" : "no such route",
                      "see core/solver/README.md for the routes");
    if (lp_route_public(r->route.id))
        return r->has_body ? refuse(c, r, 413, "this route takes no body", "send none") : MHD_YES;

    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!host_is_ours(h, host)) {
        __atomic_fetch_add(&h->refused_host, 1, __ATOMIC_RELAXED);
        char msg[400];
        snprintf(msg, sizeof msg,
                 "this solver does not answer to Host \"%.255s\" (it answers to %s%s)",
                 host ? host : "", h->hosts[0], h->n_hosts > 1 ? ", ..." : "");
        return refuse(c, r, 421, msg,
                      "sign the request for the URL of the solver you send it to; behind a proxy, "
                      "list the public name in solver.hosts and pass the Host header through");
    }
    bool file = lp_route_takes_file(r->route.id);
    r->limit = file ? h->cfg->max_file_bytes : LP_WIRE_MAX_SIZE;
    if (cl >= 0 && (uint64_t)cl > r->limit) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body too large: %lld bytes (limit %llu)", (long long)cl,
                 (unsigned long long)r->limit);
        return refuse(c, r, 413, msg,
                      file ? "raise solver.max_file_size, or send smaller files"
                           : "protocol objects are at most 1 MiB");
    }
    if (file && cl < 0)
        return refuse(c, r, 411, "uploads need a Content-Length",
                      "send the file with its length (no chunked encoding)");

    struct lp_solver_status st = {0};
    if (authenticate(h, c, method, host, r, &st) != 0 ||
        lp_solver_rate_check(h->s, r->caller, &st) != 0)
        return refuse_status(c, r, &st);

    if (file) {
        if (lp_solver_upload_admit(h->s, r->caller, (uint64_t)cl, &st) != 0)
            return refuse_status(c, r, &st);
        if (open_staged(h, r) != 0) {
            lp_solver_note_io(h->s, h->cfg->files_dir, r->io_errno);
            bool full = r->io_errno == ENOSPC || r->io_errno == EDQUOT;
            char msg[300];
            snprintf(msg, sizeof msg, "cannot store the upload: %s", strerror(r->io_errno));
            return refuse(c, r, full ? 507 : 500, msg,
                          full ? "the solver's disk is full; retry later" : "see the solver's log");
        }
    } else if (r->has_body) {
        size_t want = cl >= 0 ? (size_t)cl : LP_WIRE_MAX_SIZE;
        if (__atomic_add_fetch(&h->body_bytes, want, __ATOMIC_RELAXED) > BODY_BUDGET) {
            __atomic_sub_fetch(&h->body_bytes, want, __ATOMIC_RELAXED);
            return refuse(c, r, 503, "busy: too many request bodies in flight",
                          "retry in a moment");
        }
        r->reserved = want;
    }
    if (r->route.id == LP_ROUTE_EVENTS && r->route.wait_s > 0) {
        if (lp_solver_long_poll_take(h->s, r->caller, &st) != 0)
            return refuse_status(c, r, &st);
        r->poll_taken = true;
    }
    lp_keccak256_init(&r->hash);
    return MHD_YES;
}

/* Part of the body: hashed, then written where it goes. Past the limit (a chunked body) the
 * connection is dropped: nothing it still sends is worth reading. */
static enum MHD_Result take_body(struct lp_solver_http *h, struct req *r, const char *data,
                                 size_t n)
{
    (void)h;
    if (r->len + n > r->limit) {
        r->too_large = true;
        return MHD_NO;
    }
    lp_keccak256_update(&r->hash, data, n);
    r->len += n;
    if (r->fd >= 0) {
        if (r->io_errno)
            return MHD_YES; /* already failed: the rest is only counted, answered at the end */
        while (n > 0) {
            ssize_t w = write(r->fd, data, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                r->io_errno = errno;
                return MHD_YES;
            }
            data += w;
            n -= (size_t)w;
        }
        return MHD_YES;
    }
    if (r->len > r->cap) {
        size_t ncap = r->cap ? r->cap : (r->reserved ? r->reserved : 4096);
        while (ncap < r->len)
            ncap *= 2;
        if (ncap > r->limit)
            ncap = r->limit;
        uint8_t *p = realloc(r->body, ncap);
        if (!p)
            return MHD_NO;
        r->body = p;
        r->cap = ncap;
    }
    memcpy(r->body + r->len - n, data, n);
    return MHD_YES;
}

static enum MHD_Result health(struct lp_solver_http *h, struct MHD_Connection *c)
{
    struct lp_solver_status st = {0};
    if (lp_solver_health(h->s, &st) == 0)
        return send_json(c, 200, json_pack("{s:s}", "status", "ok"));
    return send_json(
        c, 503,
        json_pack("{s:s,s:s,s:s}", "status", "failing", "error", st.error, "hint", st.hint));
}

/* The request is whole: its body (if any) is checked against the signed hash, then run. */
static enum MHD_Result finish_request(struct lp_solver_http *h, struct MHD_Connection *c,
                                      struct req *r)
{
    if (r->polling)
        return serve_events(h, c, r); /* resumed after a wait */
    if (r->refuse_status)
        return send_error(c, r->refuse_status, r->refuse_error, r->refuse_hint);
    switch (r->route.id) {
    case LP_ROUTE_HEALTH:
        return health(h, c);
    case LP_ROUTE_METRICS:
        return metrics(h, c);
    case LP_ROUTE_LEADERBOARD:
        return send_json(c, 200, lp_solver_pow_leaderboard(h->s));
    case LP_ROUTE_PROVIDERS:
        return send_json(c, 200, lp_solver_providers_view(h->s));
    default:
        break;
    }
    if (!r->authed)
        return send_error(c, 500, "request not authenticated", "");
    uint8_t got[LP_WIRE_ID_LEN];
    lp_keccak256_final(&r->hash, got);
    if (memcmp(got, r->body_keccak, LP_WIRE_ID_LEN) != 0) {
        __atomic_fetch_add(&h->refused_auth, 1, __ATOMIC_RELAXED);
        return send_error(c, 401, LP_SIGREQ_HDR_BODY_KECCAK ": the body sent is not the one signed",
                          "sign the exact bytes you send");
    }
    if (r->fd >= 0) {
        int e = r->io_errno;
        if (close(r->fd) != 0 && !e)
            e = errno;
        r->fd = -1;
        lp_solver_note_io(h->s, r->staged, e); /* 0: a file fitted, so the disk is not full */
        if (e) {
            bool full = e == ENOSPC || e == EDQUOT;
            char msg[300];
            snprintf(msg, sizeof msg, "cannot store the upload: %s", strerror(e));
            return send_error(c, full ? 507 : 500, msg,
                              full ? "the solver's disk is full; retry later"
                                   : "see the solver's log");
        }
    }
    return dispatch(h, c, r);
}

/* GET /events: answers at once when there are events (or no wait was asked, or time is up);
 * else suspends the connection, which holds no thread, until the waker resumes it. */
static enum MHD_Result serve_events(struct lp_solver_http *h, struct MHD_Connection *c,
                                    struct req *r)
{
    if (!r->polling) {
        r->polling = true;
        r->poll_deadline_ms = lp_solver_mono_ms() + r->route.wait_s * 1000u;
    }
    for (;;) {
        uint64_t seen = lp_solver_event_seq(h->s);
        json_t *out = NULL;
        struct lp_solver_status st = {0};
        if (lp_solver_events(h->s, r->caller, r->route.cursor, 0, &out, &st) != 0)
            return send_status(c, &st);
        if (json_array_size(json_object_get(out, "events")) > 0 ||
            lp_solver_mono_ms() >= r->poll_deadline_ms)
            return send_json(c, 200, out);
        pthread_mutex_lock(&h->mu);
        if (h->closing || lp_solver_events_wait(h->s, seen, 0) < 0) {
            pthread_mutex_unlock(&h->mu);
            return send_json(c, 200, out);
        }
        json_decref(out);
        if (lp_solver_event_seq(h->s) != seen) {
            pthread_mutex_unlock(&h->mu);
            continue; /* an event came while we looked: look again */
        }
        r->seen_seq = seen;
        r->waiting = true;
        r->wprev = NULL;
        r->wnext = h->waiters;
        if (h->waiters)
            h->waiters->wprev = r;
        h->waiters = r;
        h->n_waiting++;
        MHD_suspend_connection(c);
        pthread_mutex_unlock(&h->mu);
        return MHD_YES;
    }
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
    if (!r->started)
        return begin_request(h, c, method, r);
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->refuse_status)
            return MHD_YES; /* a refusal waiting for the end of the request */
        return take_body(h, r, upload_data, n);
    }
    return finish_request(h, c, r);
}

/* ---- the waker: long-poll deadlines and events, and the header watchdog ------------------- */

static void *waker_main(void *arg)
{
    struct lp_solver_http *h = arg;
    uint64_t seen = lp_solver_event_seq(h->s), last_round = 0;
    pthread_mutex_lock(&h->mu);
    while (!h->closing) {
        pthread_mutex_unlock(&h->mu);
        /* Wait for an event, or the next look at deadlines. A stopping solver never blocks
         * here, so then the wait is on our own condition. */
        int stopping = lp_solver_events_wait(h->s, seen, WAKE_PERIOD_MS);
        uint64_t now = lp_solver_mono_ms();
        if (now < last_round + WAKE_MIN_GAP_MS) {
            struct timespec ts = {0, (long)(last_round + WAKE_MIN_GAP_MS - now) * 1000000L};
            nanosleep(&ts, NULL);
            now = lp_solver_mono_ms();
        }
        last_round = now;
        seen = lp_solver_event_seq(h->s);
        pthread_mutex_lock(&h->mu);
        for (struct req *r = h->waiters, *next; r; r = next) {
            next = r->wnext;
            if (stopping < 0 || r->seen_seq != seen || now >= r->poll_deadline_ms) {
                waiter_remove(h, r);
                MHD_resume_connection(r->mhd);
            }
        }
        uint64_t limit = h->cfg->header_timeout_ms;
        for (struct conn *cn = h->conns; limit && cn; cn = cn->next) {
            if (!cn->in_request && !cn->cut && now >= cn->since_ms + limit) {
                /* MHD sees the connection end and closes it itself. */
                shutdown(cn->fd, SHUT_RDWR);
                cn->cut = true;
                __atomic_fetch_add(&h->header_timeouts, 1, __ATOMIC_RELAXED);
            }
        }
        if (stopping < 0 && !h->closing)
            lp_cond_wait_ns(&h->cond, &h->mu, WAKE_PERIOD_MS * 1000000ull);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* ---- start and stop ---------------------------------------------------------------------- */

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
    const char *d = colon + 1;
    unsigned long port = 0;
    size_t nd = strlen(d);
    bool digits = nd > 0 && nd <= 5;
    for (size_t i = 0; digits && i < nd; i++) {
        digits = d[i] >= '0' && d[i] <= '9';
        port = port * 10 + (unsigned long)(d[i] - '0');
    }
    if (!digits || port > 65535) {
        snprintf(err, errlen, "listen \"%s\": the port must be 1..65535 (0: any free port)",
                 listen);
        return -1;
    }
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

int lp_solver_check_listen(const char *listen, size_t n_hosts, char *why, size_t cap)
{
    struct sockaddr_in sa;
    if (parse_listen(listen, &sa, why, cap) != 0)
        return -1;
    if (sa.sin_addr.s_addr == htonl(INADDR_ANY) && n_hosts == 0) {
        snprintf(why, cap,
                 "listen \"%s\" takes requests for any name: list the names clients use in "
                 "solver.hosts (e.g. [\"solver.example.org\"]), as requests are signed for one",
                 listen);
        return -1;
    }
    return 0;
}

int lp_solver_check_host(const char *host, char *why, size_t cap)
{
    char url[LP_SIGREQ_MAX_HOST + 16], out[LP_SIGREQ_MAX_HOST + 1];
    struct lp_wire_error we;
    if (!host || strpbrk(host, "/?#@ ") || strlen(host) > LP_SIGREQ_MAX_HOST) {
        snprintf(why, cap, "\"%s\" is not HOST or HOST:PORT (no scheme, no path)",
                 host ? host : "");
        return -1;
    }
    snprintf(url, sizeof url, "http://%s", host);
    if (lp_sigreq_url_host(url, out, sizeof out, &we) != 0) {
        snprintf(why, cap, "\"%s\" is not HOST or HOST:PORT: %s", host, we.message);
        return -1;
    }
    return 0;
}

static int add_host(struct lp_solver_http *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int add_host(struct lp_solver_http *h, const char *fmt, ...)
{
    char **grown = realloc(h->hosts, (h->n_hosts + 1) * sizeof *grown);
    if (!grown)
        return -1;
    h->hosts = grown;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&h->hosts[h->n_hosts], fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    for (char *p = h->hosts[h->n_hosts]; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    h->n_hosts++;
    return 0;
}

static void free_http(struct lp_solver_http *h)
{
    for (size_t i = 0; i < h->n_hosts; i++)
        free(h->hosts[i]);
    free(h->hosts);
    lp_sigreq_verifier_free(h->verifier);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cond);
    free(h);
}

int lp_solver_http_start(struct lp_solver *s, const char *listen, struct lp_solver_http **out,
                         char *err, size_t errlen)
{
    *out = NULL;
    const struct lp_solver_config *cfg = lp_solver_get_config(s);
    struct sockaddr_in sa;
    char why[400];
    if (lp_solver_check_listen(listen, cfg->n_hosts, why, sizeof why) != 0 ||
        parse_listen(listen, &sa, why, sizeof why) != 0) {
        snprintf(err, errlen, "solver: %s", why);
        return -1;
    }
    if (ntohl(sa.sin_addr.s_addr) >> 24 != 127)
        fprintf(stderr,
                "lilypad: solver: listening on %s, which is not loopback; put TLS in "
                "front of it\n",
                listen);
    struct lp_solver_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "solver: out of memory");
        return -1;
    }
    pthread_mutex_init(&h->mu, NULL);
    lp_cond_init(&h->cond);
    h->s = s;
    h->cfg = cfg;
    if (!(h->verifier = lp_sigreq_verifier_new(REPLAY_ENTRIES))) {
        free_http(h);
        snprintf(err, errlen, "solver: out of memory");
        return -1;
    }
    unsigned threads = cfg->http_threads ? (unsigned)cfg->http_threads : 4;
    unsigned max_conns = cfg->max_connections ? (unsigned)cfg->max_connections : 1000;
    unsigned idle_s = (unsigned)((cfg->idle_timeout_ms + 999) / 1000);
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME |
        (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_POLL);
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, max_conns,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_NOTIFY_CONNECTION, notify_connection, h, MHD_OPTION_URI_LOG_CALLBACK, uri_logger,
        h, MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen,
                 "solver: cannot listen on %s (in use, or not an address of this "
                 "machine)",
                 listen);
        free_http(h);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : ntohs(sa.sin_port);
    /* The names requests must be signed for: solver.hosts, else the address listened on (and
     * localhost on loopback) with the port actually bound. */
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < cfg->n_hosts; i++)
        rc = add_host(h, "%s", cfg->hosts[i]);
    if (cfg->n_hosts == 0) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
        rc = add_host(h, "%s:%u", ip, h->port);
        if (rc == 0 && ntohl(sa.sin_addr.s_addr) >> 24 == 127)
            rc = add_host(h, "localhost:%u", h->port);
    }
    if (rc == 0 && pthread_create(&h->waker, NULL, waker_main, h) == 0)
        h->waker_running = true;
    if (!h->waker_running) {
        MHD_stop_daemon(h->d);
        free_http(h);
        snprintf(err, errlen, "solver: cannot start the HTTP server's threads");
        return -1;
    }
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
    /* Every suspended long-poll is resumed (and answered) first: MHD refuses to stop with a
     * connection still suspended. Nothing suspends once closing is set. */
    pthread_mutex_lock(&h->mu);
    h->closing = true;
    while (h->waiters) {
        struct req *r = h->waiters;
        waiter_remove(h, r);
        MHD_resume_connection(r->mhd);
    }
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
    if (h->waker_running)
        pthread_join(h->waker, NULL);
    MHD_stop_daemon(h->d);
    free_http(h);
}
