#include "module/module_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "module/bundle.h"
#include "module/module.h"

#define BUCKETS 8192u /* a power of two */

struct entry {
    uint8_t key[LP_KECCAK256_LEN];
    char *text; /* template, canonical spec, or (failed) the error line */
    size_t len;
    bool failed;
    uint64_t expires_ms; /* failed entries only */
    struct entry *hnext, *prev, *next;
};

struct lp_module_cache {
    pthread_mutex_t mu;
    char *git_dir;
    struct entry *buckets[BUCKETS];
    struct entry *head, *tail; /* most and least recently used */
    size_t n, bytes;
    struct lp_module_cache_stats stats;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct lp_module_cache *lp_module_cache_new(const char *git_cache_dir)
{
    struct lp_module_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (git_cache_dir && !(c->git_dir = strdup(git_cache_dir))) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void entry_free(struct entry *e)
{
    free(e->text);
    free(e);
}

void lp_module_cache_free(struct lp_module_cache *c)
{
    if (!c)
        return;
    for (struct entry *e = c->head, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    pthread_mutex_destroy(&c->mu);
    free(c->git_dir);
    free(c);
}

/* ---- the LRU (c->mu held) ------------------------------------------------------------------ */

static size_t bucket_of(const uint8_t key[LP_KECCAK256_LEN])
{
    uint32_t h;
    memcpy(&h, key, sizeof h); /* a keccak: already uniform */
    return h & (BUCKETS - 1);
}

static void lru_unlink(struct lp_module_cache *c, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(struct lp_module_cache *c, struct entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void remove_entry(struct lp_module_cache *c, struct entry *e)
{
    struct entry **pp = &c->buckets[bucket_of(e->key)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(c, e);
    c->n--;
    c->bytes -= e->len;
    entry_free(e);
}

static struct entry *find(struct lp_module_cache *c, const uint8_t key[LP_KECCAK256_LEN])
{
    for (struct entry *e = c->buckets[bucket_of(key)]; e; e = e->hnext) {
        if (memcmp(e->key, key, LP_KECCAK256_LEN) == 0)
            return e;
    }
    return NULL;
}

/* A copy of the entry's text into *text, or false when absent (or a failure that expired). */
static bool cache_get(struct lp_module_cache *c, const uint8_t key[LP_KECCAK256_LEN], char **text,
                      size_t *len, bool *failed)
{
    pthread_mutex_lock(&c->mu);
    struct entry *e = find(c, key);
    if (e && e->failed && mono_ms() >= e->expires_ms) {
        remove_entry(c, e);
        e = NULL;
    }
    bool found = false;
    if (e && (*text = malloc(e->len + 1)) != NULL) {
        memcpy(*text, e->text, e->len + 1);
        *len = e->len;
        *failed = e->failed;
        lru_unlink(c, e);
        lru_push_front(c, e);
        found = true;
    }
    pthread_mutex_unlock(&c->mu);
    return found;
}

/* Stores a copy of text under key (replacing what was there); out of memory only skips it. */
static void cache_put(struct lp_module_cache *c, const uint8_t key[LP_KECCAK256_LEN],
                      const char *text, size_t len, bool failed)
{
    if (len > LP_MODULE_CACHE_MAX_BYTES / 4)
        return;
    struct entry *n = calloc(1, sizeof *n);
    if (!n || !(n->text = malloc(len + 1))) {
        free(n);
        return;
    }
    memcpy(n->key, key, LP_KECCAK256_LEN);
    memcpy(n->text, text, len);
    n->text[len] = '\0';
    n->len = len;
    n->failed = failed;
    n->expires_ms = failed ? mono_ms() + LP_MODULE_CACHE_FAIL_MS : 0;
    pthread_mutex_lock(&c->mu);
    struct entry *old = find(c, key);
    if (old)
        remove_entry(c, old);
    while (c->tail &&
           (c->n + 1 > LP_MODULE_CACHE_ENTRIES || c->bytes + len > LP_MODULE_CACHE_MAX_BYTES))
        remove_entry(c, c->tail);
    size_t b = bucket_of(key);
    n->hnext = c->buckets[b];
    c->buckets[b] = n;
    lru_push_front(c, n);
    c->n++;
    c->bytes += len;
    pthread_mutex_unlock(&c->mu);
}

static void count(struct lp_module_cache *c, uint64_t *field)
{
    pthread_mutex_lock(&c->mu);
    (*field)++;
    pthread_mutex_unlock(&c->mu);
}

void lp_module_cache_get_stats(struct lp_module_cache *c, struct lp_module_cache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->stats;
    out->entries = c->n;
    out->bytes = c->bytes;
    pthread_mutex_unlock(&c->mu);
}

/* ---- keys ----------------------------------------------------------------------------------- */

static void put_len(struct lp_keccak *k, size_t n)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(n >> (56 - 8 * i));
    lp_keccak256_update(k, b, sizeof b);
}

/* Templates by module ID; specs by module ID + inputs (each length-prefixed, so no two input
 * lists give the same bytes). A leading letter keeps the two kinds apart. */
static void template_key(const uint8_t id[LP_KECCAK256_LEN], uint8_t key[LP_KECCAK256_LEN])
{
    struct lp_keccak k;
    lp_keccak256_init(&k);
    lp_keccak256_update(&k, "T", 1);
    lp_keccak256_update(&k, id, LP_KECCAK256_LEN);
    lp_keccak256_final(&k, key);
}

static void spec_key(const uint8_t id[LP_KECCAK256_LEN], const struct lp_job_offer *o,
                     uint8_t key[LP_KECCAK256_LEN])
{
    struct lp_keccak k;
    lp_keccak256_init(&k);
    lp_keccak256_update(&k, "S", 1);
    lp_keccak256_update(&k, id, LP_KECCAK256_LEN);
    put_len(&k, o->n_inputs);
    for (size_t i = 0; i < o->n_inputs; i++) {
        const char *parts[2] = {o->inputs[i].key, o->inputs[i].value};
        for (int p = 0; p < 2; p++) {
            size_t n = parts[p] ? strlen(parts[p]) : 0;
            put_len(&k, n);
            lp_keccak256_update(&k, parts[p] ? parts[p] : "", n);
        }
    }
    lp_keccak256_final(&k, key);
}

/* ---- resolving ------------------------------------------------------------------------------ */

/* A git module at exactly the offer's repo and commit. */
static int load_git(struct lp_module_cache *c, const char *repo, const char *commit,
                    struct lp_module *m, struct lp_module_error *err)
{
    if (strncmp(repo, "https://", 8) != 0 && strncmp(repo, "file:///", 8) != 0) {
        lp_module_errorf(err, repo,
                         "not a module this node can fetch (hint: https://HOST/OWNER/REPO, "
                         "file:///PATH or bundle:0x<keccak>)");
        return -1;
    }
    size_t n = strlen(repo) + strlen(commit) + 2;
    char *ref = malloc(n);
    if (!ref) {
        lp_module_errorf(err, repo, "out of memory");
        return -1;
    }
    snprintf(ref, n, "%s:%s", repo, commit);
    int rc = lp_module_load(ref, c->git_dir, m, err);
    free(ref);
    if (rc != 0) {
        /* A file:// repository is a path on its creator's machine, and is fetched by that path
         * only where it exists (a devnet, one machine's tests). */
        size_t used = strlen(err->message);
        if (strncmp(repo, "file://", 7) == 0 && used + 80 < sizeof err->message)
            snprintf(err->message + used, sizeof err->message - used,
                     " (hint: a file:// repository travels only as its folder's bundle: "
                     "run the folder)");
        return -1;
    }
    if (m->loc.kind != LP_MODULE_GIT || strcmp(m->repo, repo) != 0 ||
        strcmp(m->commit, commit) != 0) {
        lp_module_errorf(err, repo,
                         "the job offer does not name the module as it resolves (%s at %s; hint: "
                         "name it as lilypad run does)",
                         m->repo, m->commit);
        lp_module_free(m);
        return -1;
    }
    return 0;
}

static int load_bundle(const char *repo, const char *commit, lp_module_bundle_fetch_fn fetch,
                       void *fetch_ctx, struct lp_module *m, struct lp_module_error *err)
{
    uint8_t keccak[LP_KECCAK256_LEN];
    if (lp_module_bundle_parse(repo, commit, keccak, err) != 0)
        return -1;
    if (!fetch) {
        lp_module_errorf(err, repo, "this node cannot fetch module bundles");
        return -1;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if (fetch(fetch_ctx, keccak, &data, &len, err) != 0)
        return -1;
    int rc = lp_module_load_bundle(data, len, keccak, m, err);
    free(data);
    return rc;
}

/* The module's template: from the cache, else resolved (and cached). *text malloc'd. */
static int get_template(struct lp_module_cache *c, const struct lp_job_offer *o,
                        const uint8_t id[LP_KECCAK256_LEN], lp_module_bundle_fetch_fn fetch,
                        void *fetch_ctx, char **text, size_t *len, struct lp_module_error *err)
{
    uint8_t key[LP_KECCAK256_LEN];
    template_key(id, key);
    bool failed = false;
    if (cache_get(c, key, text, len, &failed)) {
        if (!failed)
            return 0;
        snprintf(err->message, sizeof err->message, "%s", *text);
        free(*text);
        *text = NULL;
        return -1;
    }
    count(c, &c->stats.resolutions);
    struct lp_module m;
    bool bundle = lp_module_is_bundle(o->module.repo);
    int rc = bundle ? load_bundle(o->module.repo, o->module.commit, fetch, fetch_ctx, &m, err)
                    : load_git(c, o->module.repo, o->module.commit, &m, err);
    if (rc != 0) {
        /* A bundle not uploaded yet may be uploaded in a moment: only git failures stay. */
        if (!bundle)
            cache_put(c, key, err->message, strlen(err->message), true);
        return -1;
    }
    cache_put(c, key, m.template_text, m.template_len, false);
    *text = m.template_text;
    *len = m.template_len;
    m.template_text = NULL;
    lp_module_free(&m);
    return 0;
}

static int render(const struct lp_job_offer *o, const char *text, size_t len, char **canonical,
                  struct lp_module_error *err)
{
    struct lp_template_input *in = calloc(o->n_inputs ? o->n_inputs : 1, sizeof *in);
    if (!in) {
        lp_module_errorf(err, o->module.repo, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < o->n_inputs; i++) {
        in[i].key = o->inputs[i].key;
        in[i].value = o->inputs[i].value;
    }
    struct lp_module m;
    memset(&m, 0, sizeof m);
    m.reference = o->module.repo;
    m.template_path = LP_MODULE_TEMPLATE_FILE;
    m.template_text = (char *)text;
    m.template_len = len;
    struct lp_module_job job;
    int rc = lp_module_render(&m, in, o->n_inputs, &job, err);
    free(in);
    if (rc != 0)
        return -1;
    *canonical = job.canonical;
    job.canonical = NULL;
    lp_module_job_free(&job);
    return 0;
}

/* "...text around at..." for an error line (which a solver's answer caps at 255 characters):
 * up to 8 bytes before `at` and 24 from it. */
static void excerpt(const char *s, size_t at, char *out, size_t cap)
{
    size_t len = strlen(s), from = at > 8 ? at - 8 : 0;
    size_t to = at + 24 < len ? at + 24 : len;
    snprintf(out, cap, "%s%.*s%s", from ? "..." : "", (int)(to - from), s + from,
             to < len ? "..." : "");
}

int lp_module_cache_check(struct lp_module_cache *c, const struct lp_job_offer *offer,
                          lp_module_bundle_fetch_fn fetch, void *fetch_ctx, char **spec,
                          struct lp_module_error *err)
{
    if (spec)
        *spec = NULL;
    memset(err, 0, sizeof *err);
    const char *repo = offer->module.repo, *commit = offer->module.commit;
    if (!repo || !commit) {
        lp_module_errorf(err, "?", "the job offer names no module");
        return LP_MODULE_CHECK_UNRESOLVED;
    }
    uint8_t id[LP_KECCAK256_LEN], key[LP_KECCAK256_LEN];
    lp_module_compute_id(repo, commit, LP_MODULE_TEMPLATE_FILE, id);
    spec_key(id, offer, key);
    char *mine = NULL;
    size_t mine_len = 0;
    bool failed = false;
    if (cache_get(c, key, &mine, &mine_len, &failed)) {
        count(c, &c->stats.hits);
    } else {
        count(c, &c->stats.misses);
        char *text = NULL;
        size_t len = 0;
        if (get_template(c, offer, id, fetch, fetch_ctx, &text, &len, err) != 0)
            return LP_MODULE_CHECK_UNRESOLVED;
        count(c, &c->stats.renders);
        int rc = render(offer, text, len, &mine, err);
        free(text);
        if (rc != 0)
            return LP_MODULE_CHECK_UNRESOLVED;
        cache_put(c, key, mine, strlen(mine), false);
    }
    const char *claim = offer->module.spec ? offer->module.spec : "";
    if (strcmp(claim, mine) != 0) {
        size_t at = 0;
        while (claim[at] && claim[at] == mine[at])
            at++;
        char a[48], b[48], name[96];
        excerpt(claim, at, a, sizeof a);
        excerpt(mine, at, b, sizeof b);
        snprintf(name, sizeof name, "%.70s@%.12s", repo, commit);
        lp_module_errorf(err, name,
                         "spec differs from the module's rendering at byte %zu: offer `%s`, "
                         "module `%s`",
                         at, a, b);
        free(mine);
        return LP_MODULE_CHECK_MISMATCH;
    }
    if (spec)
        *spec = mine;
    else
        free(mine);
    return 0;
}
