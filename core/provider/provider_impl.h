/* Internals shared by the provider's files (not for other modules). */
#ifndef LP_PROVIDER_IMPL_H
#define LP_PROVIDER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <lilypad/executor.h>

#include "client/client.h"
#include "module/module_cache.h"
#include "host/host.h"
#include "loader/backend.h"
#include "pow/hashrate.h"
#include "pow/miner.h"
#include "wire/pow.h"
#include "provider/job_plan.h"
#include "provider/journal.h"
#include "provider/provider.h"
#include "provider/settings.h"

#define LP_PROVIDER_MAX_SLOTS 16

/* A job slot: one resource offer while free, one deal while busy. */
struct lp_slot {
    bool busy;
    bool has_offer;
    uint8_t offer_id[LP_WIRE_ID_LEN];
    size_t gpu_first, gpu_count; /* indexes into probe.gpus */
};

struct lp_deal_run {
    struct lp_provider *p;
    uint8_t deal_id[LP_WIRE_ID_LEN];
    char hex[2 * LP_WIRE_ID_LEN + 3];
    struct lp_journal_entry resume; /* valid when has_resume */
    bool has_resume;
    bool mediation; /* re-run a challenged deal as its booked mediator (deal.c) */
    pthread_t thread;
    /* Fired when the deal ended at the solver; its parent, the provider's stop token, when the
     * provider stops. Read by the deal thread and the plugins (struct lp_call) lock-free. */
    struct lp_cancel_token cancel;
    bool finished; /* under p->mu: the thread is done and may be joined */
    struct lp_deal_run *next;
};

struct lp_provider {
    struct lp_provider_runtime rt;
    const struct lp_provider_settings *s;
    struct lp_options_copy {
        bool once;
    } opt;
    struct lp_key key;
    uint8_t address[LP_WIRE_ADDR_LEN];
    char address_text[43];
    char owner_hex[43]; /* the address in lower-case hex: the executor labels jobs with it */
    struct lp_client *client;
    struct lp_backend *executor, *storage, *verifier, *hashrate;
    struct lp_executor_info executor_info; /* valid when executor_described */
    bool executor_described;
    size_t offerable_gpus; /* probe.gpus[0 .. offerable_gpus-1]: the executor can attach them */
    struct lp_journal *journal;
    struct lp_module_cache *modules; /* job offers' modules, rendered here (module_check.c) */
    struct lp_probe probe;
    uint64_t offer_cpu, offer_ram, offer_disk; /* per slot */
    size_t offer_gpus;                         /* GPUs offered in all */
    struct lp_job_limit_policy limits;         /* every job's (limits.c) */
    atomic_uint_least64_t disk_full_logged_ms; /* a full disk is logged once (deal.c) */
    size_t n_slots;
    struct lp_slot slots[LP_PROVIDER_MAX_SLOTS];

    /* mining */
    struct lp_miner *miner;
    struct lp_hashrate_meter *meter;
    uint32_t miner_devices;
    bool cpu_miner; /* the backend's devices are CPUs: pause them while any job runs */
    uint32_t pause_count[LP_WIRE_MAX_GPUS + 1];
    uint64_t next_rate_log_ns;
    /* PoW rounds at the solver (mining.c), under mu */
    bool pow_has_round, pow_has_solution, pow_solution_sent;
    uint64_t pow_round, pow_round_start_hashes, pow_round_start_ms, pow_next_fetch_ms;
    uint64_t pow_window_end_ms, pow_last_batch_ms;
    struct lp_pow_work pow_work;  /* what the miner hashes against: the easier target */
    uint8_t pow_round_target[32]; /* a solution is below it */
    uint8_t pow_share_target[32]; /* a share is below it */
    struct lp_pow_solution pow_solution;
    struct lp_u256 pow_shares[LP_WIRE_MAX_POW_SHARES]; /* found, not yet sent */
    size_t pow_n_shares;
    uint64_t pow_accepted, pow_shares_sent;

    /* Lock order: mu is taken alone or before a backend's lock (through core/dispatch), never
     * while one is held; nothing of the provider's is locked from inside a plugin call. cond
     * (monotonic clock) signals slot, stop and deal-thread changes under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct lp_cancel_token stop_token; /* fired by lp_provider_stop; parent of every run's */
    /* Ends the main loop's event long-poll at once: on stop, and when a slot frees up so its
     * next resource offer goes out now rather than after the poll's wait. */
    struct lp_client_cancel *wake;
    bool stopping;
    bool once_taken;
    size_t deals_done;
    struct lp_deal_run *runs;
    struct lp_provider_stats stats;
};

uint64_t lp_provider_mono_ns(void);

/* module_check.c: the module cache under work_dir/modules, and the check that a job offer's
 * spec is what its module renders with its inputs (offer->module.spec is then our own
 * rendering). -1 with "refused by the provider: ..." in err. */
int lp_provider_modules_open(struct lp_provider *p, char *err, size_t errlen);
void lp_provider_modules_close(struct lp_provider *p);
int lp_provider_module_check(struct lp_provider *p, const uint8_t deal_id[LP_WIRE_ID_LEN],
                             struct lp_job_offer *offer, char *err, size_t errlen);

/* deal.c: a deal's worker thread. */
void *lp_provider_deal_main(void *arg);
/* mining.c */
int lp_provider_mining_start(struct lp_provider *p);
void lp_provider_mining_stop(struct lp_provider *p);
void lp_provider_mining_log(struct lp_provider *p, bool force);
/* Fetches the current round's challenge when a new round is due and submits a found nonce;
 * called from the main loop (a solution wakes it). */
void lp_provider_pow_tick(struct lp_provider *p);
/* Pauses the miner on the devices of a slot (slot -1: none but CPU devices). */
void lp_provider_mining_pause(struct lp_provider *p, int slot);
void lp_provider_mining_resume(struct lp_provider *p, int slot);

/* limits.c: the job limit policy from the settings and the slots' shares (after the slots are
 * planned; caps the disk offered per slot at max_result). */
void lp_provider_limits_init(struct lp_provider *p);

/* folders.c: removes the folders of the deals the journal shows finished, and every
 * mediation's (a restart re-runs those from scratch). Called at start, before any deal runs. */
void lp_provider_sweep_folders(struct lp_provider *p);

/* public_text.c: text posted to the solver (a result's error, a verdict's reason) without this
 * machine's filesystem layout: the deal's folders become /inputs, /outputs and <result>, the
 * work_dir, image store, data folder and home folder neutral names; the text is made valid
 * UTF-8 (other bytes as \xNN) and cut to fit cap on a character boundary. */
void lp_provider_public_text(const struct lp_provider *p, const char *deal_dir, const char *text,
                             char *out, size_t cap);

/* outputs.c: removes from a finished job's outputs folder what must not be delivered: links to
 * an absolute path or through "..", which would point outside the job creator's results folder,
 * and entries that are not files, folders or links (a named pipe blocks whoever reads it). note
 * names what was removed ("" nothing). 0, or -1 with one line in err (the folder cannot be
 * read). */
int lp_provider_clean_outputs(const char *outputs, char *note, size_t cap, char *err,
                              size_t errlen);

/* provider.c: slot bookkeeping for the deal threads. */
int lp_provider_claim_slot(struct lp_provider *p, const uint8_t offer_id[LP_WIRE_ID_LEN],
                           int journal_slot);
void lp_provider_release_slot(struct lp_provider *p, int slot);

#endif
