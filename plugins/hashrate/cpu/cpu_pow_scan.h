/*
 * The body shared by the CPU scanners. The includer defines LANE (the vector type), LP_W (states
 * per vector), LP_SCAN_FN (the function's name), the lane operations keccak_pow_rounds.h needs,
 * and LP_LOAD_NONCES(dst, const uint64_t v[LP_W]) / LP_STORE_LANE0(uint64_t out[LP_W], lane).
 * LP_SCAN_ROW_ROUNDS selects the row-by-row round form (fewer live values: for 16-register
 * targets), measured per ISA.
 */
#include <stddef.h>

#include "keccak_pow_rounds.h"

#define LP_MID(i) mid##i

/* Checked between blocks of this many hashes, so a stop request lands within ~0.1 ms. */
#define LP_SCAN_CHUNK 1024u

uint64_t LP_SCAN_FN(const struct lp_cpu_scan *s, uint64_t offset, uint64_t count)
{
    const LANE mid0 = LP_SPLAT(s->mid[0]), mid1 = LP_SPLAT(s->mid[1]), mid2 = LP_SPLAT(s->mid[2]),
               mid3 = LP_SPLAT(s->mid[3]), mid4 = LP_SPLAT(s->mid[4]), mid5 = LP_SPLAT(s->mid[5]),
               mid6 = LP_SPLAT(s->mid[6]), mid7 = LP_SPLAT(s->mid[7]), mid8 = LP_SPLAT(s->mid[8]),
               mid9 = LP_SPLAT(s->mid[9]), mid10 = LP_SPLAT(s->mid[10]),
               mid11 = LP_SPLAT(s->mid[11]), mid12 = LP_SPLAT(s->mid[12]),
               mid13 = LP_SPLAT(s->mid[13]), mid14 = LP_SPLAT(s->mid[14]),
               mid15 = LP_SPLAT(s->mid[15]), mid16 = LP_SPLAT(s->mid[16]),
               mid17 = LP_SPLAT(s->mid[17]), mid18 = LP_SPLAT(s->mid[18]),
               mid19 = LP_SPLAT(s->mid[19]), mid20 = LP_SPLAT(s->mid[20]),
               mid21 = LP_SPLAT(s->mid[21]), mid22 = LP_SPLAT(s->mid[22]),
               mid23 = LP_SPLAT(s->mid[23]), mid24 = LP_SPLAT(s->mid[24]);
    uint64_t done = 0;
    while (done < count) {
        if (s->stop != NULL && atomic_load_explicit(s->stop, memory_order_relaxed))
            break;
        uint64_t chunk = count - done < LP_SCAN_CHUNK ? count - done : LP_SCAN_CHUNK;
        for (uint64_t k = 0; k < chunk; k += LP_W) {
            const uint64_t first = offset + done + k;
            uint64_t nl[LP_W], out0[LP_W];
            for (int j = 0; j < LP_W; j++)
                nl[j] = __builtin_bswap64(s->base_low + first + (uint64_t)j);
            LANE v = LP_LOAD_NONCES(nl);
            LANE a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17,
                a18, a19, a20, a21, a22, a23, a24;
            LANE b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17,
                b18, b19, b20, b21, b22, b23, b24;
            LANE c0, c1, c2, c3, c4, r0, r1, r2, r3, r4, out;
            LP_KECCAK_FIRST_ROUND(v);
#ifdef LP_SCAN_ROW_ROUNDS
            LANE e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15, e16, e17,
                e18, e19, e20, e21, e22, e23, e24;
            LP_KECCAK_MIDDLE_ROUNDS_AE();
#else
            LP_KECCAK_MIDDLE_ROUNDS();
#endif
            LP_KECCAK_LAST_LANE0(out, LP_KECCAK_RC23);
            LP_STORE_LANE0(out0, out);
            const uint64_t valid = chunk - k < LP_W ? chunk - k : LP_W;
            for (uint64_t j = 0; j < valid; j++)
                if (__builtin_bswap64(out0[j]) <= s->target_top64)
                    s->candidate(s->ctx, first + j);
        }
        done += chunk;
    }
    return done;
}
