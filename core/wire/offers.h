/* Job offers and resource offers: what a job creator asks for and what a provider offers.
 *
 * Job offer, version 2: msgpack array of 14 fields, in this order (version 1: fields 0-10 only,
 * version = 1)
 *   0 version            uint = 2
 *   1 job_creator        bin 20  (the envelope signer must be this address)
 *   2 module             array [repo str<=512, commit str (40 or 64 lowercase hex), spec str]
 *                        repo and commit name the module: a git repository (https://...,
 *                        file:///...) at a full commit, or a bundle of a local folder,
 *                        repo "bundle:0x" + keccak256 of its bytes in hex, commit those 64 hex
 *                        digits (core/module/bundle.h)
 *                        spec = the template-rendered job spec as CANONICAL JSON text: a JSON
 *                        object exactly as lp_wire_json_canonical() prints it (jansson, compact,
 *                        keys sorted, no duplicate keys), at most 64 KiB. It is the job creator's
 *                        claim only: the solver and every provider render the named module with
 *                        `inputs` themselves and refuse the offer unless the result is this text
 *                        (core/module/module_cache.h); what runs is their rendering
 *   3 inputs             map str<=128 -> str<=4096, at most 64 entries, keys sorted bytewise
 *   4 resources          array [cpu_millicores, gpus (<=64), vram_bytes (per GPU), ram_bytes,
 *                        disk_bytes] (uint)
 *   5 pricing            array [max_price wei (bin 32), payment_collateral wei (bin 32)]
 *   6 timeout_s          uint, 1..604800 (execution timeout)
 *   7 target             nil | bin 20 (only this provider may take the job)
 *   8 mode               uint: 0 market price, 1 fixed price
 *   9 created_at         uint, unix ms
 *  10 nonce              bin 16, random
 *  11 min_reliability    uint 0..1000: the least reliability (per mille, as the solver scores
 *                        providers: core/solver/README.md) a provider needs to take the job;
 *                        0: any provider
 *  12 min_results_collateral  bin 32 wei: the least results collateral a resource offer must put
 *                        up to take the job; 0: any
 *  13 mediators          array (<=16) of bin 20 addresses, sorted bytewise and unique: the
 *                        parties the job creator accepts as mediator of a challenge (the solver
 *                        books one of them that is neither the creator nor the deal's provider;
 *                        the creator's own address is refused). Empty: the solver's configured
 *                        mediators (core/solver/README.md, "Mediation").
 * A version 1 job offer decodes with both requirements 0 (any provider) and no mediators. The
 * decoded struct keeps its version, so re-encoding it gives back the same bytes (and ID); new job
 * offers are written as version 2, and a version 1 one cannot carry requirements or mediators.
 *
 * Resource offer, version 1: msgpack array of 8 fields
 *   0 version            uint = 1
 *   1 provider           bin 20 (the envelope signer)
 *   2 resources          array [cpu_millicores, ram_bytes, disk_bytes,
 *                               gpus: array (<=64) of [vendor str<=32, model str<=128, vram_bytes]]
 *   3 prices             array [min_price wei, results_collateral wei, mediation_fee wei] (bin 32)
 *   4 module_policy      uint: 0 any module the network does not block, 1 only `modules`
 *   5 modules            array (<=256) of str<=600 "repo@commit", sorted bytewise and unique;
 *                        must be empty under policy 0
 *   6 created_at         uint, unix ms
 *   7 nonce              bin 16, random
 *
 * Decoded strings and arrays are malloc'd; release them with the *_free functions (which also
 * accept zeroed structs). Encoders sort the inputs map themselves and refuse duplicate keys. */
#ifndef LP_WIRE_OFFERS_H
#define LP_WIRE_OFFERS_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

#define LP_JOB_OFFER_VERSION      2
#define LP_RESOURCE_OFFER_VERSION 1

