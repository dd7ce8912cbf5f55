/* The network of a job that asks for one: outbound only, never the provider's own.
 *
 * Each such job gets a network namespace of its own, made by the forked child before it runs
 * bwrap (which then keeps it, --share-net). The namespace is made by the provider's root, so
 * it belongs to the host's user namespace: nothing in the sandbox, which runs in a user
 * namespace of its own with no capability, can change its addresses, routes or firewall.
 * Before the job's first instruction runs, the monitor thread
 *   1. loads an nftables ruleset into it (nft -f, run inside the namespace) that rejects every
 *      IPv6 packet and every IPv4 packet to the host's loopback and own addresses, the host's
 *      own subnets, the private, shared (CGNAT), link-local, multicast and reserved ranges, and,
 *      when the module names domains, every address but theirs;
 *   2. starts slirp4netns on it: user-mode networking that opens ordinary sockets on the host
 *      for the job's connections (--disable-host-loopback: its gateway address is not a way to
 *      the host's 127.0.0.1), with its own sandbox and seccomp filter, and that exits when its
 *      --exit-fd closes (the job ended, or the process running the plugin died).
 * Only then is the child told to go on. The firewall is in the output hook, so it holds for
 * every packet the job sends, whatever device or route it picks.
 *
 * Domains are resolved here, on the host, when the job is submitted: the job's /etc/hosts
 * holds them and their addresses, the firewall admits those addresses only, and slirp4netns's
 * DNS forwarder is off (--disable-dns): a job asking for names outside its list gets no answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "process.h"

#define NET_STEP_TIMEOUT_MS 20000 /* one set-up step: generous, sanitizer builds are slow */
#define MAX_DOMAINS         64
#define MAX_ADDRS_PER_NAME  16
#define SLIRP_DNS           "10.0.2.3" /* slirp4netns's DNS forwarder (default --cidr) */

/* Not global: the host's loopback, and ranges that are only ever someone's local network
 * (RFC 6890). The host's own addresses and subnets are added per job. */
static const char *const local_ranges[] = {
    "0.0.0.0/8",      /* "this network" */
    "10.0.0.0/8",     /* private (and slirp4netns's own gateway, 10.0.2.2) */
    "100.64.0.0/10",  /* shared address space: carrier-grade NAT, some clouds' internals */
    "127.0.0.0/8",    /* loopback */
    "169.254.0.0/16", /* link-local: cloud metadata services live here */
    "172.16.0.0/12",  /* private */
    "192.0.0.0/24",   /* IETF protocol assignments */
    "192.168.0.0/16", /* private */
    "198.18.0.0/15",  /* benchmarking */
    "224.0.0.0/3",    /* multicast, reserved, broadcast */
};

/* ---- names ---------------------------------------------------------------------------------- */
/* A host name (letters, digits, '-', dot-separated labels of 1..63) or an IPv4 literal; a
 * leading "*." or "." (all subdomains, as Bacalhau writes it) is taken off into *base. */
static bool domain_ok(const char *name, const char **base)
{
    if (strncmp(name, "*.", 2) == 0)
        name += 2;
    else if (name[0] == '.')
        name += 1;
    *base = name;
    size_t len = strlen(name), label = 0;
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-')
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0;
}

/* ---- addresses ------------------------------------------------------------------------------- */
struct cidr {
    uint32_t net; /* host order */
    unsigned prefix;
};

static bool parse_cidr(const char *text, struct cidr *out)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%s", text);
    char *slash = strchr(buf, '/');
    out->prefix = 32;
    if (slash != NULL) {
        *slash = '\0';
        out->prefix = (unsigned)atoi(slash + 1);
    }
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1 || out->prefix > 32)
        return false;
    out->net = ntohl(a.s_addr);
    return true;
}

static bool in_cidr(uint32_t addr, const struct cidr *c)
{
    uint32_t mask = c->prefix == 0 ? 0 : ~UINT32_C(0) << (32 - c->prefix);
    return (addr & mask) == (c->net & mask);
}

