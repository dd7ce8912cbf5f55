/* Attack: a module that asks for network reaches what it must not. Run against
 * executor/process through its plugin ABI, in a world this test builds for itself:
 *
 *   the test's own network namespace ("the host")        a second namespace ("outside")
 *     lo 127.0.0.1: a TCP server (the host's loopback)     203.0.113.2: a server, the internet
 *     an abstract unix socket "@lilypad-sec-net-PID"       203.0.113.3: another, not a domain
 *     veth 203.0.113.1 (the host's own address) ---------- 10.199.0.2: a server on a private
 *     /etc/hosts (a private mount): the test's names          address
 *
 * Each job runs a static probe (tests/security/net_probe.c, in its /inputs) against every
 * address and prints what answered. What must happen:
 *   - a job without network reaches nothing (its namespace has only lo);
 *   - a job with network reaches the outside, and neither the host (loopback, through
 *     slirp4netns's gateway or its own address, nor its unix sockets) nor a private address,
 *     and cannot change its own routes;
 *   - a job whose module names domains reaches those names only, by name, with no DNS;
 *   - an executor without slirp4netns gives no network and says how to install it.
 * The servers count their connections, so "unreachable" is also seen from their side.
 * Needs root (namespaces, veth), iproute2, bubblewrap, busybox-static, slirp4netns, nftables:
 * without root or namespaces it skips with the reason; a missing package is a failure with
 * the install hint (scripts/install-deps.sh installs them). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <lilypad/executor.h>

#include "config/config.h"
#include "host/host.h"
#include "image/fs_tree.h"
#include "image/store.h"
#include "loader/backend.h"

#include "../unit/skip_reason.h"

const struct lp_plugin *lp_plugin_descriptor_executor_process(void);

#define IMAGE         "lilypad-example/cowsay:v1"
#define HOST_ADDR     "203.0.113.1" /* the host's end of the veth: one of its own addresses */
#define OUTSIDE_ADDR  "203.0.113.2"
#define OTHER_ADDR    "203.0.113.3"
#define PRIVATE_ADDR  "10.199.0.2"
#define SLIRP_GATEWAY "10.0.2.2" /* slirp4netns's way to the host's 127.0.0.1, if let */
#define PROBE_PATH    LP_BINARY_DIR "/tests/security/net_probe"

static char tmp[64], inputs[96], unix_name[64], ip_tool[32];
static int host_port, world_port;
static pid_t world_pid;

/* Connections each server took, shared with the world's process. */
struct hits {
    atomic_int host_tcp, host_unix, outside, other, private_addr;
};
static struct hits *hits;

struct exe {
    struct lp_config *cfg;
    struct lp_config_values *values;
    struct lp_host_binding host;
    const struct lp_executor_ops *ops;
    void *inst;
};
static struct exe E;

/* ---- the world ------------------------------------------------------------------------------ */
static int sh(const char *fmt, ...) LP_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "test_network: `%s` failed (%d)\n", cmd, rc);
    return rc;
}

static void greet(int c, const char *text)
{
    (void)!write(c, text, strlen(text));
    close(c);
}

/* The outside's servers: one listener on every address of its namespace, counting by the
 * address a connection came in on. Runs in the world's process until killed. */
static void serve_world(int s)
{
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        struct sockaddr_in me;
        socklen_t len = sizeof me;
        char addr[INET_ADDRSTRLEN] = "?", text[96];
        if (getsockname(c, (struct sockaddr *)&me, &len) == 0)
            inet_ntop(AF_INET, &me.sin_addr, addr, sizeof addr);
        if (strcmp(addr, OUTSIDE_ADDR) == 0)
            atomic_fetch_add(&hits->outside, 1);
        else if (strcmp(addr, OTHER_ADDR) == 0)
            atomic_fetch_add(&hits->other, 1);
        else if (strcmp(addr, PRIVATE_ADDR) == 0)
            atomic_fetch_add(&hits->private_addr, 1);
        snprintf(text, sizeof text, "hello from the outside at %s\n", addr);
        greet(c, text);
    }
}

static int listen_tcp(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    return s;
}

/* The outside: a namespace of its own, joined to ours by a veth pair. Its process serves
 * until the test ends (it dies with the test). */
