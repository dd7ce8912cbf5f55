/* The core's calls into its verifier backend (api/lilypad/verifier.h), with the dispatch rules
 * of dispatch.h. `call` carries the acting party's address (the job creator, the provider, the
 * mediator; NULL: the node itself) and a cancellation token to plugins with the 1.1 ops; a 1.0
 * plugin gets the 1.0 op. */
#ifndef LP_DISPATCH_VERIFIER_H
#define LP_DISPATCH_VERIFIER_H

#include <lilypad/verifier.h>

#include "dispatch/dispatch.h"
#include "loader/backend.h"

int lp_verifier_record_agreement(struct lp_backend *b, const struct lp_call *call,
                                 const struct lp_agreement *agreement, struct lp_plugin_error *err);
int lp_verifier_record_result(struct lp_backend *b, const struct lp_call *call,
                              const struct lp_result_record *result, struct lp_plugin_error *err);
int lp_verifier_accept_result(struct lp_backend *b, const struct lp_call *call,
                              const uint8_t deal_id[32], struct lp_plugin_error *err);
int lp_verifier_challenge_result(struct lp_backend *b, const struct lp_call *call,
                                 const uint8_t deal_id[32], const uint8_t mediator[20],
                                 struct lp_plugin_error *err);
int lp_verifier_mediation_verdict(struct lp_backend *b, const struct lp_call *call,
                                  const uint8_t deal_id[32], bool result_accepted,
                                  struct lp_plugin_error *err);
int lp_verifier_cancel_deal(struct lp_backend *b, const struct lp_call *call,
                            const uint8_t deal_id[32], uint32_t terminal_state,
                            struct lp_plugin_error *err);
/* *out is this core's struct; members an older plugin did not write are zero. */
int lp_verifier_read_deal(struct lp_backend *b, const struct lp_call *call,
                          const uint8_t deal_id[32], struct lp_deal_record *out,
                          struct lp_plugin_error *err);
int lp_verifier_pow_new_round(struct lp_backend *b, const struct lp_call *call,
                              const struct lp_pow_round *round, struct lp_plugin_error *err);
int lp_verifier_pow_submit(struct lp_backend *b, const struct lp_call *call,
                           const struct lp_pow_submission *submission, struct lp_plugin_error *err);

#endif
