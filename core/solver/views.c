/* Read-only JSON views of offers and deals, and the event long-poll. A view never shows a
 * record the caller is not a party of. Signed envelopes are included as 0x-hex so a client can
 * verify every signature itself (lp_wire_open) instead of trusting the solver. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lilypad/verifier.h>

#include "solver/solver_impl.h"
#include "util/cond.h"
#include "util/hex.h"

static json_t *hex_json(const uint8_t *p, size_t n)
{
    if (!p)
        return json_null();
    char *buf = malloc(2 * n + 3);
    if (!buf)
        return json_null();
    lp_hex_encode_0x(p, n, buf);
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

static json_t *addr_json(const uint8_t a[LP_WIRE_ADDR_LEN])
{
    char s[43];
    lp_address_to_checksum(a, s);
    return json_string(s);
}

static json_t *offer_json(const struct lp_store_offer *o)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", hex_json(o->id, LP_WIRE_ID_LEN));
    json_object_set_new(j, "kind", json_string(lp_wire_kind_name(o->kind)));
    json_object_set_new(j, "owner", addr_json(o->owner));
    json_object_set_new(j, "state", json_integer(o->state));
    json_object_set_new(j, "state_name", json_string(lp_deal_state_name(o->state)));
    json_object_set_new(j, "deal_id",
                        o->has_deal ? hex_json(o->deal_id, LP_WIRE_ID_LEN) : json_null());
    json_object_set_new(j, "inputs",
                        o->has_input ? hex_json(o->input_keccak, LP_WIRE_ID_LEN) : json_null());
    json_object_set_new(j, "created_at", json_integer((json_int_t)o->created_at_ms));
    json_object_set_new(j, "stored_at", json_integer((json_int_t)o->stored_at_ms));
    json_object_set_new(j, "envelope", hex_json(o->envelope, o->envelope_len));
    return j;
}

static int history_cb(void *ctx, const struct lp_store_history *h)
{
    json_t *e = json_object();
    json_object_set_new(e, "at", json_integer((json_int_t)h->at_ms));
    json_object_set_new(e, "state", json_integer(h->state));
    json_object_set_new(e, "state_name", json_string(lp_deal_state_name(h->state)));
    json_object_set_new(e, "note", json_string(h->note));
    json_array_append_new(ctx, e);
    return 0;
}

static json_t *deal_json(struct lp_solver *s, const struct lp_store_deal *d, bool with_history)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", hex_json(d->id, LP_WIRE_ID_LEN));
    json_object_set_new(j, "state", json_integer(d->state));
    json_object_set_new(j, "state_name", json_string(lp_deal_state_name(d->state)));
    json_object_set_new(j, "job_offer_id", hex_json(d->job_offer_id, LP_WIRE_ID_LEN));
    json_object_set_new(j, "resource_offer_id", hex_json(d->resource_offer_id, LP_WIRE_ID_LEN));
    json_object_set_new(j, "job_creator", addr_json(d->job_creator));
    json_object_set_new(j, "resource_provider", addr_json(d->provider));
    json_object_set_new(j, "mediator", d->has_mediator ? addr_json(d->mediator) : json_null());
    json_object_set_new(j, "mediator_offer_id",
                        d->has_mediator ? hex_json(d->mediator_offer_id, LP_WIRE_ID_LEN)
                                        : json_null());
    json_object_set_new(j, "created_at", json_integer((json_int_t)d->created_at_ms));
    json_object_set_new(j, "state_since", json_integer((json_int_t)d->state_since_ms));
    json_t *t = json_object();
    json_object_set_new(t, "execution_ms", json_integer((json_int_t)d->execution_ms));
    json_object_set_new(t, "download_ms", json_integer((json_int_t)d->download_ms));
    json_object_set_new(t, "mediation_ms", json_integer((json_int_t)d->mediation_ms));
    json_object_set_new(j, "timeouts", t);
    json_object_set_new(j, "inputs",
                        d->has_input ? hex_json(d->input_keccak, LP_WIRE_ID_LEN) : json_null());
    json_object_set_new(j, "outputs",
                        d->has_output ? hex_json(d->output_keccak, LP_WIRE_ID_LEN) : json_null());
    json_object_set_new(j, "result_id",
                        d->has_result ? hex_json(d->result_id, LP_WIRE_ID_LEN) : json_null());
    json_object_set_new(j, "envelope", hex_json(d->envelope, d->envelope_len));
    json_object_set_new(j, "result", hex_json(d->result_envelope, d->result_len));
    json_object_set_new(j, "challenge", hex_json(d->challenge_envelope, d->challenge_len));
    json_object_set_new(j, "verdict", hex_json(d->verdict_envelope, d->verdict_len));
    if (with_history) {
        json_t *h = json_array();
        struct lp_store_error e;
        s->store->ops->deal_history(s->store, d->id, history_cb, h, &e);
        json_object_set_new(j, "history", h);
    }
    return j;
}

static bool is_party(const struct lp_store_deal *d, const uint8_t caller[LP_WIRE_ADDR_LEN])
{
    return memcmp(d->job_creator, caller, LP_WIRE_ADDR_LEN) == 0 ||
           memcmp(d->provider, caller, LP_WIRE_ADDR_LEN) == 0 ||
           (d->has_mediator && memcmp(d->mediator, caller, LP_WIRE_ADDR_LEN) == 0);
}

int lp_solver_view_deal(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                        const uint8_t deal_id[LP_WIRE_ID_LEN], json_t **out,
                        struct lp_solver_status *st)
{
    struct lp_store_deal d;
    struct lp_store_error e;
    int rc = s->store->ops->deal_get(s->store, deal_id, &d, &e);
    if (rc != LP_STORE_OK) {
        lp_solver_status_store(st, rc, &e);
        return -1;
    }
    if (!is_party(&d, caller)) {
        lp_store_deal_release(&d);
        lp_solver_status_set(st, 403, "only the deal's parties may read it",
                             "not a party of this deal");
        return -1;
    }
    *out = deal_json(s, &d, true);
    /* Who may be booked if the result is challenged: a provider reads it before taking the
     * deal (its own `mediators` trust list). Only here: it costs a read of the job offer. */
    json_object_set_new(*out, "mediators", lp_solver_deal_mediators_json(s, &d));
    lp_store_deal_release(&d);
    st->http = 200;
    return 0;
}