static const char *make_world(void)
{
    static char why[160];
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0)
        return "pipe failed";
    world_pid = fork();
    if (world_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
        (void)!write(up[1], &ok, 1);
        if (ok != 'y' || read(down[0], &ok, 1) != 1 || ok != 'g')
            _exit(1);
        int port = 0;
        if (sh("%s link set lo up && %s link set lpnw up && "
               "%s addr add " OUTSIDE_ADDR "/32 dev lpnw && %s addr add " OTHER_ADDR
               "/32 dev lpnw && %s addr add " PRIVATE_ADDR "/32 dev lpnw && "
               "%s route add " HOST_ADDR "/32 dev lpnw && %s route add default via " HOST_ADDR,
               ip_tool, ip_tool, ip_tool, ip_tool, ip_tool, ip_tool, ip_tool) != 0)
            _exit(1);
        int s = listen_tcp(&port);
        (void)!write(up[1], &port, sizeof port);
        if (s < 0)
            _exit(1);
        serve_world(s);
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    char ok = 0;
    if (world_pid < 0 || read(up[0], &ok, 1) != 1 || ok != 'y')
        return "cannot make a second network namespace";
    if (sh("%s link add lpnh type veth peer name lpnw netns %ld", ip_tool, (long)world_pid) != 0 ||
        sh("%s addr add " HOST_ADDR " peer " OUTSIDE_ADDR "/32 dev lpnh && %s link set lpnh up && "
           "%s route add " OTHER_ADDR "/32 dev lpnh && %s route add " PRIVATE_ADDR "/32 dev lpnh",
           ip_tool, ip_tool, ip_tool, ip_tool) != 0) {
        snprintf(why, sizeof why, "cannot make a veth pair between two namespaces");
        return why;
    }
    (void)!write(down[1], "g", 1);
    int port = 0;
    if (read(up[0], &port, sizeof port) != (ssize_t)sizeof port || port <= 0)
        return "the outside's server did not start";
    world_port = port;
    return NULL;
}

/* The host's servers: TCP on every address of its namespace (so on 127.0.0.1 and on
 * HOST_ADDR), and an abstract unix socket. */
static int host_tcp = -1, host_unix = -1;

static void *serve_host_tcp(void *arg)
{
    (void)arg;
    int c;
    while ((c = accept(host_tcp, NULL, NULL)) >= 0) {
        atomic_fetch_add(&hits->host_tcp, 1);
        greet(c, "hello from the host\n");
    }
    return NULL;
}

static void *serve_host_unix(void *arg)
{
    (void)arg;
    int c;
    while ((c = accept(host_unix, NULL, NULL)) >= 0) {
        atomic_fetch_add(&hits->host_unix, 1);
        greet(c, "hello from a host unix socket\n");
    }
    return NULL;
}

static const char *start_host_servers(void)
{
    host_tcp = listen_tcp(&host_port);
    if (host_tcp < 0)
        return "cannot listen on TCP";
    snprintf(unix_name, sizeof unix_name, "lilypad-sec-net-%ld", (long)getpid());
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path + 1, unix_name, strlen(unix_name));
    host_unix = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (host_unix < 0 ||
        bind(host_unix, (struct sockaddr *)&a,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(unix_name))) != 0 ||
        listen(host_unix, 16) != 0)
        return "cannot listen on an abstract unix socket";
    pthread_t t;
    if (pthread_create(&t, NULL, serve_host_tcp, NULL) != 0 ||
        pthread_create(&t, NULL, serve_host_unix, NULL) != 0)
        return "cannot start the host's servers";
    return NULL;
}

/* The host as the test sees it: its own network namespace (so nothing here touches the
 * machine's), a private mount namespace with the test's /etc/hosts, and the outside. NULL, or
 * why the test cannot run here. */
