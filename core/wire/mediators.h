/* Mediator sets: the addresses a party accepts as mediator of a challenge, in the form a job
 * offer carries them (offers.h, field 13: sorted bytewise, unique, at most
 * LP_WIRE_MAX_MEDIATORS). Shared by the solver's and the provider's `mediators` settings and
 * `lilypad run --mediator`, so all three read and order addresses the same way. */
#ifndef LP_WIRE_MEDIATORS_H
#define LP_WIRE_MEDIATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/offers.h"

/* Parses n "0x..." addresses (EIP-55 checksum checked when mixed case) into out, sorted and
 * unique. -1 with *bad the offending index (n when there are too many) and one line in why:
 * not an address, listed twice, or more than LP_WIRE_MAX_MEDIATORS. */
int lp_mediators_parse(const char *const *texts, size_t n,
                       uint8_t out[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN], size_t *n_out,
                       size_t *bad, char *why, size_t cap);

/* Sorts addresses bytewise in place (the order a job offer requires). */
void lp_mediators_sort(uint8_t (*set)[LP_WIRE_ADDR_LEN], size_t n);

/* Whether addr is one of set's n addresses. */
bool lp_mediators_has(const uint8_t (*set)[LP_WIRE_ADDR_LEN], size_t n,
                      const uint8_t addr[LP_WIRE_ADDR_LEN]);

#endif