struct list_ctx {
    struct lp_solver *s;
    json_t *arr;
};

static int deal_list_cb(void *ctx, const struct lp_store_deal *d)
{
    struct list_ctx *c = ctx;
    json_array_append_new(c->arr, deal_json(c->s, d, false));
    return 0;
}

int lp_solver_view_deals(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                         bool active_only, json_t **out, struct lp_solver_status *st)
{
    struct list_ctx c = {.s = s, .arr = json_array()};
    struct lp_store_error e;
    int rc = s->store->ops->deal_scan(s->store, caller, active_only, deal_list_cb, &c, &e);
    if (rc != LP_STORE_OK) {
        json_decref(c.arr);
        lp_solver_status_store(st, rc, &e);
        return -1;
    }
    *out = json_pack("{s:o}", "deals", c.arr);
    st->http = 200;
    return 0;
}

/* A caller may read its own offers, and the offers behind a deal it is a party of. */
int lp_solver_view_offer(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN], uint32_t kind,
                         const uint8_t id[LP_WIRE_ID_LEN], json_t **out,
                         struct lp_solver_status *st)
{
    struct lp_store_offer o;
    struct lp_store_error e;
    int rc = s->store->ops->offer_get(s->store, kind, id, &o, &e);
    if (rc != LP_STORE_OK) {
        lp_solver_status_store(st, rc, &e);
        return -1;
    }
    bool ok = memcmp(o.owner, caller, LP_WIRE_ADDR_LEN) == 0;
    if (!ok && o.has_deal) {
        struct lp_store_deal d;
        if (s->store->ops->deal_get(s->store, o.deal_id, &d, &e) == LP_STORE_OK) {
            ok = is_party(&d, caller);
            lp_store_deal_release(&d);
        }
    }
    if (!ok) {
        lp_store_offer_release(&o);
        lp_solver_status_set(st, 403, "only its author and its deal's parties may read an offer",
                             "not your %s", lp_wire_kind_name(kind));
        return -1;
    }
    *out = offer_json(&o);
    lp_store_offer_release(&o);
    st->http = 200;
    return 0;
}

