/* Request routing: split the target into path segments and a query, match them against the
 * route table, decode IDs and numbers strictly. */
#include "solver/route.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"

#define MAX_SEGS 6
#define MAX_SEG  80

bool lp_route_takes_file(enum lp_route_id id)
{
    return id == LP_ROUTE_DEAL_OUTPUTS_PUT || id == LP_ROUTE_FILE_POST;
}

bool lp_route_public(enum lp_route_id id)
{
    return id == LP_ROUTE_HEALTH || id == LP_ROUTE_METRICS || id == LP_ROUTE_LEADERBOARD ||
           id == LP_ROUTE_PROVIDERS;
}

static int bad(struct lp_route *r, const char *msg)
{
    snprintf(r->error, sizeof r->error, "%s", msg);
    return -1;
}

/* Decimal uint64 without sign, spaces or leading zeros (other than "0"). */
static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_id(const char *s, size_t n, uint8_t out[LP_WIRE_ID_LEN])
{
    if (n == 2 + 2 * LP_WIRE_ID_LEN && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        n -= 2;
    }
    return n == 2 * LP_WIRE_ID_LEN ? lp_hex_decode(s, n, out, LP_WIRE_ID_LEN) : -1;
}

static int parse_query(const char *q, struct lp_route *r)
{
    unsigned seen = 0;
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        if (!eq)
            return bad(r, "query: expected key=value pairs");
        size_t klen = (size_t)(eq - q), vlen = len - klen - 1;
        const char *v = eq + 1;
        unsigned bit;
        if (klen == 6 && memcmp(q, "cursor", 6) == 0) {
            bit = 1;
            if (parse_u64(v, vlen, INT64_MAX, &r->cursor) != 0)
                return bad(r, "query: cursor must be a decimal event number");
        } else if (klen == 4 && memcmp(q, "wait", 4) == 0) {
            bit = 2;
            if (parse_u64(v, vlen, 60, &r->wait_s) != 0)
                return bad(r, "query: wait must be 0..60 seconds");
        } else if (klen == 6 && memcmp(q, "inputs", 6) == 0) {
            bit = 4;
            if (parse_id(v, vlen, r->inputs) != 0)
                return bad(r, "query: inputs must be a 32-byte keccak in hex");
            r->has_inputs = true;
        } else if (klen == 6 && memcmp(q, "active", 6) == 0) {
            bit = 8;
            if (vlen != 1 || (v[0] != '0' && v[0] != '1'))
                return bad(r, "query: active must be 0 or 1");
            r->active_only = v[0] == '1';
        } else {
            return bad(r, "query: unknown parameter (known: cursor, wait, inputs, active)");
        }
        if (seen & bit)
            return bad(r, "query: a parameter is repeated");
        seen |= bit;
        q += len + (amp ? 1 : 0);
        if (amp && !*q)
            return bad(r, "query: trailing '&'");
    }
    return 0;
}

static bool seg_is(const char *seg, const char *lit)
{
    return strcmp(seg, lit) == 0;
}

/* Sets the route when the method fits, else flags 405. */
static void pick(struct lp_route *r, const char *method, const char *want, enum lp_route_id id)
{
    if (strcmp(method, want) == 0) {
        r->id = id;
        r->wrong_method = false;
    } else if (r->id == LP_ROUTE_NONE) {
        r->wrong_method = true;
    }
}

