/* `lilypad run`: the job creator. Runs one module on the network and prints its verified
 * results; exits 0 only when the job ran, exited 0 and its results matched their CID. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_options.h"
#include "commands.h"
#include "crypto/keyfile.h"
#include "devnet/devnet.h"
#include "image/fs_tree.h"
#include "jobcreator/jobcreator.h"
#include "util/data_home.h"
#include "util/hex.h"
#include "wire/mediators.h"

static void print_help(FILE *out)
{
    fprintf(
        out,
        "usage: lilypad run MODULE [-i KEY=VALUE]... [--inputs DIR] [--target ADDR]\n"
        "                   [--mediator ADDR]... [--output DIR] [--network local|URL]\n"
        "                   [--key FILE] [--timeout S]\n"
        "\n"
        "Runs MODULE on the network and waits for its verified results. MODULE is what\n"
        "`lilypad module id` takes: NAME:TAG, HOST/OWNER/REPO:REF, file:///PATH[:REF] or a\n"
        "folder holding lilypad_module.json.tmpl.\n"
        "\n"
        "The results (stdout, stderr, outputs/) are downloaded, checked against the CID the\n"
        "provider signed, and kept in the output folder; the job's stdout is printed. Exit\n"
        "status: 0 the job succeeded; 1 it failed, timed out, was cancelled or its results did\n"
        "not verify (its stderr and the reason are printed); 2 usage error.\n"
        "\n"
        "options:\n"
        "  -i, --input KEY=VALUE  a template input (repeatable; the later of equal keys wins)\n"
        "  --inputs DIR           input files, mounted read-only at /inputs in the job\n"
        "  --target ADDR          only this provider (0x address) may take the job\n"
        "  --mediator ADDR        a provider (0x address) you accept as mediator if you\n"
        "                         challenge the result (repeatable, at most 16; default:\n"
        "                         the solver's configured mediators; never your own)\n"
        "  --output DIR           where the results go (default DATA/results/<deal id>);\n"
        "                         must not exist or be empty\n"
        "  --network local|URL    local: the devnet in DATA/devnet, started in the\n"
        "                         background if none runs (default); URL: a solver, e.g.\n"
        "                         http://127.0.0.1:8080\n"
        "  --key FILE             the job creator's key (raw hex, or a keystore with its\n"
        "                         password in $LILYPAD_KEY_PASSWORD; default\n"
        "                         DATA/key, created on first use with the local network)\n"
        "  --timeout S            the job's execution timeout in seconds (default: the\n"
        "                         module's)\n"
        "  --cache-dir DIR        module clone cache (default DATA/modules)\n"
        "\n"
        "Progress goes to stderr: a live line on a terminal, timestamped lines otherwise (with a\n"
        "heartbeat every 10 s).\n"
        "\n"
        "DATA, the data folder: " LP_DATA_HOME_RULE ".\n");
}

struct run_args {
    const char *module, *inputs_dir, *target, *output, *network, *key, *cache_dir;
    const char *mediators[LP_WIRE_MAX_MEDIATORS + 1];
    size_t n_mediators;
    uint64_t timeout_s;
    struct lp_template_input *inputs;
    size_t n_inputs;
};

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "lilypad: run: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see lilypad run --help)\n");
    return 2;
}

/* Options that take a value: --opt VALUE or --opt=VALUE. */
static const char *value_of(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
    static const char *const valued[] = {"--inputs",    "--target", "--output",
                                         "--network",   "--key",    "--timeout",
                                         "--cache-dir", "--input",  "--mediator"};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-i") == 0) {
            if (i + 1 >= argc)
                return usage("%s needs KEY=VALUE", arg);
            if (lp_cli_add_input("run", argv[++i], a->inputs, &a->n_inputs) != 0)
                return 2;
            continue;
        }
        const char *v = NULL;
        const char *which = NULL;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !which; k++) {
            size_t n = strlen(valued[k]);
            if (strncmp(arg, valued[k], n) == 0 && (arg[n] == '\0' || arg[n] == '=')) {
                which = valued[k];
                if ((v = value_of(argc, argv, &i, valued[k])) == NULL)
                    return usage("%s needs a value", valued[k]);
            }
        }
        if (which == NULL) {
            if (arg[0] == '-' && arg[1] != '\0')
                return usage("unknown option %s", arg);
            if (a->module != NULL)
                return usage("unexpected argument %s (one MODULE per run)", arg);
            a->module = arg;
        } else if (strcmp(which, "--input") == 0) {
            if (lp_cli_add_input("run", (char *)v, a->inputs, &a->n_inputs) != 0)
                return 2;
        } else if (strcmp(which, "--inputs") == 0) {
            a->inputs_dir = v;
        } else if (strcmp(which, "--target") == 0) {
            a->target = v;
        } else if (strcmp(which, "--mediator") == 0) {
            if (a->n_mediators > LP_WIRE_MAX_MEDIATORS)
                return usage("--mediator: at most %s addresses", "16");
            a->mediators[a->n_mediators++] = v;
        } else if (strcmp(which, "--output") == 0) {
            a->output = v;
        } else if (strcmp(which, "--network") == 0) {
            a->network = v;
        } else if (strcmp(which, "--key") == 0) {
            a->key = v;
        } else if (strcmp(which, "--cache-dir") == 0) {
            a->cache_dir = v;
        } else {
            char *end;
            errno = 0;
            unsigned long long t = strtoull(v, &end, 10);
            if (errno || *end || end == v || t == 0 || t > 604800 || v[0] == '-')
                return usage("--timeout takes seconds from 1 to 604800, got \"%s\"", v);
            a->timeout_s = t;
        }
    }
    if (a->module == NULL)
        return usage("%s", "needs a MODULE, e.g. lilypad run examples/modules/cowsay -i "
                           "Message=hi");
    return 0;
}

