/* Fuzzes the keystore v3 JSON reader (and the raw hex key parser on the same bytes). The seeds
 * are encrypted with the password "pw" and tiny KDF parameters, so mutations reach the MAC,
 * decryption and address checks; the limits below keep any single input to a few milliseconds
 * while still exercising the cost caps (their rejection path is the same code). */
#include <stddef.h>
#include <stdint.h>

#include "crypto/keyfile.h"
#include "crypto/keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct lp_keystore_limits limits = {
        .scrypt_n_max = 1u << 12,
        .scrypt_mem_max = 1u << 22,
        .scrypt_work_max = 1u << 14,
        .pbkdf2_c_max = 2000,
    };
    struct lp_key key;
    char err[LP_KEYSTORE_ERR_LEN];
    const char *text = (const char *)data;

    if (lp_keyfile_is_keystore_text(text, size))
        lp_keystore_decrypt(text, size, "pw", 2, &limits, &key, err, sizeof err);
    else
        lp_key_parse_hex(text, size, &key, err, sizeof err);
    lp_key_wipe(&key);
    return 0;
}
