/*
 * The PoW search kernel, one source for CUDA (nvcc) and HIP (hipcc).
 *
 * One hash per thread, the whole state in registers as 50 32-bit halves (uint2: x = low word,
 * y = high word), no shared memory. Round 1 starts from the host's midstate, rounds 2..23 are
 * full, round 24 computes lane 0 only; a thread reports the nonce offset when the digest's
 * leading 32 bits, read big-endian, are <= the target's: a candidate that the host re-checks
 * in full against the CPU reference, so the kernel may over-report but never miss.
 *
 * Nonces: thread t of a launch hashes offsets t, t + stride, ... below p.count, i.e. every
 * offset of the launch exactly once; the host advances by p.count, so batches have no gap
 * and no overlap and hashes are counted from the nonces, never from the launch shape.
 *
 * On CUDA, rotations are funnel shifts (SHF) and the 3-input XORs and chi are LOP3 through
 * inline PTX (0x96 = a^b^c, 0xD2 = a^(~b&c)). Rotation mode 1 and 2 move the rho rotations
 * (all, or those with an odd amount) to the multiply pipe: rotl(x, n) is two 32x32->64
 * multiplies by 2^n plus two multiply-adds by 1, all IMAD, while SHF and LOP3 share the integer
 * ALU that bounds this kernel. The multipliers come from the kernel
 * parameters so the compiler cannot turn them back into shifts. Which mode wins is measured
 * (tests/gpu/device-check.sh); HIP always uses plain shifts, which the AMDGPU backend turns
 * into v_alignbit_b32.
 */
#ifndef LP_KECCAK_POW_KERNEL_H
#define LP_KECCAK_POW_KERNEL_H

#include <stdint.h>

#include "keccak_pow_rounds.h"

#if defined(__HIPCC__)
#include <hip/hip_runtime.h>
#define LP_POW_HIP 1
#else
#include <cuda_runtime.h>
#endif

#define LP_POW_MAX_THREADS_PER_BLOCK 256

struct lp_pow_kernel_params {
    uint2 mid[25];           /* round-1 rho-pi constants */
    uint64_t nonce_low_base; /* low 64 bits of the launch's first nonce */
    uint64_t count;          /* nonces in this launch */
    uint64_t hit_offset;     /* added to a thread's offset when it is recorded */
    uint32_t target_top32;   /* candidate when bswap32(digest word 0) <= this */
    uint32_t max_hits;       /* capacity of the hit list */
    uint32_t mul[32];        /* mul[n] = 2^n; mul[0] is the opaque 1 of the IMAD adds */
};

/* ---- lane operations ------------------------------------------------------------------ */

__device__ __forceinline__ uint32_t lp_bswap32(uint32_t x)
{
#ifdef LP_POW_HIP
    return __builtin_bswap32(x);
#else
    return __byte_perm(x, 0, 0x0123);
#endif
}