/* The key: --key FILE, else DATA/key (util/data_home.h), created for the local network only (a key
 * that may hold funds on a real network is never invented behind the user's back). */
static int load_key(const struct run_args *a, bool local, struct lp_key *key)
{
    char err[PATH_MAX + 128], path[PATH_MAX];
    if (a->key) {
        /* A keystore's password comes from the environment, never from the command line
         * (where `ps` would show it). */
        const char *pw = getenv("LILYPAD_KEY_PASSWORD");
        int rc = lp_keyfile_load(a->key, pw, pw ? strlen(pw) : 0, key, NULL, err, sizeof err);
        if (rc == LP_KEYFILE_NEEDS_PASSWORD) {
            fprintf(stderr,
                    "lilypad: run: %s is a keystore: set LILYPAD_KEY_PASSWORD, or use a raw hex "
                    "key file (lilypad key new --out FILE)\n",
                    a->key);
            return -1;
        }
        if (rc != 0) {
            fprintf(stderr, "lilypad: run: %s\n", err);
            return -1;
        }
        return 0;
    }
    char home[PATH_MAX - 16];
    if (lp_data_home(home, sizeof home) != 0) {
        fprintf(stderr, "lilypad: run: no key: %s (hint: set LILYPAD_HOME or pass --key FILE)\n",
                lp_data_home_problem(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/key", home);
    if (access(path, F_OK) == 0) {
        if (lp_keyfile_load(path, NULL, 0, key, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "lilypad: run: %s\n", err);
            return -1;
        }
        return 0;
    }
    if (!local) {
        fprintf(stderr,
                "lilypad: run: no key at %s; pass --key FILE (hint: lilypad key new --out "
                "FILE)\n",
                path);
        return -1;
    }
    lp_fs_mkdir_p(home, 0700); /* a failure shows as the key file's own error below */
    if (lp_key_generate(key) != 0 || lp_keyfile_write_hex(path, key, false, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: run: cannot create a key at %s: %s\n", path, err);
        return -1;
    }
    char addr[43];
    lp_address_to_checksum(key->address, addr);
    fprintf(stderr, "lilypad: created a job creator key for the local network: %s (address %s)\n",
            path, addr);
    return 0;
}

static void print_text(FILE *out, const char *text, size_t len)
{
    if (!text || len == 0)
        return;
    fwrite(text, 1, len, out);
    if (text[len - 1] != '\n')
        fputc('\n', out);
}

static int do_run(const struct run_args *a)
{
    const char *net = a->network ? a->network : "local";
    bool local = strcmp(net, "local") == 0;
    if (!local && strncmp(net, "http://", 7) != 0 && strncmp(net, "https://", 8) != 0) {
        return usage("--network takes local or a solver URL (http://HOST:PORT), got \"%s\"", net);
    }
    struct lp_jc_request req = {0};
    if (a->target) {
        if (lp_address_parse(a->target, req.target) != 0)
            return usage("--target takes a 0x address, got \"%s\"", a->target);
        req.has_target = true;
    }
    size_t bad = 0;
    char why[256];
    if (lp_mediators_parse(a->mediators, a->n_mediators, req.mediators, &req.n_mediators, &bad, why,
                           sizeof why) != 0)
        return usage("--mediator: %s", why);
    struct lp_key key;
    if (load_key(a, local, &key) != 0)
        return 1;
    if (lp_mediators_has((const uint8_t(*)[LP_WIRE_ADDR_LEN])req.mediators, req.n_mediators,
                         key.address)) {
        char own[43];
        lp_address_to_checksum(key.address, own);
        lp_key_wipe(&key);
        return usage("--mediator names %s, your own key's address: a job creator may not "
                     "mediate its own challenge",
                     own);
    }
    char url[256];
    if (local) {
        char dir[PATH_MAX], exe[PATH_MAX], err[PATH_MAX + 512];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        int exe_errno = errno;
        if (lp_devnet_default_dir(dir, sizeof dir) != 0) {
            fprintf(stderr, "lilypad: run: cannot locate the devnet: %s (hint: set LILYPAD_HOME)\n",
                    lp_data_home_problem(errno));
            return 1;
        }
        if (n <= 0) {
            fprintf(stderr, "lilypad: run: cannot find this program (/proc/self/exe): %s\n",
                    strerror(exe_errno));
            return 1;
        }
        exe[n] = '\0';
        struct lp_devnet_info info;
        bool started = false;
        if (lp_devnet_find(dir, &info, err, sizeof err) != 0)
            fprintf(stderr,
                    "lilypad: no devnet running in %s; starting one in the background "
                    "(log: %s/devnet.log)...\n",
                    dir, dir);
        if (lp_devnet_ensure(exe, dir, 60, &info, &started, err, sizeof err) != 0) {
            fprintf(stderr, "lilypad: run: %s\n", err);
            return 1;
        }
        fprintf(stderr, "lilypad: %s devnet at %s (pid %d; stop it with kill %d)\n",
                started ? "started the" : "using the", info.url, (int)info.pid, (int)info.pid);
        snprintf(url, sizeof url, "%s", info.url);
    } else {
        snprintf(url, sizeof url, "%s", net);
    }

    struct lp_progress progress;
    lp_progress_init(&progress, stderr, isatty(STDERR_FILENO) == 1, 10);
    req.module = a->module;
    req.cache_dir = a->cache_dir;
    req.inputs = a->inputs;
    req.n_inputs = a->n_inputs;
    req.inputs_dir = a->inputs_dir;
    req.output_dir = a->output;
    req.solver_url = url;
    req.key = &key;
    req.timeout_s = a->timeout_s;
    req.progress = &progress;
    struct lp_jc_result res;
    int rc = lp_jc_run(&req, &res);
    lp_key_wipe(&key);
    if (res.has_deal) {
        char id[2 * LP_WIRE_ID_LEN + 3];
        lp_hex_encode_0x(res.deal_id, LP_WIRE_ID_LEN, id);
        fprintf(stderr, "Deal:    %s\n", id);
    }
    if (res.cid[0])
        fprintf(stderr, "Data ID: %s\n", res.cid);
    if (res.output_dir[0])
        fprintf(stderr, "Results: %s  (stdout, stderr, outputs/)\n", res.output_dir);
    if (rc == 0) {
        fflush(stderr);
        print_text(stdout, res.stdout_text, res.stdout_len);
    } else {
        if (res.stdout_len) {
            fprintf(stderr, "--- job stdout ---\n");
            print_text(stderr, res.stdout_text, res.stdout_len);
        }
        if (res.stderr_len) {
            fprintf(stderr, "--- job stderr ---\n");
            print_text(stderr, res.stderr_text, res.stderr_len);
        }
        fprintf(stderr, "lilypad: run: %s: %s\n", lp_jc_outcome_name(res.outcome), res.reason);
    }
    lp_jc_result_free(&res);
    return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

int lp_cmd_run(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (lp_cli_is_help(argv[i])) {
            print_help(stdout);
            return 0;
        }
    }
    struct run_args a = {0};
    a.inputs = calloc((size_t)argc, sizeof *a.inputs);
    if (a.inputs == NULL)
        return 1;
    int rc = parse_args(argc, argv, &a);
    if (rc == 0)
        rc = do_run(&a);
    free(a.inputs);
    return rc;
}