/* The host's own IPv4 addresses and subnets, as the firewall must refuse them. */
struct host_nets {
    struct cidr items[128];
    size_t count;
};

static void host_nets_load(struct host_nets *h)
{
    h->count = 0;
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) != 0)
        return;
    for (struct ifaddrs *i = list; i != NULL && h->count + 2 <= 128; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
            continue;
        uint32_t addr = ntohl(((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        uint32_t mask = i->ifa_netmask != NULL
                            ? ntohl(((const struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr)
                            : ~UINT32_C(0);
        unsigned prefix = (unsigned)__builtin_popcount(mask);
        h->items[h->count++] = (struct cidr){addr, 32};
        /* A point-to-point peer is the way out, not a neighbour: only the subnet of a
         * broadcast-style interface is a local network. */
        if (prefix > 0 && prefix < 32 && !(i->ifa_flags & IFF_POINTOPOINT))
            h->items[h->count++] = (struct cidr){addr & mask, prefix};
    }
    freeifaddrs(list);
}

/* True when the firewall refuses the address whatever the module lists. */
static bool address_local(uint32_t addr, const struct host_nets *h)
{
    struct cidr c;
    for (size_t i = 0; i < sizeof local_ranges / sizeof local_ranges[0]; i++)
        if (parse_cidr(local_ranges[i], &c) && in_cidr(addr, &c))
            return true;
    for (size_t i = 0; i < h->count; i++)
        if (in_cidr(addr, &h->items[i]))
            return true;
    return false;
}

static void cidr_text(const struct cidr *c, char *out, size_t len)
{
    struct in_addr a = {.s_addr = htonl(c->net)};
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, ip, sizeof ip);
    if (c->prefix == 32)
        snprintf(out, len, "%s", ip);
    else
        snprintf(out, len, "%s/%u", ip, c->prefix);
}

/* ---- files ------------------------------------------------------------------------------------
 */
struct text {
    char *data;
    size_t len, cap;
    bool oom;
};

static void add(struct text *t, const char *fmt, ...) LP_PRINTF(2, 3);
static void add(struct text *t, const char *fmt, ...)
{
    if (t->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n =
            vsnprintf(t->data ? t->data + t->len : NULL, t->data ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = true;
            return;
        }
        if (t->data != NULL && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t ncap = (t->cap ? t->cap * 2 : 4096) + (size_t)n;
        char *d = realloc(t->data, ncap);
        if (d == NULL) {
            t->oom = true;
            return;
        }
        t->data = d;
        t->cap = ncap;
    }
}

static int write_text(const char *path, const struct text *t)
{
    if (t->oom)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < t->len) {
        ssize_t n = write(fd, t->data + done, t->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    fchmod(fd, 0644);
    return close(fd);
}

/* The job's firewall. `allowed` NULL: any address the local ranges leave; else only those
 * (count of them, maybe none). */
static void ruleset(struct text *t, const struct host_nets *host, const uint32_t *allowed,
                    size_t count, bool dns)
{
    const char *reject = "reject with icmpx type admin-prohibited";
    add(t,
        "# The firewall of one lilypad job's network namespace (executor/process).\n"
        "table inet lilypad_job {\n"
        "  chain output {\n"
        "    type filter hook output priority filter; policy accept;\n"
        "    oifname \"lo\" accept\n"
        "    meta nfproto ipv6 %s\n",
        reject);
    if (dns)
        add(t, "    ip daddr " SLIRP_DNS " udp dport 53 accept\n"
               "    ip daddr " SLIRP_DNS " tcp dport 53 accept\n");
    char c[48];
    for (size_t i = 0; i < sizeof local_ranges / sizeof local_ranges[0]; i++)
        add(t, "    ip daddr %s %s\n", local_ranges[i], reject);
    for (size_t i = 0; i < host->count; i++) {
        cidr_text(&host->items[i], c, sizeof c);
        add(t, "    ip daddr %s %s\n", c, reject);
    }
    if (allowed != NULL) {
        for (size_t i = 0; i < count; i++) {
            cidr_text(&(struct cidr){allowed[i], 32}, c, sizeof c);
            add(t, "    ip daddr %s accept\n", c);
        }
        add(t, "    %s\n", reject);
    }
    add(t, "  }\n}\n");
}

/* ---- running nft inside a namespace --------------------------------------------------------- */
/* Runs `nft -f rules` in the network namespace of `target`, or, with target 0, in a fresh one
 * (the probe). 0, or -1 with nft's first line of complaint in err. */
static int run_nft(const char *nft, const char *rules, pid_t target, char *err, size_t len)
{
    int ns = -1, out[2];
    if (target > 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/ns/net", (long)target);
        ns = open(path, O_RDONLY | O_CLOEXEC);
        if (ns < 0) {
            snprintf(err, len, "cannot open the job's network namespace: %s", strerror(errno));
            return -1;
        }
    }
    if (pipe2(out, O_CLOEXEC) != 0) {
        snprintf(err, len, "pipe: %s", strerror(errno));
        if (ns >= 0)
            close(ns);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls: this process has many threads. */
        if ((ns >= 0 ? setns(ns, CLONE_NEWNET) : unshare(CLONE_NEWNET)) != 0)
            _exit(3);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(out[1], 2) < 0)
            _exit(4);
        syscall(SYS_close_range, 3, ~0U, 0);
        char *const argv[] = {(char *)nft, (char *)"-f", (char *)rules, NULL};
        char *const envp[] = {NULL};
        execve(nft, argv, envp);
        _exit(127);
    }
    int saved = errno;
    close(out[1]);
    if (ns >= 0)
        close(ns);
    if (pid < 0) {
        close(out[0]);
        snprintf(err, len, "fork: %s", strerror(saved));
        return -1;
    }
    char msg[512];
    size_t n = 0;
    struct pollfd pfd = {.fd = out[0], .events = POLLIN};
    while (n < sizeof msg - 1 && poll(&pfd, 1, NET_STEP_TIMEOUT_MS) > 0) {
        ssize_t r = read(out[0], msg + n, sizeof msg - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(out[0]);
    msg[n] = '\0';
    kill(pid, SIGKILL); /* gone by now unless it hung */
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    msg[strcspn(msg, "\n")] = '\0';
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
        snprintf(err, len, "cannot enter a network namespace (needs root)");
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        snprintf(err, len, "cannot run %s", nft);
    else
        snprintf(err, len, "%s: %s", nft, msg[0] ? msg : "failed");
    return -1;
}

/* ---- the instance: can it give network at all? ---------------------------------------------- */
void lp_proc_net_setup(struct lp_process *p)
{
    p->net_egress = false;
    const char *why = NULL;
    char detail[300] = "";
    if (strcmp(p->cfg.network, "none") == 0) {
        snprintf(p->net_runtime, sizeof p->net_runtime, "no network (network = \"none\")");
        snprintf(p->net_reason, sizeof p->net_reason,
                 "this executor gives jobs no network (network = \"none\")");
        return;
    }
    if (access(p->cfg.slirp4netns, X_OK) != 0) {
        snprintf(p->net_runtime, sizeof p->net_runtime, "no network: apt-get install slirp4netns");
        snprintf(p->net_reason, sizeof p->net_reason,
                 "slirp4netns not found at %s (apt-get install slirp4netns, or set slirp4netns)",
                 p->cfg.slirp4netns);
        why = p->net_reason;
    } else if (access(p->cfg.nft, X_OK) != 0) {
        snprintf(p->net_runtime, sizeof p->net_runtime, "no network: apt-get install nftables");
        snprintf(p->net_reason, sizeof p->net_reason,
                 "nft not found at %s (apt-get install nftables, or set nft)", p->cfg.nft);
        why = p->net_reason;
    } else {
        /* The real thing: the job's own ruleset, loaded into a throwaway namespace. */
        static atomic_uint probes;
        char rules[PATH_MAX + 64];
        snprintf(rules, sizeof rules, "%s/.net-probe-%ld-%u.nft", p->work_dir, (long)getpid(),
                 atomic_fetch_add(&probes, 1) + 1);
        struct host_nets host;
        host_nets_load(&host);
        struct text t = {0};
        ruleset(&t, &host, NULL, 0, true);
        int rc = write_text(rules, &t);
        free(t.data);
        if (rc != 0)
            snprintf(detail, sizeof detail, "cannot write %s: %s", rules, strerror(errno));
        else if (run_nft(p->cfg.nft, rules, 0, detail, sizeof detail) == 0)
            p->net_egress = true;
        unlink(rules);
        if (!p->net_egress) {
            snprintf(p->net_runtime, sizeof p->net_runtime, "no network: %s",
                     geteuid() != 0 ? "needs root" : "nft failed (see log)");
            snprintf(p->net_reason, sizeof p->net_reason,
                     "the job's firewall cannot be set up here: %s", detail);
            why = p->net_reason;
        }
    }
    if (p->net_egress) {
        snprintf(p->net_runtime, sizeof p->net_runtime, "egress by slirp4netns");
        p->net_reason[0] = '\0';
    } else {
        p->host->log(p->host, LP_LOG_WARN, "jobs that ask for network will be refused: %s", why);
    }
}

/* ---- one job -----------------------------------------------------------------------------------
 */
static int net_error(struct lp_process *p, struct lp_proc_job *job, int rc, const char *fmt, ...)
    LP_PRINTF(4, 5);
static int net_error(struct lp_process *p, struct lp_proc_job *job, int rc, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lp_proc_set_error(p, "job %s: %s", job->id, msg);
    return rc;
}

static int push_arg(struct lp_proc_net *net, const char *a)
{
    if (net->argc + 1 >= sizeof net->args / sizeof net->args[0])
        return -1;
    net->args[net->argc] = strdup(a);
    if (net->args[net->argc] == NULL)
        return -1;
    net->args[++net->argc] = NULL;
    return 0;
}

/* Binds `file` over the image's `dest` (under /etc) where bwrap can put it: over a file the
 * image has, or into a writable root with an /etc folder. */
static int bind_over(struct lp_proc_net *net, const struct lp_proc_job *job, const char *image_root,
                     const char *file, const char *dest)
{
    char path[PATH_MAX + 32];
    struct stat st;
    snprintf(path, sizeof path, "%s%s", image_root, dest);
    bool exists = lstat(path, &st) == 0 && S_ISREG(st.st_mode);
    snprintf(path, sizeof path, "%s/etc", image_root);
    bool etc = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
    if (!exists && !(etc && job->rootfs_mode != LP_ROOTFS_READONLY))
        return 0;
    if (push_arg(net, "--ro-bind") != 0 || push_arg(net, file) != 0 || push_arg(net, dest) != 0)
        return -1;
    return 0;
}

int lp_proc_net_prepare(struct lp_process *p, struct lp_proc_job *job, const char *image_root)
{
    struct lp_proc_net *net = &job->net;
    net->sync[0] = net->sync[1] = net->slirp_exit = -1;
    net->prepared = true;
    if (!p->net_egress)
        return net_error(p, job, LP_EUNAVAILABLE, "the job asks for network and %s", p->net_reason);
    const struct lp_job_limits *l = &job->limits;
    size_t ndomains = l->network_domains != NULL ? l->network_domain_count : 0;
    if (ndomains > MAX_DOMAINS)
        return net_error(p, job, LP_EINVAL, "%zu network domains; at most %d", ndomains,
                         MAX_DOMAINS);
    struct host_nets host;
    host_nets_load(&host);
    struct text hosts = {0}, resolv = {0}, rules = {0};
    uint32_t *allowed = NULL;
    size_t nallowed = 0;
    int rc = LP_ERR;
    if (ndomains > 0) {
        allowed = calloc(ndomains * MAX_ADDRS_PER_NAME, sizeof *allowed);
        if (allowed == NULL)
            return net_error(p, job, LP_ERR, "out of memory");
        add(&hosts, "# The names this job may reach, resolved when it started (lilypad).\n"
                    "127.0.0.1 localhost\n::1 localhost\n");
        for (size_t i = 0; i < ndomains; i++) {
            const char *name = l->network_domains[i], *base;
            if (name == NULL || !domain_ok(name, &base)) {
                rc = net_error(p, job, LP_EINVAL,
                               "network domain \"%.80s\" is not a host name or IPv4 address",
                               name ? name : "(null)");
                goto out;
            }
            if (base != name)
                p->host->log(p->host, LP_LOG_WARN,
                             "job %s: network domain %s: only %s itself is reachable (names "
                             "are resolved when the job starts; subdomains cannot be)",
                             job->id, name, base);
            struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
            int e = getaddrinfo(base, NULL, &hints, &res);
            if (e != 0) {
                p->host->log(p->host, LP_LOG_WARN, "job %s: network domain %s does not resolve: %s",
                             job->id, base, gai_strerror(e));
                continue;
            }
            size_t per_name = 0;
            for (struct addrinfo *a = res; a != NULL && per_name < MAX_ADDRS_PER_NAME;
                 a = a->ai_next) {
                uint32_t ip = ntohl(((const struct sockaddr_in *)a->ai_addr)->sin_addr.s_addr);
                char text[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &((const struct sockaddr_in *)a->ai_addr)->sin_addr, text,
                          sizeof text);
                if (address_local(ip, &host)) {
                    p->host->log(p->host, LP_LOG_WARN,
                                 "job %s: network domain %s resolves to %s, on this machine or "
                                 "a local network: not reachable",
                                 job->id, base, text);
                    continue;
                }
                bool seen = false;
                for (size_t k = 0; k < nallowed; k++)
                    seen = seen || allowed[k] == ip;
                if (!seen)
                    allowed[nallowed++] = ip;
                add(&hosts, "%s %s\n", text, base);
                per_name++;
            }
            freeaddrinfo(res);
        }
        /* No DNS: names come from /etc/hosts alone (a resolver on the job's own loopback
         * answers nothing, and fast). */
        add(&resolv, "# No DNS: the names this job may reach are in /etc/hosts (lilypad).\n"
                     "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n");
    } else {
        add(&resolv, "# slirp4netns's DNS forwarder (lilypad).\nnameserver " SLIRP_DNS "\n");
    }
    net->dns = ndomains == 0;
    ruleset(&rules, &host, ndomains > 0 ? allowed : NULL, nallowed, net->dns);

    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/net", job->dir);
    if (mkdir(path, 0755) != 0) {
        rc = net_error(p, job, LP_ERR, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    snprintf(net->rules, sizeof net->rules, "%s/net/firewall.nft", job->dir);
    char hosts_path[PATH_MAX + 32], resolv_path[PATH_MAX + 32];
    snprintf(hosts_path, sizeof hosts_path, "%s/net/hosts", job->dir);
    snprintf(resolv_path, sizeof resolv_path, "%s/net/resolv.conf", job->dir);
    if (write_text(net->rules, &rules) != 0 || write_text(resolv_path, &resolv) != 0 ||
        (ndomains > 0 && write_text(hosts_path, &hosts) != 0)) {
        rc = net_error(p, job, LP_ERR, "cannot write the job's network files in %s: %s", path,
                       strerror(errno ? errno : ENOMEM));
        goto out;
    }
    if (push_arg(net, "--share-net") != 0 ||
        bind_over(net, job, image_root, resolv_path, "/etc/resolv.conf") != 0 ||
        (ndomains > 0 && bind_over(net, job, image_root, hosts_path, "/etc/hosts") != 0)) {
        rc = net_error(p, job, LP_ERR, "out of memory");
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, net->sync) != 0) {
        rc = net_error(p, job, LP_ERR, "socketpair: %s", strerror(errno));
        goto out;
    }
    net->enabled = true;
    if (ndomains > 0)
        p->host->log(p->host, LP_LOG_INFO,
                     "job %s: network: outbound only, to %zu address%s of its %zu domain%s",
                     job->id, nallowed, nallowed == 1 ? "" : "es", ndomains,
                     ndomains == 1 ? "" : "s");
    else
        p->host->log(p->host, LP_LOG_INFO, "job %s: network: outbound only", job->id);
    rc = LP_OK;
out:
    free(hosts.data);
    free(resolv.data);
    free(rules.data);
    free(allowed);
    return rc;
}

/* In the forked child, before anything else: the namespace, its loopback up, then wait for
 * the monitor's go. Async-signal-safe calls only; exits on any failure. */
void lp_proc_net_child(const struct lp_proc_net *net)
{
    if (!net->enabled)
        return;
    close(net->sync[0]); /* so that the monitor's end closing is an EOF here */
    char msg[2] = {'R', 0};
    if (unshare(CLONE_NEWNET) != 0) {
        msg[0] = 'U';
        msg[1] = (char)errno;
    } else {
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        memcpy(ifr.ifr_name, "lo", 3);
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        bool up = s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
        if (up) {
            ifr.ifr_flags |= IFF_UP;
            up = ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
        }
        if (!up) {
            msg[0] = 'L';
            msg[1] = (char)errno;
        }
        if (s >= 0)
            close(s);
    }
    if (write(net->sync[1], msg, sizeof msg) != (ssize_t)sizeof msg || msg[0] != 'R')
        _exit(126);
    char go = 0;
    if (read(net->sync[1], &go, 1) != 1 || go != 'G')
        _exit(126);
    close(net->sync[1]);
}

/* Waits up to NET_STEP_TIMEOUT_MS for fd to be readable; reads at most len bytes. */
static ssize_t read_within(int fd, void *buf, size_t len)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r;
    while ((r = poll(&pfd, 1, NET_STEP_TIMEOUT_MS)) < 0 && errno == EINTR)
        ;
    if (r <= 0)
        return -1;
    return read(fd, buf, len);
}

/* The last line of slirp4netns's log, for a failure message. */
static void log_tail(const char *path, char *out, size_t len)
{
    char buf[512];
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    const char *line = strrchr(buf, '\n');
    snprintf(out, len, "%s", line ? line + 1 : buf);
}

static int start_slirp(struct lp_process *p, struct lp_proc_job *job, pid_t child, char *why,
                       size_t len)
{
    struct lp_proc_net *net = &job->net;
    int ready[2], exitp[2];
    if (pipe2(ready, O_CLOEXEC) != 0)
        return snprintf(why, len, "pipe: %s", strerror(errno)), -1;
    if (pipe2(exitp, O_CLOEXEC) != 0) {
        close(ready[0]);
        close(ready[1]);
        return snprintf(why, len, "pipe: %s", strerror(errno)), -1;
    }
    char log_path[PATH_MAX + 32], target[32];
    snprintf(log_path, sizeof log_path, "%s/net/slirp4netns.log", job->dir);
    snprintf(target, sizeof target, "%ld", (long)child);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_adddup2(&fa, ready[1], 3);
    posix_spawn_file_actions_adddup2(&fa, exitp[0], 4);
    posix_spawn_file_actions_addclosefrom_np(&fa, 5);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    /* Its own process group: a terminal's Ctrl-C for the provider is not its business. */
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    char *argv[16];
    size_t n = 0;
    argv[n++] = (char *)p->cfg.slirp4netns;
    argv[n++] = (char *)"--configure";
    argv[n++] = (char *)"--mtu=65520";
    argv[n++] = (char *)"--disable-host-loopback";
    argv[n++] = (char *)"--enable-sandbox";
    argv[n++] = (char *)"--enable-seccomp";
    if (!net->dns)
        argv[n++] = (char *)"--disable-dns";
    argv[n++] = (char *)"--ready-fd=3";
    argv[n++] = (char *)"--exit-fd=4";
    argv[n++] = target;
    argv[n++] = (char *)"tap0";
    argv[n] = NULL;
    char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    pid_t pid;
    int e = posix_spawn(&pid, p->cfg.slirp4netns, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(ready[1]);
    close(exitp[0]);
    if (e != 0) {
        close(ready[0]);
        close(exitp[1]);
        return snprintf(why, len, "cannot run %s: %s", p->cfg.slirp4netns, strerror(e)), -1;
    }
    net->slirp = pid;
    net->slirp_exit = exitp[1];
    char c = 0;
    ssize_t r = read_within(ready[0], &c, 1);
    close(ready[0]);
    if (r != 1 || c != '1') {
        char tail[200];
        log_tail(log_path, tail, sizeof tail);
        snprintf(why, len, "slirp4netns did not set up the job's network%s%s", tail[0] ? ": " : "",
                 tail);
        return -1;
    }
    return 0;
}

int lp_proc_net_attach(struct lp_process *p, struct lp_proc_job *job, pid_t child, char *why,
                       size_t len)
{
    struct lp_proc_net *net = &job->net;
    if (!net->enabled)
        return 0;
    close(net->sync[1]);
    net->sync[1] = -1;
    char msg[2] = {0, 0};
    int rc = -1;
    ssize_t r = read_within(net->sync[0], msg, sizeof msg);
    if (r != (ssize_t)sizeof msg)
        snprintf(why, len, "the job's sandbox did not make its network namespace");
    else if (msg[0] == 'U')
        snprintf(why, len, "cannot make the job's network namespace: %s", strerror(msg[1]));
    else if (msg[0] == 'L')
        snprintf(why, len, "cannot bring up the job's loopback: %s", strerror(msg[1]));
    else if (run_nft(p->cfg.nft, net->rules, child, why, len) == 0 &&
             start_slirp(p, job, child, why, len) == 0)
        rc = write(net->sync[0], "G", 1) == 1 ? 0 : -1;
    if (rc != 0 && why[0] == '\0')
        snprintf(why, len, "the job's sandbox went away during its network set-up");
    close(net->sync[0]);
    net->sync[0] = -1;
    return rc;
}

void lp_proc_net_stop(struct lp_proc_job *job)
{
    struct lp_proc_net *net = &job->net;
    if (!net->prepared)
        return;
    for (int i = 0; i < 2; i++) {
        if (net->sync[i] >= 0) {
            close(net->sync[i]);
            net->sync[i] = -1;
        }
    }
    if (net->slirp_exit >= 0) {
        close(net->slirp_exit); /* slirp4netns exits on this */
        net->slirp_exit = -1;
    }
    if (net->slirp > 0) {
        int pidfd = (int)syscall(SYS_pidfd_open, net->slirp, 0);
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        if (pidfd < 0 || poll(&pfd, 1, 2000) <= 0)
            kill(net->slirp, SIGKILL);
        if (pidfd >= 0)
            close(pidfd);
        while (waitpid(net->slirp, NULL, 0) < 0 && errno == EINTR)
            ;
        net->slirp = 0;
    }
    for (size_t i = 0; i < net->argc; i++)
        free(net->args[i]);
    net->argc = 0;
    net->args[0] = NULL;
}
