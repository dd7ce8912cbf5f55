/* A provider offers only the GPUs its executor can attach, and hands the executor the GPUs of
 * the slot a job was matched on. The real provider runs against an in-process solver with two
 * test plugins built beside this test: hashrate/fakegpu, which reports fake NVIDIA or AMD
 * devices, and executor/gpuattach, whose describe() claims the vendor its configuration names
 * and whose jobs write the GPUs they were handed into their outputs (gpus.txt: one uuid a
 * line; gpu_count.txt: lp_job_limits.gpus).
 *   - An executor that attaches no GPU, or only another vendor's: the resource offer carries
 *     none, a job asking for a GPU is never matched, and a job asking for none runs.
 *   - An executor that attaches the vendor: every slot's offer carries its share of the GPUs,
 *     and each job's executor receives exactly the devices behind the offer it was matched
 *     on. */
#include <lilypad/verifier.h>

#include "../unit/provider_fixtures.h"

/* Long enough for the solver (a 200 ms tick) to have matched a job several times over. */
#define NO_DEAL_WAIT_MS 3000

static struct lp_key provider_key;

/* The case's provider and the GPU jobs it posted, so that a case that fails half-way stops its
 * provider and withdraws its jobs (teardown) instead of handing them to the next case. */
static struct prov_thread provider;
static bool provider_running;
static uint8_t case_jobs[4][32];
static size_t n_case_jobs;

static void start_case_provider(const char *cfg, bool once)
{
    start_provider(&provider, cfg, once);
    provider_running = true;
}

static void join_case_provider(void)
{
    provider_running = false;
    join_provider(&provider);
}

static void post_case_job(const char *script, const struct job_ask *ask, uint32_t gpus,
                          uint8_t id[32])
{
    post_job_asking_gpus(script, ask, gpus, id);
    assert_true(n_case_jobs < sizeof case_jobs / sizeof case_jobs[0]);
    memcpy(case_jobs[n_case_jobs++], id, 32);
}

/* A provider configuration on the fake GPUs (vendor, count) and the gpuattach executor
 * (attach), with max_jobs slots; its key is provider_key. Mining is off: the fake cannot. */
static void make_gpu_config(char *path, size_t cap, const char *vendor, int count,
                            const char *attach, int max_jobs)
{
    int n = ++cfg_counter;
    char key_path[128], err[256];
    snprintf(key_path, sizeof key_path, "%s/provider%d.key", tmp, n);
    lp_key_generate(&provider_key);
    assert_int_equal(lp_keyfile_write_hex(key_path, &provider_key, true, err, sizeof err), 0);
    snprintf(path, cap, "%s/provider%d.cfg", tmp, n);
    char text[4096];
    snprintf(text, sizeof text,
             "plugin_path = [\"%s\"];\n"
             "hashrate: { backend = \"fakegpu\"; fakegpu: { vendor = \"%s\"; count = %d; }; };\n"
             "executor: { backend = \"gpuattach\"; gpuattach: { attach = \"%s\"; }; };\n"
             "storage: { local: { root = \"%s/storage%d\"; }; };\n"
             "verifier: { ledger: { path = \"%s/ledger%d.sqlite\"; }; };\n"
             "provider: { solver = \"%s\"; key = \"%s\"; work_dir = \"%s/work%d\";\n"
             "  price = \"10\"; cpu = 1000; ram = \"512M\"; disk = \"1G\"; poll_wait = \"1s\";\n"
             "  mining_duty = 0; max_jobs = %d; };\n",
             LP_TEST_GPU_PLUGIN_DIR, vendor, count, attach, tmp, n, tmp, n, url, key_path, tmp, n,
             max_jobs);
    write_file(path, text);
}

/* A resource offer of the provider, as the solver holds it: what it carries of GPUs. */
struct open_offer {
    uint8_t id[32];
    size_t n_gpus;
    char model[LP_WIRE_MAX_GPUS][64];
    char vendor[LP_WIRE_MAX_GPUS][16];
    uint64_t vram[LP_WIRE_MAX_GPUS];
};

