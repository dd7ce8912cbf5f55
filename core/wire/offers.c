/* Job offer and resource offer codecs (layouts in offers.h). */
#include "wire/offers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "wire/codec.h"

static const uint32_t lp_job_offer_fields[] = {0, 11, 14};
static const uint32_t lp_resource_offer_fields[] = {0, 8};

/* ---- shared checks ------------------------------------------------------------------------ */

static void lp_wire_set(struct lp_wire_error *err, const char *path, const char *what)
{
    if (err != NULL)
        snprintf(err->message, sizeof(err->message), "%s: %s", path, what);
}

static int lp_commit_check(const char *commit, struct lp_wire_error *err)
{
    size_t n = commit ? strlen(commit) : 0;
    if (n != 40 && n != 64) {
        lp_wire_set(err, "job_offer.module.commit", "expected 40 or 64 lowercase hex digits");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = commit[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            lp_wire_set(err, "job_offer.module.commit", "not lowercase hex");
            return -1;
        }
    }
    return 0;
}

int lp_wire_json_canonical(const char *text, size_t len, char **out, struct lp_wire_error *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        char what[200];
        snprintf(what, sizeof(what), "invalid JSON at position %d: %s", jerr.position, jerr.text);
        lp_wire_set(err, "job_offer.module.spec", what);
        return -1;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        lp_wire_set(err, "job_offer.module.spec", "JSON text is not an object");
        return -1;
    }
    *out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (*out == NULL) {
        lp_wire_set(err, "job_offer.module.spec", "cannot print JSON (out of memory)");
        return -1;
    }
    return 0;
}

static int lp_spec_check(const char *spec, struct lp_wire_error *err)
{
    size_t len = spec ? strlen(spec) : 0;
    if (len > LP_WIRE_MAX_SPEC) {
        lp_wire_set(err, "job_offer.module.spec", "longer than 64 KiB");
        return -1;
    }
    char *canon = NULL;
    if (lp_wire_json_canonical(spec ? spec : "", len, &canon, err) != 0)
        return -1;
    int same = strcmp(canon, spec) == 0;
    free(canon);
    if (!same) {
        lp_wire_set(err, "job_offer.module.spec",
                    "JSON is not canonical (use lp_wire_json_canonical: compact, sorted keys)");
        return -1;
    }
    return 0;
}

static int lp_job_offer_validate(const struct lp_job_offer *o, struct lp_wire_error *err)
{
    if (lp_commit_check(o->module.commit, err) != 0)
        return -1;
    if (o->n_inputs > LP_WIRE_MAX_INPUTS) {
        lp_wire_set(err, "job_offer.inputs", "more than 64 inputs");
        return -1;
    }
    if (o->resources.gpus > LP_WIRE_MAX_GPUS) {
        lp_wire_set(err, "job_offer.resources.gpus", "more than 64 GPUs");
        return -1;
    }
    if (o->timeout_s < 1 || o->timeout_s > LP_WIRE_MAX_TIMEOUT_S) {
        lp_wire_set(err, "job_offer.timeout_s", "must be 1..604800 seconds");
        return -1;
    }
    if (o->mode > LP_PRICE_FIXED) {
        lp_wire_set(err, "job_offer.mode", "unknown price mode (0 market, 1 fixed)");
        return -1;
    }
    if (o->has_target != 0 && o->has_target != 1) {
        lp_wire_set(err, "job_offer.target", "has_target must be 0 or 1");
        return -1;
    }
    if (o->min_reliability > LP_WIRE_MAX_RELIABILITY) {
        lp_wire_set(err, "job_offer.min_reliability", "must be 0..1000 (per mille)");
        return -1;
    }
    if (o->n_mediators > LP_WIRE_MAX_MEDIATORS) {
        lp_wire_set(err, "job_offer.mediators", "more than 16 addresses");
        return -1;
    }
    /* Sorted and unique, so one set has one encoding (and one offer ID). */
    for (size_t i = 1; i < o->n_mediators; i++) {
        if (memcmp(o->mediators[i - 1], o->mediators[i], LP_WIRE_ADDR_LEN) >= 0) {
            lp_wire_set(err, "job_offer.mediators", "addresses must be sorted bytewise and unique");
            return -1;
        }
    }
    return lp_spec_check(o->module.spec, err);
}

