/* hashrate/cpu, portable C: one state in 25 uint64_t lanes. */
#include "cpu_pow.h"

#define LANE                   uint64_t
#define LP_W                   1
#define LP_SCAN_FN             lp_cpu_scan_portable
#define LP_SPLAT(x)            (x)
#define LP_XOR5(a, b, c, d, e) ((a) ^ (b) ^ (c) ^ (d) ^ (e))
#define LP_XOR3(a, b, c)       ((a) ^ (b) ^ (c))
#define LP_XOR2(a, b)          ((a) ^ (b))
#define LP_CHI(a, b, c)        ((a) ^ (~(b) & (c)))
#define LP_ROTL(x, n)          (((x) << (n)) | ((x) >> (64 - (n))))
#define LP_ROTL_RHO(x, n)      LP_ROTL(x, n)
#define LP_XORK(x, k)          ((x) ^ (k))
#define LP_LOAD_NONCES(v)      ((v)[0])
#define LP_STORE_LANE0(o, x)   ((o)[0] = (x))

#include "cpu_pow_scan.h"
