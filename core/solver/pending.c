/* The pending-job queue: fair service order, the index a resource offer looks jobs up in, and
 * per-address counts (pending.h describes all three). */
#include "solver/pending.h"

#include <stdlib.h>
#include <string.h>

#include "solver/ptab.h"

#define N_BUCKETS (LP_WIRE_MAX_GPUS + 1)
#define BLK_MAX   64
#define BLK_MIN   16

struct paddr;
struct jlist;

struct pnode {
    struct lp_pending_job job; /* first: the by_id key is job.id */
    uint64_t tag, seq;
    struct paddr *owner;
    struct jlist *list;
    struct pnode *older, *newer; /* queue order */
};

/* What every job of a block needs at least (or pays at most, for the price). */
struct jsummary {
    uint64_t cpu, ram, disk, vram;
    uint32_t gpus, reliability;
    struct lp_u256 collateral;
    struct lp_u256 max_price;
};

struct jblk {
    uint32_t n;
    struct jsummary s;
    struct pnode *e[BLK_MAX];
};

/* An unrolled list in service order (tag, then queue order). */
struct jlist {
    struct jblk **b;
    size_t nb, cap;
};

/* The jobs that name one target provider. */
struct target {
    uint8_t addr[LP_WIRE_ADDR_LEN];
    struct jlist list;
    size_t count;
};

struct paddr {
    uint8_t addr[LP_WIRE_ADDR_LEN];
    uint64_t last_tag;
    size_t heap_pos;
    struct pnode **jobs; /* in tag order: the newest last */
    size_t n, cap;
};

struct lp_pending {
    struct jlist buckets[N_BUCKETS];
    size_t bucket_count[N_BUCKETS];
    struct lp_ptab by_id, addrs, targets;
    struct paddr **heap; /* max-heap by job count */
    size_t n_heap, cap_heap;
    uint64_t vtime, next_seq, examined;
    size_t count;
    struct pnode *oldest, *newest;
};

/* ---- jobs --------------------------------------------------------------------------------- */

void lp_pending_job_release(struct lp_pending_job *p)
{
    if (!p)
        return;
    lp_job_offer_free(&p->job);
    free(p->module_ref);
    memset(p, 0, sizeof *p);
}

void lp_pending_job_match_view(const struct lp_pending_job *p, struct lp_match_job *out)
{
    memset(out, 0, sizeof *out);
    out->offer = &p->job;
    out->module_ref = p->module_ref;
    out->excluded = (const uint8_t(*)[LP_WIRE_ADDR_LEN])p->excluded;
    out->n_excluded = p->n_excluded;
}

/* ---- service order and summaries ---------------------------------------------------------- */

