/*
 * Hashrate concern: proof-of-work backends (cpu, cuda, rocm).
 *
 * A hash is keccak256(challenge || nonce), the nonce a 32-byte big-endian integer; a nonce
 * wins when the digest, read as a big-endian uint256, is below the target. One Keccak-f[1600]
 * permutation per hash. The plugin only hashes and counts; the core owns rounds, rates (10 s,
 * 60 s, 15 min windows), duty cycle and verification.
 */
#ifndef LILYPAD_HASHRATE_H
#define LILYPAD_HASHRATE_H

#include <lilypad/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lp_hashrate_device {
    uint32_t struct_size;       /* set by the core before device_info() */
    uint32_t index;             /* 0 .. device_count-1 within this plugin */
    char name[128];             /* "NVIDIA H100 80GB HBM3", "AMD EPYC 9R45 (2 threads)" */
    char vendor[16];            /* "nvidia", "amd", "cpu" */
    uint64_t memory_bytes;      /* device memory; 0 for the CPU backend */
    uint32_t compute_units;     /* SMs, CUs or CPU threads */
    uint32_t clock_mhz;         /* current or maximum clock; 0 when unknown */
    uint64_t peak_hashes_per_s; /* the device's instruction-throughput limit; 0 when unknown */
    char detail[128];           /* free text: "sm_90, driver 12.4", "avx512 x8" */
};

struct lp_pow_work {
    uint8_t challenge[32];
    uint8_t target[32]; /* big-endian uint256: a digest strictly below it wins */
};

struct lp_pow_solution {
    uint8_t nonce[32];  /* big-endian uint256 */
    uint8_t digest[32]; /* keccak256(challenge || nonce) */
};

struct lp_hashrate_ops {
    struct lp_lifecycle_ops life;

    int (*device_count)(void *instance, uint32_t *count);
    int (*device_info)(void *instance, uint32_t device, struct lp_hashrate_device *out);

    /*
     * Hash the nonces nonce_base .. nonce_base + count - 1 on one device, each exactly once.
     * The core guarantees the low 64 bits of nonce_base do not wrap within the batch, so a
     * plugin only ever adds to the last 8 bytes. Writes up to max_solutions winning nonces,
     * in any order, sets *found to the number written and *hashes_done to the number of
     * nonces hashed (count unless cancelled). Calls for different devices may run
     * concurrently; calls for one device are serialised by the core.
     */
    int (*mine)(void *instance, uint32_t device, const struct lp_pow_work *work,
                const uint8_t nonce_base[32], uint64_t count, uint64_t *hashes_done,
                struct lp_pow_solution *solutions, size_t max_solutions, size_t *found);
};

#ifdef __cplusplus
}
#endif

#endif /* LILYPAD_HASHRATE_H */
