/* Solver load: signed job offers and resource offers from many keys over loopback against an
 * in-process solver, while idle connections are held open and /healthz is timed.
 *
 * Requests are signed before each phase starts (the envelope and the signed-request headers:
 * the signing cost belongs to clients, not to the solver), then sent by client threads, each
 * on its own keep-alive connection. Phases run one after the other:
 *   resource   resource offers (CPU only), each from one of --keys keys
 *   job        job offers that need a GPU, so none matches and each is checked, stored and
 *              queued (the matcher is not what is measured); all name one git module (a local
 *              repository made here) and carry its rendering, which the solver renders itself
 *              and compares (from its cache after the first offer) unless --module-check 0
 * For each phase the table has: offers accepted per second, refused (any status but 200; the
 * first refusal's answer is printed on stderr),
 * failed (no answer within 10 s, twice: that client stops, the solver is stalled), lost
 * (accepted, but not in the store afterwards: must be 0), and /healthz latency during the
 * phase (p50, p99, max; one probe every 10 ms on a new connection from 127.0.0.1; hz err:
 * probes without a 200). The idle connections come from 127.0.0.2..6 (60 per address, under
 * the per-IP limit).
 *
 * Usage: bench_solver_load [--offers N] [--keys K] [--clients C] [--idle I] [--http-threads T]
 *                          [--module-check 0|1]
 * Defaults: 10000 offers per kind, 64 keys, 16 clients, 300 idle connections, 4 HTTP threads,
 * module check on (0: the solver takes the offers' specs unchecked, as before it rendered them;
 * run both, interleaved, to see what the check costs). Needs the git command.
 * Prints the machine's load average before and after; compare runs on the same machine only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/key.h"
#include "crypto/random.h"
#include "module/reference.h"
#include "solver/http.h"
#include "solver/solver.h"
#include "solver/store.h"
#include "util/hex.h"
#include "wire/object.h"
#include "wire/offers.h"
#include "wire/sigreq.h"

#define GIB (1024ull * 1024ull * 1024ull)

static struct {
    int offers, keys, clients, idle, http_threads, module_check;
} opt = {10000, 64, 16, 300, 4, 1};

/* The module every job offer names: a git repository made in the bench's folder. */
static char module_repo[200], module_commit[41], *module_spec;

static struct lp_solver *solver;
static struct lp_solver_http *http;
static uint16_t port;
static char host[64];
static struct lp_key *keys;

static uint64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_solver_load: %s\n", what);
    exit(1);
}

static int dial(const char *from)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (from) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        inet_pton(AF_INET, from, &src.sin_addr);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* ---- requests ------------------------------------------------------------------------------ */

struct request {
    char *bytes; /* head and body */
    size_t len;
    uint8_t id[LP_WIRE_ID_LEN];
};