static int order(const struct pnode *a, const struct pnode *b)
{
    if (a->tag != b->tag)
        return a->tag < b->tag ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static void summary_add(struct jsummary *s, const struct pnode *n, bool first)
{
    const struct lp_job_offer *j = &n->job.job;
    const struct lp_job_resources *r = &j->resources;
    if (first) {
        s->cpu = r->cpu_millicores;
        s->ram = r->ram_bytes;
        s->disk = r->disk_bytes;
        s->vram = r->gpus ? r->vram_bytes : 0;
        s->gpus = r->gpus;
        s->reliability = j->min_reliability;
        s->collateral = j->min_results_collateral;
        s->max_price = j->max_price;
        return;
    }
    s->cpu = min_u64(s->cpu, r->cpu_millicores);
    s->ram = min_u64(s->ram, r->ram_bytes);
    s->disk = min_u64(s->disk, r->disk_bytes);
    s->vram = min_u64(s->vram, r->gpus ? r->vram_bytes : 0);
    if (r->gpus < s->gpus)
        s->gpus = r->gpus;
    if (j->min_reliability < s->reliability)
        s->reliability = j->min_reliability;
    if (lp_wei_cmp(&j->min_results_collateral, &s->collateral) < 0)
        s->collateral = j->min_results_collateral;
    if (lp_wei_cmp(&j->max_price, &s->max_price) > 0)
        s->max_price = j->max_price;
}

static void blk_refresh(struct jblk *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        summary_add(&b->s, b->e[i], i == 0);
}

/* Whether the summary may have come from n: only then does removing n change it. */
static bool summary_holds(const struct jsummary *s, const struct pnode *n)
{
    const struct lp_job_offer *j = &n->job.job;
    const struct lp_job_resources *r = &j->resources;
    return r->cpu_millicores <= s->cpu || r->ram_bytes <= s->ram || r->disk_bytes <= s->disk ||
           (r->gpus ? r->vram_bytes : 0) <= s->vram || r->gpus <= s->gpus ||
           j->min_reliability <= s->reliability ||
           lp_wei_cmp(&j->min_results_collateral, &s->collateral) <= 0 ||
           lp_wei_cmp(&j->max_price, &s->max_price) >= 0;
}

/* Whether some job of a block could take the offer (false: none can). g: the GPU count every
 * job of the block needs (a bucket), or -1 (a target's list, GPU counts mixed). */
static bool summary_may_take(const struct jsummary *s, const struct lp_match_offer *o,
                             uint32_t reliability, int g)
{
    if (s->cpu > o->cpu_millicores || s->ram > o->ram_bytes || s->disk > o->disk_bytes ||
        s->gpus > o->gpus || s->reliability > reliability)
        return false;
    if (g > 0 && s->vram > o->vram_desc[g - 1])
        return false;
    if (lp_wei_cmp(&s->max_price, &o->min_price) < 0)
        return false;
    return lp_wei_cmp(&s->collateral, &o->results_collateral) <= 0;
}

/* ---- unrolled lists ----------------------------------------------------------------------- */

static size_t list_find(const struct jlist *l, const struct pnode *n)
{
    size_t lo = 0, hi = l->nb;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct jblk *b = l->b[mid];
        if (order(b->e[b->n - 1], n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->nb ? lo : l->nb - 1;
}

static uint32_t blk_lower(const struct jblk *b, const struct pnode *n)
{
    uint32_t lo = 0, hi = b->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (order(b->e[mid], n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int list_put_blk(struct jlist *l, size_t at, struct jblk *b)
{
    if (l->nb == l->cap) {
        size_t ncap = l->cap ? 2 * l->cap : 8;
        struct jblk **p = realloc(l->b, ncap * sizeof *p);
        if (!p)
            return -1;
        l->b = p;
        l->cap = ncap;
    }
    memmove(l->b + at + 1, l->b + at, (l->nb - at) * sizeof *l->b);
    l->b[at] = b;
    l->nb++;
    return 0;
}

static void list_drop_blk(struct jlist *l, size_t at)
{
    free(l->b[at]);
    memmove(l->b + at, l->b + at + 1, (l->nb - at - 1) * sizeof *l->b);
    l->nb--;
}

static int list_insert(struct jlist *l, struct pnode *n)
{
    if (l->nb == 0) {
        struct jblk *b = calloc(1, sizeof *b);
        if (!b || list_put_blk(l, 0, b) != 0) {
            free(b);
            return -1;
        }
        b->e[0] = n;
        b->n = 1;
        summary_add(&b->s, n, true);
        return 0;
    }
    size_t bi = list_find(l, n);
    struct jblk *b = l->b[bi];
    if (b->n == BLK_MAX) {
        struct jblk *half = calloc(1, sizeof *half);
        if (!half || list_put_blk(l, bi + 1, half) != 0) {
            free(half);
            return -1;
        }
        half->n = BLK_MAX / 2;
        memcpy(half->e, b->e + BLK_MAX / 2, (BLK_MAX / 2) * sizeof *b->e);
        b->n = BLK_MAX / 2;
        blk_refresh(b);
        blk_refresh(half);
        if (order(n, half->e[0]) > 0)
            b = half;
    }
    uint32_t at = blk_lower(b, n);
    memmove(b->e + at + 1, b->e + at, (b->n - at) * sizeof *b->e);
    b->e[at] = n;
    b->n++;
    summary_add(&b->s, n, b->n == 1);
    return 0;
}

static void list_remove(struct jlist *l, const struct pnode *n)
{
    if (l->nb == 0)
        return;
    size_t bi = list_find(l, n);
    struct jblk *b = l->b[bi];
    uint32_t at = blk_lower(b, n);
    if (at >= b->n || b->e[at] != n)
        return;
    memmove(b->e + at, b->e + at + 1, (b->n - at - 1) * sizeof *b->e);
    b->n--;
    if (b->n == 0) {
        list_drop_blk(l, bi);
        return;
    }
    bool refresh = summary_holds(&b->s, n);
    if (b->n < BLK_MIN) {
        if (bi + 1 < l->nb && b->n + l->b[bi + 1]->n <= BLK_MAX * 3 / 4) {
            struct jblk *next = l->b[bi + 1];
            memcpy(b->e + b->n, next->e, next->n * sizeof *b->e);
            b->n += next->n;
            list_drop_blk(l, bi + 1);
        } else if (bi > 0 && l->b[bi - 1]->n + b->n <= BLK_MAX * 3 / 4) {
            struct jblk *prev = l->b[bi - 1];
            memcpy(prev->e + prev->n, b->e, b->n * sizeof *b->e);
            prev->n += b->n;
            list_drop_blk(l, bi);
            b = prev;
        }
        refresh = true;
    }
    if (refresh)
        blk_refresh(b);
}

static void list_free(struct jlist *l)
{
    for (size_t i = 0; i < l->nb; i++)
        free(l->b[i]);
    free(l->b);
    memset(l, 0, sizeof *l);
}

/* ---- addresses: counts and the max-heap ----------------------------------------------------- */

static void heap_swap(struct lp_pending *q, size_t i, size_t j)
{
    struct paddr *t = q->heap[i];
    q->heap[i] = q->heap[j];
    q->heap[j] = t;
    q->heap[i]->heap_pos = i;
    q->heap[j]->heap_pos = j;
}

static void heap_fix(struct lp_pending *q, size_t i)
{
    while (i > 0 && q->heap[(i - 1) / 2]->n < q->heap[i]->n) {
        heap_swap(q, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, big = i;
        if (l < q->n_heap && q->heap[l]->n > q->heap[big]->n)
            big = l;
        if (r < q->n_heap && q->heap[r]->n > q->heap[big]->n)
            big = r;
        if (big == i)
            return;
        heap_swap(q, i, big);
        i = big;
    }
}

static struct paddr *addr_get(struct lp_pending *q, const uint8_t addr[LP_WIRE_ADDR_LEN],
                              bool create)
{
    struct paddr *a = lp_ptab_get(&q->addrs, addr);
    if (a || !create)
        return a;
    if (q->n_heap == q->cap_heap) {
        size_t ncap = q->cap_heap ? 2 * q->cap_heap : 16;
        struct paddr **h = realloc(q->heap, ncap * sizeof *h);
        if (!h)
            return NULL;
        q->heap = h;
        q->cap_heap = ncap;
    }
    a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    memcpy(a->addr, addr, LP_WIRE_ADDR_LEN);
    if (lp_ptab_put(&q->addrs, a) != 0) {
        free(a);
        return NULL;
    }
    a->heap_pos = q->n_heap;
    q->heap[q->n_heap++] = a;
    return a;
}

/* An address without jobs is forgotten: its next job is tagged as a new address's would be,
 * which gains it nothing a fresh key would not (and keeps memory bounded by the queue). */
static void addr_maybe_free(struct lp_pending *q, struct paddr *a)
{
    if (a->n)
        return;
    size_t i = a->heap_pos;
    heap_swap(q, i, q->n_heap - 1);
    q->n_heap--;
    if (i < q->n_heap)
        heap_fix(q, i);
    lp_ptab_del(&q->addrs, a->addr);
    free(a->jobs);
    free(a);
}

static int addr_push(struct paddr *a, struct pnode *n)
{
    if (a->n == a->cap) {
        size_t ncap = a->cap ? 2 * a->cap : 4;
        struct pnode **p = realloc(a->jobs, ncap * sizeof *p);
        if (!p)
            return -1;
        a->jobs = p;
        a->cap = ncap;
    }
    a->jobs[a->n++] = n;
    return 0;
}

static void addr_remove(struct paddr *a, const struct pnode *n)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->jobs[i] == n) {
            memmove(a->jobs + i, a->jobs + i + 1, (a->n - i - 1) * sizeof *a->jobs);
            a->n--;
            return;
        }
    }
}

/* ---- the queue ------------------------------------------------------------------------------ */

struct lp_pending *lp_pending_new(void)
{
    struct lp_pending *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    if (lp_ptab_init(&q->by_id, offsetof(struct pnode, job.id), LP_WIRE_ID_LEN) != 0 ||
        lp_ptab_init(&q->addrs, offsetof(struct paddr, addr), LP_WIRE_ADDR_LEN) != 0 ||
        lp_ptab_init(&q->targets, offsetof(struct target, addr), LP_WIRE_ADDR_LEN) != 0) {
        free(q);
        return NULL;
    }
    return q;
}

static void free_target_cb(void *ctx, void *elem)
{
    (void)ctx;
    struct target *t = elem;
    list_free(&t->list);
    free(t);
}

void lp_pending_free(struct lp_pending *q)
{
    if (!q)
        return;
    for (struct pnode *n = q->oldest, *next; n; n = next) {
        next = n->newer;
        lp_pending_job_release(&n->job);
        free(n);
    }
    for (size_t g = 0; g < N_BUCKETS; g++)
        list_free(&q->buckets[g]);
    lp_ptab_each(&q->targets, free_target_cb, NULL);
    for (size_t i = 0; i < q->n_heap; i++) {
        free(q->heap[i]->jobs);
        free(q->heap[i]);
    }
    free(q->heap);
    lp_ptab_free(&q->by_id);
    lp_ptab_free(&q->addrs);
    lp_ptab_free(&q->targets);
    free(q);
}

size_t lp_pending_count(const struct lp_pending *q)
{
    return q->count;
}

size_t lp_pending_count_of(struct lp_pending *q, const uint8_t addr[LP_WIRE_ADDR_LEN])
{
    struct paddr *a = addr_get(q, addr, false);
    return a ? a->n : 0;
}

bool lp_pending_biggest(const struct lp_pending *q, uint8_t addr[LP_WIRE_ADDR_LEN], size_t *count)
{
    if (q->n_heap == 0 || q->heap[0]->n == 0)
        return false;
    memcpy(addr, q->heap[0]->addr, LP_WIRE_ADDR_LEN);
    *count = q->heap[0]->n;
    return true;
}

uint64_t lp_pending_examined(const struct lp_pending *q)
{
    return q->examined;
}

/* The list a job belongs to (created for a new target). */
static struct jlist *list_for(struct lp_pending *q, const struct lp_job_offer *j, bool create)
{
    if (!j->has_target)
        return &q->buckets[j->resources.gpus];
    struct target *t = lp_ptab_get(&q->targets, j->target);
    if (!t && create) {
        t = calloc(1, sizeof *t);
        if (!t)
            return NULL;
        memcpy(t->addr, j->target, LP_WIRE_ADDR_LEN);
        if (lp_ptab_put(&q->targets, t) != 0) {
            free(t);
            return NULL;
        }
    }
    return t ? &t->list : NULL;
}

/* Keeps the per-list counts; a target's list goes when its last job does. */
static void list_count(struct lp_pending *q, const struct lp_job_offer *j, bool up)
{
    if (!j->has_target) {
        q->bucket_count[j->resources.gpus] += up ? 1 : (size_t)-1;
        return;
    }
    struct target *t = lp_ptab_get(&q->targets, j->target);
    if (!t)
        return;
    t->count += up ? 1 : (size_t)-1;
    if (t->count == 0) {
        lp_ptab_del(&q->targets, t->addr);
        list_free(&t->list);
        free(t);
    }
}

/* Drops a target list that a failed add left empty. */
static void target_drop_empty(struct lp_pending *q, const struct lp_job_offer *j)
{
    struct target *t = j->has_target ? lp_ptab_get(&q->targets, j->target) : NULL;
    if (t && t->count == 0) {
        lp_ptab_del(&q->targets, t->addr);
        list_free(&t->list);
        free(t);
    }
}

int lp_pending_add(struct lp_pending *q, struct lp_pending_job *p)
{
    if (p->job.resources.gpus > LP_WIRE_MAX_GPUS || lp_ptab_get(&q->by_id, p->id))
        return -1;
    struct pnode *n = calloc(1, sizeof *n);
    if (!n)
        return -1;
    struct paddr *a = addr_get(q, p->job.job_creator, true);
    struct jlist *l = a ? list_for(q, &p->job, true) : NULL;
    if (!l || addr_push(a, n) != 0) {
        if (a)
            addr_maybe_free(q, a);
        target_drop_empty(q, &p->job);
        free(n);
        return -1;
    }
    n->job = *p;
    n->owner = a;
    n->list = l;
    n->tag = (a->last_tag > q->vtime ? a->last_tag : q->vtime) + 1;
    n->seq = ++q->next_seq;
    if (list_insert(l, n) != 0 || lp_ptab_put(&q->by_id, n) != 0) {
        list_remove(l, n);
        a->n--;
        addr_maybe_free(q, a);
        target_drop_empty(q, &p->job);
        free(n);
        return -1;
    }
    a->last_tag = n->tag;
    heap_fix(q, a->heap_pos);
    list_count(q, &n->job.job, true);
    n->older = q->newest;
    if (q->newest)
        q->newest->newer = n;
    else
        q->oldest = n;
    q->newest = n;
    q->count++;
    memset(p, 0, sizeof *p);
    return 0;
}

static void take_node(struct lp_pending *q, struct pnode *n, bool served,
                      struct lp_pending_job *out)
{
    list_remove(n->list, n);
    lp_ptab_del(&q->by_id, n->job.id);
    if (n->older)
        n->older->newer = n->newer;
    else
        q->oldest = n->newer;
    if (n->newer)
        n->newer->older = n->older;
    else
        q->newest = n->older;
    if (served && n->tag > q->vtime)
        q->vtime = n->tag;
    struct paddr *a = n->owner;
    addr_remove(a, n);
    heap_fix(q, a->heap_pos);
    q->count--;
    *out = n->job;
    list_count(q, &out->job, false);
    addr_maybe_free(q, a);
    free(n);
}

int lp_pending_take(struct lp_pending *q, const uint8_t id[LP_WIRE_ID_LEN], bool served,
                    struct lp_pending_job *out)
{
    struct pnode *n = lp_ptab_get(&q->by_id, id);
    if (!n)
        return 1;
    take_node(q, n, served, out);
    return 0;
}

int lp_pending_take_newest(struct lp_pending *q, const uint8_t addr[LP_WIRE_ADDR_LEN],
                           struct lp_pending_job *out)
{
    struct paddr *a = addr_get(q, addr, false);
    if (!a || a->n == 0)
        return 1;
    take_node(q, a->jobs[a->n - 1], false, out);
    return 0;
}

/* The first job of one list that the offer fits and that comes before best, or best. */
static struct pnode *walk(struct lp_pending *q, const struct jlist *l, int g,
                          const struct lp_match_offer *o, uint32_t reliability, struct pnode *best)
{
    for (size_t bi = 0; bi < l->nb; bi++) {
        const struct jblk *b = l->b[bi];
        if (best && order(b->e[0], best) >= 0)
            return best;
        if (!summary_may_take(&b->s, o, reliability, g))
            continue;
        for (uint32_t i = 0; i < b->n; i++) {
            struct pnode *n = b->e[i];
            if (best && order(n, best) >= 0)
                return best;
            q->examined++;
            struct lp_match_job mj;
            lp_pending_job_match_view(&n->job, &mj);
            if (lp_matcher_fits(o, reliability, &mj, NULL, 0))
                return n;
        }
    }
    return best;
}

const struct lp_pending_job *lp_pending_find(struct lp_pending *q, const struct lp_match_offer *o,
                                             uint32_t reliability)
{
    struct pnode *best = NULL;
    uint32_t top = o->gpus < LP_WIRE_MAX_GPUS ? o->gpus : LP_WIRE_MAX_GPUS;
    for (uint32_t g = 0; g <= top; g++)
        if (q->bucket_count[g])
            best = walk(q, &q->buckets[g], (int)g, o, reliability, best);
    struct target *t = lp_ptab_get(&q->targets, o->provider);
    if (t)
        best = walk(q, &t->list, -1, o, reliability, best);
    return best ? &best->job : NULL;
}

const struct lp_pending_job *lp_pending_oldest(const struct lp_pending *q)
{
    return q->oldest ? &q->oldest->job : NULL;
}

int lp_pending_each(struct lp_pending *q, int (*fn)(void *ctx, const struct lp_pending_job *p),
                    void *ctx)
{
    for (struct pnode *n = q->oldest; n; n = n->newer) {
        int rc = fn(ctx, &n->job);
        if (rc)
            return rc;
    }
    return 0;
}
