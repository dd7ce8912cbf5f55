/* hashrate/cpu, AVX2: four states, one per 64-bit element of a ymm register. Compiled with
 * -mavx2 (this file only); called only when the CPU reports AVX2. AVX2 has neither a 64-bit
 * rotate nor a 3-input logic op, so rotations are two shifts and an OR, chi an ANDNOT + XOR. */
#include <immintrin.h>

#include "cpu_pow.h"

#define LANE       __m256i
#define LP_W       4
#define LP_SCAN_FN lp_cpu_scan_avx2
/* row-by-row rounds: 6.3 vs 4.3 M/s per core with 16 ymm registers (Zen 5, gcc 12) */
#define LP_SCAN_ROW_ROUNDS     1
#define LP_SPLAT(x)            _mm256_set1_epi64x((long long)(x))
#define LP_XOR2(a, b)          _mm256_xor_si256(a, b)
#define LP_XOR3(a, b, c)       LP_XOR2(LP_XOR2(a, b), c)
#define LP_XOR5(a, b, c, d, e) LP_XOR2(LP_XOR2(LP_XOR2(a, b), LP_XOR2(c, d)), e)
#define LP_CHI(a, b, c)        _mm256_xor_si256(a, _mm256_andnot_si256(b, c))
#define LP_ROTL(x, n)          _mm256_or_si256(_mm256_slli_epi64(x, n), _mm256_srli_epi64(x, 64 - (n)))
#define LP_ROTL_RHO(x, n)      LP_ROTL(x, n)
#define LP_XORK(x, k)          _mm256_xor_si256(x, LP_SPLAT(k))
#define LP_LOAD_NONCES(v)      _mm256_loadu_si256((const __m256i *)(v))
#define LP_STORE_LANE0(o, x)   _mm256_storeu_si256((__m256i *)(o), x)

#include "cpu_pow_scan.h"
