/* Mediator sets (mediators.h). */
#include "wire/mediators.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key.h"

static int addr_cmp(const void *a, const void *b)
{
    return memcmp(a, b, LP_WIRE_ADDR_LEN);
}

void lp_mediators_sort(uint8_t (*set)[LP_WIRE_ADDR_LEN], size_t n)
{
    if (n > 1)
        qsort(set, n, LP_WIRE_ADDR_LEN, addr_cmp);
}

bool lp_mediators_has(const uint8_t (*set)[LP_WIRE_ADDR_LEN], size_t n,
                      const uint8_t addr[LP_WIRE_ADDR_LEN])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(set[i], addr, LP_WIRE_ADDR_LEN) == 0)
            return true;
    return false;
}

int lp_mediators_parse(const char *const *texts, size_t n,
                       uint8_t out[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN], size_t *n_out,
                       size_t *bad, char *why, size_t cap)
{
    *n_out = 0;
    if (n > LP_WIRE_MAX_MEDIATORS) {
        *bad = n;
        snprintf(why, cap, "%zu addresses, more than the %d a job offer can name", n,
                 LP_WIRE_MAX_MEDIATORS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t a[LP_WIRE_ADDR_LEN];
        if (lp_address_parse(texts[i], a) != 0) {
            *bad = i;
            snprintf(why, cap,
                     "\"%.64s\" is not an address; hint: 0x and 40 hex digits (a mixed-case one "
                     "must carry a valid EIP-55 checksum)",
                     texts[i]);
            return -1;
        }
        if (lp_mediators_has((const uint8_t(*)[LP_WIRE_ADDR_LEN])out, i, a)) {
            *bad = i;
            snprintf(why, cap, "%.64s is listed twice", texts[i]);
            return -1;
        }
        memcpy(out[i], a, LP_WIRE_ADDR_LEN);
    }
    lp_mediators_sort(out, n);
    *n_out = n;
    return 0;
}
