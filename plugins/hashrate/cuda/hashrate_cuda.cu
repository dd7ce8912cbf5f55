/*
 * hashrate/cuda: the PoW search on NVIDIA GPUs. The kernel (common/keccak_pow_kernel.h) and the
 * host side (common/gpu_plugin_impl.h) are shared with hashrate/rocm; this file only names the
 * runtime. cudart is linked statically, so the .so loads on a machine without the NVIDIA
 * driver and probe() reports cudaErrorInsufficientDriver / cudaErrorNoDevice as the reason.
 */
#define LP_GPU_VENDOR  "nvidia"
#define LP_GPU_RUNTIME "CUDA"
/* SASS instructions per hash, counted over the kernel's parts (midstate round 1, full rounds
 * 2..23, lane-0 last round): the denominator of the device's limit. */
#define LP_GPU_OPS_PER_HASH 4100u

#include "gpu_plugin_impl.h"

extern "C" {
LP_PLUGIN_DEFINE(hashrate, cuda, "0.2.0",
                 "Keccak-256 proof of work on NVIDIA GPUs (one state per thread, LOP3/SHF)", "MIT",
                 gpu_ops, gpu_schema, struct gpu_config,
                 LP_CAP_THREADSAFE | LP_CAP_MULTI_INSTANCE | LP_CAP_NEEDS_GPU | LP_CAP_CANCEL)
}
