/* Hardware probe: /proc/cpuinfo, /proc/meminfo, statvfs and the hashrate plugin's devices. */
#include "provider/probe.h"

#include <errno.h>
#include <stdbool.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dispatch/hashrate.h"
#include "util/log.h"

static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        /* x86 says "model name", arm64 kernels say "Hardware" or nothing useful. */
        if (strncmp(line, "model name", 10) == 0 || strncmp(line, "Hardware", 8) == 0) {
            const char *colon = strchr(line, ':');
            if (!colon)
                continue;
            colon++;
            while (*colon == ' ' || *colon == '\t')
                colon++;
            snprintf(out, cap, "%s", colon);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

static uint64_t meminfo_kib(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    uint64_t v = 0;
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtoull(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

int lp_probe_host(const char *work_dir, struct lp_probe *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    cpu_model(out->cpu_model, sizeof out->cpu_model);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        out->cpu_threads = (uint32_t)CPU_COUNT(&set);
    if (out->cpu_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        out->cpu_threads = n > 0 ? (uint32_t)n : 1;
    }
    out->ram_total = meminfo_kib("MemTotal") * 1024u;
    out->ram_available = meminfo_kib("MemAvailable") * 1024u;
    if (out->ram_total == 0) {
        snprintf(err, errlen,
                 "probe: cannot read MemTotal from /proc/meminfo (hint: is /proc "
                 "mounted?)");
        return -1;
    }
    /* The work folder may not exist yet (--probe runs before the provider creates it): measure
     * its nearest existing parent, which is where it will be created. */
    char want[PATH_MAX];
    const char *dir = work_dir && *work_dir ? work_dir : ".";
    char cwd[PATH_MAX];
    if (dir[0] != '/' && getcwd(cwd, sizeof cwd) != NULL)
        snprintf(want, sizeof want, "%s/%s", cwd, dir);
    else
        snprintf(want, sizeof want, "%s", dir);
    char *at = out->disk_measured_at;
    snprintf(at, sizeof out->disk_measured_at, "%s", want);
    struct statvfs vfs;
    while (statvfs(at, &vfs) != 0) {
        char *slash = strrchr(at, '/');
        if (errno == ENOENT && !slash && strcmp(at, ".") != 0) {
            snprintf(at, sizeof out->disk_measured_at, ".");
            continue;
        }
        if (errno != ENOENT || !slash) {
            snprintf(err, errlen, "probe: statvfs %s: %s", at, strerror(errno));
            return -1;
        }
        if (slash == at)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    /* Name both canonically: the existing part resolved, below it the part still to create. */
    size_t at_len = strlen(at);
    const char *rest = strncmp(want, at, at_len) == 0 ? want + at_len : NULL;
    char real[PATH_MAX];
    if (rest == NULL || realpath(at, real) == NULL) {
        snprintf(out->disk_path, sizeof out->disk_path, "%s", want);
    } else {
        snprintf(at, sizeof out->disk_measured_at, "%s", real);
        rest += *rest == '/';
        bool root = strcmp(real, "/") == 0;
        snprintf(out->disk_path, sizeof out->disk_path, "%s%s%s", root ? "" : real,
                 *rest || root ? "/" : "", rest);
    }
    out->disk_total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
    out->disk_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    snprintf(out->hashrate_backend, sizeof out->hashrate_backend, "none");
    return 0;
}

void lp_probe_add_devices(struct lp_probe *p, struct lp_backend *backend)
{
    if (backend == NULL)
        return;
    snprintf(p->hashrate_backend, sizeof p->hashrate_backend, "%s",
             lp_backend_descriptor(backend)->name);
    uint32_t count = 0;
    struct lp_plugin_error pe;
    if (lp_hashrate_device_count(backend, &count, &pe) != LP_OK) {
        lp_warn("probe: %s", pe.message);
        return;
    }
    p->hashrate_devices = count;
    for (uint32_t i = 0; i < count && p->n_gpus < LP_WIRE_MAX_GPUS; i++) {
        struct lp_hashrate_device d;
        if (lp_hashrate_device_info(backend, i, &d, &pe) != LP_OK) {
            lp_warn("probe: %s", pe.message);
            continue;
        }
        if (strcmp(d.vendor, "cpu") == 0)
            continue;
        struct lp_probe_gpu *g = &p->gpus[p->n_gpus++];
        snprintf(g->vendor, sizeof g->vendor, "%s", d.vendor);
        snprintf(g->model, sizeof g->model, "%s", d.name);
        snprintf(g->uuid, sizeof g->uuid, "%s", d.uuid);
        snprintf(g->pci_bus_id, sizeof g->pci_bus_id, "%s", d.pci_bus_id);
        g->vram_bytes = d.memory_bytes;
        g->device = i;
    }
}

void lp_probe_gpu_device(const struct lp_probe_gpu *g, struct lp_gpu_device *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->vendor, sizeof out->vendor, "%s", g->vendor);
    out->index = g->device;
    snprintf(out->uuid, sizeof out->uuid, "%s", g->uuid);
    snprintf(out->pci_bus_id, sizeof out->pci_bus_id, "%s", g->pci_bus_id);
}

static void gib(char *out, size_t cap, uint64_t bytes)
{
    snprintf(out, cap, "%.1f GiB", (double)bytes / (1024.0 * 1024.0 * 1024.0));
}

void lp_probe_print(FILE *out, const struct lp_probe *p)
{
    char a[32], b[32];
    fprintf(out, "%-10s %-s\n", "resource", "found");
    fprintf(out, "%-10s %u threads, %s\n", "cpu", p->cpu_threads, p->cpu_model);
    gib(a, sizeof a, p->ram_total);
    gib(b, sizeof b, p->ram_available);
    fprintf(out, "%-10s %s total, %s available\n", "ram", a, b);
    gib(a, sizeof a, p->disk_free);
    gib(b, sizeof b, p->disk_total);
    if (strcmp(p->disk_path, p->disk_measured_at) == 0)
        fprintf(out, "%-10s %s free of %s at %s\n", "disk", a, b, p->disk_path);
    else
        fprintf(out, "%-10s %s free of %s at %s (not created yet: measured at %s)\n", "disk", a, b,
                p->disk_path, p->disk_measured_at);
    if (p->n_gpus == 0)
        fprintf(out, "%-10s none (hashrate backend %s, %u device%s)\n", "gpu", p->hashrate_backend,
                p->hashrate_devices, p->hashrate_devices == 1 ? "" : "s");
    for (size_t i = 0; i < p->n_gpus; i++) {
        gib(a, sizeof a, p->gpus[i].vram_bytes);
        fprintf(out, "%-10s #%u %s %s, %s VRAM (hashrate backend %s)\n", "gpu", p->gpus[i].device,
                p->gpus[i].vendor, p->gpus[i].model, a, p->hashrate_backend);
    }
}
