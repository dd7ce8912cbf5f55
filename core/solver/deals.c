/* The deal state machine: parties' actions, results, challenges and mediation, file access and
 * the timeout rules (solver.h describes the states and who may do what). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lilypad/verifier.h>

#include "crypto/key.h"
#include "module/bundle.h"
#include "solver/solver_impl.h"

enum { ROLE_CREATOR = 1, ROLE_PROVIDER = 2, ROLE_MEDIATOR = 4 };

static unsigned roles_of(const struct lp_store_deal *d, const uint8_t caller[LP_WIRE_ADDR_LEN])
{
    unsigned r = 0;
    if (memcmp(d->job_creator, caller, LP_WIRE_ADDR_LEN) == 0)
        r |= ROLE_CREATOR;
    if (memcmp(d->provider, caller, LP_WIRE_ADDR_LEN) == 0)
        r |= ROLE_PROVIDER;
    if (d->has_mediator && memcmp(d->mediator, caller, LP_WIRE_ADDR_LEN) == 0)
        r |= ROLE_MEDIATOR;
    return r;
}

/* Loads a deal the caller is a party of (any role in `allowed`); 404 / 403 otherwise. */
static int load_deal(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                     const uint8_t id[LP_WIRE_ID_LEN], unsigned allowed, struct lp_store_deal *d,
                     unsigned *roles, struct lp_solver_status *st)
{
    struct lp_store_error e;
    int rc = s->store->ops->deal_get(s->store, id, d, &e);
    if (rc != LP_STORE_OK) {
        lp_solver_status_store(st, rc, &e);
        return -1;
    }
    unsigned r = roles_of(d, caller);
    if (!(r & allowed)) {
        lp_store_deal_release(d);
        lp_solver_status_set(st, 403, "sign with the key of the deal's party who may do this",
                             r ? "this action is not open to your role in the deal"
                               : "not a party of this deal");
        return -1;
    }
    if (roles)
        *roles = r;
    return 0;
}

/* Applies u to deal d, telling every party; 0 or -1 with st set. */
static int transition(struct lp_solver *s, const struct lp_store_deal *d,
                      struct lp_store_deal_update *u, struct lp_solver_status *st)
{
    memcpy(u->id, d->id, LP_WIRE_ID_LEN);
    const uint8_t *mediator = u->set_mediator ? u->mediator : d->has_mediator ? d->mediator : NULL;
    struct lp_store_event_in ev[2];
    size_t n_ev = 1;
    lp_solver_event(&ev[0], "deal_state", d->id, u->new_state, d->job_creator, d->provider,
                    mediator);
    if (u->set_mediator) {
        lp_solver_event(&ev[1], "mediation_requested", d->id, u->new_state, u->mediator,
                        d->job_creator, d->provider);
        n_ev = 2;
    }
    struct lp_store_error e;
    int rc = s->store->ops->deal_update(s->store, u, ev, n_ev, lp_solver_now_ms(), &e);
    if (rc != LP_STORE_OK) {
        if (rc == LP_STORE_CONFLICT)
            lp_solver_status_set(st, 409, "GET the deal to see its state", "%s", e.message);
        else
            lp_solver_status_store(st, rc, &e);
        return -1;
    }
    lp_solver_events_appended(s);
    st->http = 200;
    return 0;
}

