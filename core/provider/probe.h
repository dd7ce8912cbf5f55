/* What this machine can offer: CPU (threads, model) and RAM from /proc, disk free where the
 * provider keeps its data (its work_dir) from statvfs, and GPUs (vendor, model, memory) from
 * the hashrate plugin's devices, so the provider sees the same GPUs it mines on. */
#ifndef LP_PROVIDER_PROBE_H
#define LP_PROVIDER_PROBE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <lilypad/executor.h>
#include <lilypad/hashrate.h>

#include "loader/backend.h"
#include "wire/offers.h"

struct lp_probe_gpu {
    char vendor[16]; /* "nvidia", "amd" */
    char model[128];
    uint64_t vram_bytes;
    uint32_t device;     /* the hashrate plugin's device index (pause mining on it) */
    char uuid[48];       /* as the hashrate plugin reports it; "" when unknown */
    char pci_bus_id[32]; /* "0000:3b:00.0"; "" when unknown */
};

struct lp_probe {
    char cpu_model[128];
    uint32_t cpu_threads; /* usable by this process (affinity) */
    uint64_t ram_total, ram_available;
    char disk_path[PATH_MAX];        /* the work folder, absolute */
    char disk_measured_at[PATH_MAX]; /* its nearest existing folder: itself once created */
    uint64_t disk_total, disk_free;
    char hashrate_backend[64];
    uint32_t hashrate_devices;
    struct lp_probe_gpu gpus[LP_WIRE_MAX_GPUS];
    size_t n_gpus;
};

/* The OS part; disk is measured at work_dir (relative: to the current folder), or at its
 * nearest existing parent while it does not exist yet. -1 with err. */
int lp_probe_host(const char *work_dir, struct lp_probe *out, char *err, size_t errlen);
/* Adds the GPUs among a hashrate backend's devices (vendor other than "cpu"). backend may be
 * NULL: no backend, no GPUs. */
void lp_probe_add_devices(struct lp_probe *p, struct lp_backend *backend);
/* The executor's view of GPU `i` (the device index is the hashrate plugin's, which is the
 * vendor runtime's ordinal). */
void lp_probe_gpu_device(const struct lp_probe_gpu *g, struct lp_gpu_device *out);
/* One table, a row per resource. */
void lp_probe_print(FILE *out, const struct lp_probe *p);

#endif