/* One offer of `kind` by key k, signed (envelope and request). */
static void make_request(uint32_t kind, const struct lp_key *k, struct request *out)
{
    struct lp_wire_object o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    if (kind == LP_WIRE_RESOURCE_OFFER) {
        struct lp_resource_offer *r = &o.u.resource_offer;
        memcpy(r->provider, k->address, 20);
        r->cpu_millicores = 8000;
        r->ram_bytes = 32 * GIB;
        r->disk_bytes = 100 * GIB;
        lp_wei_from_u64(&r->min_price, 10);
        r->created_at_ms = now_ms();
        lp_random_bytes(r->nonce, sizeof r->nonce);
    } else {
        struct lp_job_offer *j = &o.u.job_offer;
        memcpy(j->job_creator, k->address, 20);
        j->module.repo = module_repo;
        j->module.commit = module_commit;
        j->module.spec = module_spec;
        j->resources.cpu_millicores = 1000;
        j->resources.gpus = 1; /* nobody offers one: the job waits, unmatched */
        j->resources.vram_bytes = GIB;
        j->resources.ram_bytes = GIB;
        j->resources.disk_bytes = GIB;
        lp_wei_from_u64(&j->max_price, 100);
        lp_wei_from_u64(&j->payment_collateral, 1);
        j->timeout_s = 60;
        j->created_at_ms = now_ms();
        lp_random_bytes(j->nonce, sizeof j->nonce);
    }
    uint8_t *env = NULL;
    size_t env_len = 0;
    struct lp_wire_error we;
    if (lp_wire_sign(k, &o, &env, &env_len, out->id, &we) != 0)
        die(we.message);
    const char *target =
        kind == LP_WIRE_JOB_OFFER ? "/api/v1/job_offers" : "/api/v1/resource_offers";
    struct lp_sigreq_headers h;
    if (lp_sigreq_sign(k, "POST", host, target, env, env_len, now_ms(), NULL, &h, &we) != 0)
        die(we.message);
    char head[1024];
    int n =
        snprintf(head, sizeof head,
                 "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n"
                 "Content-Type: application/octet-stream\r\n%s: %s\r\n%s: %s\r\n%s: %s\r\n"
                 "%s: %s\r\n%s: %s\r\n%s: %s\r\n\r\n",
                 target, host, env_len, LP_SIGREQ_HDR_VERSION, h.version, LP_SIGREQ_HDR_ADDRESS,
                 h.address, LP_SIGREQ_HDR_TIMESTAMP, h.timestamp, LP_SIGREQ_HDR_NONCE, h.nonce,
                 LP_SIGREQ_HDR_BODY_KECCAK, h.body_keccak, LP_SIGREQ_HDR_SIGNATURE, h.signature);
    out->bytes = malloc((size_t)n + env_len);
    memcpy(out->bytes, head, (size_t)n);
    memcpy(out->bytes + n, env, env_len);
    out->len = (size_t)n + env_len;
    free(env);
}

/* Sends one request and reads its answer (keep-alive); the status, 0 when the connection
 * failed. */
static int exchange(int fd, const struct request *rq)
{
    size_t off = 0;
    while (off < rq->len) {
        ssize_t w = send(fd, rq->bytes + off, rq->len - off, MSG_NOSIGNAL);
        if (w <= 0)
            return 0;
        off += (size_t)w;
    }
    char buf[8192];
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (r <= 0)
            return 0;
        n += (size_t)r;
        buf[n] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
        if (n - (size_t)(end + 4 - buf) < want)
            continue;
        int status = 0;
        sscanf(buf, "HTTP/1.%*d %d", &status);
        static int shown;
        if (status != 200 && !__atomic_exchange_n(&shown, 1, __ATOMIC_RELAXED))
            fprintf(stderr, "first refusal: %s\n", end + 4);
        return status;
    }
}

/* ---- phases -------------------------------------------------------------------------------- */

struct phase {
    struct request *rq;
    int n;
    int next; /* __atomic: the next request to send */
    int accepted, refused, failed;
    bool *ok;
};

