/* scrypt (RFC 7914) for keystores whose parameters OpenSSL refuses. OpenSSL enforces the RFC's
 * N < 2^(128 * r / 8), but geth (golang.org/x/crypto/scrypt) does not, and keystores with r = 1
 * and N = 2^18 exist, among them the Web3 Secret Storage spec's own test vector. The keystore
 * code uses OpenSSL's EVP_PBE_scrypt whenever it accepts the parameters and this otherwise. */
#ifndef LP_CRYPTO_SCRYPT_H
#define LP_CRYPTO_SCRYPT_H

#include <stddef.h>
#include <stdint.h>

/* n: a power of two >= 2 and <= 2^32; r, p >= 1; needs 128 * r * (n + p + 2) bytes of memory.
 * 0 ok, -1 on bad parameters or out of memory. */
int lp_scrypt(const void *password, size_t password_len, const uint8_t *salt, size_t salt_len,
              uint64_t n, uint32_t r, uint32_t p, uint8_t *out, size_t out_len);

#endif
