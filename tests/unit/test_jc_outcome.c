/* The job creator's outcome for each way a provider's signed result says the job ended: the
 * termination decides (timed_out, cancelled, oom_killed, not_run, exited by exit code), the
 * provider's error text is shown after the reason, and a version 1 result (no termination) is
 * judged by its exit code alone, whatever its error text says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "jobcreator/outcome.h"

static struct lp_result result(uint32_t termination, int32_t exit_code, const char *error)
{
    struct lp_result r;
    memset(&r, 0, sizeof r);
    r.version = termination == LP_TERMINATION_UNKNOWN ? 1 : 2;
    r.termination = termination;
    r.exit_code = exit_code;
    r.error = (char *)error;
    r.cid = (char *)"bafkreiexample";
    return r;
}

static void expect(uint32_t termination, int32_t exit_code, const char *error, bool has_outputs,
                   enum lp_jc_outcome want, const char *want_reason)
{
    struct lp_result r = result(termination, exit_code, error);
    char reason[768];
    memset(reason, 'x', sizeof reason);
    enum lp_jc_outcome got = lp_jc_result_outcome(&r, has_outputs, reason, sizeof reason);
    if (got != want || strcmp(reason, want_reason) != 0)
        fail_msg("termination %s, exit %d, error \"%s\", outputs %d: got %s \"%s\", want %s "
                 "\"%s\"",
                 lp_termination_name(termination), exit_code, error, has_outputs,
                 lp_jc_outcome_name(got), reason, lp_jc_outcome_name(want), want_reason);
}

static void test_exited(void **state)
{
    (void)state;
    expect(LP_TERMINATION_EXITED, 0, "", true, LP_JC_SUCCEEDED, "");
    expect(LP_TERMINATION_EXITED, 3, "", true, LP_JC_JOB_FAILED, "the job exited with status 3");
    /* an exit status that looks like a SIGKILL is still just an exit status */
    expect(LP_TERMINATION_EXITED, 137, "", true, LP_JC_JOB_FAILED,
           "the job exited with status 137");
    expect(LP_TERMINATION_EXITED, -11, "", true, LP_JC_JOB_FAILED,
           "the job was killed by signal 11");
    expect(LP_TERMINATION_EXITED, 0, "disk full", true, LP_JC_JOB_FAILED,
           "the provider reported an error: disk full");
    expect(LP_TERMINATION_EXITED, 0, "storing the outputs failed: no space", false,
           LP_JC_JOB_FAILED,
           "the job ran but the provider delivered no outputs: storing the outputs failed: no "
           "space");
}

static void test_timed_out(void **state)
{
    (void)state;
    expect(LP_TERMINATION_TIMED_OUT, -9, "the job ran past its timeout of 1 s and was stopped",
           true, LP_JC_TIMED_OUT,
           "the job timed out on the provider: the job ran past its timeout of 1 s and was "
           "stopped");
    /* the state decides, not the words: no "timeout" in the text needed */
    expect(LP_TERMINATION_TIMED_OUT, -9, "", true, LP_JC_TIMED_OUT,
           "the job timed out on the provider");
    expect(LP_TERMINATION_TIMED_OUT, -9, "", false, LP_JC_TIMED_OUT,
           "the job timed out on the provider (no reason given, and no outputs)");
}

static void test_oom_killed(void **state)
{
    (void)state;
    expect(LP_TERMINATION_OOM_KILLED, 137, "", true, LP_JC_JOB_FAILED,
           "the job was killed: out of memory");
    expect(LP_TERMINATION_OOM_KILLED, -9, "memory.max 512M reached", true, LP_JC_JOB_FAILED,
           "the job was killed: out of memory: memory.max 512M reached");
}

static void test_cancelled_and_not_run(void **state)
{
    (void)state;
    expect(LP_TERMINATION_CANCELLED, -9, "the provider is shutting down", true, LP_JC_CANCELLED,
           "the job was cancelled on the provider: the provider is shutting down");
    expect(LP_TERMINATION_NOT_RUN, 255, "image not found", false, LP_JC_JOB_FAILED,
           "the provider could not run the job: image not found");
    /* even with outputs and exit code 0, not_run is not a success */
    expect(LP_TERMINATION_NOT_RUN, 0, "", true, LP_JC_JOB_FAILED,
           "the provider could not run the job");
}

static void test_version_1_by_exit_code_only(void **state)
{
    (void)state;
    /* a version 1 timeout: the text says so, but only the exit code counts */
    expect(LP_TERMINATION_UNKNOWN, -9, "the job ran past its timeout of 1 s and was stopped", true,
           LP_JC_JOB_FAILED,
           "the job was killed by signal 9: the job ran past its timeout of 1 s and was stopped");
    expect(LP_TERMINATION_UNKNOWN, 0, "", true, LP_JC_SUCCEEDED, "");
    expect(LP_TERMINATION_UNKNOWN, 2, "", true, LP_JC_JOB_FAILED, "the job exited with status 2");
    expect(LP_TERMINATION_UNKNOWN, 255, "the job could not start: no image", false,
           LP_JC_JOB_FAILED,
           "the provider could not run the job: the job could not start: no image");
    expect(LP_TERMINATION_UNKNOWN, 0, "", false, LP_JC_JOB_FAILED,
           "the provider could not run the job (no reason given, and no outputs)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exited),
        cmocka_unit_test(test_timed_out),
        cmocka_unit_test(test_oom_killed),
        cmocka_unit_test(test_cancelled_and_not_run),
        cmocka_unit_test(test_version_1_by_exit_code_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
