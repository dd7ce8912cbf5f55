/*
 * lilypad hashrate: measure the proof-of-work rate of a hashrate backend, or verify one nonce.
 *
 *   lilypad hashrate [--backend auto|cpu|cuda|rocm] [--seconds N] [--devices LIST] [-c FILE]
 *   lilypad hashrate verify --challenge HEX32 --nonce N [--target N]
 *
 * The rate is hashes counted over the run (the core's meter), per device and in total, with
 * the share of the device's instruction-throughput limit where the plugin knows it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lilypad/hashrate.h>

#include "cli_options.h"
#include "commands.h"
#include "config/config.h"
#include "crypto/random.h"
#include "dispatch/hashrate.h"
#include "loader/backend.h"
#include "pow/hashrate.h"
#include "pow/miner.h"
#include "pow/pow.h"
#include "pow/uint256.h"
#include "util/hex.h"

#define MAX_DEVICES 64

/* Lilypad's LilypadPow target, 0x149a6a3 << 204: about one winner per 2.08e8 hashes. */
static const char lilypad_target_dec[] =
    "555460709263765739036470010701196062214039696708679004195670928130048";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: lilypad hashrate [--backend auto|cpu|cuda|rocm] [--seconds N] "
            "[--devices LIST] [-c FILE]\n"
            "       lilypad hashrate verify --challenge HEX32 --nonce N [--target N]\n"
            "\n"
            "Measures proof-of-work hashes per second (keccak256(challenge || nonce) against\n"
            "Lilypad's difficulty) on each device of a hashrate backend and in total.\n"
            "\n"
            "--backend B     auto, cpu, cuda or rocm (default: hashrate.backend of -c FILE,\n"
            "                else auto: the probe_order plugins gpu allows, then cpu)\n"
            "--seconds N     how long to mine (default 10)\n"
            "--devices LIST  device indexes, comma-separated (default: all)\n"
            "-c FILE         configuration (the hashrate group's keys, the gpu setting)\n"
            "--plugin-path DIRS  extra plugin folders searched first\n"
            "\n"
            "verify: prints keccak256(challenge || nonce) in hex and decimal; with --target,\n"
            "whether it is below the target (exit 0 yes, 1 no). N is decimal, or hex with 0x.\n");
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_u256(const char *what, const char *text, uint8_t out[32])
{
    int rc = (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) ? lp_u256_from_hex(text, out)
                                                                    : lp_u256_from_dec(text, out);
    if (rc != 0)
        fprintf(stderr,
                "lilypad: hashrate verify: %s '%s' is not an unsigned 256-bit integer "
                "(decimal digits, or hex with 0x)\n",
                what, text);
    return rc;
}

static int cmd_verify(int argc, char **argv)
{
    const char *challenge = NULL, *nonce = NULL, *target = NULL;
    for (int i = 2; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--challenge") == 0 ? &challenge
                            : strcmp(argv[i], "--nonce") == 0   ? &nonce
                            : strcmp(argv[i], "--target") == 0  ? &target
                                                                : NULL;
        if (lp_cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        }
        if (slot == NULL) {
            fprintf(stderr, "lilypad: hashrate verify: unknown argument '%s' (see --help)\n",
                    argv[i]);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "lilypad: hashrate verify: %s needs a value\n", argv[i]);
            return 2;
        }
        *slot = argv[++i];
    }
    if (challenge == NULL || nonce == NULL) {
        fprintf(stderr, "lilypad: hashrate verify: --challenge and --nonce are required\n");
        return 2;
    }
    uint8_t ch[32], n[32], t[32], digest[32];
    const char *hex = challenge;
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    if (strlen(hex) != 64 || lp_hex_decode(hex, 64, ch, 32) != 0) {
        fprintf(stderr,
                "lilypad: hashrate verify: --challenge must be 32 bytes as 64 hex digits "
                "(optionally 0x-prefixed), got '%s'\n",
                challenge);
        return 2;
    }
    if (parse_u256("--nonce", nonce, n) != 0 || (target && parse_u256("--target", target, t)))
        return 2;
    bool ok = lp_pow_verify(ch, n, target ? t : n, digest);
    char dhex[65], ddec[79];
    lp_hex_encode(digest, 32, dhex);
    lp_u256_to_dec(digest, ddec);
    printf("digest      0x%s\n", dhex);
    printf("digest_dec  %s\n", ddec);
    if (target) {
        char tdec[79];
        lp_u256_to_dec(t, tdec);
        printf("target_dec  %s\n", tdec);
        printf("meets       %s\n", ok ? "yes" : "no");
        return ok ? 0 : 1;
    }
    return 0;
}

static int parse_devices(const char *text, uint32_t *ids, uint32_t *n)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v > 1023 || *n >= MAX_DEVICES || (*end != ',' && *end != '\0'))
            return -1;
        ids[(*n)++] = (uint32_t)v;
        p = *end == ',' ? end + 1 : end;
    }
    return *n ? 0 : -1;
}

static void print_rate(double r, char *out, size_t len)
{
    if (r >= 1e9)
        snprintf(out, len, "%.3f GH/s", r / 1e9);
    else if (r >= 1e6)
        snprintf(out, len, "%.2f MH/s", r / 1e6);
    else
        snprintf(out, len, "%.1f kH/s", r / 1e3);
}

