/* executor/bacalhau: decoding the orchestrator's replies (job with executions, submit, results
 * list, job list, version, error body). Every function takes untrusted bytes and either fills
 * its output or says why not; none of them keeps a reference into the parsed document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "bacalhau.h"

static const char *const job_state_names[] = {
    "Undefined", "Pending", "Queued", "Running", "Completed", "Failed", "Stopped",
};
#define JOB_STATE_COUNT (sizeof job_state_names / sizeof job_state_names[0])

const char *bac_job_state_name(int state)
{
    if (state >= 0 && (size_t)state < JOB_STATE_COUNT)
        return job_state_names[state];
    return "unknown";
}

/* Server text into a fixed buffer as one line: control characters (newlines included) become
 * spaces, so a message can never forge a second log line. */
static void one_line(const char *s, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = 0;
    for (; s != NULL && *s != '\0' && n + 1 < cap; s++)
        out[n++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s;
    out[n] = '\0';
}

static json_t *parse(const char *body, size_t len, char *why, size_t cap)
{
    if (body == NULL || len == 0) {
        snprintf(why, cap, "empty reply");
        return NULL;
    }
    json_error_t e;
    json_t *root = json_loadb(body, len, 0, &e);
    if (root == NULL) {
        snprintf(why, cap, "reply is not JSON (line %d: %.120s)", e.line, e.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        snprintf(why, cap, "reply is not a JSON object");
        json_decref(root);
        return NULL;
    }
    return root;
}

static const char *str_member(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A job's StateType: the string Bacalhau's JSON carries, or the integer its swagger declares. */
static int job_state_of(const json_t *v)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        return i >= 0 && (size_t)i < JOB_STATE_COUNT ? (int)i : -1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (size_t i = 0; i < JOB_STATE_COUNT; i++)
            if (strcasecmp(s, job_state_names[i]) == 0)
                return (int)i;
    }
    return -1;
}

static char *copy_text(const char *s, size_t *len)
{
    *len = strlen(s);
    char *out = malloc(*len + 1);
    if (out != NULL)
        memcpy(out, s, *len + 1);
    else
        *len = 0;
    return out;
}

/* How much an execution says about the job: a finished one most, then one that runs. Ties go
 * to the later one in the list (a retry after a failed attempt). */
static int exec_rank(int state)
{
    switch (state) {
    case BAC_EXEC_COMPLETED:
        return 5;
    case BAC_EXEC_FAILED:
        return 4;
    case BAC_EXEC_RUNNING:
    case BAC_EXEC_PUBLISHING:
        return 3;
    case BAC_EXEC_BID_ACCEPTED:
    case BAC_EXEC_ASK_FOR_BID_ACCEPTED:
        return 2;
    default:
        return 1;
    }
}

static int exec_state_of(const json_t *exec)
{
    const json_t *cs = json_object_get(exec, "ComputeState");
    const json_t *t = json_is_object(cs) ? json_object_get(cs, "StateType") : NULL;
    if (!json_is_integer(t))
        return -1;
    json_int_t i = json_integer_value(t);
    return i >= 0 && i <= BAC_EXEC_CANCELLED ? (int)i : -1;
}

static void decode_exec(const json_t *exec, int state, struct bac_exec_view *out)
{
    one_line(str_member(exec, "ID"), out->id, sizeof out->id);
    out->compute_state = state;
    const json_t *cs = json_object_get(exec, "ComputeState");
    one_line(str_member(cs, "Message"), out->compute_message, sizeof out->compute_message);
    const json_t *ro = json_object_get(exec, "RunOutput");
    if (!json_is_object(ro))
        return;
    out->has_run_output = true;
    const json_t *code = json_object_get(ro, "ExitCode");
    if (json_is_integer(code)) {
        json_int_t c = json_integer_value(code);
        out->exit_code = c < -2147483647 ? -2147483647 : c > 2147483647 ? 2147483647 : (int)c;
    }
    one_line(str_member(ro, "ErrorMsg"), out->error_msg, sizeof out->error_msg);
    const char *so = str_member(ro, "Stdout");
    /* models.RunCommandResult tags stderr in lower case ("stderr"); accept "Stderr" too. */
    const char *se = str_member(ro, "stderr");
    if (se == NULL)
        se = str_member(ro, "Stderr");
    if (so != NULL)
        out->stdout_text = copy_text(so, &out->stdout_len);
    if (se != NULL)
        out->stderr_text = copy_text(se, &out->stderr_len);
    out->stdout_truncated = json_is_true(json_object_get(ro, "StdoutTruncated"));
    out->stderr_truncated = json_is_true(json_object_get(ro, "StderrTruncated"));
}

int bac_decode_job(const char *body, size_t len, struct bac_job_view *out, char *why, size_t cap)
{
    memset(out, 0, sizeof *out);
    json_t *root = parse(body, len, why, cap);
    if (root == NULL)
        return -1;
    int rc = -1;
    const json_t *job = json_object_get(root, "Job");
    if (!json_is_object(job)) {
        snprintf(why, cap, "reply has no Job object");
        goto out;
    }
    one_line(str_member(job, "ID"), out->id, sizeof out->id);
    const json_t *st = json_object_get(job, "State");
    if (!json_is_object(st)) {
        snprintf(why, cap, "job has no State");
        goto out;
    }
    out->state = job_state_of(json_object_get(st, "StateType"));
    if (out->state < 0) {
        snprintf(why, cap, "job State.StateType is neither a known name nor 0..6");
        goto out;
    }
    one_line(str_member(st, "Message"), out->state_message, sizeof out->state_message);
    const json_t *execs = json_object_get(root, "Executions");
    const json_t *items = json_is_object(execs) ? json_object_get(execs, "Items") : NULL;
    const json_t *best = NULL;
    int best_state = 0, best_rank = 0;
    size_t i;
    const json_t *e;
    json_array_foreach(items, i, e)
    {
        int s = json_is_object(e) ? exec_state_of(e) : -1;
        if (s < 0)
            continue; /* a malformed execution tells nothing: skip it, keep the job's state */
        int r = exec_rank(s);
        if (r >= best_rank) {
            best = e;
            best_rank = r;
            best_state = s;
        }
    }
    if (best != NULL) {
        out->has_exec = true;
        decode_exec(best, best_state, &out->exec);
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

void bac_job_view_free(struct bac_job_view *v)
{
    free(v->exec.stdout_text);
    free(v->exec.stderr_text);
    v->exec.stdout_text = v->exec.stderr_text = NULL;
}

int bac_decode_submit(const char *body, size_t len, char *job_id, size_t cap, char *why,
                      size_t why_len)
{
    json_t *root = parse(body, len, why, why_len);
    if (root == NULL)
        return -1;
    const char *id = str_member(root, "JobID");
    int rc = -1;
    if (id == NULL || *id == '\0')
        snprintf(why, why_len, "reply has no JobID");
    else if (strlen(id) >= cap || strpbrk(id, "/?#% \t\r\n") != NULL)
        snprintf(why, why_len, "JobID is too long or holds characters a job ID never has");
    else {
        snprintf(job_id, cap, "%s", id);
        rc = 0;
    }
    json_decref(root);
    return rc;
}

int bac_decode_results(const char *body, size_t len, char *url, size_t cap, char *why,
                       size_t why_len)
{
    json_t *root = parse(body, len, why, why_len);
    if (root == NULL)
        return -1;
    int rc = -1;
    const json_t *items = json_object_get(root, "Items");
    if (!json_is_array(items) || json_array_size(items) == 0) {
        snprintf(why, why_len, "the job published no results");
        goto out;
    }
    const char *first_type = NULL;
    size_t i;
    const json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *type = str_member(item, "Type");
        if (first_type == NULL)
            first_type = type;
        if (type == NULL || strcasecmp(type, "urlDownload") != 0)
            continue;
        const char *u = str_member(json_object_get(item, "Params"), "URL");
        if (u == NULL || *u == '\0') {
            snprintf(why, why_len, "urlDownload result without a URL");
            goto out;
        }
        if (strlen(u) >= cap) {
            snprintf(why, why_len, "result URL is longer than %zu bytes", cap - 1);
            goto out;
        }
        snprintf(url, cap, "%s", u);
        rc = 0;
        goto out;
    }
    char t[64];
    one_line(first_type ? first_type : "(none)", t, sizeof t);
    snprintf(why, why_len,
             "results are of type %s, not urlDownload (the job must use the local publisher)", t);
out:
    json_decref(root);
    return rc;
}

void bac_decode_error(const char *body, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = '\0';
    if (body == NULL || len == 0)
        return;
    json_error_t e;
    json_t *root = json_loadb(body, len, 0, &e);
    const char *msg = json_is_object(root) ? str_member(root, "Message") : NULL;
    if (msg == NULL && json_is_object(root))
        msg = str_member(root, "message"); /* echo's own errors (404, 405) use lower case */
    if (msg != NULL) {
        char m[BAC_TEXT_MAX], hint[BAC_TEXT_MAX];
        one_line(msg, m, sizeof m);
        one_line(str_member(root, "Hint"), hint, sizeof hint);
        if (hint[0] != '\0')
            snprintf(out, cap, "%s (hint: %s)", m, hint);
        else
            snprintf(out, cap, "%s", m);
    } else {
        /* Not Bacalhau's error shape (a proxy's HTML page): its first line, shortened. */
        size_t n = 0;
        while (n < len && n + 1 < cap && n < 160 && body[n] != '\n' && body[n] != '\0')
            n++;
        char line[161];
        memcpy(line, body, n < sizeof line ? n : sizeof line - 1);
        line[n < sizeof line ? n : sizeof line - 1] = '\0';
        one_line(line, out, cap);
    }
    json_decref(root);
}

int bac_decode_version(const char *body, size_t len, char *out, size_t cap)
{
    char why[64];
    json_t *root = parse(body, len, why, sizeof why);
    if (root == NULL)
        return -1;
    const char *v = str_member(root, "GitVersion");
    int rc = -1;
    if (v != NULL && *v != '\0') {
        one_line(v, out, cap < 40 ? cap : 40);
        rc = 0;
    }
    json_decref(root);
    return rc;
}

int bac_decode_list(const char *body, size_t len, const char *label_key, bac_list_fn fn, void *arg,
                    char *next_token, size_t cap, char *why, size_t why_len)
{
    if (cap > 0)
        next_token[0] = '\0';
    json_t *root = parse(body, len, why, why_len);
    if (root == NULL)
        return -1;
    int rc = -1;
    const json_t *items = json_object_get(root, "Items");
    if (!json_is_array(items) && !json_is_null(items) && items != NULL) {
        snprintf(why, why_len, "Items is not a list");
        goto out;
    }
    size_t i;
    const json_t *job;
    json_array_foreach(items, i, job)
    {
        const char *id = str_member(job, "ID");
        if (id == NULL || *id == '\0' || strlen(id) >= 128)
            continue;
        const json_t *st = json_object_get(job, "State");
        int state = job_state_of(json_is_object(st) ? json_object_get(st, "StateType") : NULL);
        const char *label = str_member(json_object_get(job, "Labels"), label_key);
        if (fn(arg, id, state, label) != 0)
            break;
    }
    const char *tok = str_member(root, "NextToken");
    if (tok != NULL && cap > 0) {
        if (strlen(tok) >= cap) {
            snprintf(why, why_len, "NextToken is longer than %zu bytes", cap - 1);
            goto out;
        }
        snprintf(next_token, cap, "%s", tok);
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