int lp_solver_deal_action(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                          const uint8_t deal_id[LP_WIRE_ID_LEN], const char *action,
                          struct lp_solver_status *st)
{
    struct lp_store_deal d;
    unsigned roles = 0;
    struct lp_store_deal_update u;
    memset(&u, 0, sizeof u);
    unsigned allowed;
    if (strcmp(action, "agree") == 0) {
        allowed = ROLE_CREATOR | ROLE_PROVIDER;
        u.expect_mask = LP_ST_MASK(LP_DEAL_AGREED);
        u.new_state = LP_DEAL_AGREED;
    } else if (strcmp(action, "accept") == 0) {
        allowed = ROLE_CREATOR;
        u.expect_mask = LP_ST_MASK(LP_DEAL_RESULTS_SUBMITTED) | LP_ST_MASK(LP_DEAL_DOWNLOADING);
        u.new_state = LP_DEAL_RESULTS_ACCEPTED;
        u.note = "results accepted by the job creator";
    } else if (strcmp(action, "cancel") == 0) {
        allowed = ROLE_CREATOR;
        u.expect_mask = LP_ST_MASK(LP_DEAL_AGREED) | LP_ST_MASK(LP_DEAL_UPLOADING);
        u.new_state = LP_DEAL_JOB_OFFER_CANCELLED;
        u.note = "cancelled by the job creator";
    } else {
        lp_solver_status_set(st, 404, "actions: agree, accept, cancel, challenge",
                             "unknown deal action \"%.64s\"", action);
        return -1;
    }
    if (load_deal(s, caller, deal_id, allowed, &d, &roles, st) != 0)
        return -1;
    bool provider_agrees = strcmp(action, "agree") == 0 && (roles & ROLE_PROVIDER);
    if (strcmp(action, "agree") == 0)
        u.note = provider_agrees ? LP_NOTE_PROVIDER_AGREED : "agreed by the job creator";
    int rc = transition(s, &d, &u, st);
    if (rc == 0 && provider_agrees)
        lp_solver_deal_progress(s, deal_id); /* the start the solver waits for */
    lp_store_deal_release(&d);
    return rc;
}

int lp_solver_put_outputs(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                          const uint8_t deal_id[LP_WIRE_ID_LEN], const struct lp_solver_blob *blob,
                          struct lp_solver_status *st)
{
    struct lp_store_deal d;
    if (load_deal(s, caller, deal_id, ROLE_PROVIDER, &d, NULL, st) != 0) {
        if (blob->staged)
            unlink(blob->staged);
        return -1;
    }
    int rc = -1;
    if (d.state != LP_DEAL_AGREED && d.state != LP_DEAL_UPLOADING) {
        lp_solver_status_set(st, 409, "outputs are uploaded before the result is posted",
                             "the deal is in state %s", lp_deal_state_name(d.state));
        if (blob->staged)
            unlink(blob->staged);
        goto out;
    }
    struct lp_store_deal_update u;
    memset(&u, 0, sizeof u);
    if (lp_solver_upload_file(s, caller, blob, u.output_keccak, st) != 0)
        goto out;
    u.set_output = true;
    u.expect_mask = LP_ST_MASK(LP_DEAL_AGREED) | LP_ST_MASK(LP_DEAL_UPLOADING);
    u.new_state = LP_DEAL_UPLOADING;
    u.note = "outputs uploaded";
    rc = transition(s, &d, &u, st);
    if (rc == 0)
        lp_solver_deal_progress(s, deal_id); /* a provider may upload without agreeing first */
out:
    lp_store_deal_release(&d);
    return rc;
}

int lp_solver_post_result(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                          const uint8_t deal_id[LP_WIRE_ID_LEN], const uint8_t *body, size_t len,
                          struct lp_solver_status *st)
{
    struct lp_store_deal d;
    if (load_deal(s, caller, deal_id, ROLE_PROVIDER, &d, NULL, st) != 0)
        return -1;
    int rc = -1;
    struct lp_wire_object obj;
    struct lp_envelope env;
    memset(&obj, 0, sizeof obj);
    if (!lp_solver_open_envelope(body, len, LP_WIRE_RESULT, caller, &obj, &env, st))
        goto out;
    if (memcmp(obj.u.result.deal_id, deal_id, LP_WIRE_ID_LEN) != 0) {
        lp_solver_status_set(st, 400, "sign a result for this deal with the provider's key",
                             "the body is not this deal's result signed by its provider");
        goto out;
    }
    if ((!obj.u.result.error || !obj.u.result.error[0]) && !d.has_output) {
        lp_solver_status_set(st, 409, "PUT /api/v1/deals/{id}/outputs first",
                             "a successful result needs the outputs uploaded first");
        goto out;
    }
    struct lp_store_deal_update u;
    memset(&u, 0, sizeof u);
    u.expect_mask = LP_ST_MASK(LP_DEAL_AGREED) | LP_ST_MASK(LP_DEAL_UPLOADING);
    u.new_state = LP_DEAL_RESULTS_SUBMITTED;
    u.result_id = env.id;
    u.result_envelope = body;
    u.result_len = len;
    u.note = (obj.u.result.error && obj.u.result.error[0]) ? "result submitted (job failed)"
                                                           : "result submitted";
    rc = transition(s, &d, &u, st);
    if (rc == 0) {
        lp_solver_deal_progress(s, deal_id);
        lp_solver_provider_outcome(s, d.provider, LP_OUTCOME_DELIVERED);
    }
out:
    lp_wire_object_free(&obj);
    lp_store_deal_release(&d);
    return rc;
}

