/* The fixtures the provider's tests share (test_provider*.c here, and the provider's attacks in
 * tests/security): the in-process solver and
 * job creator they both set up (the globals below, filled by each test's group_setup), provider
 * configurations, a provider on its own thread, and posting a job offer and reading back its
 * deal and result. Everything is static, marked unused, so a test may use any subset. */
#ifndef LP_TEST_PROVIDER_FIXTURES_H
#define LP_TEST_PROVIDER_FIXTURES_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "client/client.h"
#include "config/config.h"
#include "image/fs_tree.h"
#include "image/store.h"
#include "module/bundle.h"
#include "crypto/keyfile.h"
#include "crypto/random.h"
#include "provider/journal.h"
#include "provider/provider.h"
#include "solver/http.h"
#include "solver/solver.h"
#include "util/hex.h"
#include "util/tarball.h"
#include "wire/object.h"

#define LP_FIXTURE_UNUSED __attribute__((unused))

#define IMAGE  "lilypad-example/cowsay:v1"
#define REPO   "https://example.org/lilypad-module-cowsay"
#define COMMIT "0123456789abcdef0123456789abcdef01234567"

static LP_FIXTURE_UNUSED char tmp[64];
static LP_FIXTURE_UNUSED struct lp_solver *solver;
static LP_FIXTURE_UNUSED struct lp_solver_http *http;
static LP_FIXTURE_UNUSED char url[64];
static LP_FIXTURE_UNUSED struct lp_key creator_key;
static LP_FIXTURE_UNUSED struct lp_client *creator;
static LP_FIXTURE_UNUSED int cfg_counter;
/* The mediators the next posted job offers name (sorted by the test); none: the solver's. */
static LP_FIXTURE_UNUSED uint8_t job_mediators[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN];
static LP_FIXTURE_UNUSED size_t n_job_mediators;

static LP_FIXTURE_UNUSED void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The file's text (malloc'd), or NULL when it cannot be read. */
static LP_FIXTURE_UNUSED char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *more = realloc(buf, 2 * cap + 1);
            if (!more) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* A provider configuration with its own key and work folder; extra goes into provider {}. */
static LP_FIXTURE_UNUSED void make_config(char *path, size_t cap, const char *extra)
{
    int n = ++cfg_counter;
    char key_path[128], err[256];
    snprintf(key_path, sizeof key_path, "%s/provider%d.key", tmp, n);
    struct lp_key key;
    lp_key_generate(&key);
    assert_int_equal(lp_keyfile_write_hex(key_path, &key, true, err, sizeof err), 0);
    snprintf(path, cap, "%s/provider%d.cfg", tmp, n);
    char text[4096];
    snprintf(text, sizeof text,
             "gpu = \"none\";\n"
             "hashrate: { backend = \"cpu\"; cpu: { threads = 1; }; };\n"
             "executor: { process: { image_store = \"%s/images\"; work_dir = \"%s/jobs%d\"; "
             "kill_grace = \"200ms\"; }; };\n"
             "storage: { local: { root = \"%s/storage%d\"; }; };\n"
             "verifier: { ledger: { path = \"%s/ledger%d.sqlite\"; }; };\n"
             "provider: { solver = \"%s\"; key = \"%s\"; work_dir = \"%s/work%d\";\n"
             "  image_store = \"%s/images\"; price = \"10\"; cpu = 1000; ram = \"512M\";\n"
             "  disk = \"1G\"; poll_wait = \"1s\"; mining_duty = 10; %s };\n",
             tmp, tmp, n, tmp, n, tmp, n, url, key_path, tmp, n, tmp, extra ? extra : "");
    write_file(path, text);
}

struct prov_thread {
    struct lp_config *cfg;
    struct lp_provider *p;
    pthread_t th;
    int rc;
};

static LP_FIXTURE_UNUSED void *prov_main(void *arg)
{
    struct prov_thread *t = arg;
    t->rc = lp_provider_run(t->p);
    return NULL;
}

/* A provider on its own thread; once: it takes at most one deal and returns after it. */
static LP_FIXTURE_UNUSED void start_provider(struct prov_thread *t, const char *cfg_path, bool once)
{
    char err[1024];
    memset(t, 0, sizeof *t);
    assert_int_equal(lp_config_load_file(cfg_path, &t->cfg, err, sizeof err), 0);
    struct lp_provider_options opt = {.once = once};
    if (lp_provider_open(t->cfg, &opt, &t->p, err, sizeof err) != 0)
        fail_msg("provider open: %s", err);
    assert_int_equal(pthread_create(&t->th, NULL, prov_main, t), 0);
}

static LP_FIXTURE_UNUSED void join_provider(struct prov_thread *t)
{
    pthread_join(t->th, NULL);
    lp_provider_close(t->p);
    lp_config_free(t->cfg);
    assert_int_equal(t->rc, 0);
}

