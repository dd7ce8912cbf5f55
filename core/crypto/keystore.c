/* Keystore v3 reader and writer (Web3 Secret Storage definition, as geth and ethers use it).
 * Crypto comes from OpenSSL (scrypt, PBKDF2-HMAC-SHA256, AES-128-CTR) and our Keccak (the MAC);
 * JSON from jansson. Every field we use is checked for type, size and range before any KDF runs,
 * so hostile input costs at most one capped KDF evaluation. */
#include "crypto/keystore.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "crypto/keccak.h"
#include "crypto/random.h"
#include "crypto/scrypt.h"
#include "util/hex.h"
#include <lilypad/plugin.h> /* LP_PRINTF */

#define DKLEN      32
#define IV_LEN     16
#define SECRET_LEN 32
#define SALT_MIN   16 /* geth and ethers write 32; below 16 bytes a salt stops doing its job */
#define SALT_MAX   64
#define MAC_ERROR  "wrong password or corrupted keystore"

static int set_err(char *err, size_t err_len, const char *fmt, ...) LP_PRINTF(3, 4);

static int set_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (err != NULL && err_len > 0) {
        int n = snprintf(err, err_len, "keystore: ");
        va_list ap;
        va_start(ap, fmt);
        if (n > 0 && (size_t)n < err_len)
            vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void lp_keystore_params_default(struct lp_keystore_params *params, enum lp_keystore_kdf kdf)
{
    memset(params, 0, sizeof *params);
    params->kdf = kdf;
    params->scrypt_n = 1u << 18;
    params->scrypt_r = 8;
    params->scrypt_p = 1;
    params->pbkdf2_c = 1u << 18;
}

void lp_keystore_limits_default(struct lp_keystore_limits *limits)
{
    limits->scrypt_n_max = LP_KEYSTORE_SCRYPT_N_MAX;
    limits->scrypt_mem_max = LP_KEYSTORE_SCRYPT_MEM_MAX;
    limits->scrypt_work_max = LP_KEYSTORE_SCRYPT_WORK_MAX;
    limits->pbkdf2_c_max = LP_KEYSTORE_PBKDF2_C_MAX;
}

/* scrypt needs 128 * r * (n + p) bytes or so; OpenSSL wants an explicit ceiling. */
static uint64_t scrypt_memory(uint64_t n, uint64_t r, uint64_t p)
{
    return 128 * r * (n + 2) + 128 * r * p;
}

static int derive_key(const struct lp_keystore_params *params, const char *password,
                      size_t password_len, const uint8_t *salt, size_t salt_len, uint8_t dk[DKLEN],
                      char *err, size_t err_len)
{
    /* OpenSSL rejects a NULL password pointer even with length 0. */
    const char *pw = password != NULL ? password : "";
    if (params->kdf == LP_KEYSTORE_SCRYPT) {
        uint64_t mem = scrypt_memory(params->scrypt_n, params->scrypt_r, params->scrypt_p);
        /* OpenSSL refuses N >= 2^(16 r) (RFC 7914's rule, which geth ignores): ours then. */
        if (16 * params->scrypt_r < 64 &&
            ((uint64_t)params->scrypt_n >> (16 * params->scrypt_r)) != 0) {
            if (lp_scrypt(pw, password_len, salt, salt_len, params->scrypt_n, params->scrypt_r,
                          params->scrypt_p, dk, DKLEN) != 0)
                return set_err(err, err_len, "scrypt failed (n=%u r=%u p=%u; out of memory?)",
                               params->scrypt_n, params->scrypt_r, params->scrypt_p);
            return 0;
        }
        if (EVP_PBE_scrypt(pw, password_len, salt, salt_len, params->scrypt_n, params->scrypt_r,
                           params->scrypt_p, mem + (1u << 20), dk, DKLEN) != 1)
            return set_err(err, err_len, "scrypt failed (n=%u r=%u p=%u; out of memory?)",
                           params->scrypt_n, params->scrypt_r, params->scrypt_p);
        return 0;
    }
    if (PKCS5_PBKDF2_HMAC(pw, (int)password_len, salt, (int)salt_len, (int)params->pbkdf2_c,
                          EVP_sha256(), DKLEN, dk) != 1)
        return set_err(err, err_len, "pbkdf2 failed (c=%u)", params->pbkdf2_c);
    return 0;
}

static int aes128_ctr(const uint8_t key[16], const uint8_t iv[IV_LEN], const uint8_t *in,
                      size_t len, uint8_t *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int out_len = 0, final_len = 0, ok;
    if (c == NULL)
        return -1;
    ok = EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) == 1 &&
         EVP_EncryptUpdate(c, out, &out_len, in, (int)len) == 1 &&
         EVP_EncryptFinal_ex(c, out + out_len, &final_len) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok && (size_t)(out_len + final_len) == len ? 0 : -1;
}