#define LP_WIRE_MAX_REPO        512
#define LP_WIRE_MAX_SPEC        (64u * 1024u)
#define LP_WIRE_MAX_INPUTS      64
#define LP_WIRE_MAX_INPUT_KEY   128
#define LP_WIRE_MAX_INPUT_VALUE 4096
#define LP_WIRE_MAX_GPUS        64
#define LP_WIRE_MAX_GPU_VENDOR  32
#define LP_WIRE_MAX_GPU_MODEL   128
#define LP_WIRE_MAX_MODULES     256
#define LP_WIRE_MAX_MODULE_REF  600
#define LP_WIRE_MAX_TIMEOUT_S   604800u
#define LP_WIRE_MAX_RELIABILITY 1000u /* per mille */
#define LP_WIRE_MAX_MEDIATORS   16

enum lp_price_mode { LP_PRICE_MARKET = 0, LP_PRICE_FIXED = 1 };
enum lp_module_policy { LP_MODULES_ANY = 0, LP_MODULES_ALLOWLIST = 1 };

struct lp_module_ref {
    char
        *repo; /* git URL as resolved, e.g. https://github.com/Lilypad-Tech/lilypad-module-cowsay */
    char *commit; /* full commit hash, lowercase hex (40 for SHA-1, 64 for SHA-256 repos) */
    char *spec;   /* rendered job spec, canonical JSON object text */
};

struct lp_wire_input {
    char *key;
    char *value;
};

struct lp_job_resources {
    uint64_t cpu_millicores;
    uint32_t gpus;
    uint64_t vram_bytes; /* per GPU */
    uint64_t ram_bytes;
    uint64_t disk_bytes;
};

struct lp_job_offer {
    uint8_t job_creator[LP_WIRE_ADDR_LEN];
    struct lp_module_ref module;
    struct lp_wire_input *inputs;
    size_t n_inputs;
    struct lp_job_resources resources;
    struct lp_u256 max_price;
    struct lp_u256 payment_collateral;
    uint64_t timeout_s;
    int has_target;
    uint8_t target[LP_WIRE_ADDR_LEN];
    uint32_t mode; /* enum lp_price_mode */
    uint64_t created_at_ms;
    uint8_t nonce[LP_WIRE_NONCE_LEN];
    /* 0 (when building one): LP_JOB_OFFER_VERSION; decoded: the version read */
    uint32_t version;
    uint32_t min_reliability;              /* per mille, 0..1000; version 1: 0 */
    struct lp_u256 min_results_collateral; /* wei; version 1: 0 */
    /* version 2: the accepted mediators, sorted bytewise and unique; none: the solver's */
    uint8_t mediators[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN];
    size_t n_mediators;
};

struct lp_gpu {
    char *vendor; /* "nvidia", "amd", ... */
    char *model;
    uint64_t vram_bytes;
};

struct lp_resource_offer {
    uint8_t provider[LP_WIRE_ADDR_LEN];
    uint64_t cpu_millicores;
    uint64_t ram_bytes;
    uint64_t disk_bytes;
    struct lp_gpu *gpus;
    size_t n_gpus;
    struct lp_u256 min_price;
    struct lp_u256 results_collateral;
    struct lp_u256 mediation_fee;
    uint32_t module_policy; /* enum lp_module_policy */
    char **modules;         /* "repo@commit" */
    size_t n_modules;
    uint64_t created_at_ms;
    uint8_t nonce[LP_WIRE_NONCE_LEN];
};

int lp_job_offer_encode(const struct lp_job_offer *o, uint8_t **out, size_t *out_len,
                        struct lp_wire_error *err);
int lp_job_offer_decode(const uint8_t *data, size_t len, struct lp_job_offer *o,
                        struct lp_wire_error *err);
void lp_job_offer_free(struct lp_job_offer *o);

int lp_resource_offer_encode(const struct lp_resource_offer *o, uint8_t **out, size_t *out_len,
                             struct lp_wire_error *err);
int lp_resource_offer_decode(const uint8_t *data, size_t len, struct lp_resource_offer *o,
                             struct lp_wire_error *err);
void lp_resource_offer_free(struct lp_resource_offer *o);

/* Canonical form of a JSON object text (what module.spec must hold): parsed with jansson
 * (duplicate keys refused) and printed compact with sorted keys. *out is malloc'd. */
int lp_wire_json_canonical(const char *text, size_t len, char **out, struct lp_wire_error *err);

#endif
