/* One job: the rootfs it runs on, the bubblewrap command line, the fork, and the monitor thread
 * that enforces the timeout and output cap and records how the job ended.
 *
 * The fork happens on the monitor thread, not the caller's: bwrap's --die-with-parent is a
 * parent-death signal, which Linux sends when the *thread* that forked exits, and the core may
 * call submit() from a short-lived thread. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/random.h"
#include "image/fs_tree.h"
#include "process.h"

#define MONITOR_TICK_MS 200

/* ---- argument vectors ---------------------------------------------------------------------- */
struct vec {
    char **items;
    size_t count, cap;
    bool oom;
};

static void vpush(struct vec *v, const char *s)
{
    if (v->oom)
        return;
    if (v->count + 2 > v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 32;
        char **n = realloc(v->items, ncap * sizeof *n);
        if (n == NULL) {
            v->oom = true;
            return;
        }
        v->items = n;
        v->cap = ncap;
    }
    v->items[v->count] = strdup(s);
    if (v->items[v->count] == NULL) {
        v->oom = true;
        return;
    }
    v->items[++v->count] = NULL;
}

static void vfree(char **items)
{
    if (items == NULL)
        return;
    for (char **p = items; *p; p++)
        free(*p);
    free(items);
}

/* Sets KEY=VALUE in env, replacing an earlier KEY. */
static void env_set(struct vec *env, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (eq == NULL || eq == kv)
        return;
    size_t klen = (size_t)(eq - kv) + 1;
    for (size_t i = 0; i < env->count; i++) {
        if (strncmp(env->items[i], kv, klen) == 0) {
            char *dup = strdup(kv);
            if (dup == NULL) {
                env->oom = true;
                return;
            }
            free(env->items[i]);
            env->items[i] = dup;
            return;
        }
    }
    vpush(env, kv);
}

static bool env_has(const struct vec *env, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < env->count; i++)
        if (strncmp(env->items[i], key, klen) == 0 && env->items[i][klen] == '=')
            return true;
    return false;
}

/* ---- rootfs -------------------------------------------------------------------------------- */
bool lp_proc_overlay_works(const char *scratch_dir)
{
    if (geteuid() != 0)
        return false;
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s/.overlay-probe-%ld", scratch_dir, (long)getpid());
    char lower[PATH_MAX + 8], upper[PATH_MAX + 8], work[PATH_MAX + 8], merged[PATH_MAX + 8];
    snprintf(lower, sizeof lower, "%s/l", base);
    snprintf(upper, sizeof upper, "%s/u", base);
    snprintf(work, sizeof work, "%s/w", base);
    snprintf(merged, sizeof merged, "%s/m", base);
    bool ok = false;
    if (lp_fs_mkdir_p(lower, 0755) == 0 && lp_fs_mkdir_p(upper, 0755) == 0 &&
        lp_fs_mkdir_p(work, 0755) == 0 && lp_fs_mkdir_p(merged, 0755) == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            char opts[4 * PATH_MAX];
            snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
            if (unshare(CLONE_NEWNS) != 0 ||
                mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
                mount("overlay", merged, "overlay", 0, opts) != 0)
                _exit(1);
            _exit(0);
        }
        int st;
        ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    lp_fs_remove_tree(base);
    return ok;
}

/* overlayfs options split on ',' and ':' (escapable, but store paths never need it). */
static bool overlay_safe(const char *path)
{
    return strpbrk(path, ",:\\") == NULL;
}