/* ---- job offer ---------------------------------------------------------------------------- */

/* qsort has no context argument in C17: the array being sorted is passed through a
 * thread-local so concurrent encoders on different threads do not interfere. */
static _Thread_local const struct lp_wire_input *lp_sort_base;

static int lp_input_index_cmp(const void *a, const void *b)
{
    return strcmp(lp_sort_base[*(const size_t *)a].key, lp_sort_base[*(const size_t *)b].key);
}

static int lp_job_offer_write(struct lp_ww *w, const void *obj)
{
    const struct lp_job_offer *o = obj;
    uint32_t version = o->version ? o->version : LP_JOB_OFFER_VERSION;
    if (version > LP_JOB_OFFER_VERSION) {
        lp_ww_fail(w, "job_offer.version", "unknown version %u (this build writes 1..%u)", version,
                   LP_JOB_OFFER_VERSION);
        return -1;
    }
    struct lp_u256 zero;
    lp_wei_from_u64(&zero, 0);
    if (version < 2 &&
        (o->min_reliability != 0 || lp_wei_cmp(&o->min_results_collateral, &zero) != 0)) {
        lp_ww_fail(w, "job_offer.min_reliability",
                   "version 1 has no provider requirements (write version 2)");
        return -1;
    }
    if (version < 2 && o->n_mediators != 0) {
        lp_ww_fail(w, "job_offer.mediators", "version 1 names no mediators (write version 2)");
        return -1;
    }
    lp_ww_array(w, lp_job_offer_fields[version]);
    lp_ww_uint(w, version);
    lp_ww_bin(w, o->job_creator, LP_WIRE_ADDR_LEN);
    lp_ww_array(w, 3);
    lp_ww_str(w, "job_offer.module.repo", o->module.repo, LP_WIRE_MAX_REPO);
    lp_ww_str(w, "job_offer.module.commit", o->module.commit, 64);
    lp_ww_str(w, "job_offer.module.spec", o->module.spec, LP_WIRE_MAX_SPEC);

    if (o->n_inputs > LP_WIRE_MAX_INPUTS) {
        lp_ww_fail(w, "job_offer.inputs", "more than %d inputs", LP_WIRE_MAX_INPUTS);
        return -1;
    }
    /* Canonical maps are sorted by key; sort an index so the caller's array stays as given. */
    size_t order[LP_WIRE_MAX_INPUTS];
    for (size_t i = 0; i < o->n_inputs; i++) {
        if (o->inputs[i].key == NULL) {
            lp_ww_fail(w, "job_offer.inputs", "input %zu has no key", i);
            return -1;
        }
        order[i] = i;
    }
    lp_sort_base = o->inputs;
    if (o->n_inputs > 1)
        qsort(order, o->n_inputs, sizeof(order[0]), lp_input_index_cmp);
    lp_ww_map(w, (uint32_t)o->n_inputs);
    for (size_t i = 0; i < o->n_inputs; i++) {
        const struct lp_wire_input *in = &o->inputs[order[i]];
        if (i > 0 && strcmp(o->inputs[order[i - 1]].key, in->key) == 0) {
            lp_ww_fail(w, "job_offer.inputs", "duplicate key \"%.64s\"", in->key);
            return -1;
        }
        lp_ww_str(w, "job_offer.inputs key", in->key, LP_WIRE_MAX_INPUT_KEY);
        lp_ww_str(w, "job_offer.inputs value", in->value, LP_WIRE_MAX_INPUT_VALUE);
    }
    lp_ww_array(w, 5);
    lp_ww_uint(w, o->resources.cpu_millicores);
    lp_ww_uint(w, o->resources.gpus);
    lp_ww_uint(w, o->resources.vram_bytes);
    lp_ww_uint(w, o->resources.ram_bytes);
    lp_ww_uint(w, o->resources.disk_bytes);
    lp_ww_array(w, 2);
    lp_ww_u256(w, &o->max_price);
    lp_ww_u256(w, &o->payment_collateral);
    lp_ww_uint(w, o->timeout_s);
    if (o->has_target)
        lp_ww_bin(w, o->target, LP_WIRE_ADDR_LEN);
    else
        lp_ww_nil(w);
    lp_ww_uint(w, o->mode);
    lp_ww_uint(w, o->created_at_ms);
    lp_ww_bin(w, o->nonce, LP_WIRE_NONCE_LEN);
    if (version >= 2) {
        lp_ww_uint(w, o->min_reliability);
        lp_ww_u256(w, &o->min_results_collateral);
        lp_ww_array(w, (uint32_t)o->n_mediators);
        for (size_t i = 0; i < o->n_mediators; i++)
            lp_ww_bin(w, o->mediators[i], LP_WIRE_ADDR_LEN);
    }
    return w->failed ? -1 : 0;
}

