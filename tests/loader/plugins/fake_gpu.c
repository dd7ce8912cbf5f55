/* hashrate_fakegpu.so: A FAKE FOR TESTS, never installed. It reports GPUs that do not exist, so
 * the provider's tests can give a machine without GPUs the NVIDIA or AMD devices a real
 * hashrate plugin (cuda, rocm) would report, and see which of them the provider offers and
 * hands to its executor. It cannot mine: mine() says so (LP_ENOTSUP) and hashes nothing, so a
 * provider using it runs with mining_duty = 0.
 *
 * Configuration (hashrate.fakegpu): vendor ("nvidia" or "amd") and count (0..8). Device i is
 * named "Fake <vendor> GPU i", has uuid "GPU-fake-<vendor>-i", PCI bus ID "0000:0i:00.0" and
 * (8 + i) GiB of memory: every identifier differs between devices, so a test can tell which
 * one an offer or a job got. */
#include <stdio.h>
#include <string.h>

#include "test_ops.h"

#define FAKE_MAX_DEVICES 8

struct fakegpu_config {
    const char *vendor;
    int64_t count;
};

static const struct lp_cfg_field fakegpu_schema[] = {
    LP_CFG_FIELD(struct fakegpu_config, vendor, LP_CFG_STRING, 0, "\"nvidia\"",
                 "vendor the fake devices claim: \"nvidia\" or \"amd\""),
    LP_CFG_FIELD(struct fakegpu_config, count, LP_CFG_INT, 0, "2", "fake devices (0..8)"),
    LP_CFG_END,
};

struct fakegpu {
    char vendor[16];
    uint32_t count;
};

static int fakegpu_create(const struct lp_host *host, const void *config, void **instance)
{
    const struct fakegpu_config *c = config;
    *instance = NULL;
    if ((strcmp(c->vendor, "nvidia") != 0 && strcmp(c->vendor, "amd") != 0) || c->count < 0 ||
        c->count > FAKE_MAX_DEVICES) {
        host->log(host, LP_LOG_ERROR,
                  "hashrate.fakegpu: vendor \"%s\", count %lld; hint: vendor \"nvidia\" or "
                  "\"amd\", count 0..%d",
                  c->vendor, (long long)c->count, FAKE_MAX_DEVICES);
        return LP_EINVAL;
    }
    struct fakegpu *f = calloc(1, sizeof *f);
    if (!f)
        return LP_ERR;
    snprintf(f->vendor, sizeof f->vendor, "%s", c->vendor);
    f->count = (uint32_t)c->count;
    *instance = f;
    return LP_OK;
}

static int fakegpu_device_count(void *instance, uint32_t *count)
{
    *count = ((struct fakegpu *)instance)->count;
    return LP_OK;
}

static int fakegpu_device_info(void *instance, uint32_t device, struct lp_hashrate_device *out)
{
    const struct fakegpu *f = instance;
    if (device >= f->count)
        return LP_EINVAL;
    out->index = device;
    snprintf(out->name, sizeof out->name, "Fake %s GPU %u", f->vendor, device);
    snprintf(out->vendor, sizeof out->vendor, "%s", f->vendor);
    out->memory_bytes = (uint64_t)(8 + device) << 30;
    out->compute_units = 1;
    snprintf(out->detail, sizeof out->detail, "a fake device for tests");
    /* The 1.1 identifiers only when the core's struct has room for them. */
    if (LP_STRUCT_HAS(out, struct lp_hashrate_device, uuid)) {
        snprintf(out->pci_bus_id, sizeof out->pci_bus_id, "0000:%02x:00.0", device);
        snprintf(out->uuid, sizeof out->uuid, "GPU-fake-%s-%u", f->vendor, device);
    }
    return LP_OK;
}

static int fakegpu_mine(void *instance, uint32_t device, const struct lp_pow_work *work,
                        const uint8_t nonce_base[32], uint64_t count, uint64_t *hashes_done,
                        struct lp_pow_solution *solutions, size_t max_solutions, size_t *found)
{
    (void)instance, (void)device, (void)work, (void)nonce_base, (void)count, (void)solutions,
        (void)max_solutions;
    *hashes_done = 0;
    *found = 0;
    return LP_ENOTSUP;
}

static const char *fakegpu_last_error(void *instance)
{
    (void)instance;
    return "hashrate/fakegpu is a fake for tests: its devices do not exist and cannot mine";
}

static const struct lp_hashrate_ops fakegpu_ops = {
    .life = {.create = fakegpu_create, .destroy = test_destroy, .last_error = fakegpu_last_error},
    .device_count = fakegpu_device_count,
    .device_info = fakegpu_device_info,
    .mine = fakegpu_mine,
};

LP_PLUGIN_DEFINE(hashrate, fakegpu, "0.0.1",
                 "FAKE GPUs for tests: reports devices that do not exist", "MIT", fakegpu_ops,
                 fakegpu_schema, struct fakegpu_config, 0)
