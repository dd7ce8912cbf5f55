/* Crypto throughput on one core: Keccak-256 over 64 B (one permutation, the PoW work unit),
 * 1 KiB and 1 MiB inputs; secp256k1 signatures made and recovered per second (the solver's
 * per-request cost; target >= 20,000 recovered/s per core). Each row runs for ~1 s. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/keccak.h"
#include "crypto/key.h"

#define SECONDS_PER_ROW 1.0

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Chains each digest into the next input so the compiler cannot hoist or drop the work. */
static void bench_keccak(size_t len)
{
    uint8_t *buf = calloc(1, len), digest[32] = {0};
    uint64_t count = 0;
    double start = now(), elapsed;
    do {
        for (int i = 0; i < 64; i++) {
            lp_keccak256(buf, len, digest);
            memcpy(buf, digest, len < 32 ? len : 32);
        }
        count += 64;
        elapsed = now() - start;
    } while (elapsed < SECONDS_PER_ROW);
    printf("| keccak256 %-7s | %10.1f MB/s | %12.0f hashes/s |\n",
           len == 64     ? "64 B"
           : len == 1024 ? "1 KiB"
                         : "1 MiB",
           (double)count * (double)len / elapsed / 1e6, (double)count / elapsed);
    free(buf);
}

int main(void)
{
    struct lp_key key;
    uint8_t digest[32] = {1}, sig[65], addr[20];
    uint64_t count;
    double start, elapsed, signed_per_s;

    printf("| what              | throughput      | rate (1 core)         |\n");
    printf("|-------------------|-----------------|-----------------------|\n");
    bench_keccak(64);
    bench_keccak(1024);
    bench_keccak(1 << 20);

    if (lp_key_generate(&key) != 0) {
        fprintf(stderr, "bench_crypto: cannot generate a key\n");
        return 1;
    }
    count = 0;
    start = now();
    do {
        for (int i = 0; i < 100; i++) {
            digest[0] = (uint8_t)i;
            if (lp_sign_digest(&key, digest, sig) != 0)
                return 1;
        }
        count += 100;
        elapsed = now() - start;
    } while (elapsed < SECONDS_PER_ROW);
    signed_per_s = (double)count / elapsed;
    printf("| secp256k1 sign    | %15s | %14.0f sig/s   |\n", "-", signed_per_s);

    /* Recover the same valid signature repeatedly (cost does not depend on the digest). */
    digest[0] = 7;
    lp_sign_digest(&key, digest, sig);
    count = 0;
    start = now();
    do {
        for (int i = 0; i < 100; i++) {
            if (lp_recover_digest(digest, sig, addr) != 0 || memcmp(addr, key.address, 20) != 0) {
                fprintf(stderr, "bench_crypto: recovery failed\n");
                return 1;
            }
        }
        count += 100;
        elapsed = now() - start;
    } while (elapsed < SECONDS_PER_ROW);
    printf("| secp256k1 recover | %15s | %14.0f sig/s   | target >= 20000: %s\n", "-",
           (double)count / elapsed, (double)count / elapsed >= 20000 ? "met" : "NOT met");
    lp_key_wipe(&key);
    return 0;
}