/* ---- mediation ----------------------------------------------------------------------------- */

/* The deal's job offer, decoded (*obj to lp_wire_object_free); 0 or -1. */
static int deal_job_offer(struct lp_solver *s, const struct lp_store_deal *d,
                          struct lp_wire_object *obj)
{
    memset(obj, 0, sizeof *obj);
    struct lp_store_offer o;
    struct lp_store_error e;
    struct lp_wire_error werr;
    if (s->store->ops->offer_get(s->store, LP_WIRE_JOB_OFFER, d->job_offer_id, &o, &e) !=
        LP_STORE_OK)
        return -1;
    int rc = lp_wire_open(o.envelope, o.envelope_len, obj, NULL, &werr) == 0 &&
                     obj->kind == LP_WIRE_JOB_OFFER
                 ? 0
                 : -1;
    if (rc != 0 && obj->kind)
        lp_wire_object_free(obj);
    lp_store_offer_release(&o);
    return rc;
}

size_t lp_solver_mediator_candidates(const struct lp_solver *s, const struct lp_job_offer *job,
                                     const struct lp_store_deal *d,
                                     uint8_t out[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN],
                                     size_t *n_set)
{
    /* Both sides accepted this set: the job creator named it in the offer it signed (or left it
     * to the solver's, which every provider can see before it takes a deal). Neither party of
     * the deal may judge its own case, whatever the set says. */
    const uint8_t(*set)[LP_WIRE_ADDR_LEN] =
        job->n_mediators ? (const uint8_t(*)[LP_WIRE_ADDR_LEN])job->mediators : s->cfg.mediators;
    size_t n = job->n_mediators ? job->n_mediators : s->cfg.n_mediators;
    if (n_set)
        *n_set = n;
    size_t k = 0;
    for (size_t i = 0; i < n && k < LP_WIRE_MAX_MEDIATORS; i++) {
        if (memcmp(set[i], d->job_creator, LP_WIRE_ADDR_LEN) == 0 ||
            memcmp(set[i], d->provider, LP_WIRE_ADDR_LEN) == 0)
            continue;
        memcpy(out[k++], set[i], LP_WIRE_ADDR_LEN);
    }
    return k;
}

json_t *lp_solver_deal_mediators_json(struct lp_solver *s, const struct lp_store_deal *d)
{
    struct lp_wire_object obj;
    if (deal_job_offer(s, d, &obj) != 0)
        return json_null();
    uint8_t c[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN];
    size_t n = lp_solver_mediator_candidates(s, &obj.u.job_offer, d, c, NULL);
    lp_wire_object_free(&obj);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char text[43];
        lp_address_to_checksum(c[i], text);
        json_array_append_new(a, json_string(text));
    }
    return a;
}

struct mediator_ctx {
    struct lp_solver *s;
    const struct lp_store_deal *d;
    struct lp_solver_status *st;
};