static int lp_job_offer_read(struct lp_rd *r, const msgpack_object *root, void *obj)
{
    struct lp_job_offer *o = obj;
    uint32_t version;
    const msgpack_object *f =
        lp_rd_versioned(r, root, "job_offer", lp_job_offer_fields, LP_JOB_OFFER_VERSION, &version);
    if (f == NULL)
        return -1;
    o->version = version;
    lp_rd_fixbin(r, &f[1], "job_offer.job_creator", o->job_creator, LP_WIRE_ADDR_LEN);
    const msgpack_object *m = lp_rd_array(r, &f[2], "job_offer.module", 3);
    if (m == NULL)
        return -1;
    o->module.repo = lp_rd_str(r, &m[0], "job_offer.module.repo", LP_WIRE_MAX_REPO);
    o->module.commit = lp_rd_str(r, &m[1], "job_offer.module.commit", 64);
    o->module.spec = lp_rd_str(r, &m[2], "job_offer.module.spec", LP_WIRE_MAX_SPEC);

    const msgpack_object *in = &f[3];
    if (r->failed)
        return -1;
    if (in->type != MSGPACK_OBJECT_MAP) {
        lp_rd_fail(r, "job_offer.inputs", "expected map");
        return -1;
    }
    if (in->via.map.size > LP_WIRE_MAX_INPUTS) {
        lp_rd_fail(r, "job_offer.inputs", "%u entries, over the limit of %d", in->via.map.size,
                   LP_WIRE_MAX_INPUTS);
        return -1;
    }
    if (in->via.map.size > 0) {
        o->inputs = calloc(in->via.map.size, sizeof(*o->inputs));
        if (o->inputs == NULL) {
            lp_rd_fail(r, "job_offer.inputs", "out of memory");
            return -1;
        }
    }
    for (uint32_t i = 0; i < in->via.map.size && !r->failed; i++) {
        const msgpack_object_kv *kv = &in->via.map.ptr[i];
        char path[64];
        snprintf(path, sizeof(path), "job_offer.inputs key %u", i);
        o->inputs[i].key = lp_rd_str(r, &kv->key, path, LP_WIRE_MAX_INPUT_KEY);
        o->n_inputs = i + 1;
        if (o->inputs[i].key == NULL)
            break;
        snprintf(path, sizeof(path), "job_offer.inputs[\"%.32s\"]", o->inputs[i].key);
        o->inputs[i].value = lp_rd_str(r, &kv->val, path, LP_WIRE_MAX_INPUT_VALUE);
        if (i > 0 && strcmp(o->inputs[i - 1].key, o->inputs[i].key) >= 0)
            lp_rd_fail(r, path, "map keys must be sorted bytewise and unique");
    }
    const msgpack_object *res = lp_rd_array(r, &f[4], "job_offer.resources", 5);
    if (res == NULL)
        return -1;
    o->resources.cpu_millicores =
        lp_rd_uint(r, &res[0], "job_offer.resources.cpu_millicores", UINT64_MAX);
    o->resources.gpus =
        (uint32_t)lp_rd_uint(r, &res[1], "job_offer.resources.gpus", LP_WIRE_MAX_GPUS);
    o->resources.vram_bytes = lp_rd_uint(r, &res[2], "job_offer.resources.vram_bytes", UINT64_MAX);
    o->resources.ram_bytes = lp_rd_uint(r, &res[3], "job_offer.resources.ram_bytes", UINT64_MAX);
    o->resources.disk_bytes = lp_rd_uint(r, &res[4], "job_offer.resources.disk_bytes", UINT64_MAX);
    const msgpack_object *pr = lp_rd_array(r, &f[5], "job_offer.pricing", 2);
    if (pr == NULL)
        return -1;
    lp_rd_u256(r, &pr[0], "job_offer.pricing.max_price", &o->max_price);
    lp_rd_u256(r, &pr[1], "job_offer.pricing.payment_collateral", &o->payment_collateral);
    o->timeout_s = lp_rd_uint(r, &f[6], "job_offer.timeout_s", LP_WIRE_MAX_TIMEOUT_S);
    if (!r->failed && o->timeout_s == 0)
        lp_rd_fail(r, "job_offer.timeout_s", "must be at least 1 second");
    if (!lp_rd_is_nil(&f[7])) {
        o->has_target = 1;
        lp_rd_fixbin(r, &f[7], "job_offer.target", o->target, LP_WIRE_ADDR_LEN);
    }
    o->mode = (uint32_t)lp_rd_uint(r, &f[8], "job_offer.mode", LP_PRICE_FIXED);
    o->created_at_ms = lp_rd_uint(r, &f[9], "job_offer.created_at", UINT64_MAX);
    lp_rd_fixbin(r, &f[10], "job_offer.nonce", o->nonce, LP_WIRE_NONCE_LEN);
    if (version >= 2) {
        o->min_reliability =
            (uint32_t)lp_rd_uint(r, &f[11], "job_offer.min_reliability", LP_WIRE_MAX_RELIABILITY);
        lp_rd_u256(r, &f[12], "job_offer.min_results_collateral", &o->min_results_collateral);
        uint32_t n = 0;
        const msgpack_object *med =
            lp_rd_array_max(r, &f[13], "job_offer.mediators", LP_WIRE_MAX_MEDIATORS, &n);
        if (med == NULL && r->failed)
            return -1;
        for (uint32_t i = 0; i < n && !r->failed; i++) {
            char path[40];
            snprintf(path, sizeof path, "job_offer.mediators[%u]", i);
            lp_rd_fixbin(r, &med[i], path, o->mediators[i], LP_WIRE_ADDR_LEN);
        }
        o->n_mediators = n;
    }
    if (r->failed)
        return -1;
    if (lp_job_offer_validate(o, r->err) != 0) {
        r->failed = true;
        return -1;
    }
    return 0;
}

