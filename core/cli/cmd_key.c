/* `lilypad key new|import|show`: create, import and inspect node identities (secp256k1 keys in
 * raw hex files with mode 0600 or Ethereum keystore v3 files). Secrets are never printed, and
 * passwords never come from argv (visible in ps and shell history): only from a file or an
 * environment variable. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "crypto/key.h"
#include "crypto/keyfile.h"
#include "crypto/keystore.h"
#include "util/small_file.h"

#define PASSWORD_MAX      1024
#define PASSWORD_FILE_MAX 65536

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: lilypad key new --out FILE [--keystore] [--force]\n"
            "       lilypad key import --hex HEX|- --out FILE [--keystore] [--force]\n"
            "       lilypad key show FILE\n"
            "\n"
            "Creates, imports and shows node identities (secp256k1 keys; the identity is the\n"
            "EIP-55 address, printed on stdout). Key files are raw hex, mode 0600, unless\n"
            "--keystore asks for an Ethereum keystore v3 file (readable by geth and ethers).\n"
            "`key show` recognises keystore files by their content. A keystore costing more\n"
            "than geth's standard (scrypt n=262144 r=8 p=1) allows for is refused before any\n"
            "work: scrypt over 256 MiB (128*n*r) or n*r*p over 4194304, pbkdf2 c over 4194304.\n"
            "\n"
            "options:\n"
            "  --out FILE            where to write the key (never overwritten without --force)\n"
            "  --hex HEX             the private key to import (64 hex digits, optional 0x);\n"
            "                        '-' reads it from stdin, which keeps it out of `ps`\n"
            "  --keystore            write an encrypted keystore v3 file instead of raw hex\n"
            "  --kdf scrypt|pbkdf2   keystore key derivation (default scrypt n=262144 r=8 p=1)\n"
            "  --password-file FILE  keystore password: the first line of FILE (a regular file)\n"
            "  --password-env VAR    keystore password: the value of environment variable VAR\n"
            "  --force               replace an existing --out file\n");
}

struct key_args {
    const char *sub;
    const char *out;
    const char *hex;
    const char *file; /* show */
    const char *password_file;
    const char *password_env;
    const char *kdf;
    bool keystore;
    bool force;
};

/* Returns 0, or 2 after printing a usage error. */
static int parse_args(int argc, char **argv, struct key_args *a)
{
    memset(a, 0, sizeof *a);
    a->sub = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        const char **value = NULL;
        if (strcmp(arg, "--out") == 0)
            value = &a->out;
        else if (strcmp(arg, "--hex") == 0)
            value = &a->hex;
        else if (strcmp(arg, "--password-file") == 0)
            value = &a->password_file;
        else if (strcmp(arg, "--password-env") == 0)
            value = &a->password_env;
        else if (strcmp(arg, "--kdf") == 0)
            value = &a->kdf;
        else if (strcmp(arg, "--keystore") == 0)
            a->keystore = true;
        else if (strcmp(arg, "--force") == 0)
            a->force = true;
        else if (strcmp(arg, "--password") == 0 || strncmp(arg, "--password=", 11) == 0) {
            fprintf(stderr, "lilypad: key: passwords are never taken from the command line "
                            "(visible in ps and shell history); use --password-file FILE or "
                            "--password-env VAR\n");
            return 2;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            fprintf(stderr, "lilypad: key %s: unknown option \"%s\" (see 'lilypad key --help')\n",
                    a->sub, arg);
            return 2;
        } else if (a->file == NULL && strcmp(a->sub, "show") == 0) {
            a->file = arg;
        } else {
            fprintf(stderr, "lilypad: key %s: unexpected argument \"%s\"\n", a->sub, arg);
            return 2;
        }
        if (value != NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "lilypad: key %s: %s needs a value\n", a->sub, arg);
                return 2;
            }
            *value = argv[++i];
        }
    }
    if (a->password_file != NULL && a->password_env != NULL) {
        fprintf(stderr,
                "lilypad: key %s: give either --password-file or --password-env, not both\n",
                a->sub);
        return 2;
    }
    if (a->kdf != NULL && strcmp(a->kdf, "scrypt") != 0 && strcmp(a->kdf, "pbkdf2") != 0) {
        fprintf(stderr, "lilypad: key %s: --kdf \"%s\": use scrypt or pbkdf2\n", a->sub, a->kdf);
        return 2;
    }
    return 0;
}

/* Reads the password into buf (NUL-terminated). Returns 0 ok, 1 on error (printed), and
 * sets *have = false when neither option was given. */
static int read_password(const struct key_args *a, char *buf, size_t cap, size_t *len, bool *have)
{
    *have = false;
    *len = 0;
    if (a->password_env != NULL) {
        const char *v = getenv(a->password_env);
        if (v == NULL) {
            fprintf(stderr, "lilypad: key: --password-env %s: the variable is not set\n",
                    a->password_env);
            return 1;
        }
        *len = strlen(v);
        if (*len >= cap) {
            fprintf(stderr, "lilypad: key: --password-env %s: longer than %zu bytes\n",
                    a->password_env, cap - 1);
            return 1;
        }
        memcpy(buf, v, *len + 1);
        *have = true;
        return 0;
    }
    if (a->password_file != NULL) {
        /* Refused unless a regular file: a FIFO with no writer would hang us, and a device
         * never ends. A password file holds a line or a few (geth's holds one per account). */
        char err[512];
        size_t file_len = 0;
        char *text = lp_small_file_read(a->password_file, PASSWORD_FILE_MAX, "a password file",
                                        &file_len, NULL, err, sizeof err);
        if (text == NULL) {
            fprintf(stderr, "lilypad: key: --password-file %s (or use --password-env VAR)\n", err);
            return 1;
        }
        /* The first line, like geth's --password: the file usually ends in a newline. */
        const char *nl = memchr(text, '\n', file_len);
        *len = nl != NULL ? (size_t)(nl - text) : file_len;
        if (*len > 0 && text[*len - 1] == '\r')
            (*len)--;
        if (*len >= cap) {
            fprintf(stderr, "lilypad: key: --password-file %s: first line longer than %zu bytes\n",
                    a->password_file, cap - 1);
            lp_small_file_free(text, file_len);
            *len = 0;
            return 1;
        }
        memcpy(buf, text, *len);
        buf[*len] = '\0';
        lp_small_file_free(text, file_len);
        *have = true;
        return 0;
    }
    return 0;
}

