/* `lilypad image import|list|rm|inspect`: the local image store the process executor runs
 * modules from (core/image/store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_options.h"
#include "commands.h"
#include "image/store.h"
#include "util/data_home.h"

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: lilypad image import FILE [--tag NAME] [--store DIR]\n"
            "       lilypad image list [--store DIR]\n"
            "       lilypad image rm NAME... [--store DIR]\n"
            "       lilypad image inspect NAME [--store DIR]\n"
            "\n"
            "Manages the local image store the process executor runs modules from. FILE is a\n"
            "docker-archive (`docker save`) or OCI image-layout tarball, optionally compressed;\n"
            "each image is unpacked once into a rootfs keyed by its config digest. NAME is\n"
            "repo[:tag] (\":latest\" implied), name@sha256:HEX, sha256:HEX or a hex prefix of\n"
            "12+ digits. `rm` drops a name; the image goes with its last name, or at once when\n"
            "NAME is a digest.\n"
            "\n"
            "options:\n"
            "  --tag NAME    one more name for the imported image\n"
            "  --store DIR   the store (default DATA/images)\n"
            "\n"
            "DATA, the data folder: " LP_DATA_HOME_RULE ".\n");
}

static void human_size(uint64_t n, char *out, size_t len)
{
    if (n >= (1u << 20))
        snprintf(out, len, "%.1f MiB", (double)n / (1u << 20));
    else
        snprintf(out, len, "%.1f KiB", (double)n / 1024);
}

static void list_row(void *arg, const char *name, const struct lp_image_info *info)
{
    (void)arg;
    char size[32];
    human_size(info->size, size, sizeof size);
    printf("%-40s %.19s  %10s\n", name ? name : "<none>", info->digest, size);
}

static int do_import(const struct lp_image_store *s, const char *file, const char *tag)
{
    struct lp_image_import_result *res = calloc(1, sizeof *res);
    char err[1024];
    if (res == NULL)
        return 1;
    if (lp_image_import(s, file, tag, res, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: image import: %s\n", err);
        free(res);
        return 1;
    }
    for (size_t i = 0; i < res->count; i++) {
        const struct lp_image_imported *im = &res->images[i];
        printf("%s %s", im->digest, im->cached ? "(already in the store)" : "imported");
        for (size_t j = 0; j < im->name_count; j++)
            printf(" %s", im->names[j]);
        printf("\n");
    }
    free(res);
    return 0;
}

static int do_inspect(const struct lp_image_store *s, const char *name)
{
    struct lp_image_info info;
    char err[1024];
    if (lp_image_resolve(s, name, &info, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: image inspect: %s\n", err);
        return 1;
    }
    printf("digest: %s\n", info.digest);
    if (info.manifest_digest[0])
        printf("manifest: %s\n", info.manifest_digest);
    printf("rootfs: %s\nsize: %llu bytes, %llu entries\n", info.rootfs,
           (unsigned long long)info.size, (unsigned long long)info.entries);
    printf("entrypoint:");
    for (size_t i = 0; i < info.config.entrypoint.count; i++)
        printf(" %s", info.config.entrypoint.items[i]);
    printf("\ncmd:");
    for (size_t i = 0; i < info.config.cmd.count; i++)
        printf(" %s", info.config.cmd.items[i]);
    printf("\nworkdir: %s\n", info.config.workdir ? info.config.workdir : "");
    for (size_t i = 0; i < info.config.env.count; i++)
        printf("env: %s\n", info.config.env.items[i]);
    lp_image_info_free(&info);
    return 0;
}

int lp_cmd_image(int argc, char **argv)
{
    if (argc < 2 || lp_cli_is_help(argv[1])) {
        print_help(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1], *store_dir = NULL, *tag = NULL;
    const char *args[64];
    int nargs = 0;
    for (int i = 2; i < argc; i++) {
        if (lp_cli_is_help(argv[i])) {
            print_help(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--store") == 0 || strcmp(argv[i], "--tag") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "lilypad: image: %s needs a value\n", argv[i]);
                return 2;
            }
            *(strcmp(argv[i], "--store") == 0 ? &store_dir : &tag) = argv[i + 1];
            i++;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "lilypad: image: unknown option \"%s\"; see lilypad image --help\n",
                    argv[i]);
            return 2;
        } else if (nargs < 64) {
            args[nargs++] = argv[i];
        }
    }
    int want_min = 1, want_max = 1;
    if (strcmp(sub, "list") == 0)
        want_min = want_max = 0;
    else if (strcmp(sub, "rm") == 0)
        want_max = 64;
    else if (strcmp(sub, "import") != 0 && strcmp(sub, "inspect") != 0) {
        fprintf(stderr, "lilypad: image: unknown subcommand \"%s\"; see lilypad image --help\n",
                sub);
        return 2;
    }
    if (nargs < want_min || nargs > want_max || (tag != NULL && strcmp(sub, "import") != 0)) {
        fprintf(stderr, "lilypad: image %s: wrong arguments; see lilypad image --help\n", sub);
        return 2;
    }
    struct lp_image_store store;
    char err[1024];
    if (lp_image_store_open(&store, store_dir, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: image: %s\n", err);
        return 1;
    }
    if (strcmp(sub, "import") == 0)
        return do_import(&store, args[0], tag);
    if (strcmp(sub, "inspect") == 0)
        return do_inspect(&store, args[0]);
    if (strcmp(sub, "list") == 0) {
        printf("%-40s %-19s  %10s\n", "NAME", "DIGEST", "SIZE");
        return lp_image_list(&store, list_row, NULL, err, sizeof err) == 0 ? 0 : 1;
    }
    int rc = 0;
    for (int i = 0; i < nargs; i++) {
        if (lp_image_remove(&store, args[i], err, sizeof err) != 0) {
            fprintf(stderr, "lilypad: image rm: %s\n", err);
            rc = 1;
        } else {
            printf("removed %s\n", args[i]);
        }
    }
    return rc;
}
