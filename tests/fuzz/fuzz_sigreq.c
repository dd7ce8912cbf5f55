/* Fuzz target: signed-request header parsing and verification. The input is split at '\n'
 * into: version, address, timestamp, nonce, body keccak, signature, host, method, target, and
 * the rest is the body (a missing line is a missing header). The verifier's clock is the request's
 * own timestamp when it parses, so inputs reach the signature check and the replay cache. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/sigreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lp_sigreq_verifier *lp_fuzz_verifier;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (lp_fuzz_verifier == NULL)
        lp_fuzz_verifier = lp_sigreq_verifier_new(4096);
    if (lp_fuzz_verifier == NULL)
        abort();
    char *copy = malloc(size + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *fields[9] = {NULL};
    char *p = copy, *body = NULL;
    size_t body_len = 0;
    for (int i = 0; i < 9 && p != NULL; i++) {
        fields[i] = p;
        char *nl = memchr(p, '\n', (size_t)(copy + size - p));
        if (nl == NULL) {
            p = NULL;
        } else {
            *nl = '\0';
            p = nl + 1;
        }
    }
    if (p != NULL) {
        body = p;
        body_len = (size_t)(copy + size - p);
    }
    struct lp_sigreq_header_refs h = {fields[0], fields[1], fields[2],
                                      fields[3], fields[4], fields[5]};
    struct lp_sigreq_parsed parsed;
    struct lp_wire_error err;
    uint64_t now = 1735689600000ull;
    if (lp_sigreq_parse(&h, &parsed, &err) == LP_SIGREQ_OK)
        now = parsed.timestamp_ms;
    uint8_t addr[20];
    err.message[0] = '\0';
    int rc = lp_sigreq_verify(lp_fuzz_verifier, &h, fields[7] ? fields[7] : "",
                              fields[6] ? fields[6] : "", fields[8] ? fields[8] : "", body,
                              body_len, now, addr, &err);
    if (rc != LP_SIGREQ_OK && err.message[0] == '\0')
        abort();
    if (rc == LP_SIGREQ_OK && memcmp(addr, parsed.address, 20) != 0)
        abort();
    free(copy);
    return 0;
}
