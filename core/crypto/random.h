/* Cryptographic randomness from the kernel (getrandom), for keys, salts, IVs and nonces. */
#ifndef LP_CRYPTO_RANDOM_H
#define LP_CRYPTO_RANDOM_H

#include <stddef.h>

/* Fills buf with len random bytes. 0 ok, -1 (logged) if the kernel refuses. */
int lp_random_bytes(void *buf, size_t len);

#endif
