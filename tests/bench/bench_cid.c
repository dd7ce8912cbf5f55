/* CID computation throughput: kubo's default profile (CIDv0, dag-pb leaves) and CIDv1 with raw
 * leaves over a 256 MiB in-memory file, next to plain OpenSSL SHA-256 over the same bytes (the
 * bound: every byte is hashed once, plus ~0.01% for the internal nodes). Blocks are not stored.
 * Usage: bench_cid [MiB] (default 256). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "cid/cid.h"
#include "cid/importer.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double best_of(int reps, double (*fn)(const unsigned char *, size_t, void *),
                      const unsigned char *data, size_t len, void *arg)
{
    double best = 1e30;
    for (int i = 0; i < reps; i++) {
        double t = fn(data, len, arg);
        if (t < best)
            best = t;
    }
    return best;
}

static double run_sha(const unsigned char *data, size_t len, void *arg)
{
    (void)arg;
    unsigned char md[32];
    unsigned int mdlen;
    double t0 = now();
    /* the same 256 KiB granularity the importer hashes at */
    for (size_t off = 0; off < len; off += LP_CID_CHUNK_SIZE) {
        size_t n = len - off < LP_CID_CHUNK_SIZE ? len - off : LP_CID_CHUNK_SIZE;
        EVP_Digest(data + off, n, md, &mdlen, EVP_sha256(), NULL);
    }
    return now() - t0;
}

static char last_cid[2][LP_CID_STRING_MAX];

static double run_cid(const unsigned char *data, size_t len, void *arg)
{
    int version = *(int *)arg;
    struct lp_cid_options opt;
    lp_cid_options_default(&opt, (uint8_t)version);
    double t0 = now();
    struct lp_cid_file *f = lp_cid_file_new(&opt, NULL, NULL);
    if (!f || lp_cid_file_write(f, data, len) != 0)
        exit(1);
    struct lp_cid_node root;
    if (lp_cid_file_finish(f, &root) != 0)
        exit(1);
    lp_cid_file_free(f);
    double t = now() - t0;
    lp_cid_format(&root.cid, last_cid[version]);
    return t;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
    size_t len = mib << 20;
    unsigned char *data = malloc(len);
    if (!data || mib == 0) {
        fprintf(stderr, "bench_cid: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    unsigned long long x = 88172645463325252ull;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data[i] = (unsigned char)x;
    }
    const int reps = 3;
    int v0 = 0, v1 = 1;
    double t_sha = best_of(reps, run_sha, data, len, NULL);
    double t_v0 = best_of(reps, run_cid, data, len, &v0);
    double t_v1 = best_of(reps, run_cid, data, len, &v1);
    double mb = (double)len / 1e6;
    printf("CID computation, %zu MiB in memory, best of %d (MB = 10^6 bytes)\n", mib, reps);
    printf("%-34s %10s %10s\n", "what", "seconds", "MB/s");
    printf("%-34s %10.3f %10.0f\n", "OpenSSL SHA-256 (256 KiB calls)", t_sha, mb / t_sha);
    printf("%-34s %10.3f %10.0f   %s\n", "CIDv0, dag-pb leaves (default)", t_v0, mb / t_v0,
           last_cid[0]);
    printf("%-34s %10.3f %10.0f   %s\n", "CIDv1, raw leaves", t_v1, mb / t_v1, last_cid[1]);
    free(data);
    return 0;
}
