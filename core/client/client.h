/* Client of the solver's HTTP API (core/solver/README.md), used by the provider and by
 * `lilypad run`: every request is signed with the node's key (core/wire/sigreq.h); objects go
 * as signed envelopes (lp_wire_sign); answers are JSON (jansson) or raw file bytes.
 *
 * Thread-safe: each call uses its own libcurl handle, so a long-poll in one thread never
 * blocks another thread's requests. Errors: -1 with err->status (the HTTP status, 0 when the
 * solver could not be reached) and err->message, one line such as
 *   "POST /api/v1/job_offers: HTTP 403: module ... is on the network blocklist: ... (hint: ...)".
 */
#ifndef LP_CLIENT_CLIENT_H
#define LP_CLIENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto/key.h"
#include "wire/object.h"

struct lp_client_error {
    long status;
    char message[512];
};

struct lp_client;

/* base_url: "http://127.0.0.1:8080" (no trailing slash needed). timeout_ms bounds each request
 * (long-polls get their wait on top). The key is copied. NULL on bad arguments. */
struct lp_client *lp_client_new(const char *base_url, const struct lp_key *key, long timeout_ms);
void lp_client_free(struct lp_client *c);
const uint8_t *lp_client_address(const struct lp_client *c);

/* A signed request. *resp (malloc'd, NUL-terminated for convenience) and *status are set
 * whenever the solver answered; non-2xx answers also return -1 with the error decoded from
 * the {"error","hint"} body. resp may be NULL. */
int lp_client_request(struct lp_client *c, const char *method, const char *path_and_query,
                      const void *body, size_t len, uint8_t **resp, size_t *resp_len,
                      struct lp_client_error *err);
/* The same, parsing a JSON answer. */
int lp_client_request_json(struct lp_client *c, const char *method, const char *path_and_query,
                           const void *body, size_t len, json_t **out, struct lp_client_error *err);

/* Signs obj with the client's key and posts it where it belongs: job offers to
 * /api/v1/job_offers (inputs_keccak: an uploaded input blob, or NULL), resource offers to
 * /api/v1/resource_offers, results to /deals/{deal}/result, mediation requests to
 * /deals/{deal}/challenge, verdicts to /deals/{deal}/verdict. id receives the object's ID
 * (may be NULL); out (may be NULL) the JSON answer. */
int lp_client_post_object(struct lp_client *c, const struct lp_wire_object *obj,
                          const uint8_t *inputs_keccak, uint8_t id[LP_WIRE_ID_LEN], json_t **out,
                          struct lp_client_error *err);

int lp_client_get_deal(struct lp_client *c, const uint8_t deal_id[LP_WIRE_ID_LEN], json_t **out,
                       struct lp_client_error *err);
/* {"deals": [...]} of the caller; active_only: only deals still in progress. */
int lp_client_list_deals(struct lp_client *c, bool active_only, json_t **out,
                         struct lp_client_error *err);
/* kind: LP_WIRE_JOB_OFFER or LP_WIRE_RESOURCE_OFFER. */
int lp_client_get_offer(struct lp_client *c, uint32_t kind, const uint8_t id[LP_WIRE_ID_LEN],
                        json_t **out, struct lp_client_error *err);
int lp_client_cancel_offer(struct lp_client *c, uint32_t kind, const uint8_t id[LP_WIRE_ID_LEN],
                           struct lp_client_error *err);
/* action: "agree", "accept" or "cancel". out (may be NULL) receives the deal. */
int lp_client_deal_action(struct lp_client *c, const uint8_t deal_id[LP_WIRE_ID_LEN],
                          const char *action, json_t **out, struct lp_client_error *err);

/* Uploads an input blob (before posting the job offer that names it). */
int lp_client_upload_file(struct lp_client *c, const void *data, size_t len,
                          uint8_t keccak[LP_WIRE_ID_LEN], struct lp_client_error *err);
/* The provider's outputs of a deal. */
int lp_client_put_outputs(struct lp_client *c, const uint8_t deal_id[LP_WIRE_ID_LEN],
                          const void *data, size_t len, struct lp_client_error *err);
/* which: "inputs", "outputs" or "module" (the job offer's module bundle, module/bundle.h);
 * *data is malloc'd. */
int lp_client_download(struct lp_client *c, const uint8_t deal_id[LP_WIRE_ID_LEN],
                       const char *which, uint8_t **data, size_t *len, struct lp_client_error *err);

/* Long-poll: events about the caller's offers and deals after cursor, waiting up to wait_s
 * (0..60) for the first. *events is a JSON array (each {seq, at, type, id, state,
 * state_name}); *next_cursor is what to pass next time. */
int lp_client_events(struct lp_client *c, uint64_t cursor, unsigned wait_s, json_t **events,
                     uint64_t *next_cursor, struct lp_client_error *err);

/* A cancel token for long requests: lp_client_cancel_fire() (any thread, e.g. a signal's stop
 * path) makes a request that uses the token return at once, -1 with err->status
 * LP_CLIENT_CANCELLED. A token stays fired until reset; a request started on a fired token
 * returns at once. Why not CURLOPT_XFERINFOFUNCTION: while a long-poll is idle libcurl calls it
 * about once a second, so a stop would still wait up to a second; curl_multi_wakeup() is
 * immediate. */
#define LP_CLIENT_CANCELLED (-1L)
struct lp_client_cancel;
struct lp_client_cancel *lp_client_cancel_new(void);
void lp_client_cancel_free(struct lp_client_cancel *t);
void lp_client_cancel_fire(struct lp_client_cancel *t);
void lp_client_cancel_reset(struct lp_client_cancel *t);
bool lp_client_cancel_fired(struct lp_client_cancel *t);

/* lp_client_events() that a fired token ends at once (token may be NULL). */
int lp_client_events_cancellable(struct lp_client *c, uint64_t cursor, unsigned wait_s,
                                 struct lp_client_cancel *token, json_t **events,
                                 uint64_t *next_cursor, struct lp_client_error *err);

/* Parses a 0x-hex ID from a JSON string member. 0 ok, -1 otherwise. */
int lp_client_json_id(const json_t *obj, const char *key, uint8_t id[LP_WIRE_ID_LEN]);

#endif
