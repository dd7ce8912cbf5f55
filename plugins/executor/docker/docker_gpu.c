/* GPUs: what this engine on this host can attach, and the HostConfig that attaches a job's.
 * NVIDIA: Docker's "nvidia" device driver (nvidia-container-toolkit), Podman's CDI devices.
 * AMD: the device nodes (/dev/kfd and the GPUs' render nodes) and the host's video and render
 * groups, the same on both engines. */
#include <dirent.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker.h"

/* A CDI spec for NVIDIA GPUs (nvidia-ctk cdi generate) in one of CDI's spec folders. */
static bool nvidia_cdi_spec(void)
{
    static const char *const dirs[] = {"/etc/cdi", "/var/run/cdi"};
    for (size_t i = 0; i < 2; i++) {
        DIR *dir = opendir(dirs[i]);
        if (dir == NULL)
            continue;
        struct dirent *e;
        bool found = false;
        while (!found && (e = readdir(dir)) != NULL)
            found = strstr(e->d_name, "nvidia") != NULL;
        closedir(dir);
        if (found)
            return true;
    }
    return false;
}

static bool executable_in_path(const char *name)
{
    static const char *const dirs[] = {"/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dirs[i], name);
        if (access(path, X_OK) == 0)
            return true;
    }
    return false;
}

static bool wanted(const struct lp_docker *d, const char *vendor)
{
    return strcmp(d->gpu, "auto") == 0 || strcmp(d->gpu, vendor) == 0;
}

static bool can_nvidia(const struct lp_docker *d)
{
    if (!wanted(d, "nvidia"))
        return false;
    if (d->engine.podman)
        return nvidia_cdi_spec(); /* Podman attaches NVIDIA GPUs only as CDI devices */
    return d->engine.nvidia_runtime || executable_in_path("nvidia-container-runtime") ||
           executable_in_path("nvidia-container-runtime-hook") || nvidia_cdi_spec();
}

static bool can_amd(const struct lp_docker *d)
{
    return wanted(d, "amd") && access("/dev/kfd", F_OK) == 0;
}

uint32_t dk_gpu_attach(const struct lp_docker *d)
{
    return (can_nvidia(d) ? LP_EXEC_ATTACH_NVIDIA : 0) | (can_amd(d) ? LP_EXEC_ATTACH_AMD : 0);
}

/* The render node (/dev/dri/renderD128) of the GPU at pci_bus_id, from sysfs; -1 if none. */
static int render_node(const char *pci_bus_id, char *out, size_t cap)
{
    DIR *dir = opendir("/sys/class/drm");
    if (dir == NULL)
        return -1;
    struct dirent *e;
    int rc = -1;
    while (rc != 0 && (e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, "renderD", 7) != 0)
            continue;
        char link[PATH_MAX], target[PATH_MAX];
        snprintf(link, sizeof link, "/sys/class/drm/%s/device", e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        const char *base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (strcasecmp(base, pci_bus_id) == 0) {
            snprintf(out, cap, "/dev/dri/%s", e->d_name);
            rc = 0;
        }
    }
    closedir(dir);
    return rc;
}

static json_t *device(const char *path)
{
    return json_pack("{s:s, s:s, s:s}", "PathOnHost", path, "PathInContainer", path,
                     "CgroupPermissions", "rwm");
}

static int add_amd(const struct lp_job_limits *limits, json_t *hc, char *err, size_t errlen)
{
    json_t *devices = json_array();
    json_array_append_new(devices, device("/dev/kfd"));
    /* Only the chosen GPUs' render nodes when every one maps to a node; else all of /dev/dri
     * (the engine adds a folder's nodes recursively). */
    bool all_mapped = limits->gpu_devices != NULL;
    json_t *nodes = json_array();
    for (uint32_t i = 0; all_mapped && i < limits->gpus; i++) {
        char node[PATH_MAX];
        const struct lp_gpu_device *g = &limits->gpu_devices[i];
        if (g->pci_bus_id[0] == '\0' || render_node(g->pci_bus_id, node, sizeof node) != 0)
            all_mapped = false;
        else
            json_array_append_new(nodes, device(node));
    }
    if (all_mapped)
        json_array_extend(devices, nodes);
    else
        json_array_append_new(devices, device("/dev/dri"));
    json_decref(nodes);
    json_object_set_new(hc, "Devices", devices);
    /* Numeric groups: the image may not know the names, and the nodes are the host's. */
    json_t *groups = json_array();
    static const char *const names[] = {"video", "render"};
    for (size_t i = 0; i < 2; i++) {
        struct group g, *found = NULL;
        char buf[4096];
        if (getgrnam_r(names[i], &g, buf, sizeof buf, &found) == 0 && found != NULL) {
            char gid[24];
            snprintf(gid, sizeof gid, "%u", (unsigned)found->gr_gid);
            json_array_append_new(groups, json_string(gid));
        }
    }
    json_object_set_new(hc, "GroupAdd", groups);
    (void)err, (void)errlen;
    return 0;
}

