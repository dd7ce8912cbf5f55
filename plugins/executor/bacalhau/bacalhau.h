/* executor/bacalhau: runs jobs on a Bacalhau cluster through its v1 orchestrator REST API.
 * Internal interfaces between the plugin's files (README.md describes the plugin). */
#ifndef LP_EXECUTOR_BACALHAU_H
#define LP_EXECUTOR_BACALHAU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lilypad/executor.h>

/* The plugin's configuration (schema in bacalhau_plugin.c). */
struct bac_config {
    const char *api;            /* "http://127.0.0.1:1234" */
    const char *token;          /* bearer token; "" = none. Secret: never logged */
    const char *namespace_;     /* Bacalhau namespace of the jobs */
    uint64_t poll_interval;     /* ms between two status requests for one job */
    bool result_host_rewrite;   /* fetch results from the API's host, not the node's */
    uint64_t max_result_size;   /* bytes, cap of a job's results when its limits set none */
    uint64_t default_timeout;   /* ms, a job's timeout when its limits set none (0: none) */
    const char *gpus;           /* what the cluster has: nvidia | amd | none */
    uint64_t unreachable_grace; /* ms the orchestrator may be unreachable before a job fails */
    uint64_t request_timeout;   /* ms, one HTTP request to the orchestrator */
};

/* ---- HTTP (bacalhau_api.c) ---------------------------------------------------------------- */
struct bac_api {
    char base[512];    /* the api setting without a trailing slash */
    char auth[1024];   /* "Authorization: Bearer …", or "" */
    const char *token; /* to scrub from any text that leaves the plugin */
    long request_timeout_ms;
};

/* A reply, or why there is none. */
struct bac_reply {
    long status;      /* HTTP status; 0 when the request failed before an answer */
    bool unreachable; /* no connection could be made (nothing reached the server) */
    char *body;       /* NUL-terminated; NULL when none */
    size_t len;
    char error[256]; /* curl's reason when status is 0 */
};

void bac_api_init(struct bac_api *api, const char *base, const char *token, uint64_t timeout_ms);
/* One request: method GET, PUT or DELETE to base + path, with a JSON body (may be NULL).
 * Always fills *reply; free it with bac_reply_free. Returns 0 when an HTTP answer came. */
int bac_api_call(const struct bac_api *api, const char *method, const char *path, const char *body,
                 struct bac_reply *reply);
void bac_reply_free(struct bac_reply *reply);
/* "HTTP 400: <the server's message> (hint: …)" or the transport failure, one line. */
void bac_reply_describe(const struct bac_reply *reply, char *out, size_t cap);
/* Replaces every occurrence of the configured token in text with "***" (in place). */
void bac_api_scrub(const struct bac_api *api, char *text);
/* Percent-encodes s for a query string or path segment. */
void bac_url_escape(const char *s, char *out, size_t cap);

/* ---- the job document (bacalhau_job.c) ---------------------------------------------------- */
/* Builds the PutJobRequest body for the spec; NULL with the reason in why (a job Bacalhau
 * would refuse: an environment name starting with BACALHAU_, a relative inputs folder). The
 * caller frees the string. */
char *bac_job_build(const struct bac_config *cfg, const struct lp_job_spec *spec,
                    const char *inputs_dir, const struct lp_job_limits *limits, uint64_t timeout_ms,
                    char *why, size_t why_len);
/* "500m", "2": CPU in Kubernetes units; "2gib", "1536mib", "1000b": bytes in go-humanize's. */
void bac_format_cpu(uint32_t millicores, char *out, size_t cap);
void bac_format_bytes(uint64_t bytes, char *out, size_t cap);

/* ---- reply decoding (bacalhau_state.c) ---------------------------------------------------- */
/* Job states (models.JobStateType), in the order of their integer form. */
enum bac_job_state {
    BAC_JOB_UNDEFINED = 0,
    BAC_JOB_PENDING,
    BAC_JOB_QUEUED,
    BAC_JOB_RUNNING,
    BAC_JOB_COMPLETED,
    BAC_JOB_FAILED,
    BAC_JOB_STOPPED,
};