/* The resource offer in an offer view of the solver (its signed envelope, opened). */
static void offer_from_view(const json_t *view, struct open_offer *dst)
{
    uint8_t buf[8192];
    size_t len;
    const char *hex = json_string_value(json_object_get(view, "envelope"));
    assert_non_null(hex);
    assert_int_equal(lp_hex_decode_var(hex, buf, sizeof buf, &len), 0);
    struct lp_wire_object obj;
    struct lp_wire_error we;
    if (lp_wire_open(buf, len, &obj, NULL, &we) != 0)
        fail_msg("the solver's copy of the resource offer does not open: %s", we.message);
    assert_int_equal(obj.kind, LP_WIRE_RESOURCE_OFFER);
    const struct lp_resource_offer *ro = &obj.u.resource_offer;
    memset(dst, 0, sizeof *dst);
    assert_int_equal(lp_client_json_id(view, "id", dst->id), 0);
    dst->n_gpus = ro->n_gpus;
    for (size_t g = 0; g < ro->n_gpus && g < LP_WIRE_MAX_GPUS; g++) {
        snprintf(dst->model[g], sizeof dst->model[g], "%s", ro->gpus[g].model);
        snprintf(dst->vendor[g], sizeof dst->vendor[g], "%s", ro->gpus[g].vendor);
        dst->vram[g] = ro->gpus[g].vram_bytes;
    }
    lp_wire_object_free(&obj);
}

/* The provider's open resource offers (read back from the solver, signed envelopes opened);
 * returns how many, waiting up to 10 s for `want` of them. */
static size_t open_offers(size_t want, struct open_offer *out, size_t cap)
{
    struct lp_client *as_provider = lp_client_new(url, &provider_key, 10000);
    assert_non_null(as_provider);
    size_t n = 0;
    for (int i = 0; i < 500; i++) {
        json_t *j = NULL;
        struct lp_client_error e;
        if (lp_client_request_json(as_provider, "GET", "/api/v1/resource_offers", NULL, 0, &j,
                                   &e) != 0) {
            if (e.status != 429)
                fail_msg("listing the provider's resource offers: %s", e.message);
            sleep(1);
            continue;
        }
        n = 0;
        size_t k;
        json_t *o;
        json_array_foreach(json_object_get(j, "offers"), k, o)
        {
            if (json_integer_value(json_object_get(o, "state")) != LP_DEAL_NEGOTIATING || n == cap)
                continue;
            struct open_offer *dst = &out[n++];
            offer_from_view(o, dst);
        }
        json_decref(j);
        if (n >= want)
            break;
        usleep(20000);
    }
    lp_client_free(as_provider);
    return n;
}

/* The job offer's deal, if it has one now: 1 with deal_id, 0 when unmatched. */
static int job_deal_now(const uint8_t job[32], uint8_t deal_id[32])
{
    for (;;) {
        json_t *v = NULL;
        struct lp_client_error e;
        if (lp_client_get_offer(creator, LP_WIRE_JOB_OFFER, job, &v, &e) == 0) {
            int rc = lp_client_json_id(v, "deal_id", deal_id) == 0;
            json_decref(v);
            return rc;
        }
        if (e.status != 429) /* the job creator's rate, not what is tested */
            fail_msg("job offer: %s", e.message);
        sleep(1);
    }
}

/* No deal for the job offer within NO_DEAL_WAIT_MS. */
static void assert_never_matched(const uint8_t job[32])
{
    uint8_t deal[32];
    for (int waited = 0; waited < NO_DEAL_WAIT_MS; waited += 100) {
        if (job_deal_now(job, deal))
            fail_msg("a job asking for a GPU was matched with a provider that offers none its "
                     "executor can attach");
        usleep(100000);
    }
}

/* The resource offer a deal was made on. */
static void deal_resource_offer(const uint8_t deal[32], uint8_t offer[32])
{
    json_t *v = NULL;
    struct lp_client_error e;
    assert_int_equal(lp_client_get_deal(creator, deal, &v, &e), 0);
    assert_int_equal(lp_client_json_id(v, "resource_offer_id", offer), 0);
    json_decref(v);
}

