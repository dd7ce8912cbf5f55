/* Signed envelope codec and verification (layout in envelope.h). */
#include "wire/envelope.h"

#include <stdio.h>
#include <string.h>

#include "wire/codec.h"

static const uint32_t lp_envelope_fields[] = {0, 5};

static int lp_envelope_write(struct lp_ww *w, const void *obj)
{
    const struct lp_envelope *e = obj;
    if (e->payload_len == 0 || e->payload_len > LP_ENVELOPE_MAX_PAYLOAD) {
        lp_ww_fail(w, "envelope.payload", "%zu bytes, must be 1..%u", e->payload_len,
                   LP_ENVELOPE_MAX_PAYLOAD);
        return -1;
    }
    lp_ww_array(w, lp_envelope_fields[LP_ENVELOPE_VERSION]);
    lp_ww_uint(w, LP_ENVELOPE_VERSION);
    lp_ww_uint(w, e->kind);
    lp_ww_bin(w, e->payload, e->payload_len);
    lp_ww_bin(w, e->signer, LP_WIRE_ADDR_LEN);
    lp_ww_bin(w, e->signature, LP_WIRE_SIG_LEN);
    return w->failed ? -1 : 0;
}

static int lp_envelope_read(struct lp_rd *r, const msgpack_object *root, void *obj)
{
    struct lp_envelope *e = obj;
    uint32_t version;
    const msgpack_object *f =
        lp_rd_versioned(r, root, "envelope", lp_envelope_fields, LP_ENVELOPE_VERSION, &version);
    if (f == NULL)
        return -1;
    e->kind = (uint32_t)lp_rd_uint(r, &f[1], "envelope.kind", UINT32_MAX);
    if (!r->failed && (e->kind < LP_WIRE_KIND_MIN || e->kind > LP_WIRE_KIND_MAX))
        lp_rd_fail(r, "envelope.kind", "unknown kind %u", e->kind);
    if (r->failed)
        return -1;
    if (f[2].type != MSGPACK_OBJECT_BIN) {
        lp_rd_fail(r, "envelope.payload", "expected bin");
        return -1;
    }
    if (f[2].via.bin.size == 0 || f[2].via.bin.size > LP_ENVELOPE_MAX_PAYLOAD) {
        lp_rd_fail(r, "envelope.payload", "%u bytes, must be 1..%u", f[2].via.bin.size,
                   LP_ENVELOPE_MAX_PAYLOAD);
        return -1;
    }
    /* msgpack-c's C unpacker references bin bodies in the input buffer, so this points into
     * the caller's data and stays valid as long as it does. */
    e->payload = (const uint8_t *)f[2].via.bin.ptr;
    e->payload_len = f[2].via.bin.size;
    lp_rd_fixbin(r, &f[3], "envelope.signer", e->signer, LP_WIRE_ADDR_LEN);
    lp_rd_fixbin(r, &f[4], "envelope.signature", e->signature, LP_WIRE_SIG_LEN);
    if (!r->failed && e->signature[64] != 27 && e->signature[64] != 28)
        lp_rd_fail(r, "envelope.signature", "v byte is %u, expected 27 or 28", e->signature[64]);
    return r->failed ? -1 : 0;
}

static void lp_envelope_free_any(void *e)
{
    (void)e; /* the envelope only points into the caller's buffer */
}

static const struct lp_wire_codec lp_envelope_codec = {"envelope", sizeof(struct lp_envelope),
                                                       lp_envelope_write, lp_envelope_read,
                                                       lp_envelope_free_any};

int lp_envelope_encode(const struct lp_envelope *env, uint8_t **out, size_t *out_len,
                       struct lp_wire_error *err)
{
    if (env->kind < LP_WIRE_KIND_MIN || env->kind > LP_WIRE_KIND_MAX) {
        snprintf(err->message, sizeof(err->message), "envelope.kind: unknown kind %u", env->kind);
        return -1;
    }
    return lp_wire_encode_with(&lp_envelope_codec, env, out, out_len, err);
}

int lp_envelope_seal(const struct lp_key *key, uint32_t kind, const uint8_t *payload, size_t len,
                     uint8_t **out, size_t *out_len, uint8_t id[LP_WIRE_ID_LEN],
                     struct lp_wire_error *err)
{
    struct lp_envelope e;
    memset(&e, 0, sizeof(e));
    e.kind = kind;
    e.payload = payload;
    e.payload_len = len;
    if (len == 0 || len > LP_ENVELOPE_MAX_PAYLOAD) {
        snprintf(err->message, sizeof(err->message), "envelope.payload: %zu bytes, must be 1..%u",
                 len, LP_ENVELOPE_MAX_PAYLOAD);
        return -1;
    }
    lp_wire_id(payload, len, e.id);
    memcpy(e.signer, key->address, LP_WIRE_ADDR_LEN);
    if (lp_personal_sign(key, e.id, LP_WIRE_ID_LEN, e.signature) != 0) {
        snprintf(err->message, sizeof(err->message), "envelope.signature: signing failed");
        return -1;
    }
    if (id != NULL)
        memcpy(id, e.id, LP_WIRE_ID_LEN);
    return lp_envelope_encode(&e, out, out_len, err);
}

int lp_envelope_parse(const uint8_t *data, size_t len, struct lp_envelope *env,
                      struct lp_wire_error *err)
{
    if (lp_wire_decode_with(&lp_envelope_codec, data, len, env, err) != 0)
        return -1;
    lp_wire_id(env->payload, env->payload_len, env->id);
    return 0;
}

int lp_envelope_open(const uint8_t *data, size_t len, struct lp_envelope *env,
                     struct lp_wire_error *err)
{
    if (lp_envelope_parse(data, len, env, err) != 0)
        return -1;
    uint8_t recovered[LP_WIRE_ADDR_LEN];
    if (lp_personal_recover(env->id, LP_WIRE_ID_LEN, env->signature, recovered) != 0) {
        snprintf(err->message, sizeof(err->message),
                 "envelope.signature: not a valid signature (cannot recover a signer)");
        return -1;
    }
    if (memcmp(recovered, env->signer, LP_WIRE_ADDR_LEN) != 0) {
        char want[43], got[43];
        lp_address_to_checksum(env->signer, want);
        lp_address_to_checksum(recovered, got);
        snprintf(err->message, sizeof(err->message),
                 "envelope.signer: signature was made by %s, not by the claimed signer %s", got,
                 want);
        return -1;
    }
    return 0;
}