static int offer_list_cb(void *ctx, const struct lp_store_offer *o)
{
    json_array_append_new(ctx, offer_json(o));
    return 0;
}

int lp_solver_view_offers(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                          uint32_t kind, json_t **out, struct lp_solver_status *st)
{
    json_t *arr = json_array();
    struct lp_store_error e;
    int rc = s->store->ops->offer_scan(s->store, kind, -1, caller, offer_list_cb, arr, &e);
    if (rc != LP_STORE_OK) {
        json_decref(arr);
        lp_solver_status_store(st, rc, &e);
        return -1;
    }
    *out = json_pack("{s:o}", "offers", arr);
    st->http = 200;
    return 0;
}

/* ---- events ---------------------------------------------------------------------------- */

struct ev_ctx {
    json_t *arr;
    uint64_t last;
};

static int event_cb(void *ctx, const struct lp_store_event *ev)
{
    struct ev_ctx *c = ctx;
    json_t *j = json_object();
    json_object_set_new(j, "seq", json_integer((json_int_t)ev->seq));
    json_object_set_new(j, "at", json_integer((json_int_t)ev->at_ms));
    json_object_set_new(j, "type", json_string(ev->type));
    json_object_set_new(j, "id", hex_json(ev->object_id, LP_WIRE_ID_LEN));
    json_object_set_new(j, "state", json_integer(ev->state));
    json_object_set_new(j, "state_name", json_string(lp_deal_state_name(ev->state)));
    json_array_append_new(c->arr, j);
    c->last = ev->seq;
    return 0;
}

#define EVENTS_PER_POLL 256

int lp_solver_events(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN], uint64_t cursor,
                     uint64_t wait_ms, json_t **out, struct lp_solver_status *st)
{
    /* A provider's long-poll is its proof of liveness (providers.c): its offers stay matchable
     * while it polls. */
    lp_solver_provider_seen(s, caller, wait_ms, true);
    uint64_t deadline = lp_solver_mono_ms() + wait_ms;
    struct ev_ctx c = {.arr = json_array(), .last = cursor};
    for (;;) {
        pthread_mutex_lock(&s->ev_lock);
        uint64_t seen = s->last_seq;
        pthread_mutex_unlock(&s->ev_lock);
        struct lp_store_error e;
        int rc =
            s->store->ops->event_scan(s->store, caller, cursor, EVENTS_PER_POLL, event_cb, &c, &e);
        if (rc != LP_STORE_OK) {
            json_decref(c.arr);
            lp_solver_status_store(st, rc, &e);
            return -1;
        }
        if (json_array_size(c.arr) > 0 || lp_solver_mono_ms() >= deadline)
            break;
        /* Nothing for us yet: sleep until any event is appended (then rescan) or time is up.
         * A cursor beyond everything seen is fine: it only returns later events. */
        pthread_mutex_lock(&s->ev_lock);
        uint64_t now;
        while (s->last_seq == seen && !s->stopping && (now = lp_solver_mono_ms()) < deadline) {
            if (lp_cond_wait_ns(&s->ev_cond, &s->ev_lock, (deadline - now) * 1000000u) == ETIMEDOUT)
                break;
        }
        bool stop = s->stopping;
        pthread_mutex_unlock(&s->ev_lock);
        if (stop)
            break;
    }
    *out = json_pack("{s:o,s:I}", "events", c.arr, "cursor", (json_int_t)c.last);
    st->http = 200;
    return 0;
}

uint64_t lp_solver_event_seq(struct lp_solver *s)
{
    pthread_mutex_lock(&s->ev_lock);
    uint64_t seq = s->last_seq;
    pthread_mutex_unlock(&s->ev_lock);
    return seq;
}

int lp_solver_events_wait(struct lp_solver *s, uint64_t seen, uint64_t timeout_ms)
{
    uint64_t deadline = lp_solver_mono_ms() + timeout_ms, now;
    pthread_mutex_lock(&s->ev_lock);
    while (s->last_seq == seen && !s->stopping && (now = lp_solver_mono_ms()) < deadline) {
        if (lp_cond_wait_ns(&s->ev_cond, &s->ev_lock, (deadline - now) * 1000000u) == ETIMEDOUT)
            break;
    }
    int rc = s->stopping ? -1 : 0;
    pthread_mutex_unlock(&s->ev_lock);
    return rc;
}
