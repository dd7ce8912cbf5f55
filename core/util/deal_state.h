/* Deal states (enum lp_deal_state, api/lilypad/verifier.h) as Lilypad names them in
 * pkg/data/enums.go, and which of them end a deal. One table for the solver, the ledger and the
 * job creator, so their messages and views agree. */
#ifndef LP_UTIL_DEAL_STATE_H
#define LP_UTIL_DEAL_STATE_H

#include <stdbool.h>
#include <stdint.h>

/* "DealAgreed", "ResultsSubmitted", ...; "Unknown" for a number outside the enum. */
const char *lp_deal_state_name(uint32_t state);
/* True for the states a deal never leaves (accepted, mediated, cancelled, timed out). */
bool lp_deal_state_terminal(uint32_t state);

#endif