#ifdef LP_POW_HIP
__device__ __forceinline__ uint32_t lp_xor3_32(uint32_t a, uint32_t b, uint32_t c)
{
    return a ^ b ^ c;
}
__device__ __forceinline__ uint32_t lp_chi_32(uint32_t a, uint32_t b, uint32_t c)
{
    return a ^ (~b & c);
}
/* high word of (hi:lo) << n, 1 <= n <= 31 */
__device__ __forceinline__ uint32_t lp_funnel_l(uint32_t lo, uint32_t hi, int n)
{
    return (hi << n) | (lo >> (32 - n));
}
#else
__device__ __forceinline__ uint32_t lp_xor3_32(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t r;
    asm("lop3.b32 %0, %1, %2, %3, 0x96;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
__device__ __forceinline__ uint32_t lp_chi_32(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t r;
    asm("lop3.b32 %0, %1, %2, %3, 0xD2;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
__device__ __forceinline__ uint32_t lp_funnel_l(uint32_t lo, uint32_t hi, int n)
{
    return __funnelshift_l(lo, hi, n);
}
#endif

__device__ __forceinline__ uint2 lp_lane_xor3(uint2 a, uint2 b, uint2 c)
{
    return make_uint2(lp_xor3_32(a.x, b.x, c.x), lp_xor3_32(a.y, b.y, c.y));
}
__device__ __forceinline__ uint2 lp_lane_xor5(uint2 a, uint2 b, uint2 c, uint2 d, uint2 e)
{
    return lp_lane_xor3(lp_lane_xor3(a, b, c), d, e);
}
__device__ __forceinline__ uint2 lp_lane_xor2(uint2 a, uint2 b)
{
    return make_uint2(a.x ^ b.x, a.y ^ b.y);
}
__device__ __forceinline__ uint2 lp_lane_chi(uint2 a, uint2 b, uint2 c)
{
    return make_uint2(lp_chi_32(a.x, b.x, c.x), lp_chi_32(a.y, b.y, c.y));
}
__device__ __forceinline__ uint2 lp_lane_xork(uint2 a, uint64_t k)
{
    return make_uint2(a.x ^ (uint32_t)k, a.y ^ (uint32_t)(k >> 32));
}

/* rotl by a compile-time n in 1..63 (never 0 or 32 in Keccak's rho and theta) */
__device__ __forceinline__ uint2 lp_lane_rotl(uint2 v, int n)
{
    uint2 r;
    if (n < 32) {
        r.y = lp_funnel_l(v.x, v.y, n);
        r.x = lp_funnel_l(v.y, v.x, n);
    } else {
        r.y = lp_funnel_l(v.y, v.x, n - 32);
        r.x = lp_funnel_l(v.x, v.y, n - 32);
    }
    return r;
}

#ifndef LP_POW_HIP
/* rotl on the multiply pipe: (x * 2^n) as a 64-bit product holds x << n in its low word and
 * x >> (32 - n) in its high word; the two halves' pieces have disjoint bits, so an add (an IMAD
 * by the opaque 1) combines them. */
__device__ __forceinline__ uint2 lp_lane_rotl_imad(uint2 v, int n, const uint32_t *mul)
{
    if (n >= 32) {
        v = make_uint2(v.y, v.x);
        n -= 32;
    }
    const uint32_t m = mul[n], one = mul[0];
    uint32_t tl, th, sl, sh;
    uint2 r;
    asm("{\n\t.reg .u64 t;\n\tmul.wide.u32 t, %2, %3;\n\tmov.b64 {%0, %1}, t;\n\t}"
        : "=r"(tl), "=r"(th)
        : "r"(v.x), "r"(m));
    asm("{\n\t.reg .u64 t;\n\tmul.wide.u32 t, %2, %3;\n\tmov.b64 {%0, %1}, t;\n\t}"
        : "=r"(sl), "=r"(sh)
        : "r"(v.y), "r"(m));
    asm("mad.lo.u32 %0, %1, %2, %3;" : "=r"(r.y) : "r"(sl), "r"(one), "r"(th));
    asm("mad.lo.u32 %0, %1, %2, %3;" : "=r"(r.x) : "r"(tl), "r"(one), "r"(sh));
    return r;
}
#endif

template <int ROT_MODE>
__device__ __forceinline__ uint2 lp_lane_rotl_rho(uint2 v, int n, const uint32_t *mul)
{
#ifndef LP_POW_HIP
    if (ROT_MODE == 1 || (ROT_MODE == 2 && (n & 1)))
        return lp_lane_rotl_imad(v, n, mul);
#endif
    (void)mul;
    return lp_lane_rotl(v, n);
}

/* ---- two hashes per thread ------------------------------------------------------------
 * A lane pair: the same lane of two independent states. The round macros are written once
 * over LP_XOR5 & co., so defining those on pairs gives two interleaved hashes whose
 * instructions the compiler can schedule into each other's latency gaps (ILP). */
struct lp_lane_pair {
    uint2 h0, h1;
};
__device__ __forceinline__ lp_lane_pair lp_pair(uint2 a, uint2 b)
{
    lp_lane_pair r;
    r.h0 = a;
    r.h1 = b;
    return r;
}
#define LP_PAIR1(f, x) lp_pair(f((x).h0), f((x).h1))
#define LP_PAIR_XOR5(a, b, c, d, e)                                                                \
    lp_pair(lp_lane_xor5((a).h0, (b).h0, (c).h0, (d).h0, (e).h0),                                  \
            lp_lane_xor5((a).h1, (b).h1, (c).h1, (d).h1, (e).h1))
#define LP_PAIR_XOR3(a, b, c)                                                                      \
    lp_pair(lp_lane_xor3((a).h0, (b).h0, (c).h0), lp_lane_xor3((a).h1, (b).h1, (c).h1))
#define LP_PAIR_XOR2(a, b) lp_pair(lp_lane_xor2((a).h0, (b).h0), lp_lane_xor2((a).h1, (b).h1))
#define LP_PAIR_CHI(a, b, c)                                                                       \
    lp_pair(lp_lane_chi((a).h0, (b).h0, (c).h0), lp_lane_chi((a).h1, (b).h1, (c).h1))
#define LP_PAIR_ROTL(x, n) lp_pair(lp_lane_rotl((x).h0, n), lp_lane_rotl((x).h1, n))
#define LP_PAIR_ROTL_RHO(x, n)                                                                     \
    lp_pair(lp_lane_rotl_rho<ROT_MODE>((x).h0, n, p.mul),                                          \
            lp_lane_rotl_rho<ROT_MODE>((x).h1, n, p.mul))
#define LP_PAIR_XORK(x, k) lp_pair(lp_lane_xork((x).h0, k), lp_lane_xork((x).h1, k))

/* ---- the kernel ----------------------------------------------------------------------- */

/* Kernel forms (measured against each other by tests/gpu/cuda_check.c's bench):
 *   0 unrolled: one hash per thread, all rounds unrolled, up to 256 threads per block.
 *   1 unrolled, at most 64 registers (__launch_bounds__(128, 8)): 8 blocks of 128 = 32 warps
 *     per SM instead of the 28 that 71 registers allow, more warps to hide ALU latency.
 *   2 looped: the middle rounds as a loop of 2 rounds (round constants from a table), so
 *     the code is ~7x smaller than the unrolled ~66 KB that streams through the
 *     instruction caches; 72 registers (__launch_bounds__(128, 7)), the occupancy of form 0.
 *   3 two hashes per thread (lp_lane_pair), at most 128 registers (__launch_bounds__(128, 4)).
 * Each form's largest block is LP_POW_FORM_MAX_TPB(form); the host checks the configuration. */
#define LP_POW_FORM_UNROLLED   0
#define LP_POW_FORM_UNROLLED64 1
#define LP_POW_FORM_LOOPED     2
#define LP_POW_FORM_PAIR       3
#define LP_POW_FORMS           4
#define LP_POW_FORM_MAX_TPB(f) ((f) == LP_POW_FORM_UNROLLED ? LP_POW_MAX_THREADS_PER_BLOCK : 128)
/* 0 = no minimum: form 0 keeps ptxas's own choice (71 registers; a minimum of 1 gives 90) */
#define LP_POW_FORM_MIN_BLOCKS(f)                                                                  \
    ((f) == LP_POW_FORM_UNROLLED ? 0                                                               \
     : (f) == LP_POW_FORM_PAIR   ? 4                                                               \
     : (f) == LP_POW_FORM_LOOPED ? 7                                                               \
                                 : 8)
/* nonces per thread per loop iteration */
#define LP_POW_FORM_HASHES(f) ((f) == LP_POW_FORM_PAIR ? 2 : 1)

__constant__ uint64_t lp_pow_rc[24] = {
    LP_KECCAK_RC0,  LP_KECCAK_RC1,  LP_KECCAK_RC2,  LP_KECCAK_RC3,  LP_KECCAK_RC4,  LP_KECCAK_RC5,
    LP_KECCAK_RC6,  LP_KECCAK_RC7,  LP_KECCAK_RC8,  LP_KECCAK_RC9,  LP_KECCAK_RC10, LP_KECCAK_RC11,
    LP_KECCAK_RC12, LP_KECCAK_RC13, LP_KECCAK_RC14, LP_KECCAK_RC15, LP_KECCAK_RC16, LP_KECCAK_RC17,
    LP_KECCAK_RC18, LP_KECCAK_RC19, LP_KECCAK_RC20, LP_KECCAK_RC21, LP_KECCAK_RC22, LP_KECCAK_RC23,
};

/* lane 7 = the nonce's low 8 bytes, big-endian, read as a little-endian word */
__device__ __forceinline__ uint2 lp_pow_nonce_lane_dev(uint64_t n)
{
    return make_uint2(lp_bswap32((uint32_t)(n >> 32)), lp_bswap32((uint32_t)n));
}

/* The digest's leading 32 bits, read big-endian, of one nonce lane v (forms 0..2). */
template <int ROT_MODE, int FORM>
__device__ __forceinline__ uint32_t lp_pow_hash_top32(const struct lp_pow_kernel_params &p, uint2 v)
{
#define LP_XOR5(a, b, c, d, e) lp_lane_xor5(a, b, c, d, e)
#define LP_XOR3(a, b, c)       lp_lane_xor3(a, b, c)
#define LP_XOR2(a, b)          lp_lane_xor2(a, b)
#define LP_CHI(a, b, c)        lp_lane_chi(a, b, c)
#define LP_ROTL(x, n)          lp_lane_rotl(x, n)
#define LP_ROTL_RHO(x, n)      lp_lane_rotl_rho<ROT_MODE>(x, n, p.mul)
#define LP_XORK(x, k)          lp_lane_xork(x, k)
#define LP_MID(i)              p.mid[i]
    uint2 a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19,
        a20, a21, a22, a23, a24;
    uint2 b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19,
        b20, b21, b22, b23, b24;
    uint2 c0, c1, c2, c3, c4, r0, r1, r2, r3, r4, out;
    LP_KECCAK_FIRST_ROUND(v);
    if (FORM == LP_POW_FORM_LOOPED) {
#pragma unroll 1
        for (int round = 1; round < 23; round += 2) {
            LP_KECCAK_ROUND(lp_pow_rc[round]);
            LP_KECCAK_ROUND(lp_pow_rc[round + 1]);
        }
    } else {
        LP_KECCAK_MIDDLE_ROUNDS();
    }
    LP_KECCAK_LAST_LANE0(out, LP_KECCAK_RC23);
    return lp_bswap32(out.x);
#undef LP_XOR5
#undef LP_XOR3
#undef LP_XOR2
#undef LP_CHI
#undef LP_ROTL
#undef LP_ROTL_RHO
#undef LP_XORK
#undef LP_MID
}

/* The same for two nonce lanes at once (form 3). */
template <int ROT_MODE>
__device__ __forceinline__ void lp_pow_hash_top32_pair(const struct lp_pow_kernel_params &p,
                                                       uint2 v0, uint2 v1, uint32_t *t0,
                                                       uint32_t *t1)
{
#define LP_XOR5(a, b, c, d, e) LP_PAIR_XOR5(a, b, c, d, e)
#define LP_XOR3(a, b, c)       LP_PAIR_XOR3(a, b, c)
#define LP_XOR2(a, b)          LP_PAIR_XOR2(a, b)
#define LP_CHI(a, b, c)        LP_PAIR_CHI(a, b, c)
#define LP_ROTL(x, n)          LP_PAIR_ROTL(x, n)
#define LP_ROTL_RHO(x, n)      LP_PAIR_ROTL_RHO(x, n)
#define LP_XORK(x, k)          LP_PAIR_XORK(x, k)
#define LP_MID(i)              lp_pair(p.mid[i], p.mid[i])
    lp_lane_pair a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17,
        a18, a19, a20, a21, a22, a23, a24;
    lp_lane_pair b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17,
        b18, b19, b20, b21, b22, b23, b24;
    lp_lane_pair c0, c1, c2, c3, c4, r0, r1, r2, r3, r4, out;
    const lp_lane_pair v = lp_pair(v0, v1);
    LP_KECCAK_FIRST_ROUND(v);
    LP_KECCAK_MIDDLE_ROUNDS();
    LP_KECCAK_LAST_LANE0(out, LP_KECCAK_RC23);
    *t0 = lp_bswap32(out.h0.x);
    *t1 = lp_bswap32(out.h1.x);
#undef LP_XOR5
#undef LP_XOR3
#undef LP_XOR2
#undef LP_CHI
#undef LP_ROTL
#undef LP_ROTL_RHO
#undef LP_XORK
#undef LP_MID
}

typedef void (*lp_pow_kernel_fn)(const struct lp_pow_kernel_params, uint32_t *, uint64_t *);

__device__ __forceinline__ void lp_pow_record(const struct lp_pow_kernel_params &p,
                                              uint32_t *hit_count, uint64_t *hits, uint64_t i)
{
    const uint32_t slot = atomicAdd(hit_count, 1u);
    if (slot < p.max_hits)
        hits[slot] = p.hit_offset + i;
}

template <int ROT_MODE, int FORM>
__global__ void __launch_bounds__(LP_POW_FORM_MAX_TPB(FORM), LP_POW_FORM_MIN_BLOCKS(FORM))
    lp_pow_search(const struct lp_pow_kernel_params p, uint32_t *hit_count, uint64_t *hits)
{
    const uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
    uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (FORM == LP_POW_FORM_PAIR) {
        /* thread t hashes offsets t and t + stride, then t + 2 stride and t + 3 stride, ...; at
         * the end of a launch a lone offset is hashed twice and its twin result ignored, so
         * the pair code exists once (a second copy for the tail would double the code). */
        for (; i < p.count; i += 2 * stride) {
            const bool two = i + stride < p.count;
            const uint64_t i1 = two ? i + stride : i;
            uint32_t t0, t1;
            lp_pow_hash_top32_pair<ROT_MODE>(p, lp_pow_nonce_lane_dev(p.nonce_low_base + i),
                                             lp_pow_nonce_lane_dev(p.nonce_low_base + i1), &t0,
                                             &t1);
            if (t0 <= p.target_top32)
                lp_pow_record(p, hit_count, hits, i);
            if (two && t1 <= p.target_top32)
                lp_pow_record(p, hit_count, hits, i1);
        }
    } else {
        for (; i < p.count; i += stride) {
            const uint32_t top =
                lp_pow_hash_top32<ROT_MODE, FORM>(p, lp_pow_nonce_lane_dev(p.nonce_low_base + i));
            if (top <= p.target_top32)
                lp_pow_record(p, hit_count, hits, i);
        }
    }
}

#endif /* LP_KECCAK_POW_KERNEL_H */