void lp_job_offer_free(struct lp_job_offer *o)
{
    if (o == NULL)
        return;
    free(o->module.repo);
    free(o->module.commit);
    free(o->module.spec);
    for (size_t i = 0; i < o->n_inputs; i++) {
        free(o->inputs[i].key);
        free(o->inputs[i].value);
    }
    free(o->inputs);
    memset(o, 0, sizeof(*o));
}

static void lp_job_offer_free_any(void *o)
{
    lp_job_offer_free(o);
}

static const struct lp_wire_codec lp_job_offer_codec = {"job_offer", sizeof(struct lp_job_offer),
                                                        lp_job_offer_write, lp_job_offer_read,
                                                        lp_job_offer_free_any};

int lp_job_offer_encode(const struct lp_job_offer *o, uint8_t **out, size_t *out_len,
                        struct lp_wire_error *err)
{
    if (lp_job_offer_validate(o, err) != 0)
        return -1;
    return lp_wire_encode_with(&lp_job_offer_codec, o, out, out_len, err);
}

int lp_job_offer_decode(const uint8_t *data, size_t len, struct lp_job_offer *o,
                        struct lp_wire_error *err)
{
    return lp_wire_decode_with(&lp_job_offer_codec, data, len, o, err);
}

/* ---- resource offer ----------------------------------------------------------------------- */