static int add_nvidia(const struct lp_docker *d, const struct lp_job_limits *limits, json_t *hc)
{
    json_t *ids = json_array();
    for (uint32_t i = 0; i < limits->gpus; i++) {
        char id[96];
        const struct lp_gpu_device *g = limits->gpu_devices ? &limits->gpu_devices[i] : NULL;
        if (g != NULL && g->uuid[0] != '\0')
            snprintf(id, sizeof id, "%s", g->uuid);
        else
            snprintf(id, sizeof id, "%u", g != NULL ? g->index : i);
        if (d->engine.podman) {
            char cdi[128];
            snprintf(cdi, sizeof cdi, "nvidia.com/gpu=%s", id);
            json_array_append_new(ids, json_string(cdi));
        } else
            json_array_append_new(ids, json_string(id));
    }
    json_t *request;
    if (d->engine.podman)
        /* Podman ignores a "nvidia" driver request without a word; it honours CDI. */
        request = json_pack("{s:s, s:o}", "Driver", "cdi", "DeviceIDs", ids);
    else
        request = json_pack("{s:s, s:o, s:[[s]]}", "Driver", "nvidia", "DeviceIDs", ids,
                            "Capabilities", "gpu");
    json_object_set_new(hc, "DeviceRequests", json_pack("[o]", request));
    return 0;
}

int dk_gpu_host_config(const struct lp_docker *d, const struct lp_job_limits *limits,
                       void *host_config, char *err, size_t errlen)
{
    if (limits == NULL || limits->gpus == 0)
        return 0;
    const char *vendor = NULL;
    if (LP_STRUCT_HAS(limits, struct lp_job_limits, gpu_devices) && limits->gpu_devices != NULL) {
        vendor = limits->gpu_devices[0].vendor;
        for (uint32_t i = 1; i < limits->gpus; i++)
            if (strncmp(limits->gpu_devices[i].vendor, vendor,
                        sizeof limits->gpu_devices[i].vendor) != 0) {
                snprintf(err, errlen, "the job's GPUs are of more than one vendor (%.16s, %.16s)",
                         vendor, limits->gpu_devices[i].vendor);
                return -1;
            }
    } else if (strcmp(d->gpu, "nvidia") == 0 || strcmp(d->gpu, "amd") == 0)
        vendor = d->gpu; /* a 1.0 core names no devices: the configured vendor's */
    if (vendor == NULL || (strcmp(vendor, "nvidia") != 0 && strcmp(vendor, "amd") != 0)) {
        snprintf(err, errlen, "%u GPUs asked for, of no vendor this plugin knows (\"%.16s\")",
                 limits->gpus, vendor ? vendor : "");
        return -1;
    }
    uint32_t can = dk_gpu_attach(d);
    bool nvidia = strcmp(vendor, "nvidia") == 0;
    if (!(can & (nvidia ? LP_EXEC_ATTACH_NVIDIA : LP_EXEC_ATTACH_AMD))) {
        snprintf(err, errlen,
                 "%u %s GPUs asked for, but this %s cannot attach them (gpu = \"%s\"; %s)",
                 limits->gpus, vendor, d->engine.podman ? "podman" : "docker engine", d->gpu,
                 nvidia ? (d->engine.podman ? "podman needs a CDI spec: nvidia-ctk cdi generate"
                                            : "install nvidia-container-toolkit")
                        : "no /dev/kfd: is the amdgpu driver loaded?");
        return -1;
    }
    return nvidia ? add_nvidia(d, limits, host_config) : add_amd(limits, host_config, err, errlen);
}