static LP_FIXTURE_UNUSED void wait_offer(struct prov_thread *t)
{
    for (int i = 0; i < 1000; i++) {
        struct lp_provider_stats st;
        lp_provider_get_stats(t->p, &st);
        if (st.offers_posted > 0)
            return;
        usleep(10000);
    }
    fail_msg("the provider posted no resource offer within 10 s");
}

/* What a posted job runs on and asks for. */
struct job_ask {
    const char *image;
    uint64_t cpu_millicores, ram_bytes, disk_bytes;
};

/* The module of a posted job: its canonical spec as the whole template (no template actions, so
 * it renders to itself), packed as a bundle and uploaded by the job creator, so the provider,
 * which renders every job offer's module itself, gets exactly this spec. repo and commit
 * receive the bundle's name. */
static LP_FIXTURE_UNUSED void upload_module(const char *canon, char repo[LP_MODULE_BUNDLE_REPO_LEN],
                                            char commit[2 * LP_KECCAK256_LEN + 1])
{
    uint8_t *tar = NULL, keccak[32];
    size_t len = 0;
    struct lp_module_error me;
    if (lp_module_bundle_pack(canon, strlen(canon), &tar, &len, &me) != 0)
        fail_msg("%s", me.message);
    struct lp_client_error e;
    int rc;
    for (int tries = 0; (rc = lp_client_upload_file(creator, tar, len, keccak, &e)) != 0 &&
                        e.status == 429 && tries < 15;
         tries++)
        sleep(1); /* the job creator's polling used up its rate: not what is tested */
    if (rc != 0)
        fail_msg("upload the module bundle: %s", e.message);
    free(tar);
    lp_module_bundle_name(keccak, repo, commit);
}

/* The canonical spec of a job running `sh -c script` on image (malloc'd). */
static LP_FIXTURE_UNUSED char *job_spec(const char *script, const char *image)
{
    char raw[4096], *canon = NULL;
    json_t *argv = json_pack("[sss]", "/bin/sh", "-c", script);
    json_t *spec =
        json_pack("{s:{s:s,s:{s:{s:s,s:o},s:{s:s}}}}", "job", "APIVersion", "V1beta1", "Spec",
                  "Docker", "Image", image, "Entrypoint", argv, "Network", "Type", "None");
    char *text = json_dumps(spec, JSON_COMPACT);
    snprintf(raw, sizeof raw, "%s", text);
    free(text);
    json_decref(spec);
    struct lp_wire_error we;
    assert_int_equal(lp_wire_json_canonical(raw, strlen(raw), &canon, &we), 0);
    return canon;
}

/* The commit (the bundle's hash) that post_job(script) names its module by. */
static LP_FIXTURE_UNUSED void job_module_commit(const char *script,
                                                char commit[2 * LP_KECCAK256_LEN + 1])
{
    char *canon = job_spec(script, IMAGE);
    uint8_t *tar = NULL, keccak[32];
    size_t len = 0;
    struct lp_module_error me;
    assert_int_equal(lp_module_bundle_pack(canon, strlen(canon), &tar, &len, &me), 0);
    lp_keccak256(tar, len, keccak);
    char repo[LP_MODULE_BUNDLE_REPO_LEN];
    lp_module_bundle_name(keccak, repo, commit);
    free(tar);
    free(canon);
}

/* post_job_asking() for a job that also asks for gpus GPUs (of any vendor and memory). */
static LP_FIXTURE_UNUSED void post_job_asking_gpus(const char *script, const struct job_ask *ask,
                                                   uint32_t gpus, uint8_t id[32])
{
    char *canon = job_spec(script, ask->image);
    struct lp_wire_object obj;
    memset(&obj, 0, sizeof obj);
    obj.kind = LP_WIRE_JOB_OFFER;
    struct lp_job_offer *j = &obj.u.job_offer;
    memcpy(j->job_creator, creator_key.address, 20);
    char repo[LP_MODULE_BUNDLE_REPO_LEN], commit[2 * LP_KECCAK256_LEN + 1];
    upload_module(canon, repo, commit);
    j->module.repo = repo;
    j->module.commit = commit;
    j->module.spec = canon;
    j->resources.cpu_millicores = ask->cpu_millicores;
    j->resources.ram_bytes = ask->ram_bytes;
    j->resources.disk_bytes = ask->disk_bytes;
    j->resources.gpus = gpus;
    lp_wei_from_u64(&j->max_price, 100);
    lp_wei_from_u64(&j->payment_collateral, 1);
    j->timeout_s = 60;
    memcpy(j->mediators, job_mediators, sizeof j->mediators);
    j->n_mediators = n_job_mediators;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    j->created_at_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    lp_random_bytes(j->nonce, sizeof j->nonce);
    struct lp_client_error e;
    if (lp_client_post_object(creator, &obj, NULL, id, NULL, &e) != 0)
        fail_msg("post job offer: %s", e.message);
    free(canon);
}