static int commit_mediator(void *ctx, const struct lp_match_offer *offer,
                           const struct lp_u256 *price)
{
    (void)price;
    struct mediator_ctx *c = ctx;
    /* A challenge and the timeout pass may both be booking this deal: commits run one at a time
     * under the matcher's lock, so the deal read here is the one the update below changes. The
     * second booking puts its offer back instead of replacing the first mediator. */
    struct lp_store_deal cur;
    struct lp_store_error e;
    if (c->s->store->ops->deal_get(c->s->store, c->d->id, &cur, &e) == LP_STORE_OK) {
        bool taken = cur.has_mediator;
        lp_store_deal_release(&cur);
        if (taken) {
            lp_solver_status_set(c->st, 409, NULL, "a mediator is already booked");
            return -1;
        }
    }
    struct lp_store_deal_update u;
    memset(&u, 0, sizeof u);
    u.expect_mask = LP_ST_MASK(LP_DEAL_RESULTS_CHECKED);
    u.new_state = LP_DEAL_RESULTS_CHECKED;
    u.set_mediator = true;
    memcpy(u.mediator, offer->provider, LP_WIRE_ADDR_LEN);
    memcpy(u.mediator_offer_id, offer->id, LP_WIRE_ID_LEN);
    u.note = "mediator booked";
    return transition(c->s, c->d, &u, c->st);
}

int lp_solver_book_mediator(struct lp_solver *s, const uint8_t deal_id[LP_WIRE_ID_LEN])
{
    struct lp_store_deal d;
    struct lp_store_error e;
    if (s->store->ops->deal_get(s->store, deal_id, &d, &e) != LP_STORE_OK)
        return -1;
    int rc = -1;
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    if (d.state != LP_DEAL_RESULTS_CHECKED || d.has_mediator) {
        rc = 0;
        goto out;
    }
    if (deal_job_offer(s, &d, &obj) != 0)
        goto out;
    uint8_t cand[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN];
    size_t n = lp_solver_mediator_candidates(s, &obj.u.job_offer, &d, cand, NULL);
    char *ref = lp_solver_module_ref(&obj.u.job_offer);
    /* The mediator re-runs the same job: same resources and module rules, never the provider
     * whose result is challenged, and any price (the mediation fee pays it). Only a member of
     * the accepted set may take it: each is tried as the job's target, so the matcher's rules
     * (liveness, an open offer that fits) apply to it unchanged. The first tried is picked by
     * the deal's ID, so challenges spread over the set instead of all landing on its first. */
    struct lp_job_offer job = obj.u.job_offer;
    job.has_target = 1;
    memset(job.max_price.be, 0xff, sizeof job.max_price.be);
    struct lp_match_job mj = {.offer = &job, .module_ref = ref, .exclude = d.provider};
    struct lp_solver_status st = {0};
    struct mediator_ctx c = {.s = s, .d = &d, .st = &st};
    int m = ref ? LP_MATCH_NONE : LP_MATCH_ERROR;
    size_t first = n ? d.id[0] % n : 0;
    for (size_t i = 0; i < n && m == LP_MATCH_NONE; i++) {
        memcpy(job.target, cand[(first + i) % n], LP_WIRE_ADDR_LEN);
        m = lp_matcher_match(s->matcher, &mj, commit_mediator, &c, NULL, NULL, 0);
    }
    free(ref);
    rc = m == LP_MATCH_OK ? 0 : 1;
out:
    if (obj.kind)
        lp_wire_object_free(&obj);
    lp_store_deal_release(&d);
    return rc;
}

