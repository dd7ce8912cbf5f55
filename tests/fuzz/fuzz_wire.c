/* Fuzz target: every wire object decoder, the envelope parser and the full verify-and-decode
 * path run on the same input. Whatever decodes must re-encode to the very same bytes (one
 * object, one encoding), and a failure must come with an error message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lp_fuzz_check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lp_wire_error err;
    for (uint32_t kind = LP_WIRE_KIND_MIN; kind <= LP_WIRE_KIND_MAX; kind++) {
        struct lp_wire_object obj;
        err.message[0] = '\0';
        if (lp_wire_object_decode(kind, data, size, &obj, &err) != 0) {
            lp_fuzz_check(err.message[0] != '\0');
            continue;
        }
        uint8_t *again = NULL;
        size_t len = 0;
        lp_fuzz_check(lp_wire_object_encode(&obj, &again, &len, &err) == 0);
        lp_fuzz_check(len == size && memcmp(again, data, size) == 0);
        free(again);
        lp_wire_object_free(&obj);
    }
    struct lp_envelope env;
    err.message[0] = '\0';
    if (lp_envelope_parse(data, size, &env, &err) == 0) {
        lp_fuzz_check(env.payload >= data && env.payload + env.payload_len <= data + size);
        struct lp_wire_object obj;
        if (lp_wire_open(data, size, &obj, NULL, &err) == 0) {
            lp_fuzz_check(memcmp(lp_wire_object_author(&obj), env.signer, 20) == 0);
            lp_wire_object_free(&obj);
        }
    } else {
        lp_fuzz_check(err.message[0] != '\0');
    }
    return 0;
}
