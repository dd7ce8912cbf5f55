/* A solver or provider configured with nonsense must not start, and `lilypad config check`
 * must say so first: a negative rate limit, ports outside 1..65535 (0 stays allowed where it
 * means "pick one"), listen addresses that are not HOST:PORT, a wildcard listen without the
 * names requests are signed for, malformed hosts, targets and solver URLs, prices that are
 * not amounts, and mediator addresses that are malformed, listed twice or carry a bad checksum.
 * Each is refused by `lilypad config check` (exit 1) with one line naming the key, and the solver
 * refuses to start on the solver cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define LILYPAD LP_BINARY_DIR "/bin/lilypad"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lp-sec-config-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs `lilypad ARGS` on a file holding `text`; exit status, stderr in out. */
static int run(const char *args, const char *text, char *out, size_t cap)
{
    char cfg[128], errf[128], cmd[512];
    snprintf(cfg, sizeof cfg, "%s/test.cfg", dir);
    snprintf(errf, sizeof errf, "%s/stderr", dir);
    FILE *f = fopen(cfg, "w");
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 20 '%s' %s '%s' >/dev/null 2>'%s'", dir, LILYPAD,
             args, cfg, errf);
    int status = system(cmd);
    f = fopen(errf, "r");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct bad {
    const char *text;
    const char *key; /* the line must name it */
    bool solver;     /* `lilypad solver` must refuse it too */
};

static const struct bad cases[] = {
    {"solver: { rate_limit = -5; };", "solver.rate_limit", true},
    {"solver: { listen = \"127.0.0.1:99999\"; };", "solver.listen", true},
    {"solver: { listen = \"127.0.0.1:-1\"; };", "solver.listen", true},
    {"solver: { listen = \"nonsense\"; };", "solver.listen", true},
    {"solver: { listen = \"300.1.1.1:8080\"; };", "solver.listen", true},
    {"solver: { listen = \"0.0.0.0:8080\"; };", "solver.hosts", true},
    {"solver: { hosts = [\"http://solver.example.org/\"]; };", "solver.hosts", true},
    {"solver: { hosts = [\"solver.example.org:70000\"]; };", "solver.hosts", true},
    {"solver: { pow_target = \"0x12\"; };", "solver.pow_target", true},
    {"solver: { max_connections = 0; };", "solver.max_connections", true},
    {"solver: { max_long_polls = -1; };", "solver.max_long_polls", true},
    {"solver: { tick = 0; };", "solver.tick", true},
    {"solver: { blocklist = [\"not-a-module\"]; };", "solver.blocklist", true},
    {"solver: { mediators = [\"0x12\"]; };", "solver.mediators[0]", true},
    {"solver: { mediators = [\"0x1111111111111111111111111111111111111111\", \"bob\"]; };",
     "solver.mediators[1]", true},
    {"solver: { mediators = [\"0x1111111111111111111111111111111111111111\", "
     "\"0x1111111111111111111111111111111111111111\"]; };",
     "solver.mediators[1]", true},
    {"solver: { mediators = [\"0xAbCdEf0000000000000000000000000000000000\"]; };",
     "solver.mediators[0]", true},
    {"provider: { solver = \"htp://127.0.0.1:8080\"; };", "provider.solver", false},
    {"provider: { solver = \"http://127.0.0.1:99999\"; };", "provider.solver", false},
    {"provider: { solver = \"http://\"; };", "provider.solver", false},
    {"provider: { solver = \"http://a b:80\"; };", "provider.solver", false},
    {"provider: { price = \"-1\"; };", "provider.price", false},
    {"provider: { mediation_fee = \"1e18\"; };", "provider.mediation_fee", false},
    {"provider: { mediators = [\"0xnothex0000000000000000000000000000000000\"]; };",
     "provider.mediators[0]", false},
};

static void test_nonsense_refused(void **state)
{
    (void)state;
    char out[2048];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = run("config check", cases[i].text, out, sizeof out);
        if (rc != 1 || !strstr(out, cases[i].key) || strchr(out, '\n') != strrchr(out, '\n'))
            fail_msg("config check of `%s`: exit %d, want 1 and one line naming %s; got: %s",
                     cases[i].text, rc, cases[i].key, out);
        if (!cases[i].solver)
            continue;
        rc = run("solver --init -c", cases[i].text, out, sizeof out);
        if (rc != 1 || !strstr(out, cases[i].key))
            fail_msg("lilypad solver on `%s`: exit %d, want 1 naming %s; got: %s", cases[i].text,
                     rc, cases[i].key, out);
    }
}

static void test_sane_values_taken(void **state)
{
    (void)state;
    char out[2048];
    const char *good[] = {
        "solver: { listen = \"127.0.0.1:0\"; rate_limit = 0; };",
        "solver: { listen = \"0.0.0.0:8080\"; hosts = [\"solver.example.org\", \"10.0.0.5:8080\"]; "
        "};",
        "provider: { solver = \"https://solver.example.org\"; price = \"1000000000000000\"; };",
        "provider: { solver = \"http://[::1]:8080/\"; };",
        "solver: { mediators = [\"0x2222222222222222222222222222222222222222\", "
        "\"0x1111111111111111111111111111111111111111\"]; };",
        "provider: { mediators = [\"0x1111111111111111111111111111111111111111\"]; };",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int rc = run("config check", good[i], out, sizeof out);
        if (rc != 0)
            fail_msg("config check of `%s`: exit %d: %s", good[i], rc, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonsense_refused),
        cmocka_unit_test(test_sane_values_taken),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