int lp_solver_challenge(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                        const uint8_t deal_id[LP_WIRE_ID_LEN], const uint8_t *body, size_t len,
                        struct lp_solver_status *st)
{
    struct lp_store_deal d;
    if (load_deal(s, caller, deal_id, ROLE_CREATOR, &d, NULL, st) != 0)
        return -1;
    int rc = -1;
    struct lp_wire_object obj, job;
    struct lp_envelope env;
    memset(&obj, 0, sizeof obj);
    memset(&job, 0, sizeof job);
    if (!lp_solver_open_envelope(body, len, LP_WIRE_MEDIATION_REQUEST, caller, &obj, &env, st))
        goto out;
    if (memcmp(obj.u.mediation_request.deal_id, deal_id, LP_WIRE_ID_LEN) != 0 || !d.has_result ||
        memcmp(obj.u.mediation_request.result_id, d.result_id, LP_WIRE_ID_LEN) != 0) {
        lp_solver_status_set(st, 400, "sign a mediation request naming this deal and its result",
                             "the body is not a mediation request for this deal's result");
        goto out;
    }
    if (deal_job_offer(s, &d, &job) != 0) {
        lp_solver_status_set(st, 500, "see the solver's log",
                             "the deal's job offer cannot be read back");
        goto out;
    }
    /* A challenge nobody may mediate would only hold the provider's payment until the
     * mediation timeout: refused while the deal can still be accepted. */
    uint8_t cand[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN];
    size_t n_set = 0;
    if (lp_solver_mediator_candidates(s, &job.u.job_offer, &d, cand, &n_set) == 0) {
        if (n_set == 0)
            lp_solver_status_set(
                st, 409,
                "the solver's operator lists mediators in solver.mediators = [\"0x...\"]; or "
                "name them in the job offer (lilypad run --mediator 0x...)",
                "no mediators: the job offer names none and the solver has none configured");
        else
            lp_solver_status_set(st, 409,
                                 "name mediators other than the deal's job creator and provider",
                                 "no mediators: every one the deal accepts is one of its parties");
        goto out;
    }
    struct lp_store_deal_update u;
    memset(&u, 0, sizeof u);
    u.expect_mask = LP_ST_MASK(LP_DEAL_RESULTS_SUBMITTED) | LP_ST_MASK(LP_DEAL_DOWNLOADING);
    u.new_state = LP_DEAL_RESULTS_CHECKED;
    u.challenge_envelope = body;
    u.challenge_len = len;
    u.note = "result challenged by the job creator";
    rc = transition(s, &d, &u, st);
    if (rc == 0)
        lp_solver_book_mediator(s, deal_id); /* else the timeout pass retries */
out:
    if (job.kind)
        lp_wire_object_free(&job);
    lp_wire_object_free(&obj);
    lp_store_deal_release(&d);
    return rc;
}

int lp_solver_post_verdict(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                           const uint8_t deal_id[LP_WIRE_ID_LEN], const uint8_t *body, size_t len,
                           struct lp_solver_status *st)
{
    struct lp_store_deal d;
    if (load_deal(s, caller, deal_id, ROLE_MEDIATOR, &d, NULL, st) != 0)
        return -1;
    int rc = -1;
    struct lp_wire_object obj;
    struct lp_envelope env, req;
    struct lp_wire_error werr;
    memset(&obj, 0, sizeof obj);
    if (!lp_solver_open_envelope(body, len, LP_WIRE_MEDIATION_VERDICT, caller, &obj, &env, st))
        goto out;
    const struct lp_mediation_verdict *v = &obj.u.mediation_verdict;
    if (memcmp(v->deal_id, deal_id, LP_WIRE_ID_LEN) != 0 ||
        memcmp(v->result_id, d.result_id, LP_WIRE_ID_LEN) != 0 || !d.challenge_envelope ||
        lp_envelope_parse(d.challenge_envelope, d.challenge_len, &req, &werr) != 0 ||
        memcmp(v->request_id, req.id, LP_WIRE_ID_LEN) != 0) {
        lp_solver_status_set(st, 400, "sign a verdict naming this deal, its result and request",
                             "the body is not a verdict on this deal's mediation request");
        goto out;
    }
    struct lp_store_deal_update u;
    memset(&u, 0, sizeof u);
    u.expect_mask = LP_ST_MASK(LP_DEAL_RESULTS_CHECKED);
    u.new_state =
        v->verdict == LP_VERDICT_ACCEPTED ? LP_DEAL_MEDIATION_ACCEPTED : LP_DEAL_MEDIATION_REJECTED;
    u.verdict_envelope = body;
    u.verdict_len = len;
    u.note = v->verdict == LP_VERDICT_ACCEPTED ? "mediator accepted the result"
                                               : "mediator rejected the result";
    rc = transition(s, &d, &u, st);
out:
    lp_wire_object_free(&obj);
    lp_store_deal_release(&d);
    return rc;
}