static int prepare_rootfs(struct lp_process *p, struct lp_proc_job *job, const char *image_root)
{
    enum lp_rootfs_mode mode = p->rootfs_mode;
    if (mode == LP_ROOTFS_OVERLAY && !(overlay_safe(image_root) && overlay_safe(job->dir)))
        mode = LP_ROOTFS_COPY;
    job->rootfs_mode = mode;
    if (mode == LP_ROOTFS_READONLY) {
        snprintf(job->root, sizeof job->root, "%s", image_root);
        return 0;
    }
    snprintf(job->root, sizeof job->root, "%s/root", job->dir);
    if (mode == LP_ROOTFS_COPY) {
        if (lp_fs_copy_tree(image_root, job->root) != 0) {
            lp_proc_set_error(p, "job %s: cannot copy the image rootfs: %s", job->id,
                              strerror(errno));
            return -1;
        }
        return 0;
    }
    char upper[PATH_MAX + 8], work[PATH_MAX + 8];
    snprintf(upper, sizeof upper, "%s/upper", job->dir);
    snprintf(work, sizeof work, "%s/work", job->dir);
    if (mkdir(job->root, 0755) != 0 || mkdir(upper, 0755) != 0 || mkdir(work, 0700) != 0) {
        lp_proc_set_error(p, "job %s: cannot prepare the overlay: %s", job->id, strerror(errno));
        return -1;
    }
    snprintf(job->overlay_opts, sizeof job->overlay_opts, "lowerdir=%s,upperdir=%s,workdir=%s",
             image_root, upper, work);
    return 0;
}

/* ---- command line -------------------------------------------------------------------------- */
/* bwrap's options (the host paths among them) into a memfd for --args: the sandbox's PID 1 is
 * bwrap's own child, whose /proc/1/cmdline any job can read, so the command line itself holds
 * only the marker and the job's entrypoint. */