static int lp_resource_offer_write(struct lp_ww *w, const void *obj)
{
    const struct lp_resource_offer *o = obj;
    if (o->n_gpus > LP_WIRE_MAX_GPUS) {
        lp_ww_fail(w, "resource_offer.resources.gpus", "more than %d GPUs", LP_WIRE_MAX_GPUS);
        return -1;
    }
    if (o->n_modules > LP_WIRE_MAX_MODULES) {
        lp_ww_fail(w, "resource_offer.modules", "more than %d modules", LP_WIRE_MAX_MODULES);
        return -1;
    }
    if (o->module_policy > LP_MODULES_ALLOWLIST) {
        lp_ww_fail(w, "resource_offer.module_policy", "unknown policy %u (0 any, 1 allow-list)",
                   o->module_policy);
        return -1;
    }
    if (o->module_policy == LP_MODULES_ANY && o->n_modules != 0) {
        lp_ww_fail(w, "resource_offer.modules", "must be empty when module_policy is 0 (any)");
        return -1;
    }
    lp_ww_array(w, lp_resource_offer_fields[LP_RESOURCE_OFFER_VERSION]);
    lp_ww_uint(w, LP_RESOURCE_OFFER_VERSION);
    lp_ww_bin(w, o->provider, LP_WIRE_ADDR_LEN);
    lp_ww_array(w, 4);
    lp_ww_uint(w, o->cpu_millicores);
    lp_ww_uint(w, o->ram_bytes);
    lp_ww_uint(w, o->disk_bytes);
    lp_ww_array(w, (uint32_t)o->n_gpus);
    for (size_t i = 0; i < o->n_gpus; i++) {
        lp_ww_array(w, 3);
        lp_ww_str(w, "resource_offer.resources.gpus.vendor", o->gpus[i].vendor,
                  LP_WIRE_MAX_GPU_VENDOR);
        lp_ww_str(w, "resource_offer.resources.gpus.model", o->gpus[i].model,
                  LP_WIRE_MAX_GPU_MODEL);
        lp_ww_uint(w, o->gpus[i].vram_bytes);
    }
    lp_ww_array(w, 3);
    lp_ww_u256(w, &o->min_price);
    lp_ww_u256(w, &o->results_collateral);
    lp_ww_u256(w, &o->mediation_fee);
    lp_ww_uint(w, o->module_policy);
    lp_ww_array(w, (uint32_t)o->n_modules);
    for (size_t i = 0; i < o->n_modules; i++) {
        if (o->modules[i] == NULL) {
            lp_ww_fail(w, "resource_offer.modules", "entry %zu is NULL", i);
            return -1;
        }
        if (i > 0 && strcmp(o->modules[i - 1], o->modules[i]) >= 0) {
            lp_ww_fail(w, "resource_offer.modules",
                       "must be sorted bytewise and unique (entry %zu)", i);
            return -1;
        }
        lp_ww_str(w, "resource_offer.modules", o->modules[i], LP_WIRE_MAX_MODULE_REF);
    }
    lp_ww_uint(w, o->created_at_ms);
    lp_ww_bin(w, o->nonce, LP_WIRE_NONCE_LEN);
    return w->failed ? -1 : 0;
}

