/* `lilypad run` against a solver on 127.0.0.1 and a scripted provider (a thread here, speaking
 * the solver's API with its own key), so each job creator behaviour is checked on its own:
 * success, a job that exits non-zero, an execution timeout, an input with quotes (checked in
 * the spec the provider received), results that do not match their CID (a wrong CID served,
 * and a tampered download through the library's hook), progress lines on a non-TTY, the
 * outcome of each termination a result can carry (and of a version 1 result, by exit code
 * only), a stale .partial folder from an earlier run being cleared, and the mediators
 * --mediator names in the job offer.
 * The CLI cases run the built binary as a separate process. The real provider and sandbox are
 * exercised by test_run_devnet.c. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cid/importer.h"
#include "client/client.h"
#include "crypto/keccak.h"
#include "crypto/keyfile.h"
#include "crypto/random.h"
#include "image/fs_tree.h"
#include "jobcreator/bundle.h"
#include "jobcreator/jobcreator.h"
#include "solver/http.h"
#include "solver/solver.h"
#include "util/hex.h"
#include "wire/object.h"

#include <lilypad/verifier.h>

#define LILYPAD    LP_BINARY_DIR "/bin/lilypad"
#define COWSAY_DIR LP_SOURCE_DIR "/examples/modules/cowsay"

enum mode {
    MODE_OK,
    MODE_FAIL,
    MODE_HANG,
    MODE_BAD_CID,
    /* results that end the job in other ways (see ended[]) */
    MODE_TIMED_OUT,
    MODE_OOM_KILLED,
    MODE_CANCELLED,
    MODE_NOT_RUN,
    MODE_V1_TIMEOUT_TEXT,
};

/* How the scripted provider says the job ended, per mode (zero: an exited job of this build). */
static const struct ended {
    uint32_t version, termination;
    int32_t exit_code;
    const char *error;
    bool no_outputs;
} ended[] = {
    [MODE_TIMED_OUT] = {2, LP_TERMINATION_TIMED_OUT, -9, "stopped after 1 s", false},
    [MODE_OOM_KILLED] = {2, LP_TERMINATION_OOM_KILLED, 137, "", false},
    [MODE_CANCELLED] = {2, LP_TERMINATION_CANCELLED, -9, "the provider is shutting down", false},
    [MODE_NOT_RUN] = {2, LP_TERMINATION_NOT_RUN, 255, "the image is not in the store", true},
    /* a version 1 provider's timeout: only its words say so */
    [MODE_V1_TIMEOUT_TEXT] = {1, LP_TERMINATION_UNKNOWN, -9,
                              "the job ran past its timeout of 1 s and was stopped", false},
};

static char dir[256], base[64], keyfile[300];
static struct lp_solver *solver;
static struct lp_solver_http *http;
static struct lp_key kjc, kp;

/* the scripted provider */
static pthread_t prov_thread;
static pthread_mutex_t prov_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int prov_stop;
static enum mode prov_mode;
static char *prov_last_spec; /* the spec of the last job it took */
static uint8_t prov_last_mediators[LP_WIRE_MAX_MEDIATORS][LP_WIRE_ADDR_LEN];
static size_t prov_last_n_mediators;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void digest_of(const char *text, struct lp_output_digest *d)
{
    lp_keccak256(text, strlen(text), d->keccak);
    d->size = strlen(text);
}

/* 0 posted, -1 not (said why); the caller tries again. */
static int post_offer(struct lp_client *c)
{
    struct lp_wire_object o = {.kind = LP_WIRE_RESOURCE_OFFER};
    struct lp_resource_offer *r = &o.u.resource_offer;
    memcpy(r->provider, kp.address, 20);
    r->cpu_millicores = 8000;
    r->ram_bytes = 8ull << 30;
    r->disk_bytes = 50ull << 30;
    lp_wei_from_u64(&r->min_price, 1);
    r->created_at_ms = (uint64_t)time(NULL) * 1000u;
    lp_random_bytes(r->nonce, sizeof r->nonce);
    struct lp_client_error err;
    if (lp_client_post_object(c, &o, NULL, NULL, NULL, &err) != 0) {
        fprintf(stderr, "fake provider: offer: %s\n", err.message);
        return -1;
    }
    return 0;
}

