/* Cross-check with an independent implementation: ethers.js (tests/ethers/verify.mjs) must
 * recover our signer's address from the EIP-191 signature over a signed job offer's ID.
 * Needs node and `npm ci --prefix tests/ethers`; LILYPAD_SKIP_ETHERS=1 skips it on purpose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "skip_reason.h"

#include "crypto/key.h"
#include "util/hex.h"
#include "wire/object.h"

#include "test_wire_samples.h"

#define ETHERS_DIR LP_SOURCE_DIR "/tests/ethers"

/* Runs verify.mjs on (id, sig) and returns the address it prints in out[43]. */
static void ethers_recover(const uint8_t id[32], const uint8_t sig[65], char out[64])
{
    char id_hex[67], sig_hex[133], cmd[1024];
    lp_hex_encode_0x(id, 32, id_hex);
    lp_hex_encode_0x(sig, 65, sig_hex);
    snprintf(cmd, sizeof(cmd),
             "node " ETHERS_DIR "/verify.mjs '{\"id_hex\":\"%s\",\"signature_hex\":\"%s\"}'",
             id_hex, sig_hex);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[0] = '\0';
    if (fgets(out, 64, p) == NULL)
        out[0] = '\0';
    int status = pclose(p);
    if (status != 0)
        fail_msg("node verify.mjs failed (status %d): %s", status, cmd);
    out[strcspn(out, "\r\n")] = '\0';
}

static void test_ethers_recovers_our_signer(void **state)
{
    (void)state;
    const char *skip = getenv("LILYPAD_SKIP_ETHERS");
    if (skip != NULL && strcmp(skip, "1") == 0) {
        lp_skip_because("LILYPAD_SKIP_ETHERS=1 (ethers.js cross-check not run)");
    }
    struct stat st;
    if (stat(ETHERS_DIR "/node_modules/ethers/package.json", &st) != 0)
        fail_msg("run: npm ci --prefix tests/ethers");

    uint8_t secret[32];
    memset(secret, 0x46, sizeof(secret));
    struct lp_key key;
    assert_int_equal(lp_key_from_secret(&key, secret), 0);
    char ours[43];
    lp_address_to_checksum(key.address, ours);
    assert_string_equal(ours, "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");

    struct lp_wire_object obj;
    lp_sample_object(LP_WIRE_JOB_OFFER, 20250101, &obj);
    lp_sample_set_author(&obj, key.address);
    uint8_t *env_bytes, id[32];
    size_t env_len;
    struct lp_wire_error err = {{0}};
    if (lp_wire_sign(&key, &obj, &env_bytes, &env_len, id, &err) != 0)
        fail_msg("sign: %s", err.message);
    struct lp_envelope env;
    assert_int_equal(lp_envelope_open(env_bytes, env_len, &env, &err), 0);

    char theirs[64];
    ethers_recover(env.id, env.signature, theirs);
    assert_string_equal(theirs, ours);

    /* The check can fail: a different ID makes ethers recover some other address. */
    uint8_t other_id[32];
    memcpy(other_id, env.id, 32);
    other_id[0] ^= 1;
    ethers_recover(other_id, env.signature, theirs);
    assert_string_not_equal(theirs, ours);

    free(env_bytes);
    lp_wire_object_free(&obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethers_recovers_our_signer),
    };
    return lp_tests_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