static int lp_resource_offer_read(struct lp_rd *r, const msgpack_object *root, void *obj)
{
    struct lp_resource_offer *o = obj;
    uint32_t version, n;
    const msgpack_object *f = lp_rd_versioned(r, root, "resource_offer", lp_resource_offer_fields,
                                              LP_RESOURCE_OFFER_VERSION, &version);
    if (f == NULL)
        return -1;
    lp_rd_fixbin(r, &f[1], "resource_offer.provider", o->provider, LP_WIRE_ADDR_LEN);
    const msgpack_object *res = lp_rd_array(r, &f[2], "resource_offer.resources", 4);
    if (res == NULL)
        return -1;
    o->cpu_millicores =
        lp_rd_uint(r, &res[0], "resource_offer.resources.cpu_millicores", UINT64_MAX);
    o->ram_bytes = lp_rd_uint(r, &res[1], "resource_offer.resources.ram_bytes", UINT64_MAX);
    o->disk_bytes = lp_rd_uint(r, &res[2], "resource_offer.resources.disk_bytes", UINT64_MAX);
    const msgpack_object *g =
        lp_rd_array_max(r, &res[3], "resource_offer.resources.gpus", LP_WIRE_MAX_GPUS, &n);
    if (g == NULL && r->failed)
        return -1;
    if (n > 0) {
        o->gpus = calloc(n, sizeof(*o->gpus));
        if (o->gpus == NULL) {
            lp_rd_fail(r, "resource_offer.resources.gpus", "out of memory");
            return -1;
        }
    }
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        char path[80];
        snprintf(path, sizeof(path), "resource_offer.resources.gpus[%u]", i);
        const msgpack_object *gf = lp_rd_array(r, &g[i], path, 3);
        if (gf == NULL)
            return -1;
        o->n_gpus = i + 1;
        snprintf(path, sizeof(path), "resource_offer.resources.gpus[%u].vendor", i);
        o->gpus[i].vendor = lp_rd_str(r, &gf[0], path, LP_WIRE_MAX_GPU_VENDOR);
        snprintf(path, sizeof(path), "resource_offer.resources.gpus[%u].model", i);
        o->gpus[i].model = lp_rd_str(r, &gf[1], path, LP_WIRE_MAX_GPU_MODEL);
        snprintf(path, sizeof(path), "resource_offer.resources.gpus[%u].vram_bytes", i);
        o->gpus[i].vram_bytes = lp_rd_uint(r, &gf[2], path, UINT64_MAX);
    }
    const msgpack_object *pr = lp_rd_array(r, &f[3], "resource_offer.prices", 3);
    if (pr == NULL)
        return -1;
    lp_rd_u256(r, &pr[0], "resource_offer.prices.min_price", &o->min_price);
    lp_rd_u256(r, &pr[1], "resource_offer.prices.results_collateral", &o->results_collateral);
    lp_rd_u256(r, &pr[2], "resource_offer.prices.mediation_fee", &o->mediation_fee);
    o->module_policy =
        (uint32_t)lp_rd_uint(r, &f[4], "resource_offer.module_policy", LP_MODULES_ALLOWLIST);
    const msgpack_object *mods =
        lp_rd_array_max(r, &f[5], "resource_offer.modules", LP_WIRE_MAX_MODULES, &n);
    if (mods == NULL && r->failed)
        return -1;
    if (n > 0) {
        o->modules = calloc(n, sizeof(*o->modules));
        if (o->modules == NULL) {
            lp_rd_fail(r, "resource_offer.modules", "out of memory");
            return -1;
        }
    }
    for (uint32_t i = 0; i < n && !r->failed; i++) {
        char path[64];
        snprintf(path, sizeof(path), "resource_offer.modules[%u]", i);
        o->modules[i] = lp_rd_str(r, &mods[i], path, LP_WIRE_MAX_MODULE_REF);
        o->n_modules = i + 1;
        if (o->modules[i] != NULL && i > 0 && o->modules[i - 1] != NULL &&
            strcmp(o->modules[i - 1], o->modules[i]) >= 0)
            lp_rd_fail(r, path, "entries must be sorted bytewise and unique");
    }
    if (!r->failed && o->module_policy == LP_MODULES_ANY && o->n_modules != 0)
        lp_rd_fail(r, "resource_offer.modules", "must be empty when module_policy is 0 (any)");
    o->created_at_ms = lp_rd_uint(r, &f[6], "resource_offer.created_at", UINT64_MAX);
    lp_rd_fixbin(r, &f[7], "resource_offer.nonce", o->nonce, LP_WIRE_NONCE_LEN);
    return r->failed ? -1 : 0;
}

void lp_resource_offer_free(struct lp_resource_offer *o)
{
    if (o == NULL)
        return;
    for (size_t i = 0; i < o->n_gpus; i++) {
        free(o->gpus[i].vendor);
        free(o->gpus[i].model);
    }
    free(o->gpus);
    for (size_t i = 0; i < o->n_modules; i++)
        free(o->modules[i]);
    free(o->modules);
    memset(o, 0, sizeof(*o));
}

static void lp_resource_offer_free_any(void *o)
{
    lp_resource_offer_free(o);
}

static const struct lp_wire_codec lp_resource_offer_codec = {
    "resource_offer", sizeof(struct lp_resource_offer), lp_resource_offer_write,
    lp_resource_offer_read, lp_resource_offer_free_any};

int lp_resource_offer_encode(const struct lp_resource_offer *o, uint8_t **out, size_t *out_len,
                             struct lp_wire_error *err)
{
    return lp_wire_encode_with(&lp_resource_offer_codec, o, out, out_len, err);
}

int lp_resource_offer_decode(const uint8_t *data, size_t len, struct lp_resource_offer *o,
                             struct lp_wire_error *err)
{
    return lp_wire_decode_with(&lp_resource_offer_codec, data, len, o, err);
}
