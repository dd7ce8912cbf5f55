/*
 * The plugin ABI's layout, pinned. Every public struct's size and every member's offset is
 * asserted at compile time for the ABI version it belongs to, so a layout change that forgets
 * to bump LP_ABI_MAJOR (or, for appended members, LP_ABI_MINOR) fails the build instead of
 * crashing plugins in the field.
 *
 * Changing a layout: append members only (then bump LP_ABI_MINOR and add a table for the new
 * minor below the older ones), or bump LP_ABI_MAJOR and start anew. Never edit a released
 * table: the older tables are checked here with "at least" sizes (a struct may have grown) and
 * exact offsets, and abi_layout_1_0.c checks the 1.0 table against the frozen 1.0 headers.
 * Values are for LP64 Linux (x86-64, aarch64).
 */
#include <stddef.h>
#include <stdio.h>

#include <lilypad/executor.h>
#include <lilypad/hashrate.h>
#include <lilypad/plugin.h>
#include <lilypad/storage.h>
#include <lilypad/verifier.h>

#define LP_ABI_OFFSET(type, member, offset)                                                        \
    _Static_assert(offsetof(type, member) == (offset), "ABI: offsetof " #type "." #member)

_Static_assert(LP_ABI_MAJOR == 1 && LP_ABI_MINOR == 2,
               "the ABI version changed: add its layout table to tests/abi/abi_layout.c");
_Static_assert(LP_PLUGIN_MAGIC == 0x4C50504Cu, "ABI: the magic never changes");
_Static_assert(LP_CONCERN_HASHRATE == 1 && LP_CONCERN_EXECUTOR == 2 && LP_CONCERN_STORAGE == 3 &&
                   LP_CONCERN_VERIFIER == 4,
               "ABI: concern numbers");
_Static_assert(LP_OK == 0 && LP_RETRY == 1 && LP_ERR == -1 && LP_EUNAVAILABLE == -2 &&
                   LP_EINVAL == -3 && LP_ENOTSUP == -4,
               "ABI: result codes");
_Static_assert(LP_CFG_STRING == 1 && LP_CFG_INT_LIST == 7, "ABI: config types");

/* ABI 1.0: every member where it was; structs may only have grown. */
#define LP_ABI_SIZE(type, size)                                                                    \
    _Static_assert(sizeof(type) >= (size), "ABI: " #type " shrank below its 1.0 size")
#include "abi_table_1_0.h"
#undef LP_ABI_SIZE

/* ABI 1.1: the appended members, each at or past the end of its struct's 1.0 layout. */
#define LP_ABI_SIZE(type, size)                                                                    \
    _Static_assert(sizeof(type) >= (size), "ABI: " #type " shrank below its 1.1 size")
LP_ABI_SIZE(struct lp_call, 40);
LP_ABI_OFFSET(struct lp_call, struct_size, 0);
LP_ABI_OFFSET(struct lp_call, actor, 4);
LP_ABI_OFFSET(struct lp_call, cancel, 24);
LP_ABI_OFFSET(struct lp_call, deadline_ns, 32);
LP_ABI_SIZE(struct lp_host, 152);
LP_ABI_OFFSET(struct lp_host, vlog, 128);
LP_ABI_OFFSET(struct lp_host, data_dir, 136);
LP_ABI_OFFSET(struct lp_host, call_cancelled, 144);
LP_ABI_SIZE(struct lp_hashrate_device, 384);
LP_ABI_OFFSET(struct lp_hashrate_device, pci_bus_id, 304);
LP_ABI_OFFSET(struct lp_hashrate_device, uuid, 336);
LP_ABI_SIZE(struct lp_gpu_device, 100);
LP_ABI_OFFSET(struct lp_gpu_device, vendor, 0);
LP_ABI_OFFSET(struct lp_gpu_device, index, 16);
LP_ABI_OFFSET(struct lp_gpu_device, uuid, 20);
LP_ABI_OFFSET(struct lp_gpu_device, pci_bus_id, 68);
LP_ABI_SIZE(struct lp_job_limits, 72);
LP_ABI_OFFSET(struct lp_job_limits, gpu_devices, 48);
LP_ABI_OFFSET(struct lp_job_limits, network_domains, 56);
LP_ABI_OFFSET(struct lp_job_limits, network_domain_count, 64);
LP_ABI_SIZE(struct lp_executor_info, 108);
LP_ABI_OFFSET(struct lp_executor_info, struct_size, 0);
LP_ABI_OFFSET(struct lp_executor_info, attach, 4);
LP_ABI_OFFSET(struct lp_executor_info, enforces, 8);
LP_ABI_OFFSET(struct lp_executor_info, runtime, 12);
LP_ABI_SIZE(struct lp_job_status, 312);
LP_ABI_OFFSET(struct lp_job_status, peak_memory_bytes, 288);
LP_ABI_OFFSET(struct lp_job_status, cpu_time_ns, 296);
LP_ABI_OFFSET(struct lp_job_status, oom_killed, 304);
LP_ABI_SIZE(struct lp_executor_ops, 112);
LP_ABI_OFFSET(struct lp_executor_ops, describe, 88);
LP_ABI_OFFSET(struct lp_executor_ops, logs_from, 96);
LP_ABI_OFFSET(struct lp_executor_ops, wait, 104);
LP_ABI_SIZE(struct lp_storage_ops, 112);
LP_ABI_OFFSET(struct lp_storage_ops, put_v2, 80);
LP_ABI_OFFSET(struct lp_storage_ops, get_v2, 88);
LP_ABI_OFFSET(struct lp_storage_ops, pin_v2, 96);
LP_ABI_OFFSET(struct lp_storage_ops, stat_v2, 104);
LP_ABI_SIZE(struct lp_verifier_ops, 192);
LP_ABI_OFFSET(struct lp_verifier_ops, record_agreement_v2, 120);
LP_ABI_OFFSET(struct lp_verifier_ops, record_result_v2, 128);
LP_ABI_OFFSET(struct lp_verifier_ops, accept_result_v2, 136);
LP_ABI_OFFSET(struct lp_verifier_ops, challenge_result_v2, 144);
LP_ABI_OFFSET(struct lp_verifier_ops, mediation_verdict_v2, 152);
LP_ABI_OFFSET(struct lp_verifier_ops, cancel_deal_v2, 160);
LP_ABI_OFFSET(struct lp_verifier_ops, read_deal_v2, 168);
LP_ABI_OFFSET(struct lp_verifier_ops, pow_new_round_v2, 176);
LP_ABI_OFFSET(struct lp_verifier_ops, pow_submit_v2, 184);
#undef LP_ABI_SIZE

/* ABI 1.2: the appended members, each at or past the end of its struct's 1.1 layout. */
#define LP_ABI_SIZE(type, size) _Static_assert(sizeof(type) == (size), "ABI: sizeof " #type)
LP_ABI_SIZE(struct lp_job_spec, 72);
LP_ABI_OFFSET(struct lp_job_spec, owner, 56);
LP_ABI_OFFSET(struct lp_job_spec, job_id, 64);
LP_ABI_SIZE(struct lp_executor_ops, 120);
LP_ABI_OFFSET(struct lp_executor_ops, reclaim, 112);
#undef LP_ABI_SIZE

_Static_assert(LP_EXEC_ATTACH_NVIDIA == 1 && LP_EXEC_ATTACH_AMD == 2 &&
                   LP_EXEC_ATTACH_NETWORK == 4 && LP_EXEC_ATTACH_EGRESS == 8,
               "ABI 1.1: executor attach flags");
_Static_assert(LP_EXEC_LIMIT_MEMORY == 1 && LP_EXEC_LIMIT_CPU == 2 && LP_EXEC_LIMIT_PIDS == 4 &&
                   LP_EXEC_LIMIT_DISK == 8 && LP_EXEC_LIMIT_TIMEOUT == 16,
               "ABI 1.1: executor limit flags");

int main(void)
{
    printf("plugin ABI %d.%d: layout of every public struct matches the pinned table\n",
           LP_ABI_MAJOR, LP_ABI_MINOR);
    return 0;
}
