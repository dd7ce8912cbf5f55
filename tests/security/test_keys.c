/* Attacks on the files a user names for keys: key files, keystores, password files, settings
 * files and module templates, given as a FIFO, a device, a directory or a socket, and keystores
 * whose KDF parameters would cost minutes and gigabytes. Each runs the built `lilypad` under
 * `timeout`: a hang is a failure that names the command, never a stuck test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define LILYPAD LP_BINARY_DIR "/bin/lilypad"
/* Every refusal here is immediate; the limit only has to end a hang, and is generous because
 * sanitizer builds run 5-15 times slower. */
#define HANG_LIMIT_S 60

static char dir[64];
static char output[8192]; /* stdout and stderr of the last run */
static int socket_fd = -1;

/* Runs `lilypad ARGS` in the temp dir with stdin from /dev/null, killed after HANG_LIMIT_S;
 * returns its exit status and fails the test if it hung or crashed. */
static int run(const char *fmt, ...)
{
    char args[1024], cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && exec timeout -k 5 %d '%s' %s 2>&1 </dev/null", dir,
             HANG_LIMIT_S, LILYPAD, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(output, 1, sizeof output - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    if (!WIFEXITED(status))
        fail_msg("lilypad %s: killed by signal %d", args, WTERMSIG(status));
    if (WEXITSTATUS(status) == 124 || WEXITSTATUS(status) == 137)
        fail_msg("lilypad %s: still running after %d s (hung); output: %s", args, HANG_LIMIT_S,
                 output);
    return WEXITSTATUS(status);
}

/* The last run printed exactly one line, and it contains each of the given strings. */
static void expect_line(const char *what, ...)
{
    const char *nl = strchr(output, '\n');
    if (nl == NULL || nl[1] != '\0')
        fail_msg("%s: expected one line, got: %s", what, output);
    va_list ap;
    va_start(ap, what);
    for (const char *s = va_arg(ap, const char *); s != NULL; s = va_arg(ap, const char *))
        if (strstr(output, s) == NULL)
            fail_msg("%s: \"%s\" missing from: %s", what, s, output);
    va_end(ap);
}

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void make_fifo(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (mkfifo(path, 0600) != 0)
        fail_msg("mkfifo %s: %s", path, strerror(errno));
}

/* A bound unix socket at dir/name, open until teardown. */
static void make_socket(const char *name)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, name);
    socket_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(socket_fd >= 0);
    if (bind(socket_fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fail_msg("bind %s: %s", sa.sun_path, strerror(errno));
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/lp-sec-keys-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    if (socket_fd >= 0)
        close(socket_fd);
    socket_fd = -1;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* `key show` on a FIFO nobody writes to used to wait in open() forever; a device, a directory,
 * a socket or a huge file are refused as well, each with one line naming it. */
static void test_key_show_refuses_what_is_not_a_key_file(void **state)
{
    (void)state;
    make_fifo("key.fifo");
    assert_int_equal(run("key show key.fifo"), 1);
    expect_line("FIFO", "key.fifo", "named pipe", "must be a regular file", NULL);

    assert_int_equal(run("key show /dev/zero"), 1);
    expect_line("/dev/zero", "/dev/zero", "character device", NULL);
    assert_int_equal(run("key show /dev/urandom"), 1);
    expect_line("/dev/urandom", "/dev/urandom", "character device", NULL);
    assert_int_equal(run("key show ."), 1);
    expect_line("directory", "directory", NULL);
    make_socket("key.sock");
    assert_int_equal(run("key show key.sock"), 1);
    expect_line("socket", "key.sock", "socket", NULL);

    char big[128];
    snprintf(big, sizeof big, "%s/big.key", dir);
    FILE *f = fopen(big, "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 1 << 30), 0); /* sparse: costs no disk */
    fclose(f);
    assert_int_equal(run("key show big.key"), 1);
    expect_line("1 GiB file", "big.key", "too large", NULL);
}

/* Every other place a key is loaded goes through the same reader: the solver's and the
 * provider's solver.key / provider.key, and `lilypad run --key`. */
static void test_every_key_loader_refuses_a_fifo(void **state)
{
    (void)state;
    make_fifo("node.key");
    write_file("solver.cfg", "solver: { listen = \"127.0.0.1:0\"; data_dir = \"sdata\"; "
                             "key = \"node.key\"; };\n");
    assert_int_equal(run("solver -c solver.cfg"), 1);
    expect_line("solver.key", "node.key", "named pipe", NULL);

    write_file("provider.cfg",
               "gpu = \"none\";\n"
               "hashrate: { backend = \"cpu\"; cpu: { threads = 1; }; };\n"
               "storage: { backend = \"local\"; local: { root = \"storage\"; }; };\n"
               "verifier: { backend = \"ledger\"; ledger: { path = \"ledger.sqlite\"; }; };\n"
               "provider: { solver = \"http://127.0.0.1:1\"; key = \"node.key\"; "
               "work_dir = \"work\"; };\n");
    assert_int_equal(run("provider -c provider.cfg"), 1);
    expect_line("provider.key", "node.key", "named pipe", NULL);

    assert_int_equal(run("run '%s/examples/modules/cowsay' --key node.key --network "
                         "http://127.0.0.1:1",
                         LP_SOURCE_DIR),
                     1);
    expect_line("run --key", "node.key", "named pipe", NULL);
}

/* --password-file on a FIFO hung the same way, and on a directory it silently read an empty
 * password (then blamed the password, or wrote nothing useful). */
static void test_password_file_must_be_a_regular_file(void **state)
{
    (void)state;
    make_fifo("pw.fifo");
    assert_int_equal(run("key new --out k.json --keystore --password-file pw.fifo"), 1);
    expect_line("FIFO", "pw.fifo", "named pipe", "--password-env", NULL);
    assert_int_equal(access("k.json", F_OK), -1);

    assert_int_equal(run("key show '%s/tests/vectors/keystore/spec-pbkdf2.json' "
                         "--password-file .",
                         LP_SOURCE_DIR),
                     1);
    expect_line("directory", "--password-file", "directory", NULL);
    assert_int_equal(run("key show '%s/tests/vectors/keystore/spec-pbkdf2.json' "
                         "--password-file /dev/zero",
                         LP_SOURCE_DIR),
                     1);
    expect_line("/dev/zero", "--password-file", "/dev/zero", "character device", NULL);

    /* the ordinary file still works, first line only */
    write_file("pw", "testpassword\nsecond line\n");
    assert_int_equal(run("key show '%s/tests/vectors/keystore/spec-pbkdf2.json' --password-file pw",
                         LP_SOURCE_DIR),
                     0);
    assert_string_equal(output, "0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b\n");
}

/* The settings file (`-c FILE`, `config check FILE`) and a local module's template are small
 * files from user-given paths too: a FIFO hung libconfig's and the module loader's fopen. */
static void test_settings_and_template_files_refuse_a_fifo(void **state)
{
    (void)state;
    make_fifo("settings.fifo");
    assert_int_equal(run("config check settings.fifo"), 1);
    expect_line("config check", "settings.fifo", "named pipe", NULL);
    assert_int_equal(run("solver -c settings.fifo"), 1);
    expect_line("solver -c", "settings.fifo", "named pipe", NULL);
    assert_int_equal(run("config check /dev/zero"), 1);
    expect_line("config /dev/zero", "character device", NULL);

    char path[256];
    snprintf(path, sizeof path, "%s/module", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    make_fifo("module/lilypad_module.json.tmpl");
    assert_int_equal(run("module id ./module"), 1);
    expect_line("module template", "lilypad_module.json.tmpl", "named pipe", NULL);
}

#define SALT "\"salt\":\"6a4aa1253d6d2aeee9f425d6195ed1d63bb1bb95afbae63761dd71f4ccfb6274\""
#define BODY                                                                                       \
    "{\"version\":3,\"crypto\":{\"cipher\":\"aes-128-ctr\","                                       \
    "\"cipherparams\":{\"iv\":\"a76ccbe31e191acaa274f0a2a819b5fa\"},"                              \
    "\"ciphertext\":\"431ea481eeb6dee0ad91d5edfe9a632c532dae7c6b4e6d28e9df01e762c56373\","         \
    "\"mac\":\"12d7dbb75fc225dd74cdd08ae48c160ab2a220fc81cc19e5dbd54a9673f0aad4\","

/* A keystore whose KDF costs far more than any wallet writes: the largest that used to be
 * accepted (scrypt n=2^20 r=8 p=16) took 48 s or more and 1 GiB before saying "wrong
 * password". Now each is refused before any KDF work, naming the parameter and the limit. */
static void test_keystore_kdf_cost_is_refused_before_any_work(void **state)
{
    (void)state;
    static const struct {
        const char *name, *kdf, *expect1, *expect2;
    } costly[] = {
        {"mem.json",
         "\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":1048576,\"r\":8,\"p\":16,\"dklen\":32," SALT "}",
         "needs 1024 MiB", "limit 256 MiB"},
        {"work.json",
         "\"kdf\":\"scrypt\",\"kdfparams\":{\"n\":131072,\"r\":8,\"p\":16,\"dklen\":32," SALT "}",
         "n*r*p = 16777216", "limit 4194304"},
        {"pbkdf2.json",
         "\"kdf\":\"pbkdf2\",\"kdfparams\":{\"c\":10000000,\"dklen\":32,\"prf\":\"hmac-sha256\","
         "" SALT "}",
         "crypto.kdfparams.c: 10000000", "limit 4194304"},
    };
    write_file("pw", "x\n");
    for (size_t i = 0; i < sizeof costly / sizeof costly[0]; i++) {
        char json[1024];
        snprintf(json, sizeof json, BODY "%s}}", costly[i].kdf);
        write_file(costly[i].name, json);
        assert_int_equal(run("key show %s --password-file pw", costly[i].name), 1);
        expect_line(costly[i].name, costly[i].name, costly[i].expect1, costly[i].expect2,
                    "re-encrypt", NULL);
        /* said at once, not after the user has gone to find the password */
        assert_int_equal(run("key show %s", costly[i].name), 1);
        expect_line(costly[i].name, costly[i].expect1, costly[i].expect2, NULL);
        /* the same reader guards `lilypad run --key` (its password from the environment) */
        assert_int_equal(run("run '%s/examples/modules/cowsay' --key %s --network "
                             "http://127.0.0.1:1",
                             LP_SOURCE_DIR, costly[i].name),
                         1);
        expect_line(costly[i].name, costly[i].name, costly[i].expect1, NULL);
    }
}

int main(void)
{
    setenv("LILYPAD_KEY_PASSWORD", "x", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key_show_refuses_what_is_not_a_key_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_key_loader_refuses_a_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_password_file_must_be_a_regular_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings_and_template_files_refuse_a_fifo, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keystore_kdf_cost_is_refused_before_any_work, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