static int options_fd(struct lp_process *p, struct lp_proc_job *job, char **opts, size_t count)
{
    int fd = memfd_create("lilypad-bwrap-args", MFD_CLOEXEC);
    if (fd < 0) {
        lp_proc_set_error(p, "job %s: memfd_create: %s", job->id, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(opts[i]) + 1, done = 0;
        while (done < len) {
            ssize_t w = write(fd, opts[i] + done, len - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                lp_proc_set_error(p, "job %s: writing bwrap's options: %s", job->id,
                                  strerror(errno));
                close(fd);
                return -1;
            }
            done += (size_t)w;
        }
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        lp_proc_set_error(p, "job %s: lseek: %s", job->id, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int build_command(struct lp_process *p, struct lp_proc_job *job,
                         const struct lp_job_spec *spec, const struct lp_image_info *img,
                         const char *inputs_dir, const char *outputs_dir)
{
    struct vec argv = {0}, env = {0};
    /* --unshare-all takes user, pid, net, ipc, uts and cgroup namespaces; the job keeps no
     * capability and dies with us. */
    vpush(&argv, "--unshare-all");
    vpush(&argv, "--die-with-parent");
    vpush(&argv, "--new-session");
    vpush(&argv, "--cap-drop");
    vpush(&argv, "ALL");
    vpush(&argv, "--hostname");
    vpush(&argv, "lilypad");
    vpush(&argv, job->rootfs_mode == LP_ROOTFS_READONLY ? "--ro-bind" : "--bind");
    vpush(&argv, job->root);
    vpush(&argv, "/");
    vpush(&argv, "--proc");
    vpush(&argv, "/proc");
    vpush(&argv, "--dev");
    vpush(&argv, "/dev");
    vpush(&argv, "--tmpfs");
    vpush(&argv, "/tmp");
    /* A job with network keeps the namespace made for it (process_network.c). */
    for (char *const *a = job->net.args; *a != NULL; a++)
        vpush(&argv, *a);
    if (inputs_dir != NULL) {
        vpush(&argv, "--ro-bind");
        vpush(&argv, inputs_dir);
        vpush(&argv, "/inputs");
    }
    if (outputs_dir != NULL) {
        vpush(&argv, "--bind");
        vpush(&argv, outputs_dir);
        vpush(&argv, "/outputs");
    }
    /* bwrap reports the child's pid and exit code here: without a "child-pid" record the
     * sandbox itself failed, which we must not mistake for the job's own exit 1. */
    vpush(&argv, "--json-status-fd");
    vpush(&argv, "3");
    const char *workdir = spec->workdir && *spec->workdir               ? spec->workdir
                          : img->config.workdir && *img->config.workdir ? img->config.workdir
                                                                        : "/";
    vpush(&argv, "--chdir");
    vpush(&argv, workdir);
    /* Everything so far goes through --args; the command line is the marker, which finds
     * the sandbox again if its bwrap dies (process_orphans.c), and the job's own entrypoint. */
    struct vec options = argv;
    memset(&argv, 0, sizeof argv);
    char marker[128];
    lp_proc_sandbox_marker(p->work_dir, job->id, marker, sizeof marker);
    vpush(&argv, marker);
    vpush(&argv, "--args");
    vpush(&argv, "4");
    vpush(&argv, "--");
    size_t before = argv.count;
    if (spec->entrypoint_count > 0) {
        for (size_t i = 0; i < spec->entrypoint_count; i++)
            vpush(&argv, spec->entrypoint[i] ? spec->entrypoint[i] : "");
    } else {
        for (size_t i = 0; i < img->config.entrypoint.count; i++)
            vpush(&argv, img->config.entrypoint.items[i]);
        for (size_t i = 0; i < img->config.cmd.count; i++)
            vpush(&argv, img->config.cmd.items[i]);
    }
    if (argv.count == before && !argv.oom && !options.oom) {
        vfree(argv.items);
        vfree(options.items);
        lp_proc_set_error(p, "job for %s: no entrypoint in the job spec or the image", spec->image);
        return LP_EINVAL;
    }

    /* The environment is the image's, then the job's: nothing of ours leaks in. */
    for (size_t i = 0; i < img->config.env.count; i++)
        env_set(&env, img->config.env.items[i]);
    for (size_t i = 0; i < spec->env_count; i++) {
        if (spec->env[i] == NULL || strchr(spec->env[i], '=') == NULL || spec->env[i][0] == '=') {
            vfree(argv.items);
            vfree(options.items);
            vfree(env.items);
            lp_proc_set_error(p, "job for %s: environment entry \"%.60s\" is not KEY=VALUE",
                              spec->image, spec->env[i] ? spec->env[i] : "(null)");
            return LP_EINVAL;
        }
        env_set(&env, spec->env[i]);
    }
    if (!env_has(&env, "PATH"))
        vpush(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    if (!env_has(&env, "HOME"))
        vpush(&env, "HOME=/root");
    if (env.count == 0)
        vpush(&env, "PATH=/bin"); /* never hand execve a NULL envp */
    if (argv.oom || env.oom || options.oom) {
        vfree(argv.items);
        vfree(options.items);
        vfree(env.items);
        lp_proc_set_error(p, "out of memory");
        return LP_ERR;
    }
    job->args_fd = options_fd(p, job, options.items, options.count);
    vfree(options.items);
    if (job->args_fd < 0) {
        vfree(argv.items);
        vfree(env.items);
        return LP_ERR;
    }
    job->argv = argv.items;
    job->envp = env.items;
    return LP_OK;
}

/* ---- the child ---------------------------------------------------------------------------- */
static void child_fail(const char *what)
{
    /* stderr is the job's stderr file by now: the message reaches `logs`. */
    const char *e = strerror(errno);
    (void)!write(2, "lilypad: executor/process: ", 27);
    (void)!write(2, what, strlen(what));
    (void)!write(2, ": ", 2);
    (void)!write(2, e, strlen(e));
    (void)!write(2, "\n", 1);
    _exit(126);
}

static void set_limit(int resource, uint64_t value)
{
    struct rlimit rl = {.rlim_cur = (rlim_t)value, .rlim_max = (rlim_t)value};
    (void)setrlimit(resource, &rl);
}

/* Runs in the forked child: only async-signal-safe calls (plus mount/unshare). */
static void child_exec(struct lp_proc_job *job, int out_fd, int err_fd, int status_fd, pid_t parent)
{
    /* bwrap's --die-with-parent ties the sandbox to bwrap, not bwrap to us: if the process
     * running the plugin is SIGKILLed, bwrap would live on as an orphan (and one caught in its
     * set-up blocks forever). The kernel kills it when our forking thread dies; the getppid()
     * check closes the window where we died before prctl() ran. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(126);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    setpgid(0, 0);
    lp_proc_net_child(&job->net);
    /* Out of the way of the descriptors set below (dup2 onto itself would keep close-on-exec). */
    int args_fd = job->args_fd < 5 ? fcntl(job->args_fd, F_DUPFD_CLOEXEC, 5) : job->args_fd;
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0 ||
        dup2(status_fd, 3) < 0 || args_fd < 0 || dup2(args_fd, 4) < 0)
        _exit(126);
    syscall(SYS_close_range, 5, ~0U, 0);
    if (job->cg.count > 0 && lp_proc_cgroup_enter(&job->cg) != 0)
        child_fail("cannot join the job's cgroup");
    if (job->rlimit_memory)
        set_limit(RLIMIT_AS, job->limits.memory_bytes);
    if (job->rlimit_pids)
        set_limit(RLIMIT_NPROC, job->max_pids);
    /* One byte past the cap: a write that crosses it leaves outputs over the cap, which the
     * monitor reports, instead of a file silently cut at exactly the cap. */
    if (job->limits.disk_bytes)
        set_limit(RLIMIT_FSIZE, job->limits.disk_bytes + 1);
    set_limit(RLIMIT_CORE, 0);
    if (job->rootfs_mode == LP_ROOTFS_OVERLAY) {
        /* A private mount namespace for the overlay: it vanishes with the job. */
        if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("overlay", job->root, "overlay", 0, job->overlay_opts) != 0)
            child_fail("cannot mount the job's overlay");
    }
    execve(job->owner->cfg.bwrap, job->argv, job->envp);
    child_fail("cannot run bwrap");
}

/* ---- ending a job ------------------------------------------------------------------------- */
static uint64_t now_ms(const struct lp_process *p)
{
    return p->host->monotonic_ns(p->host) / 1000000u;
}

/* Waits up to ms for the child to exit (pidfd readable). */
static bool wait_exit(int pidfd, uint64_t ms)
{
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    return poll(&pfd, 1, (int)(ms > 60000 ? 60000 : ms)) > 0;
}

/* Stops the whole sandbox. With a cgroup the job's own processes get SIGTERM and kill_grace to
 * finish, and then, always, SIGKILL goes to bwrap's process group and to whatever is left in
 * the cgroup. bwrap is spared the SIGTERM: it stays to report how the job ended, and a bwrap
 * killed in its first milliseconds, before its child has armed the parent-death signal
 * (--die-with-parent), would leave the sandbox running if nothing followed. (The sandbox's
 * init ignores signals from outside its namespace that it has no handler for; it goes with the
 * SIGKILL or with the job.) Without a cgroup we cannot reach the job's processes (bwrap
 * forwards no signals): SIGKILL to bwrap's process group, which holds the sandbox's init until
 * it starts a new session, by which time its parent-death signal is armed. */
static void kill_job(struct lp_proc_job *job, int pidfd)
{
    struct lp_process *p = job->owner;
    if (job->cg.count > 0 && p->cfg.kill_grace > 0 &&
        lp_proc_cgroup_signal(&job->cg, SIGTERM, job->pid) > 0)
        (void)wait_exit(pidfd, p->cfg.kill_grace);
    kill(-job->pid, SIGKILL);
    kill(job->pid, SIGKILL);
    lp_proc_cgroup_signal(&job->cg, SIGKILL, 0);
}

/* Reads bwrap's --json-status-fd records: did the child start, and its exit code. */
static void read_status(int fd, bool *started, int *exit_code)
{
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    *started = false;
    if (n <= 0)
        return;
    buf[n] = '\0';
    *started = strstr(buf, "\"child-pid\"") != NULL;
    const char *ec = strstr(buf, "\"exit-code\"");
    if (ec != NULL && (ec = strchr(ec, ':')) != NULL)
        *exit_code = atoi(ec + 1);
}

/* The cgroup's counters into the job's status while it runs, so poll() and wait() show them
 * growing. Counters only grow, so a smaller read (a cgroup being torn down) is ignored. */
static void publish_usage(struct lp_proc_job *job, const struct lp_proc_usage *u)
{
    struct lp_process *p = job->owner;
    pthread_mutex_lock(&p->lock);
    if (u->peak_memory_bytes > job->status.peak_memory_bytes)
        job->status.peak_memory_bytes = u->peak_memory_bytes;
    if (u->cpu_time_ns > job->status.cpu_time_ns)
        job->status.cpu_time_ns = u->cpu_time_ns;
    pthread_mutex_unlock(&p->lock);
}

/* The last non-empty line of the job's stderr, for a FAILED message. */
static void stderr_tail(const struct lp_proc_job *job, char *out, size_t len)
{
    char path[PATH_MAX + 16], buf[512];
    snprintf(path, sizeof path, "%s/stderr", job->dir);
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0;
    ssize_t n = pread(fd, buf, sizeof buf - 1, from);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    char *line = strrchr(buf, '\n');
    snprintf(out, len, "%s", line ? line + 1 : buf);
}

static void *monitor(void *arg)
{
    struct lp_proc_job *job = arg;
    struct lp_process *p = job->owner;
    char path[PATH_MAX + 16];
    int status_pipe[2] = {-1, -1}, out_fd, err_fd, pidfd = -1;
    snprintf(path, sizeof path, "%s/stdout", job->dir);
    out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    snprintf(path, sizeof path, "%s/stderr", job->dir);
    err_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_t pid = -1, parent = getpid();
    int fork_errno = 0;
    if (out_fd >= 0 && err_fd >= 0 && pipe2(status_pipe, O_CLOEXEC) == 0) {
        pid = fork();
        if (pid == 0)
            child_exec(job, out_fd, err_fd, status_pipe[1], parent);
        fork_errno = errno;
    } else {
        fork_errno = errno;
    }
    if (out_fd >= 0)
        close(out_fd);
    if (err_fd >= 0)
        close(err_fd);
    if (status_pipe[1] >= 0)
        close(status_pipe[1]);
    char net_why[256] = "";
    if (pid > 0 && lp_proc_net_attach(p, job, pid, net_why, sizeof net_why) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        pid = -1;
    }
    if (pid > 0)
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

    pthread_mutex_lock(&p->lock);
    job->spawned = true;
    job->pid = pid;
    if (pid > 0 && pidfd >= 0) {
        job->status.state = LP_JOB_RUNNING;
        job->status.started_ns = p->host->realtime_ns(p->host);
    } else {
        job->status.state = LP_JOB_FAILED;
        if (net_why[0])
            snprintf(job->status.message, sizeof job->status.message, "%s", net_why);
        else
            snprintf(job->status.message, sizeof job->status.message, "cannot start bwrap: %s",
                     strerror(fork_errno ? fork_errno : errno));
        job->status.finished_ns = p->host->realtime_ns(p->host);
    }
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    if (pid <= 0 || pidfd < 0) {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        lp_proc_net_stop(job);
        if (status_pipe[0] >= 0)
            close(status_pipe[0]);
        return NULL;
    }

    uint64_t start = now_ms(p);
    enum lp_job_state end = LP_JOB_EXITED;
    char why[256] = "";
    for (;;) {
        uint64_t wait_ms = MONITOR_TICK_MS;
        if (job->timeout_ms) {
            uint64_t elapsed = now_ms(p) - start;
            if (elapsed >= job->timeout_ms) {
                end = LP_JOB_TIMED_OUT;
                snprintf(why, sizeof why, "timed out after %llu ms",
                         (unsigned long long)job->timeout_ms);
                kill_job(job, pidfd);
                break;
            }
            if (job->timeout_ms - elapsed < wait_ms)
                wait_ms = job->timeout_ms - elapsed;
        }
        struct pollfd pfds[2] = {{.fd = pidfd, .events = POLLIN},
                                 {.fd = job->wake[0], .events = POLLIN}};
        int r = poll(pfds, 2, (int)wait_ms);
        if (r > 0 && (pfds[0].revents & POLLIN))
            break;
        if (r == 0 && job->cg.count > 0) {
            struct lp_proc_usage live;
            lp_proc_cgroup_usage(&job->cg, &live);
            publish_usage(job, &live);
        }
        if (r > 0 && (pfds[1].revents & POLLIN)) {
            end = LP_JOB_CANCELLED;
            snprintf(why, sizeof why, "cancelled");
            kill_job(job, pidfd);
            break;
        }
        if (job->limits.disk_bytes) {
            uint64_t bytes = 0, entries = 0;
            if (lp_fs_tree_usage(job->outputs, &bytes, &entries) == 0 &&
                bytes > job->limits.disk_bytes) {
                end = LP_JOB_FAILED;
                snprintf(why, sizeof why, "outputs grew past the %llu-byte cap",
                         (unsigned long long)job->limits.disk_bytes);
                kill_job(job, pidfd);
                break;
            }
        }
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    close(pidfd);
    lp_proc_net_stop(job);
    /* Nothing of the job outlives bwrap; a process that did dies here: through the cgroup,
     * and, for a job killed before its sandbox init armed its parent-death signal (which is
     * lost on it anyway, process_orphans.c), by finding that init by the job's folder. */
    if (job->cg.count > 0)
        lp_proc_cgroup_signal(&job->cg, SIGKILL, 0);
    if (end != LP_JOB_EXITED)
        lp_proc_kill_orphans(p->cfg.bwrap, p->work_dir, job->id);
    /* What the job used comes from its cgroup alone. wait4()'s rusage of bwrap would cover
     * only bwrap: Linux adds a child's usage to its parent's when the parent reaps it, but
     * bwrap never reaps the sandbox's init (the init reports the job's exit code through an
     * eventfd and bwrap exits at once), so the job's processes, which the init reaps, are not
     * in it. Measured: a 0.6 s busy loop shows as 0.00 s of bwrap's user time (unless bwrap
     * runs the job --as-pid-1, which this plugin does not). So without a cgroup both numbers
     * stay 0, "unknown". */
    struct lp_proc_usage used;
    lp_proc_cgroup_usage(&job->cg, &used);
    bool oom = false;
    bool started = false;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    read_status(status_pipe[0], &started, &code);
    close(status_pipe[0]);
    if (end == LP_JOB_EXITED && !started) {
        end = LP_JOB_FAILED;
        char tail[200];
        stderr_tail(job, tail, sizeof tail);
        snprintf(why, sizeof why, "the sandbox did not start: %s", tail[0] ? tail : "no reason");
    } else if (end == LP_JOB_EXITED && code == 128 + SIGKILL && lp_proc_cgroup_oom(&job->cg)) {
        oom = true;
        snprintf(why, sizeof why, "killed: out of memory (limit %llu bytes)",
                 (unsigned long long)job->limits.memory_bytes);
    } else if (end == LP_JOB_EXITED && job->limits.disk_bytes) {
        uint64_t bytes = 0, entries = 0;
        if (lp_fs_tree_usage(job->outputs, &bytes, &entries) == 0 &&
            bytes > job->limits.disk_bytes) {
            end = LP_JOB_FAILED;
            snprintf(why, sizeof why, "outputs hold %llu bytes, past the %llu-byte cap",
                     (unsigned long long)bytes, (unsigned long long)job->limits.disk_bytes);
        }
    }
    if (end == LP_JOB_EXITED && why[0] == '\0' && code != 0)
        snprintf(why, sizeof why, "exited with status %d", code);

    publish_usage(job, &used);
    pthread_mutex_lock(&p->lock);
    job->status.state = end;
    job->status.exit_code = code;
    job->status.finished_ns = p->host->realtime_ns(p->host);
    lp_proc_neutral_text(p, job, why, job->status.message, sizeof job->status.message);
    job->status.oom_killed = oom;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    p->host->log(p->host, end == LP_JOB_EXITED ? LP_LOG_DEBUG : LP_LOG_INFO, "job %s: %s%s",
                 job->id, end == LP_JOB_EXITED ? "exited" : "ended", why[0] ? ": " : "");
    return NULL;
}

/* ---- start, cancel, free ------------------------------------------------------------------- */
static int check_dir(struct lp_process *p, const char *what, const char *dir)
{
    struct stat st;
    if (dir == NULL)
        return 0;
    if (dir[0] != '/' || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        lp_proc_set_error(p, "%s directory \"%s\" is not an existing absolute directory", what,
                          dir);
        return -1;
    }
    return 0;
}

static struct lp_proc_job *job_new(struct lp_process *p)
{
    struct lp_proc_job *job = calloc(1, sizeof *job);
    if (job == NULL)
        return NULL;
    job->owner = p;
    job->wake[0] = job->wake[1] = -1;
    job->args_fd = -1;
    job->status.struct_size = sizeof job->status;
    job->status.state = LP_JOB_PENDING;
    unsigned char r[8] = {0};
    (void)lp_random_bytes(r, sizeof r);
    pthread_mutex_lock(&p->lock);
    uint64_t seq = ++p->seq;
    pthread_mutex_unlock(&p->lock);
    snprintf(job->id, sizeof job->id, "p%llu-%02x%02x%02x%02x%02x%02x", (unsigned long long)seq,
             r[0], r[1], r[2], r[3], r[4], r[5]);
    snprintf(job->dir, sizeof job->dir, "%s/%s", p->work_dir, job->id);
    return job;
}

int lp_proc_job_start(struct lp_process *p, const struct lp_job_spec *spec, const char *inputs_dir,
                      const char *outputs_dir, const struct lp_job_limits *limits,
                      struct lp_proc_job **out)
{
    *out = NULL;
    if (spec == NULL || spec->image == NULL) {
        lp_proc_set_error(p, "submit: no job spec or no image");
        return LP_EINVAL;
    }
    if (check_dir(p, "inputs", inputs_dir) != 0 || check_dir(p, "outputs", outputs_dir) != 0)
        return LP_EINVAL;
    struct lp_image_info img;
    char err[512];
    if (lp_image_resolve(&p->store, spec->image, &img, err, sizeof err) != 0) {
        lp_proc_set_error(p, "submit: %s", err);
        return LP_EINVAL;
    }
    struct lp_proc_job *job = job_new(p);
    if (job == NULL) {
        lp_image_info_free(&img);
        lp_proc_set_error(p, "out of memory");
        return LP_ERR;
    }
    struct lp_job_limits none = {.struct_size = sizeof none};
    /* Only the members the caller's struct has: an older core sends a shorter one. */
    size_t n = limits ? (limits->struct_size < sizeof none ? limits->struct_size : sizeof none) : 0;
    if (n > 0)
        memcpy(&job->limits, limits, n);
    else
        job->limits = none;
    job->timeout_ms = job->limits.timeout_ms ? job->limits.timeout_ms : p->cfg.default_timeout;
    /* A job whose limits give none still gets some: "no limit" is never a default. */
    if (!job->limits.memory_bytes)
        job->limits.memory_bytes = p->cfg.default_memory;
    if (!job->limits.disk_bytes)
        job->limits.disk_bytes = p->cfg.default_disk;
    job->max_pids = job->limits.max_pids
                        ? job->limits.max_pids
                        : (uint32_t)(p->cfg.default_max_pids > 0 ? p->cfg.default_max_pids : 0);
    snprintf(job->outputs, sizeof job->outputs, "%s", outputs_dir ? outputs_dir : "");
    snprintf(job->inputs, sizeof job->inputs, "%s", inputs_dir ? inputs_dir : "");
    int rc = LP_ERR;
    if (mkdir(job->dir, 0700) != 0) {
        lp_proc_set_error(p, "job %s: cannot create %s: %s", job->id, job->dir, strerror(errno));
        goto fail;
    }
    if (prepare_rootfs(p, job, img.rootfs) != 0)
        goto fail;
    if (job->limits.network && (rc = lp_proc_net_prepare(p, job, img.rootfs)) != LP_OK)
        goto fail;
    rc = build_command(p, job, spec, &img, inputs_dir, outputs_dir);
    if (rc != LP_OK)
        goto fail;
    rc = LP_ERR;
    lp_proc_cgroup_create(&job->cg, job->id, &job->limits, job->max_pids,
                          strcmp(p->cfg.cgroup, "none") != 0);
    job->rlimit_memory = job->limits.memory_bytes && !job->cg.memory;
    job->rlimit_pids = job->max_pids && !job->cg.pids;
    char how[128];
    lp_proc_cgroup_describe(&job->cg, how, sizeof how);
    static const char *const modes[] = {"read-only", "copy", "overlay"};
    p->host->log(p->host, LP_LOG_INFO, "job %s: image %.19s, rootfs %s, limits by %s%s", job->id,
                 img.digest, modes[job->rootfs_mode], how,
                 job->limits.cpu_millicores && !job->cg.cpu ? " (CPU limit not enforced)" : "");
    if (pipe2(job->wake, O_CLOEXEC) != 0) {
        lp_proc_set_error(p, "job %s: pipe: %s", job->id, strerror(errno));
        goto fail;
    }
    if (pthread_create(&job->monitor, NULL, monitor, job) != 0) {
        lp_proc_set_error(p, "job %s: cannot start its monitor thread", job->id);
        goto fail;
    }
    pthread_mutex_lock(&p->lock);
    job->monitor_running = true;
    while (!job->spawned)
        pthread_cond_wait(&p->changed, &p->lock);
    job->next = p->jobs;
    p->jobs = job;
    pthread_mutex_unlock(&p->lock);
    lp_image_info_free(&img);
    *out = job;
    return LP_OK;
fail:
    lp_image_info_free(&img);
    lp_proc_job_free(job);
    return rc;
}

void lp_proc_job_cancel_locked(struct lp_proc_job *job)
{
    bool live = job->status.state == LP_JOB_RUNNING || job->status.state == LP_JOB_PENDING;
    if (live && !job->cancel_requested) {
        job->cancel_requested = true;
        (void)!write(job->wake[1], "c", 1);
    }
}

void lp_proc_job_cancel(struct lp_proc_job *job)
{
    struct lp_process *p = job->owner;
    pthread_mutex_lock(&p->lock);
    lp_proc_job_cancel_locked(job);
    pthread_mutex_unlock(&p->lock);
}

void lp_proc_job_free(struct lp_proc_job *job)
{
    if (job == NULL)
        return;
    if (job->monitor_running) {
        lp_proc_job_cancel(job);
        pthread_join(job->monitor, NULL);
    }
    if (job->wake[0] >= 0)
        close(job->wake[0]);
    if (job->wake[1] >= 0)
        close(job->wake[1]);
    if (job->args_fd >= 0)
        close(job->args_fd);
    lp_proc_cgroup_destroy(&job->cg);
    lp_proc_net_stop(job);
    if (job->dir[0] && lp_fs_remove_tree(job->dir) != 0)
        job->owner->host->log(job->owner->host, LP_LOG_WARN, "job %s: cannot remove %s: %s",
                              job->id, job->dir, strerror(errno));
    vfree(job->argv);
    vfree(job->envp);
    free(job);
}
