/*
 * hashrate/rocm: the PoW search on AMD GPUs through HIP. The kernel (common/keccak_pow_kernel.h)
 * and the host side (common/gpu_plugin_impl.h) are the same source as hashrate/cuda; HIP takes
 * the plain-shift branch of each lane operation. libamdhip64 is linked dynamically (Debian's
 * HIP has no static runtime), so the .so loads wherever libamdhip64-5 is installed, and probe()
 * reports hipErrorNoDevice when there is no GPU.
 */
#define LP_GPU_VENDOR  "amd"
#define LP_GPU_RUNTIME "HIP"
/* No 3-input LUT on CDNA/RDNA: theta-apply and chi take about two ops per half, ~5,000 ops
 * per hash against ~4,100 with LOP3 on NVIDIA; 64 32-bit lanes per CU per clock. */
#define LP_GPU_OPS_PER_HASH 5000u

#include "gpu_plugin_impl.h"

extern "C" {
LP_PLUGIN_DEFINE(hashrate, rocm, "0.2.0",
                 "Keccak-256 proof of work on AMD GPUs through HIP (shared kernel with cuda)",
                 "MIT", gpu_ops, gpu_schema, struct gpu_config,
                 LP_CAP_THREADSAFE | LP_CAP_MULTI_INSTANCE | LP_CAP_NEEDS_GPU | LP_CAP_CANCEL)
}