/* Execution compute states (models.ExecutionStateType): always integers on the wire. */
enum bac_exec_state {
    BAC_EXEC_UNDEFINED = 0,
    BAC_EXEC_NEW = 1,
    BAC_EXEC_ASK_FOR_BID = 2,
    BAC_EXEC_ASK_FOR_BID_ACCEPTED = 3,
    BAC_EXEC_ASK_FOR_BID_REJECTED = 4,
    BAC_EXEC_BID_ACCEPTED = 5,
    BAC_EXEC_RUNNING = 6,
    BAC_EXEC_PUBLISHING = 7,
    BAC_EXEC_BID_REJECTED = 8,
    BAC_EXEC_COMPLETED = 9,
    BAC_EXEC_FAILED = 10,
    BAC_EXEC_CANCELLED = 11,
};

#define BAC_TEXT_MAX 256

struct bac_exec_view {
    char id[128];
    int compute_state;                  /* enum bac_exec_state */
    char compute_message[BAC_TEXT_MAX]; /* one line */
    bool has_run_output;
    int exit_code;
    char error_msg[BAC_TEXT_MAX];    /* RunOutput.ErrorMsg, one line */
    char *stdout_text, *stderr_text; /* malloc'd; NULL when absent */
    size_t stdout_len, stderr_len;
    bool stdout_truncated, stderr_truncated;
};

struct bac_job_view {
    char id[128];
    int state;                        /* enum bac_job_state */
    char state_message[BAC_TEXT_MAX]; /* one line */
    bool has_exec;                    /* the execution that says most about the job */
    struct bac_exec_view exec;
};

/* GET /jobs/{id}?include=executions. 0, or -1 with why. Free with bac_job_view_free. */
int bac_decode_job(const char *body, size_t len, struct bac_job_view *out, char *why, size_t cap);
void bac_job_view_free(struct bac_job_view *v);
/* "Completed" for a job state; "state N" outside the enum. */
const char *bac_job_state_name(int state);
/* PUT /jobs: the new job's ID. */
int bac_decode_submit(const char *body, size_t len, char *job_id, size_t cap, char *why,
                      size_t why_len);
/* GET /jobs/{id}/results: the first urlDownload item's URL. */
int bac_decode_results(const char *body, size_t len, char *url, size_t cap, char *why,
                       size_t why_len);
/* An error body ({"Status","Message","Hint",…}): "<Message> (hint: <Hint>)", one line; when
 * the body is not that shape, its first line. Never fails: empty body gives "". */
void bac_decode_error(const char *body, size_t len, char *out, size_t cap);
/* GET /api/v1/agent/version: its GitVersion ("v1.6.0"). */
int bac_decode_version(const char *body, size_t len, char *out, size_t cap);
/* GET /jobs (a list): calls fn for each job, with its ID, state, and the value of the label
 * `label_key` (NULL when the job has none); next_token receives the paging token ("" at the
 * end). fn returns nonzero to stop. */
typedef int (*bac_list_fn)(void *arg, const char *job_id, int state, const char *label_value);
int bac_decode_list(const char *body, size_t len, const char *label_key, bac_list_fn fn, void *arg,
                    char *next_token, size_t cap, char *why, size_t why_len);

/* ---- results (bacalhau_results.c) --------------------------------------------------------- */
/* What a results tarball held besides the outputs folder. */
struct bac_results {
    char *stdout_text, *stderr_text; /* malloc'd; NULL when absent */
    size_t stdout_len, stderr_len;
    bool has_exit_code;
    int exit_code;
    uint64_t files, bytes; /* unpacked into the outputs folder */
};

/* The URL with its host replaced by the API's host (the node's own name rarely resolves from
 * the provider). 0, or -1 with why. */
int bac_results_rewrite_host(const char *url, const char *api_base, char *out, size_t cap,
                             char *why, size_t why_len);
/* Downloads the tar.gz at url and unpacks its outputs/ folder into outputs_dir, keeping the
 * stdout, stderr and exitCode files in *res; at most max_bytes in all (download and unpacked).
 * Refuses entries that would leave the folder (absolute paths, "..", links pointing out,
 * paths through links), and devices, FIFOs and hard links. 0, or -1 with why. */
int bac_results_fetch(const struct bac_api *api, const char *url, const char *outputs_dir,
                      uint64_t max_bytes, struct bac_results *res, char *why, size_t why_len);
/* The unpacking alone, from an open file of tar.gz bytes (for tests and the fetch above). */
int bac_results_unpack_fd(int fd, const char *outputs_dir, uint64_t max_bytes,
                          struct bac_results *res, char *why, size_t why_len);
void bac_results_free(struct bac_results *res);

#endif
