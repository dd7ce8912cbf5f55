/* Internal building blocks of the wire encoders and decoders (not for use outside core/wire).
 *
 * Writer: msgpack_packer over a msgpack_sbuffer, with field-aware checks (length limits, UTF-8)
 * so an encoder can never produce bytes its decoder would refuse. Errors are sticky: the first
 * one is kept and later calls do nothing.
 * Reader: typed accessors over the msgpack_object tree msgpack_unpack_next builds; each takes
 * the field's path for its error message. Also sticky. */
#ifndef LP_WIRE_CODEC_H
#define LP_WIRE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "wire/wire.h"

struct lp_ww {
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    struct lp_wire_error *err;
    bool failed;
};

void lp_ww_init(struct lp_ww *w, struct lp_wire_error *err);
/* On success hands the bytes to the caller (free() them); on failure frees them. */
int lp_ww_finish(struct lp_ww *w, uint8_t **out, size_t *out_len);
void lp_ww_fail(struct lp_ww *w, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void lp_ww_array(struct lp_ww *w, uint32_t n);
void lp_ww_map(struct lp_ww *w, uint32_t n);
void lp_ww_nil(struct lp_ww *w);
void lp_ww_uint(struct lp_ww *w, uint64_t v);
void lp_ww_int(struct lp_ww *w, int64_t v);
void lp_ww_bin(struct lp_ww *w, const void *data, size_t len);
void lp_ww_u256(struct lp_ww *w, const struct lp_u256 *v);
/* A NULL string is written as "". */
void lp_ww_str(struct lp_ww *w, const char *path, const char *s, size_t max_len);

struct lp_rd {
    struct lp_wire_error *err;
    bool failed;
};

void lp_rd_fail(struct lp_rd *r, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An array of exactly n elements; NULL (and an error) otherwise. */
const msgpack_object *lp_rd_array(struct lp_rd *r, const msgpack_object *o, const char *path,
                                  uint32_t n);
/* An array of at most max elements. */
const msgpack_object *lp_rd_array_max(struct lp_rd *r, const msgpack_object *o, const char *path,
                                      uint32_t max, uint32_t *n);
/* A top-level object: an array whose element 0 is a version in [1, max_version] and whose
 * length is fields_by_version[version]. Returns the elements, *version set. */
const msgpack_object *lp_rd_versioned(struct lp_rd *r, const msgpack_object *o, const char *name,
                                      const uint32_t *fields_by_version, uint32_t max_version,
                                      uint32_t *version);
uint64_t lp_rd_uint(struct lp_rd *r, const msgpack_object *o, const char *path, uint64_t max);
int64_t lp_rd_int(struct lp_rd *r, const msgpack_object *o, const char *path, int64_t min,
                  int64_t max);
void lp_rd_fixbin(struct lp_rd *r, const msgpack_object *o, const char *path, void *out,
                  size_t len);
void lp_rd_u256(struct lp_rd *r, const msgpack_object *o, const char *path, struct lp_u256 *out);
bool lp_rd_is_nil(const msgpack_object *o);
/* A malloc'd NUL-terminated copy of a str of at most max_len bytes (valid UTF-8, no NUL). */
char *lp_rd_str(struct lp_rd *r, const msgpack_object *o, const char *path, size_t max_len);

bool lp_utf8_valid(const char *s, size_t len);

/* Encoder/decoder pair of one object family, used by the common decode driver. */
typedef int (*lp_wire_encode_fn)(struct lp_ww *w, const void *obj);
typedef int (*lp_wire_decode_fn)(struct lp_rd *r, const msgpack_object *root, void *obj);
typedef void (*lp_wire_free_fn)(void *obj);

struct lp_wire_codec {
    const char *name;
    size_t obj_size;
    lp_wire_encode_fn encode;
    lp_wire_decode_fn decode;
    lp_wire_free_fn free;
};

int lp_wire_encode_with(const struct lp_wire_codec *c, const void *obj, uint8_t **out,
                        size_t *out_len, struct lp_wire_error *err);
/* Size and structure limits, unpack, typed decode, canonical re-encode check. On failure *obj
 * is freed and zeroed. */
int lp_wire_decode_with(const struct lp_wire_codec *c, const uint8_t *data, size_t len, void *obj,
                        struct lp_wire_error *err);

/* Checks the structure of one msgpack value without building it: exactly one value, no trailing
 * bytes, depth <= LP_WIRE_MAX_DEPTH, counts <= LP_WIRE_MAX_ITEMS, no ext types. Run before
 * msgpack_unpack_next because msgpack-c's C unpacker has no limits: a 5-byte array32 header
 * claiming 2^32 elements would make it allocate 96 GiB. */
int lp_wire_prescan(const uint8_t *data, size_t len, const char *name, struct lp_wire_error *err);

#endif
