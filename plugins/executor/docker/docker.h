/* executor/docker: runs jobs through the Docker Engine API (or Podman's Docker-compatible
 * service) over a unix socket. Internal interfaces between the plugin's files. */
#ifndef LP_EXECUTOR_DOCKER_H
#define LP_EXECUTOR_DOCKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lilypad/executor.h>

/* The plugin's configuration (schema in docker_plugin.c). */
struct lp_docker_config {
    const char *socket;            /* the engine's unix socket */
    const char *registry;          /* the server the credentials are for; "": every pull */
    const char *registry_username; /* "": anonymous pulls */
    const char *registry_password; /* secret */
    const char *pull;              /* missing | always | never */
    const char *image_archives;    /* folder of <image>.tar archives; "": none */
    const char *gpu;               /* auto | nvidia | amd | none */
    uint64_t default_timeout;      /* ms, when the job's limits give none (0: none) */
    uint64_t kill_grace;           /* ms between SIGTERM and SIGKILL */
    int64_t default_max_pids;      /* when limits->max_pids is 0 (0: no limit) */
    uint64_t default_memory;       /* bytes, when limits->memory_bytes is 0 (0: no limit) */
    uint64_t daemon_wait;          /* ms to wait for a daemon that went away mid-job */
};

/* ---- growing buffer ------------------------------------------------------------------------ */
struct dk_buf {
    char *data; /* NUL-terminated when not NULL */
    size_t len, cap;
};
int dk_buf_append(struct dk_buf *b, const void *data, size_t len); /* 0, -1 out of memory */
void dk_buf_free(struct dk_buf *b);

/* ---- the engine (docker_engine.c) ---------------------------------------------------------- */
/* The newest and oldest Engine API versions this plugin speaks (minor numbers of 1.x). */
#define DK_API_NEWEST 45
#define DK_API_OLDEST 41

struct dk_engine {
    char socket[108]; /* sun_path's size */
    pthread_mutex_t lock;
    /* Set once the probe has succeeded: the members below are then fixed. Atomic, as every
     * request reads it without the lock. */
    _Atomic bool known;
    _Atomic int api_minor; /* negotiated: min(server, DK_API_NEWEST); 0 before */
    bool podman;           /* /version names "Podman Engine" */
    char version[48];      /* the engine's own version, "20.10.24", "4.3.1" */
    char runtime[96];      /* "docker 20.10.24 (API 1.41)" */
    bool memory_limit;     /* /info: the kernel lets it enforce each of these */
    bool cpu_limit;
    bool pids_limit;
    bool nvidia_runtime; /* /info Runtimes has "nvidia" */
    bool has_network;    /* a default network exists for jobs that ask for one */
};

/* Where a response's body goes: a buffer (always, for error bodies), or a sink for 2xx. */
typedef int (*dk_sink_fn)(void *arg, const char *data, size_t len); /* nonzero: stop */
/* Returns nonzero to abort a long request (cancel, release, destroy). */
typedef int (*dk_abort_fn)(void *arg);

struct dk_request {
    const char *method;       /* "GET", "POST", "DELETE" */
    const char *path;         /* "/containers/create?name=x": the version prefix is added */
    const char *content_type; /* with a body */
    const char *body;         /* NULL: none */
    size_t body_len;
    const char *upload_file;  /* a file streamed as the body (image load), or NULL */
    const char *extra_header; /* "X-Registry-Auth: ...", or NULL; never logged */
    long timeout_ms;          /* 0: no limit (wait, pull, load) */
    dk_sink_fn sink;          /* 2xx bodies go here when set */
    void *sink_arg;
    dk_abort_fn aborted; /* polled during the transfer when set */
    void *abort_arg;
    bool unversioned; /* /_ping: no version prefix */
};

struct dk_response {
    long status;          /* HTTP status; 0 when no response came */
    struct dk_buf body;   /* the body when no sink took it */
    char api_version[16]; /* the Api-Version header */
    int curl_code;        /* CURLcode of the transfer */
    bool timed_out;       /* the transfer hit timeout_ms */
    bool aborted;         /* `aborted` asked to stop */
};

/* Reads the socket: the configured one, or DOCKER_HOST=unix://... when the configuration
 * leaves the default. -1 with why in err (a DOCKER_HOST that is not a unix socket). */
int dk_engine_socket(const char *configured, char *out, size_t cap, char *err, size_t errlen);
/* Sends one request (a fresh curl handle: any thread may call it). 0 when a response came,
 * whatever its status; -1 when the daemon could not be reached or the transfer broke, with
 * "docker daemon not reachable at <socket>: <why> (hint: ...)" in err. */
int dk_call(struct dk_engine *e, const struct dk_request *rq, struct dk_response *out, char *err,
            size_t errlen);
void dk_response_free(struct dk_response *r);
/* The error text of a non-2xx response, one line: {"message"} from both engines, else the
 * body's first line, else "HTTP <status>". */
