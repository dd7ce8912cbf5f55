/* Deal states (enum lp_deal_state, api/lilypad/verifier.h) as Lilypad names them in
 * pkg/data/enums.go, and which of them a deal is still moving in. One table for the solver (its
 * views and its store's "active deals" query), the ledger and the job creator, so their
 * messages, views and queries agree: a state added to the enum is named and classified here
 * and nowhere else. */
#ifndef LP_UTIL_DEAL_STATE_H
#define LP_UTIL_DEAL_STATE_H

#include <stdbool.h>
#include <stdint.h>

/* "DealAgreed", "ResultsSubmitted", ...; "Unknown" for a number outside the enum. */
const char *lp_deal_state_name(uint32_t state);
/* One past the highest state this build names: every known state is below it. */
uint32_t lp_deal_state_count(void);
/* True for the states a deal is still moving in (negotiating, agreed, results on their way or
 * being checked); false for the rest and for unknown numbers. */
bool lp_deal_state_active(uint32_t state);
/* True for the states a deal never leaves (accepted, mediated, cancelled, timed out), and for
 * unknown numbers: exactly the states that are not active. */
bool lp_deal_state_terminal(uint32_t state);

#endif