static void compute_mac(const uint8_t dk[DKLEN], const uint8_t *ct, size_t ct_len, uint8_t mac[32])
{
    struct lp_keccak kc;
    lp_keccak256_init(&kc);
    lp_keccak256_update(&kc, dk + 16, 16);
    lp_keccak256_update(&kc, ct, ct_len);
    lp_keccak256_final(&kc, mac);
}

/* ---- writing ---- */

static void format_uuid_v4(const uint8_t r[16], char out[37])
{
    uint8_t b[16];
    memcpy(b, r, 16);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    char hex[33];
    lp_hex_encode(b, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

#define REENCRYPT_HINT "; re-encrypt the key with standard parameters (geth: n=262144 r=8 p=1)"

/* The cost caps, checked before any KDF work: each message names the parameter and its limit. */
static int check_params(const struct lp_keystore_params *p, const struct lp_keystore_limits *lim,
                        char *err, size_t err_len)
{
    if (p->kdf == LP_KEYSTORE_SCRYPT) {
        uint32_t n = p->scrypt_n;
        if (n < 2 || (n & (n - 1)) != 0)
            return set_err(err, err_len, "crypto.kdfparams.n: %u is not a power of two >= 2", n);
        if (n > lim->scrypt_n_max)
            return set_err(err, err_len,
                           "crypto.kdfparams.n: %u is over the limit %u" REENCRYPT_HINT, n,
                           lim->scrypt_n_max);
        if (p->scrypt_r < 1 || p->scrypt_r > LP_KEYSTORE_SCRYPT_R_MAX)
            return set_err(err, err_len, "crypto.kdfparams.r: %u is outside 1..%u" REENCRYPT_HINT,
                           p->scrypt_r, LP_KEYSTORE_SCRYPT_R_MAX);
        if (p->scrypt_p < 1 || p->scrypt_p > LP_KEYSTORE_SCRYPT_P_MAX)
            return set_err(err, err_len, "crypto.kdfparams.p: %u is outside 1..%u" REENCRYPT_HINT,
                           p->scrypt_p, LP_KEYSTORE_SCRYPT_P_MAX);
        /* No overflow: n < 2^21, r, p < 2^6. */
        uint64_t mem = (uint64_t)128 * n * p->scrypt_r;
        uint64_t work = (uint64_t)n * p->scrypt_r * p->scrypt_p;
        if (mem > lim->scrypt_mem_max)
            return set_err(
                err, err_len,
                "crypto.kdfparams: scrypt n=%u r=%u needs %llu MiB (128*n*r bytes), over "
                "the limit %llu MiB" REENCRYPT_HINT,
                n, p->scrypt_r, (unsigned long long)(mem >> 20),
                (unsigned long long)(lim->scrypt_mem_max >> 20));
        if (work > lim->scrypt_work_max)
            return set_err(
                err, err_len,
                "crypto.kdfparams: scrypt n=%u r=%u p=%u: n*r*p = %llu is over the limit "
                "%llu" REENCRYPT_HINT,
                n, p->scrypt_r, p->scrypt_p, (unsigned long long)work,
                (unsigned long long)lim->scrypt_work_max);
        return 0;
    }
    if (p->kdf == LP_KEYSTORE_PBKDF2) {
        if (p->pbkdf2_c < 1)
            return set_err(err, err_len, "crypto.kdfparams.c: must be at least 1");
        if (p->pbkdf2_c > lim->pbkdf2_c_max)
            return set_err(err, err_len,
                           "crypto.kdfparams.c: %u is over the limit %u; re-encrypt the key with "
                           "standard parameters (geth: c=262144)",
                           p->pbkdf2_c, lim->pbkdf2_c_max);
        return 0;
    }
    return set_err(err, err_len, "unknown kdf");
}

int lp_keystore_encrypt(const struct lp_key *key, const char *password, size_t password_len,
                        const struct lp_keystore_params *params, char **json, char *err,
                        size_t err_len)
{
    struct lp_keystore_limits limits;
    uint8_t salt[32], iv[IV_LEN], id_bytes[16], dk[DKLEN], ct[SECRET_LEN], mac[32];
    char salt_hex[65], iv_hex[33], ct_hex[65], mac_hex[65], addr_hex[41], id[37];
    json_t *kdfparams, *root;
    int rc = -1;

    *json = NULL;
    lp_keystore_limits_default(&limits);
    if (check_params(params, &limits, err, err_len) != 0)
        return -1;
    if (lp_random_bytes(salt, sizeof salt) != 0 || lp_random_bytes(iv, sizeof iv) != 0 ||
        lp_random_bytes(id_bytes, sizeof id_bytes) != 0)
        return set_err(err, err_len, "no randomness for salt and IV");
    if (derive_key(params, password, password_len, salt, sizeof salt, dk, err, err_len) != 0)
        goto out;
    if (aes128_ctr(dk, iv, key->secret, SECRET_LEN, ct) != 0) {
        set_err(err, err_len, "aes-128-ctr failed");
        goto out;
    }
    compute_mac(dk, ct, sizeof ct, mac);

    lp_hex_encode(salt, sizeof salt, salt_hex);
    lp_hex_encode(iv, sizeof iv, iv_hex);
    lp_hex_encode(ct, sizeof ct, ct_hex);
    lp_hex_encode(mac, sizeof mac, mac_hex);
    lp_hex_encode(key->address, 20, addr_hex);
    format_uuid_v4(id_bytes, id);

    if (params->kdf == LP_KEYSTORE_SCRYPT)
        kdfparams = json_pack("{s:i, s:i, s:i, s:i, s:s}", "dklen", DKLEN, "n",
                              (json_int_t)params->scrypt_n, "p", (json_int_t)params->scrypt_p, "r",
                              (json_int_t)params->scrypt_r, "salt", salt_hex);
    else
        kdfparams = json_pack("{s:i, s:i, s:s, s:s}", "c", (json_int_t)params->pbkdf2_c, "dklen",
                              DKLEN, "prf", "hmac-sha256", "salt", salt_hex);
    /* Field names and layout as geth writes them, so geth and ethers read our files. */
    root = json_pack("{s:s, s:{s:s, s:s, s:{s:s}, s:s, s:o, s:s}, s:s, s:i}", "address", addr_hex,
                     "crypto", "cipher", "aes-128-ctr", "ciphertext", ct_hex, "cipherparams", "iv",
                     iv_hex, "kdf", params->kdf == LP_KEYSTORE_SCRYPT ? "scrypt" : "pbkdf2",
                     "kdfparams", kdfparams, "mac", mac_hex, "id", id, "version", 3);
    if (root == NULL) {
        set_err(err, err_len, "cannot build JSON (out of memory?)");
        goto out;
    }
    *json = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (*json == NULL) {
        set_err(err, err_len, "cannot format JSON (out of memory?)");
        goto out;
    }
    rc = 0;
out:
    explicit_bzero(dk, sizeof dk);
    return rc;
}

/* ---- reading ---- */

static json_t *get_object(json_t *parent, const char *name, const char *path, char *err,
                          size_t err_len)
{
    json_t *v = json_object_get(parent, name);
    if (!json_is_object(v)) {
        set_err(err, err_len, "%s: %s", path, v == NULL ? "missing" : "must be an object");
        return NULL;
    }
    return v;
}

static const char *get_string(json_t *parent, const char *name, const char *path, size_t max_len,
                              char *err, size_t err_len)
{
    json_t *v = json_object_get(parent, name);
    if (!json_is_string(v)) {
        set_err(err, err_len, "%s: %s", path, v == NULL ? "missing" : "must be a string");
        return NULL;
    }
    if (json_string_length(v) > max_len) {
        set_err(err, err_len, "%s: longer than %zu characters", path, max_len);
        return NULL;
    }
    return json_string_value(v);
}

/* A hex field of exactly `len` bytes (or min..max bytes when max > min). */
static int get_hex(json_t *parent, const char *name, const char *path, uint8_t *out, size_t min,
                   size_t max, size_t *out_len, char *err, size_t err_len)
{
    const char *s = get_string(parent, name, path, 2 * max + 2, err, err_len);
    size_t n = 0;
    if (s == NULL)
        return -1;
    if (lp_hex_decode_var(s, out, max, &n) != 0 || n < min)
        return set_err(err, err_len,
                       min == max ? "%s: must be %zu bytes of hex"
                                  : "%s: must be %zu to %zu bytes of hex",
                       path, min, max);
    if (out_len != NULL)
        *out_len = n;
    return 0;
}

static int get_uint(json_t *parent, const char *name, const char *path, uint32_t *out, char *err,
                    size_t err_len)
{
    json_t *v = json_object_get(parent, name);
    if (!json_is_integer(v))
        return set_err(err, err_len, "%s: %s", path, v == NULL ? "missing" : "must be an integer");
    json_int_t i = json_integer_value(v);
    if (i < 0 || i > (json_int_t)UINT32_MAX)
        return set_err(err, err_len, "%s: %lld is out of range", path, (long long)i);
    *out = (uint32_t)i;
    return 0;
}

struct parsed_keystore {
    struct lp_keystore_params params;
    uint8_t salt[SALT_MAX];
    size_t salt_len;
    uint8_t iv[IV_LEN];
    uint8_t ct[SECRET_LEN];
    uint8_t mac[32];
    bool has_address;
    uint8_t address[20];
};

static int parse_kdf(json_t *crypto, struct parsed_keystore *ks, char *err, size_t err_len)
{
    const char *kdf = get_string(crypto, "kdf", "crypto.kdf", 16, err, err_len);
    json_t *kp;
    uint32_t dklen = 0;
    if (kdf == NULL)
        return -1;
    kp = get_object(crypto, "kdfparams", "crypto.kdfparams", err, err_len);
    if (kp == NULL)
        return -1;
    if (get_uint(kp, "dklen", "crypto.kdfparams.dklen", &dklen, err, err_len) != 0)
        return -1;
    if (dklen != DKLEN)
        return set_err(err, err_len, "crypto.kdfparams.dklen: must be 32, not %u", dklen);
    if (get_hex(kp, "salt", "crypto.kdfparams.salt", ks->salt, SALT_MIN, SALT_MAX, &ks->salt_len,
                err, err_len) != 0)
        return -1;
    if (strcmp(kdf, "scrypt") == 0) {
        ks->params.kdf = LP_KEYSTORE_SCRYPT;
        if (get_uint(kp, "n", "crypto.kdfparams.n", &ks->params.scrypt_n, err, err_len) != 0 ||
            get_uint(kp, "r", "crypto.kdfparams.r", &ks->params.scrypt_r, err, err_len) != 0 ||
            get_uint(kp, "p", "crypto.kdfparams.p", &ks->params.scrypt_p, err, err_len) != 0)
            return -1;
        return 0;
    }
    if (strcmp(kdf, "pbkdf2") == 0) {
        const char *prf;
        ks->params.kdf = LP_KEYSTORE_PBKDF2;
        if (get_uint(kp, "c", "crypto.kdfparams.c", &ks->params.pbkdf2_c, err, err_len) != 0)
            return -1;
        prf = get_string(kp, "prf", "crypto.kdfparams.prf", 32, err, err_len);
        if (prf == NULL)
            return -1;
        if (strcmp(prf, "hmac-sha256") != 0)
            return set_err(err, err_len,
                           "crypto.kdfparams.prf: \"%s\" unsupported (only hmac-sha256)", prf);
        return 0;
    }
    return set_err(err, err_len, "crypto.kdf: \"%s\" unsupported (scrypt or pbkdf2)", kdf);
}

static int parse_keystore(json_t *root, struct parsed_keystore *ks, char *err, size_t err_len)
{
    json_t *version, *crypto, *cp, *addr;
    const char *cipher;

    if (!json_is_object(root))
        return set_err(err, err_len, "top level must be a JSON object");
    version = json_object_get(root, "version");
    if (!json_is_integer(version) || json_integer_value(version) != 3)
        return set_err(err, err_len, "version: must be the integer 3 (only keystore v3 is read)");
    /* Old MyEtherWallet files spell it "Crypto"; geth accepts both, and so do we. */
    crypto = json_object_get(root, "crypto");
    if (crypto == NULL)
        crypto = json_object_get(root, "Crypto");
    else if (json_object_get(root, "Crypto") != NULL)
        return set_err(err, err_len, "both \"crypto\" and \"Crypto\" present");
    if (!json_is_object(crypto))
        return set_err(err, err_len, "crypto: %s",
                       crypto == NULL ? "missing" : "must be an object");

    cipher = get_string(crypto, "cipher", "crypto.cipher", 32, err, err_len);
    if (cipher == NULL)
        return -1;
    if (strcmp(cipher, "aes-128-ctr") != 0)
        return set_err(err, err_len, "crypto.cipher: \"%s\" unsupported (only aes-128-ctr)",
                       cipher);
    cp = get_object(crypto, "cipherparams", "crypto.cipherparams", err, err_len);
    if (cp == NULL)
        return -1;
    if (get_hex(cp, "iv", "crypto.cipherparams.iv", ks->iv, IV_LEN, IV_LEN, NULL, err, err_len) !=
        0)
        return -1;
    if (get_hex(crypto, "ciphertext", "crypto.ciphertext", ks->ct, SECRET_LEN, SECRET_LEN, NULL,
                err, err_len) != 0)
        return -1;
    if (get_hex(crypto, "mac", "crypto.mac", ks->mac, 32, 32, NULL, err, err_len) != 0)
        return -1;
    if (parse_kdf(crypto, ks, err, err_len) != 0)
        return -1;

    /* Optional: geth and ethers write it, the spec's test vectors do not. */
    addr = json_object_get(root, "address");
    ks->has_address = addr != NULL;
    if (addr != NULL &&
        get_hex(root, "address", "address", ks->address, 20, 20, NULL, err, err_len) != 0)
        return -1;
    return 0;
}

/* Everything before the KDF: size, JSON, fields, then the cost caps. */
static int parse_and_check(const char *json, size_t json_len,
                           const struct lp_keystore_limits *limits, struct parsed_keystore *ks,
                           char *err, size_t err_len)
{
    struct lp_keystore_limits default_limits;
    json_error_t jerr;
    json_t *root;

    if (limits == NULL) {
        lp_keystore_limits_default(&default_limits);
        limits = &default_limits;
    }
    if (json_len > LP_KEYSTORE_MAX_SIZE)
        return set_err(err, err_len, "%zu bytes is too large for a keystore (limit %d)", json_len,
                       LP_KEYSTORE_MAX_SIZE);
    root = json_loadb(json, json_len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return set_err(err, err_len, "invalid JSON at line %d column %d: %s", jerr.line,
                       jerr.column, jerr.text);
    memset(ks, 0, sizeof *ks);
    int rc = parse_keystore(root, ks, err, err_len);
    json_decref(root);
    if (rc != 0)
        return -1;
    return check_params(&ks->params, limits, err, err_len);
}

int lp_keystore_check(const char *json, size_t json_len, const struct lp_keystore_limits *limits,
                      char *err, size_t err_len)
{
    struct parsed_keystore ks;
    return parse_and_check(json, json_len, limits, &ks, err, err_len);
}

int lp_keystore_decrypt(const char *json, size_t json_len, const char *password,
                        size_t password_len, const struct lp_keystore_limits *limits,
                        struct lp_key *out, char *err, size_t err_len)
{
    struct parsed_keystore ks;
    uint8_t dk[DKLEN], mac[32], secret[SECRET_LEN];
    int rc;

    if (parse_and_check(json, json_len, limits, &ks, err, err_len) != 0)
        return -1;
    rc = -1;
    if (derive_key(&ks.params, password, password_len, ks.salt, ks.salt_len, dk, err, err_len) != 0)
        goto out;
    compute_mac(dk, ks.ct, sizeof ks.ct, mac);
    if (CRYPTO_memcmp(mac, ks.mac, sizeof mac) != 0) {
        set_err(err, err_len, MAC_ERROR);
        goto out;
    }
    if (aes128_ctr(dk, ks.iv, ks.ct, sizeof ks.ct, secret) != 0) {
        set_err(err, err_len, "aes-128-ctr failed");
        goto out;
    }
    if (lp_key_from_secret(out, secret) != 0) {
        set_err(err, err_len, "the decrypted secret is not a valid secp256k1 key");
        goto out;
    }
    if (ks.has_address && memcmp(ks.address, out->address, 20) != 0) {
        lp_key_wipe(out);
        set_err(err, err_len,
                "address field does not match the decrypted key (corrupted keystore)");
        goto out;
    }
    rc = 0;
out:
    explicit_bzero(dk, sizeof dk);
    explicit_bzero(secret, sizeof secret);
    return rc;
}
