/*
 * The text forms of a GPU's identity that the GPU hashrate plugins report (struct
 * lp_hashrate_device's pci_bus_id and uuid), made from what the CUDA and HIP runtimes return.
 * Header-only C that also compiles as C++, so the plugins (CUDA, HIP) and a CPU-side unit test
 * share one text.
 */
#ifndef LP_HASHRATE_GPU_IDS_H
#define LP_HASHRATE_GPU_IDS_H

#include <stddef.h>
#include <stdio.h>

/* Reads 1 to max_digits hex digits at *p (moving it past them) into *v. 0, or -1 when there
 * are none or more than max_digits. */
static inline int lp_gpu_hex_field(const char **p, int max_digits, unsigned long *v)
{
    int n = 0;
    unsigned long value = 0;
    for (;; n++) {
        char c = (*p)[n];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            break;
        if (n == max_digits)
            return -1;
        value = value * 16 + (unsigned long)d;
    }
    if (n == 0)
        return -1;
    *p += n;
    *v = value;
    return 0;
}

/*
 * A PCI address as Linux sysfs writes it (/sys/bus/pci/devices/<this>): "%04x:%02x:%02x.%x",
 * domain:bus:device.function in lowercase hex. Accepts what the runtimes and tools print:
 * cudaDeviceGetPCIBusId's "0000:3B:00.0", nvidia-smi's "00000000:3B:00.0", hipDeviceGetPCIBusId's
 * "0000:c1:00.0", or "3b:00.0" (domain 0). 0, or -1 (out set to "") for anything else: a bus
 * over 0xff, a device over 0x1f, a function over 7, or trailing text.
 */
static inline int lp_gpu_pci_bus_id_normalise(const char *in, char *out, size_t cap)
{
    unsigned long f[4] = {0, 0, 0, 0};
    const char *p = in;
    if (cap > 0)
        out[0] = '\0';
    if (p == NULL || lp_gpu_hex_field(&p, 8, &f[0]) != 0 || *p++ != ':' ||
        lp_gpu_hex_field(&p, 2, &f[1]) != 0)
        return -1;
    if (*p == ':') { /* domain:bus:device.function */
        p++;
        if (lp_gpu_hex_field(&p, 2, &f[2]) != 0)
            return -1;
    } else { /* bus:device.function: what was read is bus and device */
        f[2] = f[1];
        f[1] = f[0];
        f[0] = 0;
        if (f[1] > 0xff)
            return -1;
    }
    if (*p++ != '.' || lp_gpu_hex_field(&p, 1, &f[3]) != 0 || *p != '\0')
        return -1;
    if (f[1] > 0xff || f[2] > 0x1f || f[3] > 7)
        return -1;
    int n = snprintf(out, cap, "%04lx:%02lx:%02lx.%lx", f[0], f[1], f[2], f[3]);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

/*
 * nvidia-smi's form of an NVIDIA GPU's UUID (cudaDeviceProp.uuid, 16 raw bytes):
 * "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lowercase, the form NVIDIA_VISIBLE_DEVICES,
 * CUDA_VISIBLE_DEVICES and `docker --gpus device=` accept. All-zero bytes are no UUID: -1 and
 * "".
 */
static inline int lp_gpu_uuid_nvidia(const unsigned char bytes[16], char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    unsigned any = 0;
    for (int i = 0; i < 16; i++)
        any |= bytes[i];
    if (any == 0)
        return -1;
    const unsigned char *b = bytes;
    int n = snprintf(out, cap,
                     "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                     b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                     b[12], b[13], b[14], b[15]);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

/*
 * The UUID of an AMD GPU. hipDeviceGetUuid does not return raw bytes on ROCm: its 16 bytes are
 * the ASCII text of the device's 64-bit unique ID, the 16 hex digits after "GPU-" in rocminfo's
 * "Uuid: GPU-<digits>", which ROCR_VISIBLE_DEVICES and HIP_VISIBLE_DEVICES accept back. The text
 * form is therefore "GPU-" and those digits (lowercase). A GPU without a unique ID (rocminfo
 * shows "GPU-XX") or anything that is not 16 hex digits is no UUID: -1 and "".
 */
static inline int lp_gpu_uuid_hip(const char bytes[16], char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    char digits[17];
    for (int i = 0; i < 16; i++) {
        char c = bytes[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -1;
        digits[i] = c;
    }
    digits[16] = '\0';
    int n = snprintf(out, cap, "GPU-%s", digits);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

#endif /* LP_HASHRATE_GPU_IDS_H */
