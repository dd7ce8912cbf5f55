/* Ethereum keystore v3 ("Web3 Secret Storage") files, as geth and ethers write them:
 * kdf scrypt or pbkdf2 (hmac-sha256), cipher aes-128-ctr, MAC = keccak256(dk[16..31] || ct).
 * The reader is strict (sizes, types and ranges of every field it uses) and caps the KDF cost,
 * because a keystore may come from someone else and must not be able to hang or exhaust us. */
#ifndef LP_CRYPTO_KEYSTORE_H
#define LP_CRYPTO_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"

#define LP_KEYSTORE_MAX_SIZE       65536      /* bytes of JSON; real files are ~500 */
#define LP_KEYSTORE_SCRYPT_N_MAX   (1u << 20) /* 4x geth's standard 2^18 */
#define LP_KEYSTORE_SCRYPT_R_MAX   32u
#define LP_KEYSTORE_SCRYPT_P_MAX   16u
#define LP_KEYSTORE_SCRYPT_MEM_MAX (1ull << 30) /* 128 * r * n bytes */
#define LP_KEYSTORE_PBKDF2_C_MAX   10000000u
#define LP_KEYSTORE_ERR_LEN        256

enum lp_keystore_kdf { LP_KEYSTORE_SCRYPT, LP_KEYSTORE_PBKDF2 };

struct lp_keystore_params {
    enum lp_keystore_kdf kdf;
    uint32_t scrypt_n, scrypt_r, scrypt_p; /* scrypt only */
    uint32_t pbkdf2_c;                     /* pbkdf2 only */
};

/* Upper bounds the reader enforces; the defaults are the LP_KEYSTORE_*_MAX values. */
struct lp_keystore_limits {
    uint32_t scrypt_n_max;
    uint64_t scrypt_mem_max;
    uint32_t pbkdf2_c_max;
};

/* geth's "standard" parameters: scrypt n=2^18 r=8 p=1, or pbkdf2 c=2^18. */
void lp_keystore_params_default(struct lp_keystore_params *params, enum lp_keystore_kdf kdf);
void lp_keystore_limits_default(struct lp_keystore_limits *limits);

/* Encrypts key into a NUL-terminated JSON text (caller frees *json with free()). 0 ok, -1 with
 * a message in err (err_len bytes, may be NULL). */
int lp_keystore_encrypt(const struct lp_key *key, const char *password, size_t password_len,
                        const struct lp_keystore_params *params, char **json, char *err,
                        size_t err_len);

/* Decrypts a keystore text. limits may be NULL (defaults). On a MAC mismatch the error is
 * "wrong password or corrupted keystore". 0 ok, -1 with a message in err. */
int lp_keystore_decrypt(const char *json, size_t json_len, const char *password,
                        size_t password_len, const struct lp_keystore_limits *limits,
                        struct lp_key *out, char *err, size_t err_len);

#endif
