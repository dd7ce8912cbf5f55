/* `lilypad devnet`: a solver and one provider in one process, for a machine with nothing else
 * installed; `lilypad run --network local` finds it (or starts it) through its folder. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli_options.h"
#include "commands.h"
#include "devnet/devnet.h"
#include "host/host.h"
#include "loader/backend.h"
#include "util/data_home.h"

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: lilypad devnet [-c FILE] [--listen 127.0.0.1:PORT] [--dir DIR]\n"
            "                      [--plugin-path DIRS]\n"
            "\n"
            "Runs a solver and one provider on the embedded defaults (executor/process,\n"
            "storage/local, verifier/ledger, hashrate/cpu) in this process until SIGINT or\n"
            "SIGTERM. Jobs go to it with `lilypad run --network local MODULE`, which starts a\n"
            "devnet in the background when none is running. Images come from the local image\n"
            "store (scripts/build-example-images.sh imports the examples).\n"
            "\n"
            "options:\n"
            "  -c, --config FILE   the provider's backends from FILE (for instance\n"
            "                      executor: { backend = \"docker\"; }, see\n"
            "                      configs/provider-docker.cfg): what FILE sets replaces the\n"
            "                      defaults; the provider's solver, key and work_dir stay\n"
            "                      the devnet's\n"
            "  --listen HOST:PORT  the solver's address (default 127.0.0.1:0, a free port)\n"
            "  --dir DIR           state: keys, solver database, provider work, devnet.json\n"
            "                      (default DATA/devnet)\n"
            "  --plugin-path DIRS  extra plugin folders (colon-separated)\n"
            "\n"
            "DATA, the data folder: " LP_DATA_HOME_RULE ".\n");
}

int lp_cmd_devnet(int argc, char **argv)
{
    struct lp_devnet_options opt = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (lp_cli_is_help(a)) {
            print_help(stdout);
            return 0;
        }
        const char **dst = strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ? &opt.config_path
                           : strcmp(a, "--listen") == 0                       ? &opt.listen
                           : strcmp(a, "--dir") == 0                          ? &opt.dir
                           : strcmp(a, "--plugin-path") == 0                  ? &opt.plugin_path
                                                                              : NULL;
        if (!dst) {
            fprintf(stderr, "lilypad: devnet: unknown argument %s (see lilypad devnet --help)\n",
                    a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "lilypad: devnet: %s needs a value\n", a);
            return 2;
        }
        *dst = argv[++i];
    }
    char dir[PATH_MAX];
    if (!opt.dir) {
        if (lp_devnet_default_dir(dir, sizeof dir) != 0) {
            fprintf(stderr,
                    "lilypad: devnet: no folder: %s (hint: set LILYPAD_HOME or pass --dir)\n",
                    lp_data_home_problem(errno));
            return 1;
        }
        opt.dir = dir;
    }
    /* Signals are taken by sigwait below, so block them before any thread starts. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct lp_devnet *d = NULL;
    char err[1024];
    if (lp_devnet_start(&opt, &d, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: devnet: %s\n", err);
        return 1;
    }
    const struct lp_devnet_info *info = lp_devnet_get_info(d);
    printf("lilypad devnet: solver and provider at %s (pid %d, state in %s)\n"
           "run a job with: lilypad run --network local examples/modules/cowsay -i Message=hi\n",
           info->url, (int)info->pid, opt.dir);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "lilypad: devnet: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    lp_host_request_cancel(); /* plugins' long calls see host->cancelled() */
    lp_devnet_stop(d);
    return 0;
}
