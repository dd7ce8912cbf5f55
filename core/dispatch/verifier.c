#include "dispatch/verifier.h"

#include <string.h>

#include "dispatch/call.h"

typedef const uint8_t *deal_id_t;

typedef int (*record_agreement_fn)(void *, const struct lp_agreement *);
typedef int (*record_agreement_v2_fn)(void *, const struct lp_call *, const struct lp_agreement *);
typedef int (*record_result_fn)(void *, const struct lp_result_record *);
typedef int (*record_result_v2_fn)(void *, const struct lp_call *, const struct lp_result_record *);
typedef int (*accept_result_fn)(void *, deal_id_t);
typedef int (*accept_result_v2_fn)(void *, const struct lp_call *, deal_id_t);
typedef int (*challenge_result_fn)(void *, deal_id_t, const uint8_t *);
typedef int (*challenge_result_v2_fn)(void *, const struct lp_call *, deal_id_t, const uint8_t *);
typedef int (*mediation_verdict_fn)(void *, deal_id_t, bool);
typedef int (*mediation_verdict_v2_fn)(void *, const struct lp_call *, deal_id_t, bool);
typedef int (*cancel_deal_fn)(void *, deal_id_t, uint32_t);
typedef int (*cancel_deal_v2_fn)(void *, const struct lp_call *, deal_id_t, uint32_t);
typedef int (*read_deal_fn)(void *, deal_id_t, struct lp_deal_record *);
typedef int (*read_deal_v2_fn)(void *, const struct lp_call *, deal_id_t, struct lp_deal_record *);
typedef int (*pow_new_round_fn)(void *, const struct lp_pow_round *);
typedef int (*pow_new_round_v2_fn)(void *, const struct lp_call *, const struct lp_pow_round *);
typedef int (*pow_submit_fn)(void *, const struct lp_pow_submission *);
typedef int (*pow_submit_v2_fn)(void *, const struct lp_call *, const struct lp_pow_submission *);

#define VERIFIER_CALL(name, v2_args, v1_args)                                                      \
    LP_DISPATCH_PAIR(b, struct lp_verifier_ops, call, err, name, v2_args, v1_args)

int lp_verifier_record_agreement(struct lp_backend *b, const struct lp_call *call,
                                 const struct lp_agreement *agreement, struct lp_plugin_error *err)
{
    int rc;
    VERIFIER_CALL(record_agreement, (inst, call, agreement), (inst, agreement));
    return rc;
}

int lp_verifier_record_result(struct lp_backend *b, const struct lp_call *call,
                              const struct lp_result_record *result, struct lp_plugin_error *err)
{
    int rc;
    VERIFIER_CALL(record_result, (inst, call, result), (inst, result));
    return rc;
}

int lp_verifier_accept_result(struct lp_backend *b, const struct lp_call *call,
                              const uint8_t deal_id[32], struct lp_plugin_error *err)
{
    int rc;
    VERIFIER_CALL(accept_result, (inst, call, deal_id), (inst, deal_id));
    return rc;
}

int lp_verifier_challenge_result(struct lp_backend *b, const struct lp_call *call,
                                 const uint8_t deal_id[32], const uint8_t mediator[20],
                                 struct lp_plugin_error *err)
{
    int rc;
    VERIFIER_CALL(challenge_result, (inst, call, deal_id, mediator), (inst, deal_id, mediator));
    return rc;
}

int lp_verifier_mediation_verdict(struct lp_backend *b, const struct lp_call *call,
                                  const uint8_t deal_id[32], bool result_accepted,
                                  struct lp_plugin_error *err)
{
    int rc;
    VERIFIER_CALL(mediation_verdict, (inst, call, deal_id, result_accepted),
                  (inst, deal_id, result_accepted));
    return rc;
}

int lp_verifier_cancel_deal(struct lp_backend *b, const struct lp_call *call,
                            const uint8_t deal_id[32], uint32_t terminal_state,
                            struct lp_plugin_error *err)
{
    int rc;
    VERIFIER_CALL(cancel_deal, (inst, call, deal_id, terminal_state),
                  (inst, deal_id, terminal_state));
    return rc;
}

int lp_verifier_read_deal(struct lp_backend *b, const struct lp_call *call,
                          const uint8_t deal_id[32], struct lp_deal_record *out,
                          struct lp_plugin_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    VERIFIER_CALL(read_deal, (inst, call, deal_id, out), (inst, deal_id, out));
    if (out->struct_size != 0 && out->struct_size < sizeof *out)
        memset((unsigned char *)out + out->struct_size, 0, sizeof *out - out->struct_size);
    out->struct_size = sizeof *out;
    out->cid[sizeof out->cid - 1] = '\0';
    return rc;
}

int lp_verifier_pow_new_round(struct lp_backend *b, const struct lp_call *call,
                              const struct lp_pow_round *round, struct lp_plugin_error *err)
{
    int rc;
    VERIFIER_CALL(pow_new_round, (inst, call, round), (inst, round));
    return rc;
}

int lp_verifier_pow_submit(struct lp_backend *b, const struct lp_call *call,
                           const struct lp_pow_submission *submission, struct lp_plugin_error *err)
{
    int rc;
    VERIFIER_CALL(pow_submit, (inst, call, submission), (inst, submission));
    return rc;
}