void dk_response_error(const struct dk_response *r, char *out, size_t cap);
/* Pings, negotiates the version and reads /version, /info and /networks once; later calls
 * return at once. LP_OK, LP_EUNAVAILABLE (daemon not reachable) or LP_ERR (too old), with why. */
int dk_engine_connect(struct dk_engine *e, char *err, size_t errlen);
/* URL-encodes s (curl_easy_escape) into out; -1 when it does not fit. */
int dk_escape(const char *s, char *out, size_t cap);

/* ---- pure decoders of daemon replies (docker_replies.c; fuzzed) ------------------------- */
/* {"message": "..."} (both engines) into out; -1 when it is not such a body. */
int dk_parse_error_message(const char *body, size_t len, char *out, size_t cap);
/* "1.41" → 41; -1 unless it is 1.<minor>. */
int dk_parse_api_version(const char *text);
/* /version: podman or docker, and the engine's version (build metadata after '+' dropped). */
int dk_parse_version(const char *body, size_t len, bool *podman, char *version, size_t cap);
struct dk_info {
    bool memory_limit, cpu_limit, pids_limit, nvidia_runtime;
};
int dk_parse_info(const char *body, size_t len, struct dk_info *out);
/* /networks: whether a network the engine attaches by default ("bridge", "podman") exists. */
int dk_parse_has_default_network(const char *body, size_t len, bool *out);

/* A container's state, from GET /containers/{id}/json. */
struct dk_state {
    char status[16]; /* "created", "running", "exited", "dead", ... */
    bool running;
    bool oom_killed;
    int exit_code;
    uint64_t started_ns, finished_ns; /* realtime; 0 when the engine says "never" */
    char error[200];                  /* State.Error */
    uint64_t memory_limit;            /* HostConfig.Memory */
    uint64_t timeout_ms;              /* the io.lilypad.timeout-ms label; 0 none */
    bool ours;                        /* labelled io.lilypad.executor=docker */
};
int dk_parse_inspect(const char *body, size_t len, struct dk_state *out);
/* RFC 3339 with fractional seconds and a zone ("...Z", "...+02:00") → ns since the epoch;
 * 0 for the zero time (year 1) or text it cannot read. */
uint64_t dk_parse_time(const char *text);

/* NDJSON progress of a pull or load, fed in pieces as it arrives. */
struct dk_progress {
    struct dk_buf line; /* the partial line carried across pieces */
    bool failed;
    char error[1024]; /* the first {"error"} or {"errorDetail":{"message"}} */
    char loaded[200]; /* a load's last "Loaded image: X" (or "Loaded image ID: ...") */
};
void dk_progress_feed(struct dk_progress *p, const char *data, size_t len);
void dk_progress_finish(struct dk_progress *p); /* the last line, if it had no newline */
void dk_progress_free(struct dk_progress *p);

/* /containers/json: calls fn for each container's Id and its first name (without '/'). */
int dk_parse_container_list(const char *body, size_t len,
                            void (*fn)(void *arg, const char *id, const char *name), void *arg);
/* /images/{name}/json: whether RepoDigests has an entry ending in "@<digest>". */
int dk_parse_image_has_digest(const char *body, size_t len, const char *digest, bool *out);

/* ---- log frames (docker_frames.c; fuzzed) ---------------------------------------------------
 * A non-TTY container's logs come multiplexed: frames of an 8-byte header (byte 0 the stream,
 * 1 stdout or 2 stderr; bytes 4..7 the payload's length, big-endian) and the payload. The
 * parser takes the body in whatever pieces curl hands over, headers split across pieces
 * included, and hands each payload piece of the wanted stream on. */
struct dk_frames {
    uint8_t header[8];
    size_t header_len;  /* bytes of the current header seen so far */
    uint64_t remaining; /* payload bytes of the current frame still to come */
    int current_stream; /* the current frame's stream */
    int want;           /* LP_STREAM_STDOUT or LP_STREAM_STDERR */
    uint64_t skip;      /* bytes of the wanted stream to drop first (logs_from's offset) */
    uint64_t delivered; /* bytes of the wanted stream seen, skipped ones included */
    int (*write)(void *arg, const void *data, size_t len);
    void *arg;
    bool stopped; /* the receiver asked to stop */
};
void dk_frames_init(struct dk_frames *f, int want, uint64_t skip,
                    int (*write)(void *arg, const void *data, size_t len), void *arg);
/* Feeds one piece; returns nonzero once the receiver has asked to stop. */
int dk_frames_feed(struct dk_frames *f, const void *data, size_t len);

/* ---- images (docker_image.c) --------------------------------------------------------------- */
struct lp_docker;
/* Makes the image present by the pull policy: inspect, pull, or load <archives>/<name>.tar;
 * checks a pinned digest. 0, or -1 with one line in err. */
int dk_image_ensure(struct lp_docker *d, const char *image, dk_abort_fn aborted, void *abort_arg,
                    char *err, size_t errlen);
/* The file name an image's archive has in image_archives: the reference with '/', ':' and '@'
 * turned into '_', and ".tar". */
void dk_image_archive_name(const char *image, char *out, size_t cap);