/* Posts a job offer running `sh -c script` on ask->image, asking for ask's resources; returns
 * its ID. */
static LP_FIXTURE_UNUSED void post_job_asking(const char *script, const struct job_ask *ask,
                                              uint8_t id[32])
{
    post_job_asking_gpus(script, ask, 0, id);
}

/* Posts a job offer running `sh -c script` on the cowsay image; returns its ID. */
static LP_FIXTURE_UNUSED void post_job(const char *script, uint8_t id[32])
{
    const struct job_ask ask = {IMAGE, 500, 64u << 20, 16u << 20};
    post_job_asking(script, &ask, id);
}

/* The deal of a job offer, once matched. */
static LP_FIXTURE_UNUSED void deal_of(const uint8_t job_id[32], uint8_t deal_id[32])
{
    for (int i = 0; i < 500; i++) {
        json_t *v = NULL;
        struct lp_client_error e;
        if (lp_client_get_offer(creator, LP_WIRE_JOB_OFFER, job_id, &v, &e) != 0) {
            /* This polling is the job creator's; its rate limit is not what is tested. */
            if (e.status != 429)
                fail_msg("job offer: %s", e.message);
            sleep(1);
            continue;
        }
        int rc = lp_client_json_id(v, "deal_id", deal_id);
        json_decref(v);
        if (rc == 0)
            return;
        usleep(20000);
    }
    fail_msg("the job offer was not matched");
}

/* The deal's posted result, opened and checked. */
static LP_FIXTURE_UNUSED void result_of(const uint8_t deal_id[32], struct lp_result *out,
                                        int *state)
{
    json_t *v = NULL;
    struct lp_client_error e;
    assert_int_equal(lp_client_get_deal(creator, deal_id, &v, &e), 0);
    *state = (int)json_integer_value(json_object_get(v, "state"));
    const char *hex = json_string_value(json_object_get(v, "result"));
    assert_non_null(hex);
    uint8_t buf[8192];
    size_t len;
    assert_int_equal(lp_hex_decode_var(hex, buf, sizeof buf, &len), 0);
    struct lp_wire_object obj;
    struct lp_wire_error we;
    assert_int_equal(lp_wire_open(buf, len, &obj, NULL, &we), 0);
    assert_int_equal(obj.kind, LP_WIRE_RESULT);
    *out = obj.u.result;
    json_decref(v);
}

/* The journal of the provider of configuration n (make_config's counter). */
static LP_FIXTURE_UNUSED void journal_path(int n, char *out, size_t cap)
{
    snprintf(out, cap, "%s/work%d/journal.sqlite", tmp, n);
}

/* The deal's journal step, 0 when unknown (or the journal cannot be read yet). */
static LP_FIXTURE_UNUSED int journal_step(int n, const uint8_t deal[32])
{
    char path[256], err[256];
    journal_path(n, path, sizeof path);
    struct lp_journal *j = NULL;
    if (access(path, F_OK) != 0 || lp_journal_open(path, &j, err, sizeof err) != 0)
        return 0;
    struct lp_journal_entry e;
    int step = lp_journal_get(j, deal, &e) == 0 ? e.step : 0;
    lp_journal_close(j);
    return step;
}

/* The built provider as a child process, stderr appended to log. */
static LP_FIXTURE_UNUSED pid_t spawn_provider(const char *cfg, const char *log, bool once)
{
    char bin[512];
    snprintf(bin, sizeof bin, "%s/bin/lilypad", LP_BINARY_DIR);
    if (access(bin, X_OK) != 0)
        fail_msg("%s is missing: build the lilypad target first", bin);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 2);
        if (once)
            execl(bin, bin, "provider", "-c", cfg, "--once", (char *)NULL);
        else
            execl(bin, bin, "provider", "-c", cfg, (char *)NULL);
        _exit(127);
    }
    return child;
}

/* The deal's outputs as the job creator downloads them, unpacked into dir; -1 when there are
 * none. */
static LP_FIXTURE_UNUSED int download_outputs(const uint8_t deal[32], const char *dir)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    struct lp_client_error e;
    char err[512];
    if (lp_client_download(creator, deal, "outputs", &blob, &len, &e) != 0)
        return -1;
    int rc = lp_tarball_unpack(blob, len, dir, 0, err, sizeof err);
    free(blob);
    if (rc != 0)
        fail_msg("the outputs do not unpack: %s", err);
    return 0;
}

