/* Minimal working ops shared by the deliberately broken test plugins: each broken plugin
 * breaks exactly one thing and is otherwise well-formed, so the loader's verdict can only
 * come from that one thing. */
#ifndef LP_TEST_OPS_H
#define LP_TEST_OPS_H

#include <lilypad/executor.h>
#include <lilypad/hashrate.h>
#include <lilypad/storage.h>
#include <lilypad/verifier.h>
#include <stdlib.h>

static inline int test_create(const struct lp_host *host, const void *config, void **instance)
{
    (void)host;
    (void)config;
    *instance = malloc(1);
    return *instance ? LP_OK : LP_ERR;
}

static inline void test_destroy(void *instance)
{
    free(instance);
}

static inline const char *test_last_error(void *instance)
{
    (void)instance;
    return "";
}

#define TEST_LIFECYCLE                                                                             \
    {                                                                                              \
        .create = test_create, .destroy = test_destroy, .last_error = test_last_error              \
    }

/* The ops each concern requires, doing nothing: a plugin without them is INCOMPATIBLE, which
 * would hide the one thing a test plugin breaks. */
static inline int test_submit(void *instance, const struct lp_job_spec *spec,
                              const char *inputs_dir, const char *outputs_dir,
                              const struct lp_job_limits *limits, struct lp_job_handle *out)
{
    (void)instance, (void)spec, (void)inputs_dir, (void)outputs_dir, (void)limits, (void)out;
    return LP_ENOTSUP;
}

static inline int test_poll(void *instance, const struct lp_job_handle *job,
                            struct lp_job_status *out)
{
    (void)instance, (void)job, (void)out;
    return LP_ENOTSUP;
}

static inline int test_put(void *instance, const struct lp_call *call, const char *path,
                           struct lp_cid *out)
{
    (void)instance, (void)call, (void)path, (void)out;
    return LP_ENOTSUP;
}

static inline int test_get(void *instance, const struct lp_call *call, const struct lp_cid *cid,
                           const char *dest)
{
    (void)instance, (void)call, (void)cid, (void)dest;
    return LP_ENOTSUP;
}

static inline int test_record_agreement(void *instance, const struct lp_call *call,
                                        const struct lp_agreement *agreement)
{
    (void)instance, (void)call, (void)agreement;
    return LP_ENOTSUP;
}

static inline int test_record_result(void *instance, const struct lp_call *call,
                                     const struct lp_result_record *result)
{
    (void)instance, (void)call, (void)result;
    return LP_ENOTSUP;
}

static inline int test_read_deal(void *instance, const struct lp_call *call,
                                 const uint8_t deal_id[32], struct lp_deal_record *out)
{
    (void)instance, (void)call, (void)deal_id, (void)out;
    return LP_ENOTSUP;
}

static inline int test_device_count(void *instance, uint32_t *count)
{
    (void)instance;
    *count = 0;
    return LP_OK;
}

static inline int test_device_info(void *instance, uint32_t device, struct lp_hashrate_device *out)
{
    (void)instance, (void)device, (void)out;
    return LP_EINVAL;
}

static inline int test_mine(void *instance, uint32_t device, const struct lp_pow_work *work,
                            const uint8_t nonce_base[32], uint64_t count, uint64_t *hashes_done,
                            struct lp_pow_solution *solutions, size_t max_solutions, size_t *found)
{
    (void)instance, (void)device, (void)work, (void)nonce_base, (void)count, (void)solutions,
        (void)max_solutions;
    *hashes_done = 0;
    *found = 0;
    return LP_ENOTSUP;
}

#define TEST_EXECUTOR_REQUIRED .submit = test_submit, .poll = test_poll
#define TEST_STORAGE_REQUIRED  .put_v2 = test_put, .get_v2 = test_get
#define TEST_VERIFIER_REQUIRED                                                                     \
    .record_agreement_v2 = test_record_agreement, .record_result_v2 = test_record_result,          \
    .read_deal_v2 = test_read_deal
#define TEST_HASHRATE_REQUIRED                                                                     \
    .device_count = test_device_count, .device_info = test_device_info, .mine = test_mine

#endif