/* ---- GPUs (docker_gpu.c) ------------------------------------------------------------------- */
/* What describe() may claim (LP_EXEC_ATTACH_NVIDIA / _AMD) on this host with this engine. */
uint32_t dk_gpu_attach(const struct lp_docker *d);
/* The HostConfig members that attach `limits`'s GPUs (DeviceRequests, or Devices and
 * GroupAdd), added to host_config (a jansson object). 0, or -1 with why (a vendor this
 * instance cannot attach). */
int dk_gpu_host_config(const struct lp_docker *d, const struct lp_job_limits *limits,
                       void *host_config, char *err, size_t errlen);

/* ---- jobs (docker_job.c, docker_container.c) ---------------------------------------------- */
struct dk_job {
    struct dk_job *next;
    struct lp_docker *owner;
    char name[64]; /* lilypad-<hex>: the container's name and the job's handle */
    char id[72];   /* the container's ID, once created */
    char image[256];
    void *create_body; /* json_t: the create request, built at submit */
    uint64_t timeout_ms;
    uint64_t memory_limit;
    bool adopted; /* found by name after a restart, not submitted by this instance */

    /* under owner->lock */
    pthread_t monitor;
    bool monitor_running;
    bool cancel_requested;
    bool stop_requested; /* release or destroy: the monitor stops at once */
    bool cancel_seen;    /* the monitor has taken the cancel into account */
    bool timed_out;      /* the deadline passed: SIGTERM went out */
    uint64_t term_at_ms; /* monotonic ms of the SIGTERM (cancel or timeout); 0 none */
    bool kill_sent;      /* SIGKILL went out after kill_grace */
    struct lp_job_status status;
    unsigned waiters;
    bool released;
};

struct lp_docker {
    const struct lp_host *host;
    struct lp_docker_config cfg;
    struct dk_engine engine;
    const char *gpu; /* the effective gpu setting: auto, nvidia, amd, none */
    pthread_mutex_t lock;
    pthread_cond_t changed; /* on CLOCK_MONOTONIC: a job changed state or left */
    struct dk_job *jobs;
};

/* Builds the create body of a job (docker_container.c). 0, or -1 with why. */
int dk_container_body(struct lp_docker *d, const struct lp_job_spec *spec, const char *inputs_dir,
                      const char *outputs_dir, const struct lp_job_limits *limits,
                      uint64_t timeout_ms, void **body, char *err, size_t errlen);
/* Engine calls on one container; each 0, or -1 with why in err. */
int dk_container_create(struct lp_docker *d, const char *name, void *body, char *id, size_t cap,
                        char *err, size_t errlen);
int dk_container_start(struct lp_docker *d, const char *id, char *err, size_t errlen);
/* Sends a signal; a container that is no longer running is no error. */
int dk_container_kill(struct lp_docker *d, const char *id, const char *signal, char *err,
                      size_t errlen);
/* 1 when the container does not exist, 0 with *st filled, -1 on failure. */
int dk_container_inspect(struct lp_docker *d, const char *id, struct dk_state *st, char *err,
                         size_t errlen);
/* Blocks until the container is not running, timeout_ms passes (0: no limit), or aborted()
 * says stop. 0 when it stopped running, 1 on timeout or abort, -1 when the connection failed. */
int dk_container_wait(struct lp_docker *d, const char *id, uint64_t timeout_ms, dk_abort_fn aborted,
                      void *abort_arg, char *err, size_t errlen);
/* force=1&v=1; a container already gone is no error. */
int dk_container_remove(struct lp_docker *d, const char *id, char *err, size_t errlen);
/* Streams the logs (follow=0) through a frame parser. */
int dk_container_logs(struct lp_docker *d, const char *id, struct dk_frames *frames, char *err,
                      size_t errlen);

/* Starts the job's monitor thread, which pulls, creates, starts and waits. Caller holds d->lock. */
int dk_job_launch(struct dk_job *job);
/* Makes an adopted job's record from its container's state and follows it if it still runs. */
int dk_job_adopt(struct dk_job *job, const struct dk_state *st);
/* Joins the monitor (after stop_requested) and frees the job (already unlinked). */
void dk_job_free(struct dk_job *job);

/* Removes every container of `owner` not in keep (docker_reclaim.c). */
int dk_reclaim(struct lp_docker *d, const char *owner, const struct lp_job_handle *keep,
               size_t keep_count, size_t *removed, char *err, size_t errlen);

/* ---- errors (docker_plugin.c) ------------------------------------------------------------- */
/* Records the calling thread's last failure (last_error) and logs it. */
void dk_set_error(const struct lp_docker *d, const char *fmt, ...) LP_PRINTF(2, 3);

/* Labels every container of this plugin carries. */
#define DK_LABEL_OWNER    "io.lilypad.owner"
#define DK_LABEL_JOB      "io.lilypad.job"
#define DK_LABEL_EXECUTOR "io.lilypad.executor"
#define DK_LABEL_TIMEOUT  "io.lilypad.timeout-ms"

#endif