/* The message the job's entrypoint carries (cowsay's second argument). */
static const char *entry_arg(json_t *spec)
{
    json_t *ep = json_object_get(
        json_object_get(json_object_get(json_object_get(spec, "job"), "Spec"), "Docker"),
        "Entrypoint");
    return json_string_value(json_array_get(ep, 1));
}

/* Runs one deal; false when its job offer could not be fetched (try again later). */
static bool run_deal(struct lp_client *c, const uint8_t did[32], json_t *deal)
{
    uint8_t jid[32];
    json_t *offer = NULL;
    struct lp_client_error err;
    if (lp_client_json_id(deal, "job_offer_id", jid) != 0 ||
        lp_client_get_offer(c, LP_WIRE_JOB_OFFER, jid, &offer, &err) != 0)
        return false;
    const char *hex = json_string_value(json_object_get(offer, "envelope"));
    size_t cap = strlen(hex) / 2 + 1, len = 0;
    uint8_t *env = malloc(cap);
    struct lp_wire_object jo;
    struct lp_wire_error we;
    assert_int_equal(lp_hex_decode_var(hex, env, cap, &len), 0);
    assert_int_equal(lp_wire_open(env, len, &jo, NULL, &we), 0);
    free(env);
    json_decref(offer);
    pthread_mutex_lock(&prov_lock);
    free(prov_last_spec);
    prov_last_spec = strdup(jo.u.job_offer.module.spec);
    memcpy(prov_last_mediators, jo.u.job_offer.mediators, sizeof prov_last_mediators);
    prov_last_n_mediators = jo.u.job_offer.n_mediators;
    enum mode mode = prov_mode;
    pthread_mutex_unlock(&prov_lock);
    json_t *spec = json_loads(jo.u.job_offer.module.spec, 0, NULL);
    lp_wire_object_free(&jo);
    if (mode == MODE_HANG) {
        json_decref(spec);
        return true;
    }
    /* the "job": cowsay reduced to echoing its message */
    char rd[300], path[400];
    snprintf(rd, sizeof rd, "%s/prov-%02x%02x%02x", dir, did[0], did[1], did[2]);
    mkdir(rd, 0755);
    snprintf(path, sizeof path, "%s/outputs", rd);
    mkdir(path, 0755);
    const char *msg = entry_arg(spec);
    char out[1024];
    snprintf(out, sizeof out, "< %s >\n", msg ? msg : "?");
    const char *errtext = mode == MODE_FAIL ? "boom: the module broke\n" : "";
    snprintf(path, sizeof path, "%s/stdout", rd);
    write_file(path, mode == MODE_FAIL ? "" : out);
    snprintf(path, sizeof path, "%s/stderr", rd);
    write_file(path, errtext);
    snprintf(path, sizeof path, "%s/exitCode", rd);
    write_file(path, mode == MODE_FAIL ? "3" : "0");
    json_decref(spec);

    uint8_t *blob = NULL;
    size_t blen = 0;
    char e[512];
    assert_int_equal(lp_bundle_pack_inputs(rd, NULL, 0, NULL, 0, &blob, &blen, e, sizeof e), 0);
    struct lp_cid_options opt;
    lp_cid_options_default(&opt, 0);
    struct lp_cid_node root;
    assert_int_equal(lp_cid_import_path(rd, &opt, NULL, NULL, &root, NULL, e, sizeof e), 0);
    char cid[LP_CID_STRING_MAX];
    lp_cid_format(&root.cid, cid);
    if (mode == MODE_BAD_CID) /* the CID of something else: the empty-file CIDv0 */
        snprintf(cid, sizeof cid, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
    const struct ended *how = mode < sizeof ended / sizeof ended[0] ? &ended[mode] : NULL;
    lp_client_deal_action(c, did, "agree", NULL, &err);
    if ((!how || !how->no_outputs) && lp_client_put_outputs(c, did, blob, blen, &err) != 0)
        fprintf(stderr, "fake provider: outputs: %s\n", err.message);
    free(blob);
    struct lp_wire_object r = {.kind = LP_WIRE_RESULT};
    memcpy(r.u.result.deal_id, did, 32);
    memcpy(r.u.result.resource_provider, kp.address, 20);
    r.u.result.cid = cid;
    r.u.result.error = (char *)"";
    r.u.result.exit_code = mode == MODE_FAIL ? 3 : 0;
    digest_of(mode == MODE_FAIL ? "" : out, &r.u.result.stdout_digest);
    digest_of(errtext, &r.u.result.stderr_digest);
    r.u.result.created_at_ms = (uint64_t)time(NULL) * 1000u;
    r.u.result.termination = LP_TERMINATION_EXITED;
    if (how && how->version) {
        r.u.result.version = how->version;
        r.u.result.termination = how->termination;
        r.u.result.exit_code = how->exit_code;
        r.u.result.error = (char *)how->error;
        if (how->no_outputs)
            r.u.result.cid = (char *)"";
    }
    /* A loaded machine (sanitizers, parallel tests) can make a request time out: try again. */
    for (int attempt = 0; lp_client_post_object(c, &r, NULL, NULL, NULL, &err) != 0; attempt++) {
        fprintf(stderr, "fake provider: result: %s\n", err.message);
        if (attempt == 4)
            break;
        usleep(200000);
    }
    return true;
}

static void *provider_main(void *arg)
{
    (void)arg;
    struct lp_client *c = lp_client_new(base, &kp, 30000);
    uint8_t seen[64][32];
    size_t n_seen = 0;
    bool need_offer = true;
    while (!prov_stop) {
        /* Until posted: a request that timed out on a loaded machine must not leave the
         * network without an offer for the rest of the tests. */
        if (need_offer && post_offer(c) == 0)
            need_offer = false;
        json_t *list = NULL;
        struct lp_client_error err;
        if (lp_client_list_deals(c, true, &list, &err) == 0) {
            json_t *deals = json_object_get(list, "deals");
            for (size_t i = 0; i < json_array_size(deals); i++) {
                json_t *d = json_array_get(deals, i);
                uint8_t did[32];
                if (lp_client_json_id(d, "id", did) != 0 ||
                    json_integer_value(json_object_get(d, "state")) != LP_DEAL_AGREED)
                    continue;
                bool old = false;
                for (size_t k = 0; k < n_seen; k++)
                    old = old || memcmp(seen[k], did, 32) == 0;
                if (old || n_seen == 64)
                    continue;
                if (!run_deal(c, did, d))
                    continue; /* its job offer could not be fetched: again next round */
                memcpy(seen[n_seen++], did, 32);
                need_offer = true; /* the offer was consumed by the deal */
            }
            json_decref(list);
        }
        usleep(20000);
    }
    lp_client_free(c);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lp-run-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char db[300], files[300], err[256];
    snprintf(db, sizeof db, "%s/solver.db", dir);
    snprintf(files, sizeof files, "%s/files", dir);
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.create_db = true; /* a new network: its database is created here */
    cfg.db_path = db;
    cfg.files_dir = files;
    cfg.match_timeout_ms = 30000; /* never reached: generous for slow (sanitized, loaded) runs */
    cfg.execution_grace_ms = 0;
    cfg.tick_ms = 100;
    cfg.rate_limit = 0; /* the scripted provider polls every 20 ms: past any per-address limit */
    struct lp_key ks;
    lp_key_generate(&ks);
    lp_key_generate(&kjc);
    lp_key_generate(&kp);
    if (lp_solver_open(&cfg, &ks, &solver, err, sizeof err) != 0 ||
        lp_solver_http_start(solver, "127.0.0.1:0", &http, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    snprintf(base, sizeof base, "http://127.0.0.1:%u", lp_solver_http_port(http));
    snprintf(keyfile, sizeof keyfile, "%s/jc.key", dir);
    if (lp_keyfile_write_hex(keyfile, &kjc, false, err, sizeof err) != 0)
        return -1;
    setenv("LILYPAD_HOME", dir, 1);
    return pthread_create(&prov_thread, NULL, provider_main, NULL);
}

static int teardown(void **state)
{
    (void)state;
    prov_stop = 1;
    pthread_join(prov_thread, NULL);
    lp_solver_interrupt(solver);
    lp_solver_http_stop(http);
    lp_solver_close(solver);
    free(prov_last_spec);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void set_mode(enum mode m)
{
    pthread_mutex_lock(&prov_lock);
    prov_mode = m;
    pthread_mutex_unlock(&prov_lock);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Runs the CLI with stdout and stderr to files (so stderr is not a TTY). */
static int run_cli(const char *args, char **out, char **err)
{
    char cmd[4096], o[300], e[300];
    snprintf(o, sizeof o, "%s/cli.out", dir);
    snprintf(e, sizeof e, "%s/cli.err", dir);
    snprintf(cmd, sizeof cmd, "'%s' run --network %s --key '%s' %s >'%s' 2>'%s' </dev/null",
             LILYPAD, base, keyfile, args, o, e);
    int st = system(cmd);
    *out = slurp(o);
    *err = slurp(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_success_cowsay(void **state)
{
    (void)state;
    set_mode(MODE_OK);
    char *out, *err;
    int rc = run_cli(COWSAY_DIR " -i Message=hello-from-the-test", &out, &err);
    if (rc != 0)
        fail_msg("exit %d\nstdout: %s\nstderr: %s", rc, out, err);
    assert_non_null(strstr(out, "< hello-from-the-test >"));
    assert_non_null(strstr(err, "Results verified"));
    assert_non_null(strstr(err, "Results: "));
    /* the job's stdout is kept in the results folder too */
    const char *p = strstr(err, "Results: ");
    char rdir[600];
    sscanf(p + 9, "%599s", rdir);
    char path[700];
    snprintf(path, sizeof path, "%s/stdout", rdir);
    char *kept = slurp(path);
    assert_non_null(strstr(kept, "hello-from-the-test"));
    free(kept);
    free(out);
    free(err);
}

static void test_progress_lines_not_tty(void **state)
{
    (void)state;
    set_mode(MODE_OK);
    char *out, *err;
    assert_int_equal(run_cli(COWSAY_DIR " -i Message=moo", &out, &err), 0);
    /* plain lines, "HH:MM:SS [   0.1s] text", one per state, no terminal control codes */
    assert_null(strchr(err, '\r'));
    assert_null(strstr(err, "\033["));
    assert_non_null(strstr(err, "s] Job submitted. Negotiating deal..."));
    assert_non_null(strstr(err, "s] Results accepted."));
    const char *line = strstr(err, "] Job offer 0x");
    assert_non_null(line);
    /* the stamp before it: "HH:MM:SS [" */
    const char *bol = line;
    while (bol > err && bol[-1] != '\n')
        bol--;
    assert_true(bol[2] == ':' && bol[5] == ':' && bol[8] == ' ' && bol[9] == '[');
    free(out);
    free(err);
}

static void test_job_exits_nonzero(void **state)
{
    (void)state;
    set_mode(MODE_FAIL);
    char *out, *err;
    int rc = run_cli(COWSAY_DIR " -i Message=x", &out, &err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "boom: the module broke")); /* the job's stderr */
    assert_non_null(strstr(err, "exited with status 3"));
    assert_string_equal(out, "");
    free(out);
    free(err);
}

static void test_execution_timeout(void **state)
{
    (void)state;
    set_mode(MODE_HANG);
    char *out, *err;
    int rc = run_cli(COWSAY_DIR " -i Message=x --timeout 1", &out, &err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "timed out"));
    assert_non_null(strstr(err, "execution timeout"));
    free(out);
    free(err);
}

static void test_quotes_cannot_change_spec(void **state)
{
    (void)state;
    set_mode(MODE_OK);
    const char *evil = "x\",\"Image\":\"evil/image:latest";
    char args[512], *out, *err;
    snprintf(args, sizeof args, "%s -i 'Message=%s'", COWSAY_DIR, evil);
    int rc = run_cli(args, &out, &err);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    pthread_mutex_lock(&prov_lock);
    json_t *spec = json_loads(prov_last_spec, 0, NULL);
    pthread_mutex_unlock(&prov_lock);
    assert_non_null(spec);
    json_t *docker =
        json_object_get(json_object_get(json_object_get(spec, "job"), "Spec"), "Docker");
    assert_string_equal(json_string_value(json_object_get(docker, "Image")),
                        "lilypad-example/cowsay:v1");
    assert_int_equal(json_array_size(json_object_get(docker, "Entrypoint")), 2);
    assert_string_equal(entry_arg(spec), evil); /* arrives as one argument, intact */
    json_decref(spec);
    free(out);
    free(err);
}

/* --mediator (repeatable) lands in the job offer, sorted; none: the offer names none. */
static void test_mediators_named(void **state)
{
    (void)state;
    set_mode(MODE_OK);
    char args[512], *out, *err;
    snprintf(args, sizeof args,
             "%s -i Message=m --mediator 0x2222222222222222222222222222222222222222 "
             "--mediator=0x1111111111111111111111111111111111111111",
             COWSAY_DIR);
    int rc = run_cli(args, &out, &err);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    free(out);
    free(err);
    pthread_mutex_lock(&prov_lock);
    size_t n = prov_last_n_mediators;
    uint8_t first = prov_last_mediators[0][0], second = prov_last_mediators[1][19];
    pthread_mutex_unlock(&prov_lock);
    assert_int_equal(n, 2);
    assert_int_equal(first, 0x11);
    assert_int_equal(second, 0x22);
    rc = run_cli(COWSAY_DIR " -i Message=m", &out, &err);
    if (rc != 0)
        fail_msg("exit %d: %s", rc, err);
    free(out);
    free(err);
    pthread_mutex_lock(&prov_lock);
    n = prov_last_n_mediators;
    pthread_mutex_unlock(&prov_lock);
    assert_int_equal(n, 0);
}

static void test_wrong_cid_served(void **state)
{
    (void)state;
    set_mode(MODE_BAD_CID);
    char *out, *err;
    int rc = run_cli(COWSAY_DIR " -i Message=x", &out, &err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "do not match their CID"));
    assert_null(strstr(err, "Results accepted"));
    assert_string_equal(out, "");
    free(out);
    free(err);
}

static void flip_last_stdout_byte(void *arg, uint8_t *data, size_t len)
{
    (void)arg;
    /* the tar holds "< moo >\n" as stdout's content: change it */
    for (size_t i = 0; i + 7 <= len; i++)
        if (memcmp(data + i, "< moo >", 7) == 0)
            data[i + 2] = 'b';
}

static void test_tampered_download(void **state)
{
    (void)state;
    set_mode(MODE_OK);
    struct lp_template_input in = {"Message", "moo"};
    struct lp_jc_request req = {
        .module = COWSAY_DIR,
        .inputs = &in,
        .n_inputs = 1,
        .solver_url = base,
        .key = &kjc,
        .results_root = dir,
        .blob_hook = flip_last_stdout_byte,
    };
    struct lp_jc_result res;
    assert_int_equal(lp_jc_run(&req, &res), -1);
    assert_int_equal(res.outcome, LP_JC_UNVERIFIED);
    assert_non_null(strstr(res.reason, "do not match their CID"));
    assert_non_null(strstr(res.output_dir, ".unverified"));
    assert_int_not_equal(res.deal_state, LP_DEAL_RESULTS_ACCEPTED);
    lp_jc_result_free(&res);

    /* and without the hook the same job verifies */
    req.blob_hook = NULL;
    assert_int_equal(lp_jc_run(&req, &res), 0);
    assert_int_equal(res.outcome, LP_JC_SUCCEEDED);
    assert_non_null(strstr(res.stdout_text, "< moo >"));
    lp_jc_result_free(&res);
}

/* A job that takes long: the non-TTY progress keeps printing heartbeat lines, and the
 * solver's execution timeout ends the wait (the client never hangs silently). */
static void test_heartbeat_while_waiting(void **state)
{
    (void)state;
    set_mode(MODE_HANG);
    FILE *log = tmpfile();
    assert_non_null(log);
    struct lp_progress progress;
    lp_progress_init(&progress, log, false, 1);
    struct lp_template_input in = {"Message", "zzz"};
    struct lp_jc_request req = {
        .module = COWSAY_DIR,
        .inputs = &in,
        .n_inputs = 1,
        .solver_url = base,
        .key = &kjc,
        .results_root = dir,
        .timeout_s = 3,
        .progress = &progress,
    };
    struct lp_jc_result res;
    assert_int_equal(lp_jc_run(&req, &res), -1);
    assert_int_equal(res.outcome, LP_JC_TIMED_OUT);
    assert_int_equal(res.deal_state, LP_DEAL_TIMEOUT_EXECUTION);
    lp_jc_result_free(&res);
    rewind(log);
    char line[512];
    int beats = 0;
    while (fgets(line, sizeof line, log))
        if (strstr(line, "still waiting: Deal agreed. Running job..."))
            beats++;
    fclose(log);
    assert_true(beats >= 2);
}

/* Long-polls of the job creator's own key that hold the solver's per-address cap (four) for as
 * long as `holding` is set: each waits on events past any cursor, so none ever answers early. */
static atomic_bool holding;

static void *hold_long_poll(void *arg)
{
    (void)arg;
    struct lp_client *c = lp_client_new(base, &kjc, 30000);
    while (c && atomic_load(&holding)) {
        json_t *evs = NULL;
        uint64_t next = 0;
        struct lp_client_error e = {0};
        lp_client_events(c, UINT64_MAX / 2, 2, &evs, &next, &e);
        json_decref(evs);
    }
    lp_client_free(c);
    return NULL;
}

/* Other runs of the same key hold every long-poll the solver allows an address: the run follows
 * its job with plain reads, finishes, and never calls the solver unreachable (it did, and slept
 * a second per look). */
static void test_long_poll_cap_is_no_outage(void **state)
{
    (void)state;
    set_mode(MODE_OK);
    atomic_store(&holding, true);
    pthread_t holders[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&holders[i], NULL, hold_long_poll, NULL), 0);
    usleep(300000); /* the four are waiting */
    FILE *log = tmpfile();
    assert_non_null(log);
    struct lp_progress progress;
    lp_progress_init(&progress, log, false, 1);
    struct lp_template_input in = {"Message", "capped"};
    struct lp_jc_request req = {
        .module = COWSAY_DIR,
        .inputs = &in,
        .n_inputs = 1,
        .solver_url = base,
        .key = &kjc,
        .results_root = dir,
        .progress = &progress,
    };
    struct lp_jc_result res;
    int rc = lp_jc_run(&req, &res);
    atomic_store(&holding, false);
    for (int i = 0; i < 4; i++)
        pthread_join(holders[i], NULL);
    rewind(log);
    char line[512];
    bool unreachable = false;
    while (fgets(line, sizeof line, log))
        unreachable = unreachable || strstr(line, "unreachable") != NULL;
    fclose(log);
    if (rc != 0)
        fail_msg("the run failed: %s", res.reason);
    assert_int_equal(res.outcome, LP_JC_SUCCEEDED);
    lp_jc_result_free(&res);
    assert_false(unreachable);
}

/* One job through the library with the provider in `mode`; res is the caller's to free. */
static int run_lib(enum mode m, const char *output_dir, struct lp_jc_result *res)
{
    set_mode(m);
    struct lp_template_input in = {"Message", "ended"};
    struct lp_jc_request req = {
        .module = COWSAY_DIR,
        .inputs = &in,
        .n_inputs = 1,
        .solver_url = base,
        .key = &kjc,
        .results_root = dir,
        .output_dir = output_dir,
    };
    return lp_jc_run(&req, res);
}

/* The outcome follows the result's termination, whatever its error text says; a version 1
 * result is judged by its exit code (its words about a timeout make it no timeout). */
static void test_outcome_of_each_termination(void **state)
{
    (void)state;
    static const struct {
        enum mode mode;
        enum lp_jc_outcome outcome;
        const char *reason;
    } cases[] = {
        {MODE_TIMED_OUT, LP_JC_TIMED_OUT, "the job timed out on the provider: stopped after 1 s"},
        {MODE_OOM_KILLED, LP_JC_JOB_FAILED, "the job was killed: out of memory"},
        {MODE_CANCELLED, LP_JC_CANCELLED,
         "the job was cancelled on the provider: the provider is shutting down"},
        {MODE_NOT_RUN, LP_JC_JOB_FAILED,
         "the provider could not run the job: the image is not in the store"},
        {MODE_V1_TIMEOUT_TEXT, LP_JC_JOB_FAILED,
         "the job was killed by signal 9: the job ran past its timeout of 1 s and was stopped"},
        {MODE_FAIL, LP_JC_JOB_FAILED, "the job exited with status 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lp_jc_result res;
        assert_int_equal(run_lib(cases[i].mode, NULL, &res), -1);
        if (res.outcome != cases[i].outcome || strcmp(res.reason, cases[i].reason) != 0)
            fail_msg("mode %d: got %s \"%s\", want %s \"%s\"", (int)cases[i].mode,
                     lp_jc_outcome_name(res.outcome), res.reason,
                     lp_jc_outcome_name(cases[i].outcome), cases[i].reason);
        assert_true(res.has_result);
        assert_int_equal(res.termination, ended[cases[i].mode].version
                                              ? ended[cases[i].mode].termination
                                              : LP_TERMINATION_EXITED);
        lp_jc_result_free(&res);
    }
}

/* What the command prints for an out-of-memory kill: the state, in words. */
static void test_cli_says_out_of_memory(void **state)
{
    (void)state;
    set_mode(MODE_OOM_KILLED);
    char *out, *err;
    int rc = run_cli(COWSAY_DIR " -i Message=x", &out, &err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "lilypad: run: job failed: the job was killed: out of memory\n"));
    free(out);
    free(err);
}

/* A .partial folder left by an earlier, interrupted run is cleared (without following the
 * links inside it) before the results are unpacked there. */
static void test_stale_partial_cleared(void **state)
{
    (void)state;
    char out[400], partial[420], path[500], keep[400];
    /* a quote in the name: the shell `rm -rf '...'` this once ran could not take it */
    snprintf(out, sizeof out, "%s/it's stale", dir);
    snprintf(partial, sizeof partial, "%s.partial", out);
    snprintf(keep, sizeof keep, "%s/keep-me", dir);
    write_file(keep, "outside the results");
    snprintf(path, sizeof path, "%s/sub/deeper", partial);
    assert_int_equal(lp_fs_mkdir_p(path, 0755), 0);
    snprintf(path, sizeof path, "%s/sub/file", partial);
    write_file(path, "old");
    snprintf(path, sizeof path, "%s/sub/link", partial);
    assert_int_equal(symlink(keep, path), 0);
    struct lp_jc_result res;
    if (run_lib(MODE_OK, out, &res) != 0)
        fail_msg("%s: %s", lp_jc_outcome_name(res.outcome), res.reason);
    lp_jc_result_free(&res);
    struct stat st;
    assert_int_equal(lstat(partial, &st), -1);
    assert_int_equal(stat(keep, &st), 0);
    snprintf(path, sizeof path, "%s/stdout", out);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/sub", out);
    assert_int_equal(lstat(path, &st), -1); /* nothing of the old folder came along */
}

static void test_bad_usage(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(run_cli("", &out, &err), 2);
    free(out);
    free(err);
    assert_int_equal(run_cli(COWSAY_DIR " -i =x", &out, &err), 2);
    free(out);
    free(err);
    assert_int_equal(run_cli(COWSAY_DIR " --timeout -3", &out, &err), 2);
    free(out);
    free(err);
    assert_int_equal(run_cli(COWSAY_DIR " --target 0x12", &out, &err), 2);
    free(out);
    free(err);
    assert_int_equal(run_cli(COWSAY_DIR " --mediator 0x12", &out, &err), 2);
    assert_non_null(strstr(err, "--mediator"));
    free(out);
    free(err);
    /* the job creator's own address: refused before anything is posted */
    char own[43], args[256];
    lp_address_to_checksum(kjc.address, own);
    snprintf(args, sizeof args, "%s --mediator %s", COWSAY_DIR, own);
    assert_int_equal(run_cli(args, &out, &err), 2);
    assert_non_null(strstr(err, "your own key"));
    free(out);
    free(err);
    /* a module that does not exist: one line, exit 1 */
    assert_int_equal(run_cli(LP_SOURCE_DIR "/no-such-module", &out, &err), 1);
    assert_non_null(strstr(err, "no-such-module"));
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_cowsay),
        cmocka_unit_test(test_progress_lines_not_tty),
        cmocka_unit_test(test_job_exits_nonzero),
        cmocka_unit_test(test_execution_timeout),
        cmocka_unit_test(test_quotes_cannot_change_spec),
        cmocka_unit_test(test_mediators_named),
        cmocka_unit_test(test_wrong_cid_served),
        cmocka_unit_test(test_tampered_download),
        cmocka_unit_test(test_heartbeat_while_waiting),
        cmocka_unit_test(test_long_poll_cap_is_no_outage),
        cmocka_unit_test(test_outcome_of_each_termination),
        cmocka_unit_test(test_cli_says_out_of_memory),
        cmocka_unit_test(test_stale_partial_cleared),
        cmocka_unit_test(test_bad_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