/* Writes key to a->out in the requested format and prints its address. */
static int save_key(const struct key_args *a, const struct lp_key *key)
{
    char err[512], address[43], password[PASSWORD_MAX];
    size_t password_len;
    bool have_password;
    int rc;

    if (a->keystore) {
        struct lp_keystore_params params;
        if (read_password(a, password, sizeof password, &password_len, &have_password) != 0)
            return 1;
        if (!have_password) {
            fprintf(stderr,
                    "lilypad: key %s: --keystore needs a password: --password-file FILE "
                    "or --password-env VAR\n",
                    a->sub);
            return 2;
        }
        if (password_len == 0) {
            fprintf(stderr, "lilypad: key %s: refusing an empty keystore password\n", a->sub);
            return 1;
        }
        lp_keystore_params_default(&params, a->kdf != NULL && strcmp(a->kdf, "pbkdf2") == 0
                                                ? LP_KEYSTORE_PBKDF2
                                                : LP_KEYSTORE_SCRYPT);
        rc = lp_keyfile_write_keystore(a->out, key, password, password_len, &params, a->force, err,
                                       sizeof err);
        explicit_bzero(password, sizeof password);
    } else {
        if (a->password_file != NULL || a->password_env != NULL || a->kdf != NULL)
            fprintf(stderr,
                    "lilypad: key %s: warning: password/kdf options ignored without "
                    "--keystore (raw hex files are not encrypted)\n",
                    a->sub);
        rc = lp_keyfile_write_hex(a->out, key, a->force, err, sizeof err);
    }
    if (rc != 0) {
        fprintf(stderr, "lilypad: key %s: %s\n", a->sub, err);
        return 1;
    }
    lp_address_to_checksum(key->address, address);
    printf("%s\n", address);
    return 0;
}

static int key_new(const struct key_args *a)
{
    struct lp_key key;
    int rc;
    if (a->out == NULL) {
        fprintf(stderr, "lilypad: key new: --out FILE is required\n");
        return 2;
    }
    if (a->hex != NULL) {
        fprintf(stderr, "lilypad: key new: --hex belongs to `key import`\n");
        return 2;
    }
    if (lp_key_generate(&key) != 0) {
        fprintf(stderr, "lilypad: key new: cannot generate a key (no system randomness?)\n");
        return 1;
    }
    rc = save_key(a, &key);
    lp_key_wipe(&key);
    return rc;
}

static int key_import(const struct key_args *a)
{
    struct lp_key key;
    char err[256], line[256];
    const char *hex = a->hex;
    size_t len;
    int rc;
    if (a->out == NULL || a->hex == NULL) {
        fprintf(stderr, "lilypad: key import: --hex HEX and --out FILE are required\n");
        return 2;
    }
    if (strcmp(hex, "-") == 0) {
        if (fgets(line, sizeof line, stdin) == NULL) {
            fprintf(stderr, "lilypad: key import: --hex -: nothing on stdin\n");
            return 1;
        }
        hex = line;
    }
    len = strlen(hex);
    rc = lp_key_parse_hex(hex, len, &key, err, sizeof err);
    explicit_bzero(line, sizeof line);
    if (rc != 0) {
        fprintf(stderr, "lilypad: key import: --hex: %s\n", err);
        return 1;
    }
    rc = save_key(a, &key);
    lp_key_wipe(&key);
    return rc;
}

static int key_show(const struct key_args *a)
{
    struct lp_key key;
    char err[512], password[PASSWORD_MAX], address[43];
    size_t password_len;
    bool have_password, is_keystore;
    int rc;
    if (a->file == NULL) {
        fprintf(stderr, "lilypad: key show: which FILE? (usage: lilypad key show FILE)\n");
        return 2;
    }
    if (read_password(a, password, sizeof password, &password_len, &have_password) != 0)
        return 1;
    rc = lp_keyfile_load(a->file, have_password ? password : NULL, password_len, &key, &is_keystore,
                         err, sizeof err);
    explicit_bzero(password, sizeof password);
    if (rc == LP_KEYFILE_NEEDS_PASSWORD) {
        fprintf(stderr,
                "lilypad: key show: %s; give it with --password-file FILE or "
                "--password-env VAR\n",
                err);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "lilypad: key show: %s\n", err);
        return 1;
    }
    lp_address_to_checksum(key.address, address);
    lp_key_wipe(&key);
    printf("%s\n", address);
    return 0;
}

int lp_cmd_key(int argc, char **argv)
{
    struct key_args a;
    int rc;
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return 0;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(stdout);
            return 0;
        }
    }
    rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    if (strcmp(a.sub, "new") == 0)
        return key_new(&a);
    if (strcmp(a.sub, "import") == 0)
        return key_import(&a);
    if (strcmp(a.sub, "show") == 0)
        return key_show(&a);
    fprintf(stderr, "lilypad: key: unknown sub-command \"%s\" (new, import, show)\n", a.sub);
    return 2;
}