/* The module bundle the deal's job offer names (module/bundle.h), found through its offer. */
static int module_bundle_of(struct lp_solver *s, const struct lp_store_deal *d,
                            uint8_t keccak[LP_WIRE_ID_LEN], struct lp_solver_status *st)
{
    struct lp_store_offer rec;
    struct lp_store_error e;
    int rc = s->store->ops->offer_get(s->store, LP_WIRE_JOB_OFFER, d->job_offer_id, &rec, &e);
    if (rc != LP_STORE_OK) {
        lp_solver_status_store(st, rc, &e);
        return -1;
    }
    struct lp_wire_object obj;
    struct lp_wire_error we;
    rc = lp_wire_open(rec.envelope, rec.envelope_len, &obj, NULL, &we);
    lp_store_offer_release(&rec);
    if (rc != 0 || obj.kind != LP_WIRE_JOB_OFFER) {
        if (rc == 0)
            lp_wire_object_free(&obj);
        lp_solver_status_set(st, 500, NULL, "the deal's stored job offer does not open");
        return -1;
    }
    struct lp_module_error me;
    rc = lp_module_bundle_parse(obj.u.job_offer.module.repo, obj.u.job_offer.module.commit, keccak,
                                &me);
    bool bundle = lp_module_is_bundle(obj.u.job_offer.module.repo);
    lp_wire_object_free(&obj);
    if (rc != 0) {
        lp_solver_status_set(st, 404, "only a module from a local folder travels as a bundle",
                             bundle ? "%s" : "this deal's module is not a bundle", me.message);
        return -1;
    }
    return 0;
}

int lp_solver_read_file(struct lp_solver *s, const uint8_t caller[LP_WIRE_ADDR_LEN],
                        const uint8_t deal_id[LP_WIRE_ID_LEN], const char *which, uint8_t **data,
                        size_t *len, struct lp_solver_status *st)
{
    struct lp_store_deal d;
    unsigned roles = 0;
    if (load_deal(s, caller, deal_id, ROLE_CREATOR | ROLE_PROVIDER | ROLE_MEDIATOR, &d, &roles,
                  st) != 0)
        return -1;
    int rc = -1;
    if (strcmp(which, "module") == 0) {
        uint8_t keccak[LP_WIRE_ID_LEN];
        struct lp_store_error e;
        if (module_bundle_of(s, &d, keccak, st) == 0) {
            int r = s->store->ops->file_read(s->store, keccak, data, len, &e);
            if (r == LP_STORE_OK) {
                rc = 0;
                st->http = 200;
            } else {
                lp_solver_status_store(st, r, &e);
            }
        }
        lp_store_deal_release(&d);
        return rc;
    }
    bool outputs = strcmp(which, "outputs") == 0;
    bool has = outputs ? d.has_output : d.has_input;
    const uint8_t *k = outputs ? d.output_keccak : d.input_keccak;
    if (!has) {
        lp_solver_status_set(st, 404,
                             outputs ? "wait for the provider to upload them"
                                     : "the job offer carried no input files",
                             "this deal has no %s", outputs ? "outputs" : "inputs");
        goto out;
    }
    struct lp_store_error e;
    int r = s->store->ops->file_read(s->store, k, data, len, &e);
    if (r != LP_STORE_OK) {
        lp_solver_status_store(st, r, &e);
        goto out;
    }
    rc = 0;
    st->http = 200;
    if (outputs && (roles & ROLE_CREATOR) && d.state == LP_DEAL_RESULTS_SUBMITTED) {
        struct lp_store_deal_update u;
        memset(&u, 0, sizeof u);
        u.expect_mask = LP_ST_MASK(LP_DEAL_RESULTS_SUBMITTED);
        u.new_state = LP_DEAL_DOWNLOADING;
        u.note = "outputs downloaded by the job creator";
        struct lp_solver_status ignore = {0};
        transition(s, &d, &u, &ignore); /* losing a race here changes nothing for the reader */
    }
out:
    lp_store_deal_release(&d);
    return rc;
}

/* ---- timeouts ---------------------------------------------------------------------------- */