/* Waits until the deal's result is posted (the provider keeps running). */
static void wait_delivered(const uint8_t deal[32])
{
    for (int i = 0; i < 1000; i++) {
        json_t *v = NULL;
        struct lp_client_error e;
        if (lp_client_get_deal(creator, deal, &v, &e) != 0) {
            if (e.status != 429)
                fail_msg("deal: %s", e.message);
            sleep(1);
            continue;
        }
        bool posted = json_is_string(json_object_get(v, "result"));
        json_decref(v);
        if (posted)
            return;
        usleep(20000);
    }
    fail_msg("the deal's result was not posted within 20 s");
}

/* The deal's result is posted without an error, and the executor recorded the GPUs named by
 * uuids (one a line) and count. */
static void assert_gpus_received(const uint8_t deal[32], const char *uuids, const char *count)
{
    static int downloads;
    struct lp_result r;
    int st;
    result_of(deal, &r, &st);
    if (r.error[0])
        fail_msg("the result carries an error instead of the outputs: %s", r.error);
    assert_int_equal(r.exit_code, 0);
    lp_result_free(&r);
    char dir[256], path[320];
    snprintf(dir, sizeof dir, "%s/outputs-%d", tmp, ++downloads);
    assert_int_equal(download_outputs(deal, dir), 0);
    const char *files[2][2] = {{"gpus.txt", uuids}, {"gpu_count.txt", count}};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/outputs/%s", dir, files[i][0]);
        char *got = read_text_file(path);
        if (!got)
            fail_msg("the job's outputs hold no %s", files[i][0]);
        if (strcmp(got, files[i][1]) != 0)
            fail_msg("the executor recorded in %s:\n%swhere it was to get:\n%s", files[i][0], got,
                     files[i][1]);
        free(got);
    }
}

static const struct job_ask small = {IMAGE, 250, 64u << 20, 16u << 20};

/* An executor that cannot attach the fake NVIDIA GPUs: offered, matched and run without. */
static void check_gpus_withheld(const char *attach)
{
    char cfg[256];
    make_gpu_config(cfg, sizeof cfg, "nvidia", 2, attach, 1);
    start_case_provider(cfg, true);
    /* The probe saw the GPUs: the executor's describe() is what withholds them. */
    assert_int_equal(lp_provider_get_probe(provider.p)->n_gpus, 2);
    struct open_offer offers[4];
    assert_int_equal(open_offers(1, offers, 4), 1);
    if (offers[0].n_gpus != 0)
        fail_msg("attach = \"%s\": the resource offer carries %zu GPU(s) (%s) the executor "
                 "cannot attach",
                 attach, offers[0].n_gpus, offers[0].model[0]);

    uint8_t gpu_job[32], cpu_job[32], deal[32];
    post_case_job("echo wants a GPU", &small, 1, gpu_job);
    assert_never_matched(gpu_job);
    post_case_job("echo wants none", &small, 0, cpu_job);
    deal_of(cpu_job, deal);
    join_case_provider();
    assert_gpus_received(deal, "", "0\n");
    /* Still unmatched (teardown withdraws it, so no later case is offered it). */
    uint8_t none[32];
    assert_false(job_deal_now(gpu_job, none));
}

static void test_attach_none_offers_no_gpu(void **state)
{
    (void)state;
    check_gpus_withheld("none");
}

static void test_attach_other_vendor_offers_no_gpu(void **state)
{
    (void)state;
    check_gpus_withheld("amd");
}

/* Index of the fake device named model ("Fake <vendor> GPU <i>"), checking the offer's vendor
 * and memory agree with what the fake reports for it. */
static unsigned fake_device(const struct open_offer *o, size_t g, const char *vendor)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "Fake %s GPU ", vendor);
    assert_int_equal(strncmp(o->model[g], prefix, strlen(prefix)), 0);
    unsigned i = (unsigned)atoi(o->model[g] + strlen(prefix));
    assert_string_equal(o->vendor[g], vendor);
    assert_true(o->vram[g] == (uint64_t)(8 + i) << 30);
    return i;
}

/* The executor attaches the vendor, two slots of one GPU each: both GPU jobs are matched, one
 * on each slot's offer, and each job's executor got the device behind its own offer. */
