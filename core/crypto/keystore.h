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

/* The caps on a keystore's KDF cost, checked before any of the work. Every tool's default is
 * inside them: geth (scrypt n=2^18 r=8 p=1: 256 MiB, the most memory accepted; or pbkdf2
 * c=2^18), the Web3 Secret Storage vectors and eth-keyfile (n=2^18 r=1 p=8, pbkdf2 c=10^6),
 * ethers (n=2^17), web3.js and Foundry (n=2^13). The most costly keystore accepted takes about
 * twice geth's standard (1 to 3 s); above that a file could stall a node for minutes and take
 * gigabytes. They are deliberately not settings: a file outside them was made by hand or by an
 * attacker, and the fix is to re-encrypt the key with standard parameters, not to raise a cap
 * a stranger's file can then reach. */
#define LP_KEYSTORE_MAX_SIZE        65536      /* bytes of JSON; real files are ~500 */
#define LP_KEYSTORE_SCRYPT_N_MAX    (1u << 20) /* 4x geth's standard 2^18 */
#define LP_KEYSTORE_SCRYPT_R_MAX    32u
#define LP_KEYSTORE_SCRYPT_P_MAX    16u
#define LP_KEYSTORE_SCRYPT_MEM_MAX  (1ull << 28) /* 128 * n * r bytes: geth's standard, 256 MiB */
#define LP_KEYSTORE_SCRYPT_WORK_MAX (1ull << 22) /* n * r * p: twice geth's standard */
#define LP_KEYSTORE_PBKDF2_C_MAX    (1u << 22)   /* iterations: about geth's scrypt in time */
#define LP_KEYSTORE_ERR_LEN         256

enum lp_keystore_kdf { LP_KEYSTORE_SCRYPT, LP_KEYSTORE_PBKDF2 };

struct lp_keystore_params {
    enum lp_keystore_kdf kdf;
    uint32_t scrypt_n, scrypt_r, scrypt_p; /* scrypt only */
    uint32_t pbkdf2_c;                     /* pbkdf2 only */
};

/* Upper bounds the reader enforces; the defaults are the LP_KEYSTORE_*_MAX values (the fuzzer
 * passes smaller ones to keep each input fast). */
struct lp_keystore_limits {
    uint32_t scrypt_n_max;
    uint64_t scrypt_mem_max;  /* 128 * n * r bytes */
    uint64_t scrypt_work_max; /* n * r * p, what the time is proportional to */
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

/* Everything lp_keystore_decrypt checks before it runs the KDF (size, JSON, every field, the
 * cost caps), without running it: 0 when the text would be worth a password, -1 with a message
 * in err otherwise. limits may be NULL (defaults). */
int lp_keystore_check(const char *json, size_t json_len, const struct lp_keystore_limits *limits,
                      char *err, size_t err_len);

/* Decrypts a keystore text. limits may be NULL (defaults). On a MAC mismatch the error is
 * "wrong password or corrupted keystore". 0 ok, -1 with a message in err. */
int lp_keystore_decrypt(const char *json, size_t json_len, const char *password,
                        size_t password_len, const struct lp_keystore_limits *limits,
                        struct lp_key *out, char *err, size_t err_len);

#endif