struct tick_ctx {
    struct lp_solver *s;
    uint64_t now;
    uint8_t (*ids)[LP_WIRE_ID_LEN];
    uint32_t *states;
    size_t n, cap;
};

/* The state a deal times out into at `now`, or 0 when it has time left. */
static uint32_t timeout_state(const struct lp_solver *s, const struct lp_store_deal *d,
                              uint64_t now)
{
    if (s->cfg.total_timeout_ms && now >= d->job_created_at_ms + s->cfg.total_timeout_ms)
        return LP_DEAL_JOB_TIMED_OUT;
    switch (d->state) {
    case LP_DEAL_AGREED:
    case LP_DEAL_UPLOADING:
        if (now >= d->created_at_ms + d->execution_ms + s->cfg.execution_grace_ms)
            return LP_DEAL_TIMEOUT_EXECUTION;
        break;
    case LP_DEAL_RESULTS_SUBMITTED:
    case LP_DEAL_DOWNLOADING:
        if (now >= d->state_since_ms + d->download_ms)
            return LP_DEAL_TIMEOUT_DOWNLOAD;
        break;
    case LP_DEAL_RESULTS_CHECKED:
        if (now >= d->state_since_ms + d->mediation_ms)
            return LP_DEAL_TIMEOUT_MEDIATE_RESULTS;
        break;
    default:
        break;
    }
    return 0;
}

/* Collects work during the scan (the store is locked while it runs) and acts afterwards. */
static int collect(void *ctx, const struct lp_store_deal *d)
{
    struct tick_ctx *t = ctx;
    uint32_t to = timeout_state(t->s, d, t->now);
    bool needs_mediator = d->state == LP_DEAL_RESULTS_CHECKED && !d->has_mediator;
    if (!to && !needs_mediator)
        return 0;
    if (t->n == t->cap) {
        size_t ncap = t->cap ? 2 * t->cap : 32;
        void *a = realloc(t->ids, ncap * sizeof *t->ids);
        if (!a)
            return 0;
        t->ids = a;
        void *b = realloc(t->states, ncap * sizeof *t->states);
        if (!b)
            return 0;
        t->states = b;
        t->cap = ncap;
    }
    memcpy(t->ids[t->n], d->id, LP_WIRE_ID_LEN);
    t->states[t->n++] = to; /* 0: only a mediator to book */
    return 0;
}

int lp_solver_tick(struct lp_solver *s, uint64_t now_ms)
{
    int n = lp_solver_expire_pending(s, now_ms);
    n += lp_solver_providers_tick(s, now_ms);
    struct tick_ctx t = {.s = s, .now = now_ms};
    struct lp_store_error e;
    if (s->store->ops->deal_scan(s->store, NULL, true, collect, &t, &e) != LP_STORE_OK)
        fprintf(stderr, "lilypad: solver: timeout pass: %s\n", e.message);
    for (size_t i = 0; i < t.n; i++) {
        if (t.states[i] == 0) {
            lp_solver_book_mediator(s, t.ids[i]);
            continue;
        }
        struct lp_store_deal d;
        if (s->store->ops->deal_get(s->store, t.ids[i], &d, &e) != LP_STORE_OK)
            continue;
        uint32_t to = timeout_state(s, &d, now_ms); /* re-check: it may have moved on */
        if (to && !lp_deal_state_terminal(d.state)) {
            struct lp_store_deal_update u;
            memset(&u, 0, sizeof u);
            u.expect_mask = LP_ST_MASK(d.state);
            u.new_state = to;
            u.note = "timed out";
            struct lp_solver_status st = {0};
            if (transition(s, &d, &u, &st) == 0) {
                n++;
                lp_solver_count(s, &s->metrics.timeouts, 1);
                /* Results not delivered in time count against the provider. */
                if (d.state == LP_DEAL_AGREED || d.state == LP_DEAL_UPLOADING)
                    lp_solver_provider_outcome(s, d.provider, LP_OUTCOME_TIMED_OUT);
            }
        }
        lp_store_deal_release(&d);
    }
    free(t.ids);
    free(t.states);
    return n;
}