int lp_route_parse(const char *method, const char *target, struct lp_route *out)
{
    memset(out, 0, sizeof *out);
    if (!method || !target || target[0] != '/')
        return bad(out, "request target must start with '/'");
    size_t tlen = strlen(target);
    if (tlen > 4096)
        return bad(out, "request target too long");
    const char *qmark = strchr(target, '?');
    size_t plen = qmark ? (size_t)(qmark - target) : tlen;

    char segs[MAX_SEGS][MAX_SEG];
    size_t n = 0;
    const char *p = target + 1;
    const char *end = target + plen;
    if (plen > 1) {
        while (p <= end) {
            const char *slash = memchr(p, '/', (size_t)(end - p));
            size_t len = slash ? (size_t)(slash - p) : (size_t)(end - p);
            if (len == 0 || len >= MAX_SEG || n == MAX_SEGS)
                return 0; /* empty segment, oversized or too deep: no such route */
            memcpy(segs[n], p, len);
            segs[n][len] = '\0';
            n++;
            if (!slash)
                break;
            p = slash + 1;
        }
    }
    if (n == 1 && seg_is(segs[0], "healthz")) {
        pick(out, method, "GET", LP_ROUTE_HEALTH);
    } else if (n == 1 && seg_is(segs[0], "metrics")) {
        pick(out, method, "GET", LP_ROUTE_METRICS);
    } else if (n >= 3 && seg_is(segs[0], "api") && seg_is(segs[1], "v1")) {
        const char *coll = segs[2];
        bool job = seg_is(coll, "job_offers"), res = seg_is(coll, "resource_offers");
        bool deals = seg_is(coll, "deals");
        if (n >= 4 && (job || res || deals)) {
            if (parse_id(segs[3], strlen(segs[3]), out->object_id) != 0)
                return bad(out, "path: the ID must be 32 bytes in hex (0x + 64 digits)");
            out->has_object_id = true;
        }
        if ((job || res) && n == 3) {
            pick(out, method, "POST", job ? LP_ROUTE_JOB_OFFER_POST : LP_ROUTE_RESOURCE_OFFER_POST);
            pick(out, method, "GET", job ? LP_ROUTE_JOB_OFFER_LIST : LP_ROUTE_RESOURCE_OFFER_LIST);
        } else if ((job || res) && n == 4) {
            pick(out, method, "GET", job ? LP_ROUTE_JOB_OFFER_GET : LP_ROUTE_RESOURCE_OFFER_GET);
        } else if ((job || res) && n == 5 && seg_is(segs[4], "cancel")) {
            pick(out, method, "POST",
                 job ? LP_ROUTE_JOB_OFFER_CANCEL : LP_ROUTE_RESOURCE_OFFER_CANCEL);
        } else if (deals && n == 3) {
            pick(out, method, "GET", LP_ROUTE_DEAL_LIST);
        } else if (deals && n == 4) {
            pick(out, method, "GET", LP_ROUTE_DEAL_GET);
        } else if (deals && n == 5) {
            const char *a = segs[4];
            if (seg_is(a, "agree") || seg_is(a, "accept") || seg_is(a, "cancel"))
                pick(out, method, "POST", LP_ROUTE_DEAL_ACTION);
            else if (seg_is(a, "challenge"))
                pick(out, method, "POST", LP_ROUTE_DEAL_CHALLENGE);
            else if (seg_is(a, "result"))
                pick(out, method, "POST", LP_ROUTE_DEAL_RESULT);
            else if (seg_is(a, "verdict"))
                pick(out, method, "POST", LP_ROUTE_DEAL_VERDICT);
            else if (seg_is(a, "outputs")) {
                pick(out, method, "PUT", LP_ROUTE_DEAL_OUTPUTS_PUT);
                pick(out, method, "GET", LP_ROUTE_DEAL_FILE_GET);
            } else if (seg_is(a, "inputs") || seg_is(a, "module"))
                pick(out, method, "GET", LP_ROUTE_DEAL_FILE_GET);
            snprintf(out->action, sizeof out->action, "%s", strlen(a) < 16 ? a : "");
        } else if (seg_is(coll, "files") && n == 3) {
            pick(out, method, "POST", LP_ROUTE_FILE_POST);
        } else if (seg_is(coll, "events") && n == 3) {
            pick(out, method, "GET", LP_ROUTE_EVENTS);
        } else if (seg_is(coll, "leaderboard") && n == 3) {
            pick(out, method, "GET", LP_ROUTE_LEADERBOARD);
        } else if (seg_is(coll, "providers") && n == 3) {
            pick(out, method, "GET", LP_ROUTE_PROVIDERS);
        } else if (seg_is(coll, "pow") && n == 4 && seg_is(segs[3], "challenge")) {
            pick(out, method, "GET", LP_ROUTE_POW_CHALLENGE);
        } else if (seg_is(coll, "pow") && n == 4 && seg_is(segs[3], "submissions")) {
            pick(out, method, "POST", LP_ROUTE_POW_SUBMISSION);
        }
    }
    if (qmark && parse_query(qmark + 1, out) != 0)
        return -1;
    return 0;
}