static void test_attach_nvidia_one_gpu_per_slot(void **state)
{
    (void)state;
    char cfg[256];
    make_gpu_config(cfg, sizeof cfg, "nvidia", 2, "nvidia", 2);
    /* Posted before the provider starts: both are matched as soon as its two offers are open,
     * before a finished job's slot is offered again, so each slot runs one of them. */
    uint8_t jobs[2][32], deals[2][32];
    post_case_job("echo gpu job 0", &small, 1, jobs[0]);
    post_case_job("echo gpu job 1", &small, 1, jobs[1]);
    start_case_provider(cfg, false);
    /* Their offers are booked at once: each is read back through its deal. */
    deal_of(jobs[0], deals[0]);
    deal_of(jobs[1], deals[1]);
    wait_delivered(deals[0]);
    wait_delivered(deals[1]);
    lp_provider_stop(provider.p);
    join_case_provider();

    bool seen[2] = {false, false};
    for (int k = 0; k < 2; k++) {
        uint8_t offer_id[32];
        deal_resource_offer(deals[k], offer_id);
        json_t *v = NULL;
        struct lp_client_error e;
        assert_int_equal(lp_client_get_offer(creator, LP_WIRE_RESOURCE_OFFER, offer_id, &v, &e), 0);
        struct open_offer o;
        offer_from_view(v, &o);
        json_decref(v);
        assert_int_equal(o.n_gpus, 1); /* plan_slots: 2 GPUs over 2 slots */
        unsigned dev = fake_device(&o, 0, "nvidia");
        assert_true(dev < 2);
        seen[dev] = true;
        char want[64];
        snprintf(want, sizeof want, "GPU-fake-nvidia-%u\n", dev);
        assert_gpus_received(deals[k], want, "1\n");
    }
    if (!seen[0] || !seen[1])
        fail_msg("both jobs ran on the slot of GPU %d; each slot was to run one", seen[0] ? 0 : 1);
}

/* One slot holding both GPUs: its offer carries both, and a job asking for two gets both, in
 * the order the hashrate plugin numbers them. AMD this time, so both vendors' paths run. */
static void test_attach_amd_whole_slot(void **state)
{
    (void)state;
    char cfg[256];
    make_gpu_config(cfg, sizeof cfg, "amd", 2, "amd", 1);
    start_case_provider(cfg, true);
    struct open_offer offers[4];
    assert_int_equal(open_offers(1, offers, 4), 1);
    assert_int_equal(offers[0].n_gpus, 2);
    bool seen[2] = {false, false};
    for (size_t g = 0; g < 2; g++) {
        unsigned dev = fake_device(&offers[0], g, "amd");
        assert_true(dev < 2);
        seen[dev] = true;
    }
    assert_true(seen[0] && seen[1]);
    uint8_t job[32], deal[32];
    post_case_job("echo two GPUs", &small, 2, job);
    deal_of(job, deal);
    join_case_provider();
    assert_gpus_received(deal, "GPU-fake-amd-0\nGPU-fake-amd-1\n", "2\n");
}

static int case_teardown(void **state)
{
    (void)state;
    if (provider_running) {
        provider_running = false;
        lp_provider_stop(provider.p);
        pthread_join(provider.th, NULL);
        lp_provider_close(provider.p);
        lp_config_free(provider.cfg);
    }
    /* A matched job's offer cannot be withdrawn any more: only the unmatched ones go. */
    for (size_t i = 0; i < n_case_jobs; i++) {
        struct lp_client_error e;
        lp_client_cancel_offer(creator, LP_WIRE_JOB_OFFER, case_jobs[i], &e);
    }
    n_case_jobs = 0;
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/lp-gpu-offer-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    return provider_fixture_solver_setup("test_provider_gpu_offer");
}

static int group_teardown(void **state)
{
    (void)state;
    return provider_fixture_teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_attach_none_offers_no_gpu, case_teardown),
        cmocka_unit_test_teardown(test_attach_other_vendor_offers_no_gpu, case_teardown),
        cmocka_unit_test_teardown(test_attach_nvidia_one_gpu_per_slot, case_teardown),
        cmocka_unit_test_teardown(test_attach_amd_whole_slot, case_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