static const char *make_host(void)
{
    static char why[200];
    if (geteuid() != 0)
        return "needs root (network namespaces, a veth pair)";
    const char *ips[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
    for (size_t i = 0; i < 4 && !ip_tool[0]; i++)
        if (access(ips[i], X_OK) == 0)
            snprintf(ip_tool, sizeof ip_tool, "%s", ips[i]);
    if (!ip_tool[0])
        return "no ip command (apt-get install iproute2)";
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
        snprintf(why, sizeof why, "cannot make network and mount namespaces: %s", strerror(errno));
        return why;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return "cannot make the mounts private";
    hits = mmap(NULL, sizeof *hits, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (hits == MAP_FAILED)
        return "mmap failed";
    memset(hits, 0, sizeof *hits);
    if (sh("%s link set lo up", ip_tool) != 0)
        return "cannot bring up the loopback";
    return make_world();
}

/* ---- the executor ------------------------------------------------------------------------- */
static void open_instance(struct exe *x, const char *jobs, const char *settings)
{
    const struct lp_plugin *p = lp_plugin_descriptor_executor_process();
    char text[768], err[512];
    snprintf(text, sizeof text,
             "executor: { process: { image_store = \"%s/images\"; work_dir = \"%s/%s\"; "
             "kill_grace = \"200ms\"; %s }; };",
             tmp, tmp, jobs, settings);
    memset(x, 0, sizeof *x);
    if (lp_config_load_string(text, "test.cfg", &x->cfg, err, sizeof err) != 0 ||
        lp_config_apply_schema(x->cfg, "executor.process", p->config_schema, p->config_size, NULL,
                               &x->values, err, sizeof err) != 0)
        fail_msg("config: %s", err);
    lp_host_bind(&x->host, "executor", "process", x->cfg, "none");
    x->ops = p->ops;
    assert_int_equal(x->ops->life.create(&x->host.host, lp_config_values_data(x->values), &x->inst),
                     LP_OK);
}

static void close_instance(struct exe *x)
{
    if (x->inst)
        x->ops->life.destroy(x->inst);
    lp_config_values_free(x->values);
    lp_config_free(x->cfg);
    memset(x, 0, sizeof *x);
}

static int group_setup(void **state)
{
    (void)state;
    const char *tools[][2] = {{"/usr/bin/bwrap", "bubblewrap"},
                              {"/usr/bin/slirp4netns", "slirp4netns"},
                              {"/usr/sbin/nft", "nftables"},
                              {PROBE_PATH, NULL}};
    for (size_t i = 0; i < 4; i++) {
        if (access(tools[i][0], X_OK) != 0) {
            if (tools[i][1])
                fprintf(stderr,
                        "test_network: %s is missing: apt-get install %s "
                        "(scripts/install-deps.sh)\n",
                        tools[i][0], tools[i][1]);
            else
                fprintf(stderr,
                        "test_network: %s is missing: build the security_net_probe "
                        "target\n",
                        tools[i][0]);
            return -1;
        }
    }
    strcpy(tmp, "/tmp/lp-sec-net-XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return -1;
    char cmd[512], err[1024], dir[128], file[128];
    snprintf(cmd, sizeof cmd,
             "'%s/scripts/build-example-images.sh' '%s/images-out' --no-import >/dev/null",
             LP_SOURCE_DIR, tmp);
    if (system(cmd) != 0) {
        fprintf(stderr, "test_network: building the example images failed (needs "
                        "busybox-static and tar)\n");
        return -1;
    }
    struct lp_image_store store;
    snprintf(dir, sizeof dir, "%s/images", tmp);
    snprintf(file, sizeof file, "%s/images-out/cowsay.tar", tmp);
    struct lp_image_import_result *res = calloc(1, sizeof *res);
    if (res == NULL || lp_image_store_open(&store, dir, err, sizeof err) != 0 ||
        lp_image_import(&store, file, NULL, res, err, sizeof err) != 0) {
        fprintf(stderr, "test_network: import: %s\n", err);
        free(res);
        return -1;
    }
    free(res);
    /* The probe, in the job's read-only /inputs. */
    snprintf(inputs, sizeof inputs, "%s/inputs", tmp);
    if (mkdir(inputs, 0755) != 0 || sh("cp '%s' '%s/net_probe'", PROBE_PATH, inputs) != 0)
        return -1;
    /* The names the domain case uses, as this machine's resolver answers them. */
    char hosts[128];
    snprintf(hosts, sizeof hosts, "%s/hosts", tmp);
    FILE *f = fopen(hosts, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "127.0.0.1 localhost\n" OUTSIDE_ADDR " outside.lilypad.test\n" OTHER_ADDR
               " other.lilypad.test\n" PRIVATE_ADDR " private.lilypad.test\n"
               "127.0.0.1 loop.lilypad.test\n" HOST_ADDR " host.lilypad.test\n");
    fclose(f);
    if (mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL) != 0) {
        fprintf(stderr, "test_network: cannot bind %s over /etc/hosts: %s\n", hosts,
                strerror(errno));
        return -1;
    }
    const char *why = start_host_servers();
    if (why != NULL) {
        fprintf(stderr, "test_network: %s\n", why);
        return -1;
    }
    open_instance(&E, "jobs", "");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    close_instance(&E);
    umount("/etc/hosts");
    if (world_pid > 0) {
        kill(world_pid, SIGKILL);
        waitpid(world_pid, NULL, 0);
    }
    lp_fs_remove_tree(tmp);
    return 0;
}

/* ---- running a probe job -------------------------------------------------------------------- */
struct buf {
    char data[16384];
    size_t len;
};

static int collect(void *arg, const void *data, size_t len)
{
    struct buf *b = arg;
    size_t room = sizeof b->data - 1 - b->len;
    if (len > room)
        len = room;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs `sh -c script` to its end; its stdout in out (stderr appended). */
static void run_job(const struct exe *x, const char *script, const struct lp_job_limits *limits,
                    struct buf *out)
{
    const char *argv[] = {"/bin/sh", "-c", script};
    struct lp_job_spec spec = {
        .struct_size = sizeof spec, .image = IMAGE, .entrypoint = argv, .entrypoint_count = 3};
    struct lp_job_handle h;
    if (x->ops->submit(x->inst, &spec, inputs, NULL, limits, &h) != LP_OK)
        fail_msg("submit: %s", x->ops->life.last_error(x->inst));
    struct lp_job_status st;
    uint64_t t0 = now_ms();
    for (;;) {
        memset(&st, 0, sizeof st);
        st.struct_size = sizeof st;
        assert_int_equal(x->ops->wait(x->inst, &h, 1000, &st), LP_OK);
        if (st.state != LP_JOB_PENDING && st.state != LP_JOB_RUNNING)
            break;
        if (now_ms() - t0 > 120000)
            fail_msg("job still running after 120 s");
    }
    memset(out, 0, sizeof *out);
    assert_int_equal(x->ops->logs(x->inst, &h, LP_STREAM_STDOUT, collect, out), LP_OK);
    assert_int_equal(x->ops->logs(x->inst, &h, LP_STREAM_STDERR, collect, out), LP_OK);
    assert_int_equal(x->ops->release(x->inst, &h), LP_OK);
    printf("--- job output (state %u, exit %d%s%s):\n%s", st.state, st.exit_code,
           st.message[0] ? ", " : "", st.message, out->data);
    if (st.state != LP_JOB_EXITED || st.exit_code != 0)
        fail_msg("the probe job did not run to a clean exit: %s", st.message);
}

/* The probe's line for target ("tcp ADDR", then ":PORT"; "unix @") must say open (want_open)
 * or blocked. */
static void expect(const struct buf *out, const char *target, bool want_open)
{
    size_t n = strlen(target);
    for (const char *line = out->data; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n && strncmp(line, target, n) == 0 && (line[n] == ':' || target[n - 1] == '@')) {
            const char *word = want_open ? " open:" : " blocked:";
            const char *at = strstr(line, word);
            if (at != NULL && at < line + len)
                return;
            break;
        }
        line = end ? end + 1 : NULL;
    }
    fail_msg("\"%s\" should be %s; the job says:\n%s", target,
             want_open ? "reachable" : "unreachable", out->data);
}

/* Every probe, one per line. */
static void probe_script(char *s, size_t len, const char *extra)
{
    snprintf(s, len,
             "P=/inputs/net_probe; "
             "$P tcp " OUTSIDE_ADDR " %d; $P tcp " PRIVATE_ADDR " %d; "
             "$P tcp 127.0.0.1 %d; $P tcp " SLIRP_GATEWAY " %d; $P tcp " HOST_ADDR " %d; "
             "$P unix %s; %s"
             "echo IFACES $(tail -n +3 /proc/net/dev | cut -d: -f1)",
             world_port, world_port, host_port, host_port, host_port, unix_name, extra);
}

static void expect_host_untouched(const struct hits *before)
{
    assert_int_equal(atomic_load(&hits->host_tcp), atomic_load(&before->host_tcp));
    assert_int_equal(atomic_load(&hits->host_unix), atomic_load(&before->host_unix));
    assert_int_equal(atomic_load(&hits->private_addr), atomic_load(&before->private_addr));
}

static void snapshot(struct hits *h)
{
    atomic_store(&h->host_tcp, atomic_load(&hits->host_tcp));
    atomic_store(&h->host_unix, atomic_load(&hits->host_unix));
    atomic_store(&h->outside, atomic_load(&hits->outside));
    atomic_store(&h->other, atomic_load(&hits->other));
    atomic_store(&h->private_addr, atomic_load(&hits->private_addr));
}

/* ---- cases ------------------------------------------------------------------------------------
 */
/* The servers answer this test itself: a blocked probe below means the job's network, not a
 * dead server. */
static void test_the_servers_answer_from_the_host(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s tcp " OUTSIDE_ADDR " %d | grep -q 'open: hello from the outside' && "
             "%s tcp " PRIVATE_ADDR " %d | grep -q 'open: hello' && "
             "%s tcp 127.0.0.1 %d | grep -q 'open: hello from the host' && "
             "%s unix %s | grep -q 'open: hello from a host unix'",
             PROBE_PATH, world_port, PROBE_PATH, world_port, PROBE_PATH, host_port, PROBE_PATH,
             unix_name);
    assert_int_equal(system(cmd), 0);
}

/* No network asked: nothing but its own loopback. */
static void test_no_network_by_default(void **state)
{
    (void)state;
    struct hits before;
    snapshot(&before);
    char script[1024];
    probe_script(script, sizeof script, "");
    struct lp_job_limits none = {.struct_size = sizeof none};
    struct buf out;
    run_job(&E, script, &none, &out);
    expect(&out, "tcp " OUTSIDE_ADDR, false);
    expect(&out, "tcp " PRIVATE_ADDR, false);
    expect(&out, "tcp 127.0.0.1", false);
    expect(&out, "tcp " HOST_ADDR, false);
    expect(&out, "unix @", false);
    assert_non_null(strstr(out.data, "IFACES lo\n"));
    expect_host_untouched(&before);
    assert_int_equal(atomic_load(&hits->outside), atomic_load(&before.outside));
}

/* Network asked: out, and only out. The attack: reach the host's loopback services (the
 * solver, a wallet, a database), directly, through slirp4netns's gateway, or at the host's
 * own address; its abstract unix sockets; a private address on its networks; or change the
 * namespace's routes to get there. */
static void test_egress_reaches_the_outside_only(void **state)
{
    (void)state;
    struct hits before;
    snapshot(&before);
    char script[1024];
    probe_script(script, sizeof script,
                 "ip route add " PRIVATE_ADDR "/32 via " SLIRP_GATEWAY " 2>&1 | head -n 1; "
                 "ip link set lo down 2>&1 | head -n 1; ");
    struct lp_job_limits l = {.struct_size = sizeof l, .network = true};
    struct buf out;
    run_job(&E, script, &l, &out);
    expect(&out, "tcp " OUTSIDE_ADDR, true);
    assert_non_null(strstr(out.data, "hello from the outside at " OUTSIDE_ADDR));
    expect(&out, "tcp " PRIVATE_ADDR, false);
    expect(&out, "tcp 127.0.0.1", false);
    expect(&out, "tcp " SLIRP_GATEWAY, false);
    expect(&out, "tcp " HOST_ADDR, false);
    expect(&out, "unix @", false);
    /* The namespace is not the job's to change. */
    assert_null(strstr(out.data, "IFACES lo\n"));
    assert_true(strstr(out.data, "Operation not permitted") != NULL ||
                strstr(out.data, "Permission denied") != NULL);
    expect_host_untouched(&before);
    assert_int_equal(atomic_load(&hits->outside), atomic_load(&before.outside) + 1);
}

/* Network asked for named domains: those names, by name, and nothing else; a name that
 * resolves to the host or a private address stays unreachable; no DNS to ask for others. */
static void test_domains_only(void **state)
{
    (void)state;
    struct hits before;
    snapshot(&before);
    char script[2048], extra[1024];
    snprintf(extra, sizeof extra,
             "echo x | nc -w 3 outside.lilypad.test %d | sed 's/^/BYNAME /'; "
             "$P tcp " OTHER_ADDR " %d; "
             "nc -w 3 other.lilypad.test %d </dev/null 2>&1 | sed 's/^/OTHERNAME /'; "
             "nc -w 3 private.lilypad.test %d </dev/null 2>&1 | sed 's/^/PRIVNAME /'; "
             "$P tcp 10.0.2.3 53; ",
             world_port, world_port, world_port, world_port);
    probe_script(script, sizeof script, extra);
    const char *domains[] = {"outside.lilypad.test", "private.lilypad.test", "loop.lilypad.test",
                             "host.lilypad.test"};
    struct lp_job_limits l = {.struct_size = sizeof l,
                              .network = true,
                              .network_domains = domains,
                              .network_domain_count = 4};
    struct buf out;
    run_job(&E, script, &l, &out);
    assert_non_null(strstr(out.data, "BYNAME hello from the outside at " OUTSIDE_ADDR));
    expect(&out, "tcp " OUTSIDE_ADDR, true);
    expect(&out, "tcp " OTHER_ADDR, false);
    assert_null(strstr(out.data, "OTHERNAME hello"));
    assert_null(strstr(out.data, "PRIVNAME hello"));
    expect(&out, "tcp 10.0.2.3", false); /* slirp4netns's DNS forwarder */
    expect(&out, "tcp " PRIVATE_ADDR, false);
    expect(&out, "tcp 127.0.0.1", false);
    expect(&out, "tcp " HOST_ADDR, false);
    expect(&out, "unix @", false);
    expect_host_untouched(&before);
    assert_int_equal(atomic_load(&hits->other), atomic_load(&before.other));
    assert_int_equal(atomic_load(&hits->outside), atomic_load(&before.outside) + 2);
}

/* A domain list that would smuggle text into the job's /etc/hosts is refused. */
static void test_bad_domain_refused(void **state)
{
    (void)state;
    const char *domains[] = {"outside.lilypad.test\n203.0.113.3 evil"};
    struct lp_job_limits l = {.struct_size = sizeof l,
                              .network = true,
                              .network_domains = domains,
                              .network_domain_count = 1};
    const char *argv[] = {"/bin/true"};
    struct lp_job_spec spec = {
        .struct_size = sizeof spec, .image = IMAGE, .entrypoint = argv, .entrypoint_count = 1};
    struct lp_job_handle h;
    assert_int_equal(E.ops->submit(E.inst, &spec, NULL, NULL, &l, &h), LP_EINVAL);
    assert_non_null(strstr(E.ops->life.last_error(E.inst), "is not a host name"));
}

/* Without slirp4netns (or with network = "none") the executor claims no network, and a job
 * asking for it is refused with how to install it, never run on the host's network. */
static void test_no_tool_no_network(void **state)
{
    (void)state;
    struct exe x;
    open_instance(&x, "jobs-notool", "slirp4netns = \"/nonexistent/slirp4netns\";");
    struct lp_executor_info info = {.struct_size = sizeof info};
    assert_int_equal(x.ops->describe(x.inst, &info), LP_OK);
    printf("without slirp4netns: attach 0x%x, runtime \"%s\"\n", info.attach, info.runtime);
    assert_int_equal(info.attach & (LP_EXEC_ATTACH_NETWORK | LP_EXEC_ATTACH_EGRESS), 0);
    assert_non_null(strstr(info.runtime, "apt-get install slirp4netns"));
    const char *argv[] = {"/bin/true"};
    struct lp_job_spec spec = {
        .struct_size = sizeof spec, .image = IMAGE, .entrypoint = argv, .entrypoint_count = 1};
    struct lp_job_limits l = {.struct_size = sizeof l, .network = true};
    struct lp_job_handle h;
    assert_int_equal(x.ops->submit(x.inst, &spec, NULL, NULL, &l, &h), LP_EUNAVAILABLE);
    assert_non_null(strstr(x.ops->life.last_error(x.inst), "apt-get install slirp4netns"));
    close_instance(&x);

    open_instance(&x, "jobs-none", "network = \"none\";");
    assert_int_equal(x.ops->describe(x.inst, &info), LP_OK);
    assert_int_equal(info.attach & (LP_EXEC_ATTACH_NETWORK | LP_EXEC_ATTACH_EGRESS), 0);
    assert_int_equal(x.ops->submit(x.inst, &spec, NULL, NULL, &l, &h), LP_EUNAVAILABLE);
    close_instance(&x);
}

int main(void)
{
    const char *why = make_host();
    if (why != NULL) {
        printf("test_network: skipped: %s\n", why);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_servers_answer_from_the_host),
        cmocka_unit_test(test_no_network_by_default),
        cmocka_unit_test(test_egress_reaches_the_outside_only),
        cmocka_unit_test(test_domains_only),
        cmocka_unit_test(test_bad_domain_refused),
        cmocka_unit_test(test_no_tool_no_network),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, group_setup, group_teardown));
}
