/* Request routing of the solver's HTTP API (README.md in this folder lists the routes). Pure
 * string parsing, separate from libmicrohttpd so it can be unit-tested and fuzzed. */
#ifndef LP_SOLVER_ROUTE_H
#define LP_SOLVER_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

enum lp_route_id {
    LP_ROUTE_NONE = 0,
    LP_ROUTE_HEALTH,
    LP_ROUTE_METRICS,
    LP_ROUTE_JOB_OFFER_POST,
    LP_ROUTE_JOB_OFFER_LIST,
    LP_ROUTE_JOB_OFFER_GET,
    LP_ROUTE_JOB_OFFER_CANCEL,
    LP_ROUTE_RESOURCE_OFFER_POST,
    LP_ROUTE_RESOURCE_OFFER_LIST,
    LP_ROUTE_RESOURCE_OFFER_GET,
    LP_ROUTE_RESOURCE_OFFER_CANCEL,
    LP_ROUTE_DEAL_LIST,
    LP_ROUTE_DEAL_GET,
    LP_ROUTE_DEAL_ACTION, /* agree | accept | cancel */
    LP_ROUTE_DEAL_CHALLENGE,
    LP_ROUTE_DEAL_RESULT,
    LP_ROUTE_DEAL_VERDICT,
    LP_ROUTE_DEAL_OUTPUTS_PUT,
    LP_ROUTE_DEAL_FILE_GET, /* inputs | outputs | module (the job offer's module bundle) */
    LP_ROUTE_FILE_POST,
    LP_ROUTE_EVENTS,
    LP_ROUTE_POW_CHALLENGE,  /* GET /api/v1/pow/challenge */
    LP_ROUTE_POW_SUBMISSION, /* POST /api/v1/pow/submissions */
    LP_ROUTE_LEADERBOARD,    /* GET /api/v1/leaderboard (public) */
    LP_ROUTE_PROVIDERS,      /* GET /api/v1/providers (public): liveness and reliability */
};

#define LP_ROUTE_PREFIX "/api/v1"

struct lp_route {
    enum lp_route_id id;
    bool wrong_method; /* the path exists, with other methods (405) */
    bool has_object_id;
    uint8_t object_id[LP_WIRE_ID_LEN];
    char action[16]; /* deal action, or "inputs"/"outputs" */
    /* query parameters */
    bool has_inputs;
    uint8_t inputs[LP_WIRE_ID_LEN]; /* POST /job_offers?inputs=0x<keccak> */
    uint64_t cursor;                /* GET /events?cursor=N */
    uint64_t wait_s;                /* GET /events?wait=S */
    bool active_only;               /* GET /deals?active=1 */
    char error[128];                /* why a request target was refused */
};

/* Parses METHOD and the request target ("/path?query", as sent). Returns 0 with out->id set
 * (LP_ROUTE_NONE: unknown path, 404; wrong_method: 405), or -1 when the target is malformed
 * (bad ID, unknown or repeated query parameter, bad number) with out->error set (400). */
int lp_route_parse(const char *method, const char *target, struct lp_route *out);

/* Whether the route's body is a raw file (size-capped by max_file_bytes) rather than a signed
 * envelope (capped by LP_WIRE_MAX_SIZE). */
bool lp_route_takes_file(enum lp_route_id id);
/* Health, metrics, the leaderboard and the providers view: the routes without a signed
 * request. */
bool lp_route_public(enum lp_route_id id);

#endif