/* The deal's result is posted without an error, and its outputs hold file with text. */
static LP_FIXTURE_UNUSED void assert_delivered(const uint8_t deal[32], const char *file,
                                               const char *text)
{
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    if (r.error[0])
        fail_msg("the result carries an error instead of the outputs: %s", r.error);
    assert_int_equal(st, 2 /* RESULTS_SUBMITTED */);
    assert_true(strncmp(r.cid, "Qm", 2) == 0);
    lp_result_free(&r);
    char dir[256], path[320];
    snprintf(dir, sizeof dir, "%s/got-%d", tmp, cfg_counter);
    assert_int_equal(download_outputs(deal, dir), 0);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *got = read_text_file(path);
    assert_non_null(got);
    assert_string_equal(got, text);
    free(got);
}

/* A test that puts a proxy in front of the solver (solver_proxy.h) sets this to the proxy's
 * "127.0.0.1:PORT" before provider_fixture_setup: requests are signed for the Host the client
 * addresses, so the solver must answer to that name too. */
static char fixture_proxy_host[64];

/* A loopback port nothing listens on now (the kernel's pick, let go at once). 0 on failure. */
static LP_FIXTURE_UNUSED uint16_t fixture_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The in-process solver (on an ephemeral port, its files under tmp, which must exist) and the
 * job creator's client: all a test needs whose provider runs no image. name prefixes error
 * lines. */
static LP_FIXTURE_UNUSED int provider_fixture_solver_setup(const char *name)
{
    char err[1024];
    struct lp_solver_config sc;
    lp_solver_config_defaults(&sc);
    sc.create_db = true; /* a new network: its database is created here */
    /* With a proxy in front, the solver answers to the proxy's name and its own, so it listens
     * on a port chosen here rather than by the kernel at start. */
    char listen_at[64] = "127.0.0.1:0", own_host[64];
    const char *hosts[2] = {own_host, fixture_proxy_host};
    if (fixture_proxy_host[0]) {
        uint16_t port = fixture_free_port();
        if (port == 0) {
            fprintf(stderr, "%s: no free port for the solver\n", name);
            return -1;
        }
        snprintf(own_host, sizeof own_host, "127.0.0.1:%u", port);
        snprintf(listen_at, sizeof listen_at, "%s", own_host);
        sc.hosts = hosts;
        sc.n_hosts = 2;
    }
    static char db[128], files[128];
    snprintf(db, sizeof db, "%s/solver.db", tmp);
    snprintf(files, sizeof files, "%s/solver-files", tmp);
    mkdir(files, 0700);
    sc.db_path = db;
    sc.files_dir = files;
    sc.tick_ms = 200;
    struct lp_key skey;
    lp_key_generate(&skey);
    if (lp_solver_open(&sc, &skey, &solver, err, sizeof err) != 0 ||
        lp_solver_http_start(solver, listen_at, &http, err, sizeof err) != 0) {
        fprintf(stderr, "%s: solver: %s\n", name, err);
        return -1;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%u", lp_solver_http_port(http));
    lp_key_generate(&creator_key);
    creator = lp_client_new(url, &creator_key, 10000);
    return creator ? 0 : -1;
}

/* The group setup both tests share: the example image in tmp/images, an in-process solver on an
 * ephemeral port and the job creator's client. name prefixes error lines; tmp_template is
 * mkdtemp's. */
static LP_FIXTURE_UNUSED int provider_fixture_setup(const char *name, const char *tmp_template)
{
    if (access("/usr/bin/bwrap", X_OK) != 0) {
        fprintf(stderr,
                "%s: /usr/bin/bwrap is missing; install it with `apt-get install bubblewrap` "
                "(scripts/install-deps.sh)\n",
                name);
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s", tmp_template);
    if (!mkdtemp(tmp))
        return -1;
    char cmd[512], err[1024], dir[128], file[128];
    snprintf(cmd, sizeof cmd,
             "'%s/scripts/build-example-images.sh' '%s/images-out' --no-import >/dev/null",
             LP_SOURCE_DIR, tmp);
    if (system(cmd) != 0) {
        fprintf(stderr, "%s: building the example images failed (needs busybox-static and tar)\n",
                name);
        return -1;
    }
    struct lp_image_store store;
    snprintf(dir, sizeof dir, "%s/images", tmp);
    snprintf(file, sizeof file, "%s/images-out/cowsay.tar", tmp);
    struct lp_image_import_result *res = calloc(1, sizeof *res);
    if (!res || lp_image_store_open(&store, dir, err, sizeof err) != 0 ||
        lp_image_import(&store, file, NULL, res, err, sizeof err) != 0) {
        fprintf(stderr, "%s: image import: %s\n", name, err);
        free(res);
        return -1;
    }
    free(res);
    return provider_fixture_solver_setup(name);
}

static LP_FIXTURE_UNUSED int provider_fixture_teardown(void)
{
    lp_client_free(creator);
    if (solver)
        lp_solver_interrupt(solver);
    lp_solver_http_stop(http);
    lp_solver_close(solver);
    lp_fs_remove_tree(tmp);
    return 0;
}

#endif
