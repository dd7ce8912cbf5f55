/* The devnet process: solver + provider in one process, state in one folder. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto/keyfile.h"
#include "devnet/devnet.h"
#include "devnet/devnet_provider.h"
#include "solver/http.h"
#include "solver/solver.h"

struct lp_devnet {
    char dir[PATH_MAX];
    int lock_fd;
    struct lp_solver *solver;
    struct lp_solver_http *http;
    struct lp_devnet_provider *provider;
    struct lp_devnet_info info;
};

/* The key in DIR/NAME, created on first use (the devnet's identities are throwaway). */
static int devnet_key(const char *dir, const char *name, struct lp_key *key, char *err,
                      size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (access(path, F_OK) == 0)
        return lp_keyfile_load(path, NULL, 0, key, NULL, err, errlen) == 0 ? 0 : -1;
    if (lp_key_generate(key) != 0) {
        snprintf(err, errlen, "%s: cannot generate a key", path);
        return -1;
    }
    return lp_keyfile_write_hex(path, key, false, err, errlen);
}

static int write_info(const struct lp_devnet *d, char *err, size_t errlen)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/devnet.json", d->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    json_t *j = json_pack("{s:i,s:i,s:s}", "pid", (int)d->info.pid, "port", (int)d->info.port,
                          "url", d->info.url);
    /* Written aside and renamed: a reader never sees half a file. */
    int rc = j && json_dump_file(j, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0 ? 0 : -1;
    json_decref(j);
    if (rc != 0)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return rc;
}

static int make_dir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int lp_devnet_start(const struct lp_devnet_options *opt, struct lp_devnet **out, char *err,
                    size_t errlen)
{
    struct lp_devnet *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    d->lock_fd = -1;
    snprintf(d->dir, sizeof d->dir, "%s", opt->dir);
    char path[PATH_MAX], files[PATH_MAX], modules[PATH_MAX];
    if (make_dir(d->dir, err, errlen) != 0)
        goto fail;
    snprintf(path, sizeof path, "%s/devnet.lock", d->dir);
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->lock_fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        struct lp_devnet_info other;
        if (lp_devnet_find(d->dir, &other, err, errlen) == 0)
            snprintf(err, errlen, "a devnet is already running in %s (pid %d, %s)", d->dir,
                     (int)other.pid, other.url);
        else
            snprintf(err, errlen, "a devnet is already starting or running in %s", d->dir);
        goto fail;
    }
    struct lp_key solver_key, provider_key;
    if (devnet_key(d->dir, "solver.key", &solver_key, err, errlen) != 0 ||
        devnet_key(d->dir, "provider.key", &provider_key, err, errlen) != 0)
        goto fail;
    snprintf(path, sizeof path, "%s/solver", d->dir);
    if (make_dir(path, err, errlen) != 0)
        goto fail;
    snprintf(files, sizeof files, "%s/solver/files", d->dir);
    snprintf(path, sizeof path, "%s/solver/solver.db", d->dir);
    struct lp_solver_config cfg;
    lp_solver_config_defaults(&cfg);
    cfg.create_db = true; /* a new network: its database is created here */
    cfg.db_path = path;
    cfg.files_dir = files;
    snprintf(modules, sizeof modules, "%s/solver/modules", d->dir);
    cfg.modules_dir = modules; /* the solver renders job offers' modules itself */
    if (opt->match_timeout_ms)
        cfg.match_timeout_ms = opt->match_timeout_ms;
    cfg.tick_ms = 200; /* timeouts show up promptly on a machine someone is watching */
    /* One user on loopback: the per-address rate limit would only stop scripted job loops, and
     * the long-poll cap would make every `lilypad run` past the fourth at once (one key for
     * all) follow its job by polling once a second instead of being woken by its events. */
    cfg.rate_limit = 0;
    cfg.max_long_polls = 1024;
    /* Its provider is the network's mediator: it may judge challenges of deals another
     * provider (`lilypad provider` pointed at this devnet) took, never its own (the solver
     * keeps a deal's parties out of its mediation). */
    cfg.mediators = (const uint8_t(*)[LP_WIRE_ADDR_LEN])provider_key.address;
    cfg.n_mediators = 1;
    int rc = lp_solver_open(&cfg, &solver_key, &d->solver, err, errlen);
    lp_key_wipe(&solver_key);
    if (rc != 0 || lp_solver_http_start(d->solver, opt->listen ? opt->listen : "127.0.0.1:0",
                                        &d->http, err, errlen) != 0) {
        lp_key_wipe(&provider_key);
        goto fail;
    }
    d->info.pid = getpid();
    d->info.port = lp_solver_http_port(d->http);
    snprintf(d->info.url, sizeof d->info.url, "http://127.0.0.1:%u", d->info.port);
    rc = lp_devnet_provider_start(d->dir, d->info.url, &provider_key, opt->config_path,
                                  opt->plugin_path, opt->max_jobs, &d->provider, err, errlen);
    lp_key_wipe(&provider_key);
    if (rc != 0 || write_info(d, err, errlen) != 0)
        goto fail;
    *out = d;
    return 0;
fail:
    lp_devnet_stop(d);
    return -1;
}

const struct lp_devnet_info *lp_devnet_get_info(const struct lp_devnet *d)
{
    return &d->info;
}

void lp_devnet_stop(struct lp_devnet *d)
{
    if (!d)
        return;
    if (d->info.pid) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/devnet.json", d->dir);
        unlink(path);
    }
    /* The provider first: it may still be talking to the solver. */
    lp_devnet_provider_stop(d->provider);
    if (d->solver)
        lp_solver_interrupt(d->solver);
    lp_solver_http_stop(d->http);
    lp_solver_close(d->solver);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    free(d);
}