int lp_cmd_hashrate(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "verify") == 0)
        return cmd_verify(argc, argv);
    const char *config_path = NULL, *backend = NULL, *devices = NULL;
    long seconds = 10;
    for (int i = 1; i < argc; i++) {
        int rc = lp_cli_common_option(argc, argv, &i, &config_path);
        if (rc < 0)
            return 2;
        if (rc > 0)
            continue;
        if (lp_cli_is_help(argv[i])) {
            usage(stdout);
            return 0;
        }
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--backend") == 0 && has_value) {
            backend = argv[++i];
        } else if (strcmp(argv[i], "--devices") == 0 && has_value) {
            devices = argv[++i];
        } else if (strcmp(argv[i], "--seconds") == 0 && has_value) {
            char *end;
            seconds = strtol(argv[++i], &end, 10);
            if (*end != '\0' || seconds < 1 || seconds > 86400) {
                fprintf(stderr, "lilypad: hashrate: --seconds '%s': expected 1..86400\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "lilypad: hashrate: unknown or incomplete argument '%s' (see --help)\n",
                    argv[i]);
            return 2;
        }
    }
    struct lp_config *cfg = NULL;
    if (lp_cli_load_config(config_path, &cfg) != 0)
        return 1;
    struct lp_backend *b = NULL;
    char err[512];
    if (lp_backend_open(cfg, "hashrate", backend, &b, err, sizeof err) != 0) {
        fprintf(stderr, "lilypad: hashrate: %s\n", err);
        lp_config_free(cfg);
        return 1;
    }
    const struct lp_plugin *desc = lp_backend_descriptor(b);
    uint32_t count = 0, ids[MAX_DEVICES], n = 0;
    struct lp_plugin_error pe = {0};
    if (lp_hashrate_device_count(b, &count, &pe) != LP_OK || count == 0) {
        fprintf(stderr, "lilypad: hashrate: backend %s has no device to mine on (%s)\n", desc->name,
                count == 0 && pe.message[0] == '\0' ? "it reports none" : pe.message);
        goto fail;
    }
    if (devices) {
        if (parse_devices(devices, ids, &n) != 0) {
            fprintf(stderr,
                    "lilypad: hashrate: --devices '%s': expected indexes like 0,1 (this backend "
                    "has 0..%u)\n",
                    devices, count - 1);
            goto fail;
        }
        for (uint32_t i = 0; i < n; i++)
            if (ids[i] >= count) {
                fprintf(stderr, "lilypad: hashrate: --devices: %u is not a device of %s (0..%u)\n",
                        ids[i], desc->name, count - 1);
                goto fail;
            }
    } else {
        n = count < MAX_DEVICES ? count : MAX_DEVICES;
        for (uint32_t i = 0; i < n; i++)
            ids[i] = i;
    }
    struct lp_hashrate_device info[MAX_DEVICES];
    for (uint32_t i = 0; i < n; i++) {
        if (lp_hashrate_device_info(b, ids[i], &info[i], &pe) != LP_OK)
            snprintf(info[i].name, sizeof info[i].name, "device %u", ids[i]);
    }

    struct lp_pow_work work;
    uint8_t start[32];
    if (lp_random_bytes(work.challenge, 32) != 0 || lp_random_bytes(start, 24) != 0)
        goto fail;
    memset(start + 24, 0, 8);
    lp_u256_from_dec(lilypad_target_dec, work.target);

    uint64_t t0 = mono_ns();
    struct lp_hashrate_meter *meter = lp_hashrate_meter_new(n, t0);
    struct lp_miner_config mc = {
        .backend = b,
        .devices = n,
        .device_ids = ids,
        .meter = meter,
    };
    printf("hashrate: backend %s, %u device%s, %ld s\n", desc->name, n, n == 1 ? "" : "s", seconds);
    fflush(stdout);
    struct lp_miner *miner = meter ? lp_miner_start(&mc) : NULL;
    if (miner == NULL) {
        lp_hashrate_meter_free(meter);
        goto fail;
    }
    lp_miner_set_work(miner, &work, start);
    sleep((unsigned)seconds);
    char mine_error[sizeof pe.message];
    int mine_rc = lp_miner_last_error(miner, mine_error, sizeof mine_error);
    lp_miner_stop(miner); /* joins: every mine() call has returned and been counted */
    uint64_t t1 = mono_ns();
    double elapsed = (double)(t1 - t0) / 1e9;
    if (mine_rc != LP_OK)
        fprintf(stderr, "lilypad: hashrate: mining failed on some batches: %s\n", mine_error);

    printf("%-3s %-44s %14s %12s %9s  %s\n", "dev", "name", "rate", "per unit", "of limit",
           "detail");
    double total = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct lp_hashrate_rates r;
        lp_hashrate_meter_rates(meter, i, t1, &r);
        double rate = (double)r.total / elapsed;
        total += rate;
        char rs[32], pu[32] = "-", lim[16] = "-";
        print_rate(rate, rs, sizeof rs);
        if (strcmp(info[i].vendor, "cpu") == 0 && info[i].compute_units)
            print_rate(rate / info[i].compute_units, pu, sizeof pu);
        if (info[i].peak_hashes_per_s)
            snprintf(lim, sizeof lim, "%.1f%%", 100.0 * rate / (double)info[i].peak_hashes_per_s);
        printf("%-3u %-44.44s %14s %12s %9s  %s\n", ids[i], info[i].name, rs, pu, lim,
               info[i].detail);
    }
    char ts[32];
    print_rate(total, ts, sizeof ts);
    printf("%-3s %-44s %14s\n", "all", "total", ts);
    lp_hashrate_meter_free(meter);
    lp_backend_close(b);
    lp_config_free(cfg);
    return mine_rc == LP_OK ? 0 : 1;
fail:
    lp_backend_close(b);
    lp_config_free(cfg);
    return 1;
}
