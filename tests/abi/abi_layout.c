/*
 * The plugin ABI's layout, pinned. Every public struct's size and every member's offset is
 * asserted at compile time for the ABI version it belongs to, so a layout change that forgets
 * to bump LP_ABI_MAJOR (or, for appended members, LP_ABI_MINOR) fails the build instead of
 * crashing plugins in the field.
 *
 * Changing a layout: append members only (then bump LP_ABI_MINOR and add a table for the new
 * minor that extends this one), or bump LP_ABI_MAJOR and start a new table. Never edit a
 * released table. Values are for LP64 Linux (x86-64, aarch64).
 */
#include <stddef.h>
#include <stdio.h>

#include <lilypad/executor.h>
#include <lilypad/hashrate.h>
#include <lilypad/plugin.h>
#include <lilypad/storage.h>
#include <lilypad/verifier.h>

#define LP_ABI_SIZE(type, size) _Static_assert(sizeof(type) == (size), "ABI: sizeof " #type)
#define LP_ABI_OFFSET(type, member, offset)                                                        \
    _Static_assert(offsetof(type, member) == (offset), "ABI: offsetof " #type "." #member)

_Static_assert(LP_ABI_MAJOR == 1 && LP_ABI_MINOR == 0,
               "the ABI version changed: add its layout table to tests/abi/abi_layout.c");
_Static_assert(LP_PLUGIN_MAGIC == 0x4C50504Cu, "ABI: the magic never changes");
_Static_assert(LP_CONCERN_HASHRATE == 1 && LP_CONCERN_EXECUTOR == 2 && LP_CONCERN_STORAGE == 3 &&
                   LP_CONCERN_VERIFIER == 4,
               "ABI: concern numbers");
_Static_assert(LP_OK == 0 && LP_RETRY == 1 && LP_ERR == -1 && LP_EUNAVAILABLE == -2 &&
                   LP_EINVAL == -3 && LP_ENOTSUP == -4,
               "ABI: result codes");
_Static_assert(LP_CFG_STRING == 1 && LP_CFG_INT_LIST == 7, "ABI: config types");

/* ABI 1.0 */
LP_ABI_SIZE(struct lp_cfg_field, 40);
LP_ABI_OFFSET(struct lp_cfg_field, key, 0);
LP_ABI_OFFSET(struct lp_cfg_field, type, 8);
LP_ABI_OFFSET(struct lp_cfg_field, flags, 12);
LP_ABI_OFFSET(struct lp_cfg_field, default_value, 16);
LP_ABI_OFFSET(struct lp_cfg_field, offset, 24);
LP_ABI_OFFSET(struct lp_cfg_field, description, 32);
LP_ABI_SIZE(struct lp_str_list, 16);
LP_ABI_OFFSET(struct lp_str_list, count, 0);
LP_ABI_OFFSET(struct lp_str_list, items, 8);
LP_ABI_SIZE(struct lp_int_list, 16);
LP_ABI_OFFSET(struct lp_int_list, count, 0);
LP_ABI_OFFSET(struct lp_int_list, items, 8);
LP_ABI_SIZE(struct lp_host, 128);
LP_ABI_OFFSET(struct lp_host, struct_size, 0);
LP_ABI_OFFSET(struct lp_host, abi_major, 4);
LP_ABI_OFFSET(struct lp_host, abi_minor, 6);
LP_ABI_OFFSET(struct lp_host, ctx, 8);
LP_ABI_OFFSET(struct lp_host, log, 16);
LP_ABI_OFFSET(struct lp_host, metric_add, 24);
LP_ABI_OFFSET(struct lp_host, metric_set, 32);
LP_ABI_OFFSET(struct lp_host, cfg_root, 40);
LP_ABI_OFFSET(struct lp_host, cfg_lookup, 48);
LP_ABI_OFFSET(struct lp_host, cfg_get_string, 56);
LP_ABI_OFFSET(struct lp_host, cfg_get_int, 64);
LP_ABI_OFFSET(struct lp_host, cfg_get_bool, 72);
LP_ABI_OFFSET(struct lp_host, cfg_length, 80);
LP_ABI_OFFSET(struct lp_host, cfg_element, 88);
LP_ABI_OFFSET(struct lp_host, monotonic_ns, 96);
LP_ABI_OFFSET(struct lp_host, realtime_ns, 104);
LP_ABI_OFFSET(struct lp_host, cancelled, 112);
LP_ABI_OFFSET(struct lp_host, gpu_vendor, 120);
LP_ABI_SIZE(struct lp_lifecycle_ops, 48);
LP_ABI_OFFSET(struct lp_lifecycle_ops, probe, 0);
LP_ABI_OFFSET(struct lp_lifecycle_ops, create, 8);
LP_ABI_OFFSET(struct lp_lifecycle_ops, start, 16);
LP_ABI_OFFSET(struct lp_lifecycle_ops, stop, 24);
LP_ABI_OFFSET(struct lp_lifecycle_ops, destroy, 32);
LP_ABI_OFFSET(struct lp_lifecycle_ops, last_error, 40);
LP_ABI_SIZE(struct lp_plugin, 88);
LP_ABI_OFFSET(struct lp_plugin, magic, 0);
LP_ABI_OFFSET(struct lp_plugin, abi_major, 4);
LP_ABI_OFFSET(struct lp_plugin, abi_minor, 6);
LP_ABI_OFFSET(struct lp_plugin, struct_size, 8);
LP_ABI_OFFSET(struct lp_plugin, concern, 12);
LP_ABI_OFFSET(struct lp_plugin, name, 16);
LP_ABI_OFFSET(struct lp_plugin, version, 24);
LP_ABI_OFFSET(struct lp_plugin, description, 32);
LP_ABI_OFFSET(struct lp_plugin, license, 40);
LP_ABI_OFFSET(struct lp_plugin, caps, 48);
LP_ABI_OFFSET(struct lp_plugin, config_schema, 56);
LP_ABI_OFFSET(struct lp_plugin, config_size, 64);
LP_ABI_OFFSET(struct lp_plugin, ops, 72);
LP_ABI_OFFSET(struct lp_plugin, ops_size, 80);
LP_ABI_SIZE(struct lp_hashrate_device, 304);
LP_ABI_OFFSET(struct lp_hashrate_device, struct_size, 0);
LP_ABI_OFFSET(struct lp_hashrate_device, index, 4);
LP_ABI_OFFSET(struct lp_hashrate_device, name, 8);
LP_ABI_OFFSET(struct lp_hashrate_device, vendor, 136);
LP_ABI_OFFSET(struct lp_hashrate_device, memory_bytes, 152);
LP_ABI_OFFSET(struct lp_hashrate_device, compute_units, 160);
LP_ABI_OFFSET(struct lp_hashrate_device, clock_mhz, 164);
LP_ABI_OFFSET(struct lp_hashrate_device, peak_hashes_per_s, 168);
LP_ABI_OFFSET(struct lp_hashrate_device, detail, 176);
LP_ABI_SIZE(struct lp_pow_work, 64);
LP_ABI_OFFSET(struct lp_pow_work, challenge, 0);
LP_ABI_OFFSET(struct lp_pow_work, target, 32);
LP_ABI_SIZE(struct lp_pow_solution, 64);
LP_ABI_OFFSET(struct lp_pow_solution, nonce, 0);
LP_ABI_OFFSET(struct lp_pow_solution, digest, 32);
LP_ABI_SIZE(struct lp_hashrate_ops, 72);
LP_ABI_OFFSET(struct lp_hashrate_ops, life, 0);
LP_ABI_OFFSET(struct lp_hashrate_ops, device_count, 48);
LP_ABI_OFFSET(struct lp_hashrate_ops, device_info, 56);
LP_ABI_OFFSET(struct lp_hashrate_ops, mine, 64);
LP_ABI_SIZE(struct lp_job_spec, 56);
LP_ABI_OFFSET(struct lp_job_spec, struct_size, 0);
LP_ABI_OFFSET(struct lp_job_spec, image, 8);
LP_ABI_OFFSET(struct lp_job_spec, entrypoint, 16);
LP_ABI_OFFSET(struct lp_job_spec, entrypoint_count, 24);
LP_ABI_OFFSET(struct lp_job_spec, env, 32);
LP_ABI_OFFSET(struct lp_job_spec, env_count, 40);
LP_ABI_OFFSET(struct lp_job_spec, workdir, 48);
LP_ABI_SIZE(struct lp_job_limits, 48);
LP_ABI_OFFSET(struct lp_job_limits, struct_size, 0);
LP_ABI_OFFSET(struct lp_job_limits, cpu_millicores, 4);
LP_ABI_OFFSET(struct lp_job_limits, gpus, 8);
LP_ABI_OFFSET(struct lp_job_limits, max_pids, 12);
LP_ABI_OFFSET(struct lp_job_limits, memory_bytes, 16);
LP_ABI_OFFSET(struct lp_job_limits, disk_bytes, 24);
LP_ABI_OFFSET(struct lp_job_limits, timeout_ms, 32);
LP_ABI_OFFSET(struct lp_job_limits, network, 40);
LP_ABI_SIZE(struct lp_job_handle, 128);
LP_ABI_OFFSET(struct lp_job_handle, id, 0);
LP_ABI_SIZE(struct lp_job_status, 288);
LP_ABI_OFFSET(struct lp_job_status, struct_size, 0);
LP_ABI_OFFSET(struct lp_job_status, state, 4);
LP_ABI_OFFSET(struct lp_job_status, exit_code, 8);
LP_ABI_OFFSET(struct lp_job_status, started_ns, 16);
LP_ABI_OFFSET(struct lp_job_status, finished_ns, 24);
LP_ABI_OFFSET(struct lp_job_status, message, 32);
LP_ABI_SIZE(struct lp_executor_ops, 88);
LP_ABI_OFFSET(struct lp_executor_ops, life, 0);
LP_ABI_OFFSET(struct lp_executor_ops, submit, 48);
LP_ABI_OFFSET(struct lp_executor_ops, poll, 56);
LP_ABI_OFFSET(struct lp_executor_ops, cancel, 64);
LP_ABI_OFFSET(struct lp_executor_ops, logs, 72);
LP_ABI_OFFSET(struct lp_executor_ops, release, 80);
LP_ABI_SIZE(struct lp_cid, 128);
LP_ABI_OFFSET(struct lp_cid, str, 0);
LP_ABI_SIZE(struct lp_storage_stat, 152);
LP_ABI_OFFSET(struct lp_storage_stat, struct_size, 0);
LP_ABI_OFFSET(struct lp_storage_stat, size_bytes, 8);
LP_ABI_OFFSET(struct lp_storage_stat, is_directory, 16);
LP_ABI_OFFSET(struct lp_storage_stat, pinned, 20);
LP_ABI_OFFSET(struct lp_storage_stat, detail, 24);
LP_ABI_SIZE(struct lp_storage_ops, 80);
LP_ABI_OFFSET(struct lp_storage_ops, life, 0);
LP_ABI_OFFSET(struct lp_storage_ops, put, 48);
LP_ABI_OFFSET(struct lp_storage_ops, get, 56);
LP_ABI_OFFSET(struct lp_storage_ops, pin, 64);
LP_ABI_OFFSET(struct lp_storage_ops, stat, 72);
LP_ABI_SIZE(struct lp_agreement, 208);
LP_ABI_OFFSET(struct lp_agreement, struct_size, 0);
LP_ABI_OFFSET(struct lp_agreement, deal_id, 4);
LP_ABI_OFFSET(struct lp_agreement, job_creator, 36);
LP_ABI_OFFSET(struct lp_agreement, resource_provider, 56);
LP_ABI_OFFSET(struct lp_agreement, mediator, 76);
LP_ABI_OFFSET(struct lp_agreement, price, 96);
LP_ABI_OFFSET(struct lp_agreement, payment_collateral, 128);
LP_ABI_OFFSET(struct lp_agreement, results_collateral, 160);
LP_ABI_OFFSET(struct lp_agreement, execution_timeout_s, 192);
LP_ABI_OFFSET(struct lp_agreement, judge_timeout_s, 200);
LP_ABI_SIZE(struct lp_result_record, 216);
LP_ABI_OFFSET(struct lp_result_record, struct_size, 0);
LP_ABI_OFFSET(struct lp_result_record, deal_id, 4);
LP_ABI_OFFSET(struct lp_result_record, result_id, 36);
LP_ABI_OFFSET(struct lp_result_record, cid, 68);
LP_ABI_OFFSET(struct lp_result_record, instruction_count, 200);
LP_ABI_OFFSET(struct lp_result_record, exit_code, 208);
LP_ABI_SIZE(struct lp_deal_record, 232);
LP_ABI_OFFSET(struct lp_deal_record, struct_size, 0);
LP_ABI_OFFSET(struct lp_deal_record, state, 4);
LP_ABI_OFFSET(struct lp_deal_record, deal_id, 8);
LP_ABI_OFFSET(struct lp_deal_record, result_id, 40);
LP_ABI_OFFSET(struct lp_deal_record, mediator, 72);
LP_ABI_OFFSET(struct lp_deal_record, cid, 92);
LP_ABI_OFFSET(struct lp_deal_record, updated_s, 224);
LP_ABI_SIZE(struct lp_pow_round, 112);
LP_ABI_OFFSET(struct lp_pow_round, struct_size, 0);
LP_ABI_OFFSET(struct lp_pow_round, round, 8);
LP_ABI_OFFSET(struct lp_pow_round, provider, 16);
LP_ABI_OFFSET(struct lp_pow_round, challenge, 36);
LP_ABI_OFFSET(struct lp_pow_round, target, 68);
LP_ABI_OFFSET(struct lp_pow_round, window_end_s, 104);
LP_ABI_SIZE(struct lp_pow_submission, 88);
LP_ABI_OFFSET(struct lp_pow_submission, struct_size, 0);
LP_ABI_OFFSET(struct lp_pow_submission, round, 8);
LP_ABI_OFFSET(struct lp_pow_submission, provider, 16);
LP_ABI_OFFSET(struct lp_pow_submission, nonce, 36);
LP_ABI_OFFSET(struct lp_pow_submission, hashes_counted, 72);
LP_ABI_OFFSET(struct lp_pow_submission, window_ms, 80);
LP_ABI_SIZE(struct lp_verifier_ops, 120);
LP_ABI_OFFSET(struct lp_verifier_ops, life, 0);
LP_ABI_OFFSET(struct lp_verifier_ops, record_agreement, 48);
LP_ABI_OFFSET(struct lp_verifier_ops, record_result, 56);
LP_ABI_OFFSET(struct lp_verifier_ops, accept_result, 64);
LP_ABI_OFFSET(struct lp_verifier_ops, challenge_result, 72);
LP_ABI_OFFSET(struct lp_verifier_ops, mediation_verdict, 80);
LP_ABI_OFFSET(struct lp_verifier_ops, cancel_deal, 88);
LP_ABI_OFFSET(struct lp_verifier_ops, read_deal, 96);
LP_ABI_OFFSET(struct lp_verifier_ops, pow_new_round, 104);
LP_ABI_OFFSET(struct lp_verifier_ops, pow_submit, 112);

int main(void)
{
    printf("plugin ABI %d.%d: layout of every public struct matches the pinned table\n",
           LP_ABI_MAJOR, LP_ABI_MINOR);
    return 0;
}
