/* `lilypad cid`: the CID `ipfs add --only-hash -Q` would print, computed locally. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cid/cid.h"
#include "cid/importer.h"
#include "cli_options.h"
#include "commands.h"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: lilypad cid [--cid-version 0|1] [--raw-leaves[=true|false]] [-H] PATH\n"
        "\n"
        "Prints the CID of a file, symlink or directory tree exactly as\n"
        "`ipfs add --only-hash -Q -r` prints it with the same settings (kubo's defaults:\n"
        "256 KiB chunks, balanced DAG of 174 links, sha2-256). Nothing is stored.\n"
        "\n"
        "  --cid-version N   0 (default: dag-pb leaves, \"Qm...\") or 1 (raw leaves, \"bafy...\")\n"
        "  --raw-leaves[=B]  leaves as raw blocks; default false for v0, true for v1\n"
        "  -H, --hidden      include entries whose names start with '.' (kubo's --hidden)\n"
        "\n"
        "Directories that kubo would shard (HAMT, over 256 KiB of links) are refused.\n");
}

static int parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

int lp_cmd_cid(int argc, char **argv)
{
    const char *path = NULL, *version = "0";
    int raw = -1; /* -1: the version's default */
    bool hidden = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (lp_cli_is_help(a)) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--cid-version") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "lilypad: cid: --cid-version needs a value (0 or 1)\n");
                return 2;
            }
            version = argv[++i];
        } else if (strncmp(a, "--cid-version=", 14) == 0) {
            version = a + 14;
        } else if (strcmp(a, "--raw-leaves") == 0) {
            raw = 1;
        } else if (strncmp(a, "--raw-leaves=", 13) == 0) {
            bool b;
            if (parse_bool(a + 13, &b) < 0) {
                fprintf(stderr, "lilypad: cid: --raw-leaves=%s: expected true or false\n", a + 13);
                return 2;
            }
            raw = b;
        } else if (strcmp(a, "-H") == 0 || strcmp(a, "--hidden") == 0) {
            hidden = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "lilypad: cid: unknown option \"%s\" (see lilypad cid --help)\n", a);
            return 2;
        } else if (path) {
            fprintf(stderr, "lilypad: cid: only one PATH is taken (got \"%s\" and \"%s\")\n", path,
                    a);
            return 2;
        } else {
            path = a;
        }
    }
    if (strcmp(version, "0") != 0 && strcmp(version, "1") != 0) {
        fprintf(stderr, "lilypad: cid: --cid-version %s: expected 0 or 1\n", version);
        return 2;
    }
    if (!path) {
        fprintf(stderr, "lilypad: cid: missing PATH (see lilypad cid --help)\n");
        return 2;
    }
    struct lp_cid_options opt;
    lp_cid_options_default(&opt, (uint8_t)(version[0] - '0'));
    if (raw >= 0)
        opt.raw_leaves = raw;
    opt.include_hidden = hidden;
    struct lp_cid_node root;
    char err[512];
    if (lp_cid_import_path(path, &opt, NULL, NULL, &root, NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "lilypad: cid: %s\n", err);
        return 1;
    }
    char text[LP_CID_STRING_MAX];
    lp_cid_format(&root.cid, text);
    printf("%s\n", text);
    return 0;
}
