/* e2e_sign KEYFILE METHOD TARGET [BODYFILE]: prints the X-Lilypad-* headers of a signed
 * request (core/wire/sigreq.h), one "Name: value" per line, for `curl -H @FILE`. The request is
 * signed for the Host in $E2E_SIGN_HOST (the solver's "127.0.0.1:PORT").
 * $E2E_SIGN_AGE_S, when set, signs that many seconds in the past (a stale request).
 *
 * The end-to-end tests send requests with curl rather than through core/client so that a
 * request can be sent twice with the same headers (replay) or with a tampered signature:
 * exactly what the client library is built never to do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/keyfile.h"
#include "wire/sigreq.h"

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, got;
    unsigned char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n < cap)
            continue;
        unsigned char *bigger = realloc(buf, cap *= 2);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: e2e_sign KEYFILE METHOD TARGET [BODYFILE]\n");
        return 2;
    }
    char err[512];
    struct lp_key key;
    if (lp_keyfile_load(argv[1], NULL, 0, &key, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "e2e_sign: %s\n", err);
        return 1;
    }
    unsigned char *body = NULL;
    size_t len = 0;
    if (argc == 5 && (body = read_all(argv[4], &len)) == NULL) {
        fprintf(stderr, "e2e_sign: cannot read %s\n", argv[4]);
        return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    const char *age = getenv("E2E_SIGN_AGE_S");
    if (age && *age)
        now_ms -= strtoull(age, NULL, 10) * 1000u;
    const char *host = getenv("E2E_SIGN_HOST");
    if (!host || !*host) {
        fprintf(stderr, "e2e_sign: set E2E_SIGN_HOST to the solver's HOST:PORT\n");
        return 2;
    }
    struct lp_sigreq_headers h;
    struct lp_wire_error we = {0};
    int rc = lp_sigreq_sign(&key, argv[2], host, argv[3], body, len, now_ms, NULL, &h, &we);
    lp_key_wipe(&key);
    free(body);
    if (rc != 0) {
        fprintf(stderr, "e2e_sign: cannot sign %s %s\n", argv[2], argv[3]);
        return 1;
    }
    printf("%s: %s\n%s: %s\n%s: %s\n%s: %s\n%s: %s\n%s: %s\n", LP_SIGREQ_HDR_VERSION, h.version,
           LP_SIGREQ_HDR_ADDRESS, h.address, LP_SIGREQ_HDR_TIMESTAMP, h.timestamp,
           LP_SIGREQ_HDR_NONCE, h.nonce, LP_SIGREQ_HDR_BODY_KECCAK, h.body_keccak,
           LP_SIGREQ_HDR_SIGNATURE, h.signature);
    return 0;
}