static void *client_main(void *arg)
{
    struct phase *p = arg;
    int fd = dial("127.0.0.1");
    for (;;) {
        int i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (i >= p->n)
            break;
        int st = fd >= 0 ? exchange(fd, &p->rq[i]) : 0;
        if (st == 0) { /* the connection went: one more try on a new one */
            if (fd >= 0)
                close(fd);
            fd = dial("127.0.0.1");
            st = fd >= 0 ? exchange(fd, &p->rq[i]) : 0;
        }
        if (st == 200) {
            p->ok[i] = true;
            __atomic_fetch_add(&p->accepted, 1, __ATOMIC_RELAXED);
        } else if (st == 0) {
            /* No answer in 10 s, twice: the solver is stalled; this client stops. */
            __atomic_fetch_add(&p->failed, 1, __ATOMIC_RELAXED);
            break;
        } else {
            __atomic_fetch_add(&p->refused, 1, __ATOMIC_RELAXED);
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* /healthz every 10 ms while `running`; latencies in µs. */
struct prober {
    bool running; /* __atomic */
    uint64_t *us;
    size_t n, cap;
    int failed;
};

static void *prober_main(void *arg)
{
    struct prober *pr = arg;
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct request rq = {.bytes = (char *)req, .len = sizeof req - 1};
    while (__atomic_load_n(&pr->running, __ATOMIC_ACQUIRE)) {
        uint64_t t0 = mono_us();
        int fd = dial("127.0.0.1");
        int st = fd >= 0 ? exchange(fd, &rq) : 0;
        uint64_t t = mono_us() - t0;
        if (fd >= 0)
            close(fd);
        if (st != 200)
            pr->failed++;
        if (pr->n == pr->cap) {
            pr->cap = pr->cap ? 2 * pr->cap : 1024;
            pr->us = realloc(pr->us, pr->cap * sizeof *pr->us);
        }
        pr->us[pr->n++] = t;
        usleep(10000);
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void run_phase(uint32_t kind, const char *name)
{
    struct phase p = {.n = opt.offers};
    p.rq = calloc((size_t)p.n, sizeof *p.rq);
    p.ok = calloc((size_t)p.n, sizeof *p.ok);
    for (int i = 0; i < p.n; i++)
        make_request(kind, &keys[i % opt.keys], &p.rq[i]);
    struct prober pr = {.running = true};
    pthread_t probe, *cl = calloc((size_t)opt.clients, sizeof *cl);
    pthread_create(&probe, NULL, prober_main, &pr);
    uint64_t t0 = mono_us();
    for (int c = 0; c < opt.clients; c++)
        pthread_create(&cl[c], NULL, client_main, &p);
    for (int c = 0; c < opt.clients; c++)
        pthread_join(cl[c], NULL);
    double secs = (double)(mono_us() - t0) / 1e6;
    __atomic_store_n(&pr.running, false, __ATOMIC_RELEASE);
    pthread_join(probe, NULL);
    /* Every accepted offer must be in the store. */
    struct lp_store *st = lp_solver_store(solver);
    int lost = 0;
    for (int i = 0; i < p.n; i++) {
        if (!p.ok[i])
            continue;
        struct lp_store_offer o;
        struct lp_store_error e;
        if (st->ops->offer_get(st, kind, p.rq[i].id, &o, &e) != LP_STORE_OK)
            lost++;
        else
            lp_store_offer_release(&o);
    }
    qsort(pr.us, pr.n, sizeof *pr.us, cmp_u64);
    double p50 = pr.n ? (double)pr.us[pr.n / 2] / 1000 : -1;
    double p99 = pr.n ? (double)pr.us[(pr.n * 99) / 100] / 1000 : -1;
    double mx = pr.n ? (double)pr.us[pr.n - 1] / 1000 : -1;
    printf("%-9s %8d %9.0f %8d %7d %5d   %7.2f %7.2f %8.2f %6d\n", name, p.accepted,
           p.accepted / secs, p.refused, p.failed, lost, p50, p99, mx, pr.failed);
    fflush(stdout);
    for (int i = 0; i < p.n; i++)
        free(p.rq[i].bytes);
    free(p.rq);
    free(p.ok);
    free(pr.us);
    free(cl);
}

static void loadavg(const char *when)
{
    FILE *f = fopen("/proc/loadavg", "r");
    char line[128] = "?";
    if (f && fgets(line, sizeof line, f))
        line[strcspn(line, "\n")] = '\0';
    if (f)
        fclose(f);
    printf("load average %s: %s (%ld CPUs online)\n", when, line, sysconf(_SC_NPROCESSORS_ONLN));
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--offers") == 0)
            opt.offers = v;
        else if (strcmp(argv[i], "--keys") == 0)
            opt.keys = v;
        else if (strcmp(argv[i], "--clients") == 0)
            opt.clients = v;
        else if (strcmp(argv[i], "--idle") == 0)
            opt.idle = v;
        else if (strcmp(argv[i], "--http-threads") == 0)
            opt.http_threads = v;
        else if (strcmp(argv[i], "--module-check") == 0 && (v == 0 || v == 1) &&
                 (argv[i + 1][0] == '0' || argv[i + 1][0] == '1'))
            opt.module_check = v;
        else
            die("usage: bench_solver_load [--offers N] [--keys K] [--clients C] [--idle I] "
                "[--http-threads T] [--module-check 0|1]");
    }
    if (opt.offers < 1 || opt.keys < 1 || opt.clients < 1 || opt.idle < 0 || opt.http_threads < 1)
        die("every option takes a positive number");
}

/* A git repository dir/module whose template is a fixed spec (so it renders to itself). */
static void make_module(const char *dir)
{
    static const char raw[] = "{\"job\":{\"APIVersion\":\"V1beta1\",\"Spec\":{\"Docker\":"
                              "{\"Entrypoint\":[\"echo\",\"bench\"],\"Image\":\"busybox:1\"}}}}";
    struct lp_wire_error we;
    if (lp_wire_json_canonical(raw, strlen(raw), &module_spec, &we) != 0)
        die(we.message);
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "%s/module", dir);
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && cd '%s' && printf '%%s' '%s' > %s && git init -q "
             "-b main && git add %s && git -c user.name=b -c user.email=b@example.org commit -q "
             "-m bench",
             path, path, module_spec, LP_MODULE_TEMPLATE_FILE, LP_MODULE_TEMPLATE_FILE);
    if (system(cmd) != 0)
        die("making the bench's git module failed (is git installed?)");
    snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD", path);
    FILE *p = popen(cmd, "r");
    if (!p || fscanf(p, "%40s", module_commit) != 1)
        die("git rev-parse failed");
    pclose(p);
    snprintf(module_repo, sizeof module_repo, "file://%s", path);
}

static void start_solver(const char *dir)
{
    char db[128], files[128], modules[128], err[512];
    snprintf(db, sizeof db, "%s/solver.db", dir);
    snprintf(files, sizeof files, "%s/files", dir);
    snprintf(modules, sizeof modules, "%s/modules", dir);
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.db_path = db;
    cfg.files_dir = files;
    cfg.modules_dir = opt.module_check ? modules : NULL;
    cfg.create_db = true;
    /* Limits out of the way of the load, but still checked on every request. */
    cfg.rate_limit = 1000000000;
    cfg.max_open_job_offers = cfg.max_open_resource_offers = 100000000;
    cfg.max_pending_jobs = 100000000;
    cfg.http_threads = (uint64_t)opt.http_threads;
    cfg.match_timeout_ms = 3600000;
    struct lp_key sk;
    lp_key_generate(&sk);
    if (lp_solver_open(&cfg, &sk, &solver, err, sizeof err) != 0 ||
        lp_solver_http_start(solver, "127.0.0.1:0", &http, err, sizeof err) != 0)
        die(err);
    port = lp_solver_http_port(http);
    snprintf(host, sizeof host, "127.0.0.1:%u", port);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    char dir[] = "/tmp/lp-bench-solver-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp");
    make_module(dir);
    start_solver(dir);
    keys = calloc((size_t)opt.keys, sizeof *keys);
    for (int i = 0; i < opt.keys; i++)
        lp_key_generate(&keys[i]);
    int *idle = calloc((size_t)opt.idle + 1, sizeof *idle), held = 0;
    for (int i = 0; i < opt.idle; i++) {
        char from[16];
        snprintf(from, sizeof from, "127.0.0.%d", 2 + i / 60);
        idle[i] = dial(from);
        held += idle[i] >= 0;
    }
    loadavg("before");
    printf("%d offers per kind from %d keys, %d client connections, %d idle connections held, "
           "%d HTTP threads, module check %s\n",
           opt.offers, opt.keys, opt.clients, held, opt.http_threads,
           opt.module_check ? "on" : "off");
    printf("%-9s %8s %9s %8s %7s %5s   %7s %7s %8s %6s\n", "kind", "accepted", "offers/s",
           "refused", "failed", "lost", "hz p50", "hz p99", "hz max", "hz err");
    run_phase(LP_WIRE_RESOURCE_OFFER, "resource");
    run_phase(LP_WIRE_JOB_OFFER, "job");
    loadavg("after");
    printf("(hz: /healthz latency in ms during the phase)\n");
    for (int i = 0; i < opt.idle; i++) {
        if (idle[i] >= 0)
            close(idle[i]);
    }
    free(idle);
    lp_solver_interrupt(solver);
    lp_solver_http_stop(http);
    lp_solver_close(solver);
    free(keys);
    free(module_spec);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
