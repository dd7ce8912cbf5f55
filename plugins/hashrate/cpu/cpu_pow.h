/*
 * The CPU PoW scanners of hashrate/cpu: one per instruction set, each hashing `count` nonces
 * starting at offset `offset` from the call's base nonce, W states at a time (W = 8 AVX-512,
 * 4 AVX2, 1 portable). A nonce is reported through `candidate` when the digest's leading 64
 * bits, read big-endian, are <= the target's; the caller re-checks it with the reference.
 */
#ifndef LP_HASHRATE_CPU_POW_H
#define LP_HASHRATE_CPU_POW_H

#include <stdatomic.h>
#include <stdint.h>

struct lp_cpu_scan {
    uint64_t mid[25];      /* round-1 midstate (keccak_pow_midstate.h) */
    uint64_t base_low;     /* low 64 bits of the call's first nonce */
    uint64_t target_top64; /* the target's leading 64 bits, big-endian */
    void (*candidate)(void *ctx, uint64_t offset);
    void *ctx;
    /* Nonzero asks the scanner to stop; read every LP_SCAN_CHUNK hashes, may be NULL. Relaxed
     * loads and stores suffice: the flag carries no data, and what the scanners wrote is
     * published to the caller by pthread_join. */
    const atomic_int *stop;
};

/* Each returns the number of nonces hashed: count, or fewer when *stop became nonzero. */
uint64_t lp_cpu_scan_portable(const struct lp_cpu_scan *s, uint64_t offset, uint64_t count);
uint64_t lp_cpu_scan_avx2(const struct lp_cpu_scan *s, uint64_t offset, uint64_t count);
uint64_t lp_cpu_scan_avx512(const struct lp_cpu_scan *s, uint64_t offset, uint64_t count);

#endif
