/* hashrate/cpu, AVX-512: eight states, one per 64-bit element of a zmm register. Compiled with
 * -mavx512f (this file only); called only when the CPU reports AVX-512F. vpternlogq does the
 * 3-input XORs of theta (0x96) and chi (0xD2) in one instruction, vprolq the rotations. */
#include <immintrin.h>

#include "cpu_pow.h"

#define LANE                   __m512i
#define LP_W                   8
#define LP_SCAN_FN             lp_cpu_scan_avx512
#define LP_SPLAT(x)            _mm512_set1_epi64((long long)(x))
#define LP_XOR2(a, b)          _mm512_xor_si512(a, b)
#define LP_XOR3(a, b, c)       _mm512_ternarylogic_epi64(a, b, c, 0x96)
#define LP_XOR5(a, b, c, d, e) LP_XOR3(LP_XOR3(a, b, c), d, e)
#define LP_CHI(a, b, c)        _mm512_ternarylogic_epi64(a, b, c, 0xD2)
#define LP_ROTL(x, n)          _mm512_rol_epi64(x, n)
#define LP_ROTL_RHO(x, n)      LP_ROTL(x, n)
#define LP_XORK(x, k)          _mm512_xor_si512(x, LP_SPLAT(k))
#define LP_LOAD_NONCES(v)      _mm512_loadu_si512((const void *)(v))
#define LP_STORE_LANE0(o, x)   _mm512_storeu_si512((void *)(o), x)

#include "cpu_pow_scan.h"
