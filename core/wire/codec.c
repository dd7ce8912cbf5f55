/* Writer, reader and decode driver shared by the wire object families (see codec.h). */
#include "wire/codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keccak.h"

static void lp_wire_vset(struct lp_wire_error *err, const char *path, const char *fmt, va_list ap)
{
    if (err == NULL)
        return;
    char detail[200];
    vsnprintf(detail, sizeof(detail), fmt, ap);
    snprintf(err->message, sizeof(err->message), "%s: %s", path, detail);
}

/* ---- writer ---------------------------------------------------------------------------- */

void lp_ww_init(struct lp_ww *w, struct lp_wire_error *err)
{
    msgpack_sbuffer_init(&w->sbuf);
    msgpack_packer_init(&w->pk, &w->sbuf, msgpack_sbuffer_write);
    w->err = err;
    w->failed = false;
}

int lp_ww_finish(struct lp_ww *w, uint8_t **out, size_t *out_len)
{
    if (!w->failed && w->sbuf.size > LP_WIRE_MAX_SIZE)
        lp_ww_fail(w, "object", "encoding is %zu bytes, over the limit of %u", w->sbuf.size,
                   LP_WIRE_MAX_SIZE);
    if (w->failed) {
        msgpack_sbuffer_destroy(&w->sbuf);
        return -1;
    }
    *out = (uint8_t *)w->sbuf.data;
    *out_len = w->sbuf.size;
    return 0;
}

void lp_ww_fail(struct lp_ww *w, const char *path, const char *fmt, ...)
{
    if (w->failed)
        return;
    w->failed = true;
    va_list ap;
    va_start(ap, fmt);
    lp_wire_vset(w->err, path, fmt, ap);
    va_end(ap);
}

/* msgpack_sbuffer_write returns -1 only when realloc fails. */
static void lp_ww_check(struct lp_ww *w, int rc)
{
    if (rc != 0)
        lp_ww_fail(w, "object", "out of memory while encoding");
}

void lp_ww_array(struct lp_ww *w, uint32_t n)
{
    if (!w->failed)
        lp_ww_check(w, msgpack_pack_array(&w->pk, n));
}

void lp_ww_map(struct lp_ww *w, uint32_t n)
{
    if (!w->failed)
        lp_ww_check(w, msgpack_pack_map(&w->pk, n));
}

void lp_ww_nil(struct lp_ww *w)
{
    if (!w->failed)
        lp_ww_check(w, msgpack_pack_nil(&w->pk));
}

void lp_ww_uint(struct lp_ww *w, uint64_t v)
{
    if (!w->failed)
        lp_ww_check(w, msgpack_pack_uint64(&w->pk, v));
}

void lp_ww_int(struct lp_ww *w, int64_t v)
{
    if (!w->failed)
        lp_ww_check(w, msgpack_pack_int64(&w->pk, v));
}

void lp_ww_bin(struct lp_ww *w, const void *data, size_t len)
{
    if (w->failed)
        return;
    lp_ww_check(w, msgpack_pack_bin(&w->pk, len));
    if (!w->failed && len > 0)
        lp_ww_check(w, msgpack_pack_bin_body(&w->pk, data, len));
}

void lp_ww_u256(struct lp_ww *w, const struct lp_u256 *v)
{
    lp_ww_bin(w, v->be, sizeof(v->be));
}

void lp_ww_str(struct lp_ww *w, const char *path, const char *s, size_t max_len)
{
    if (w->failed)
        return;
    if (s == NULL)
        s = "";
    size_t len = strlen(s);
    if (len > max_len) {
        lp_ww_fail(w, path, "string of %zu bytes is longer than the limit of %zu", len, max_len);
        return;
    }
    if (!lp_utf8_valid(s, len)) {
        lp_ww_fail(w, path, "string is not valid UTF-8");
        return;
    }
    lp_ww_check(w, msgpack_pack_str(&w->pk, len));
    if (!w->failed && len > 0)
        lp_ww_check(w, msgpack_pack_str_body(&w->pk, s, len));
}

/* ---- reader ---------------------------------------------------------------------------- */

void lp_rd_fail(struct lp_rd *r, const char *path, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    va_list ap;
    va_start(ap, fmt);
    lp_wire_vset(r->err, path, fmt, ap);
    va_end(ap);
}

static const char *lp_rd_type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return "unsigned integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "negative integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "str";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_BIN:
        return "bin";
    case MSGPACK_OBJECT_EXT:
        return "ext";
    }
    return "unknown type";
}

static bool lp_rd_expect(struct lp_rd *r, const msgpack_object *o, const char *path,
                         msgpack_object_type type, const char *type_name)
{
    if (r->failed)
        return false;
    if (o->type != type) {
        lp_rd_fail(r, path, "expected %s, got %s", type_name, lp_rd_type_name(o));
        return false;
    }
    return true;
}

const msgpack_object *lp_rd_array(struct lp_rd *r, const msgpack_object *o, const char *path,
                                  uint32_t n)
{
    if (!lp_rd_expect(r, o, path, MSGPACK_OBJECT_ARRAY, "array"))
        return NULL;
    if (o->via.array.size != n) {
        lp_rd_fail(r, path, "expected an array of %u elements, got %u", n, o->via.array.size);
        return NULL;
    }
    return o->via.array.ptr;
}

const msgpack_object *lp_rd_array_max(struct lp_rd *r, const msgpack_object *o, const char *path,
                                      uint32_t max, uint32_t *n)
{
    *n = 0;
    if (!lp_rd_expect(r, o, path, MSGPACK_OBJECT_ARRAY, "array"))
        return NULL;
    if (o->via.array.size > max) {
        lp_rd_fail(r, path, "array of %u elements is over the limit of %u", o->via.array.size, max);
        return NULL;
    }
    *n = o->via.array.size;
    return o->via.array.ptr;
}

const msgpack_object *lp_rd_versioned(struct lp_rd *r, const msgpack_object *o, const char *name,
                                      const uint32_t *fields_by_version, uint32_t max_version,
                                      uint32_t *version)
{
    if (!lp_rd_expect(r, o, name, MSGPACK_OBJECT_ARRAY, "array"))
        return NULL;
    if (o->via.array.size == 0) {
        lp_rd_fail(r, name, "empty array, expected a version first");
        return NULL;
    }
    char path[64];
    snprintf(path, sizeof(path), "%s.version", name);
    const msgpack_object *v = &o->via.array.ptr[0];
    if (!lp_rd_expect(r, v, path, MSGPACK_OBJECT_POSITIVE_INTEGER, "unsigned integer"))
        return NULL;
    if (v->via.u64 < 1 || v->via.u64 > max_version) {
        lp_rd_fail(r, path, "unknown version %llu (this build knows 1..%u)",
                   (unsigned long long)v->via.u64, max_version);
        return NULL;
    }
    *version = (uint32_t)v->via.u64;
    uint32_t want = fields_by_version[*version];
    if (o->via.array.size != want) {
        lp_rd_fail(r, name, "version %u has %u fields, got %u", *version, want, o->via.array.size);
        return NULL;
    }
    return o->via.array.ptr;
}

uint64_t lp_rd_uint(struct lp_rd *r, const msgpack_object *o, const char *path, uint64_t max)
{
    if (!lp_rd_expect(r, o, path, MSGPACK_OBJECT_POSITIVE_INTEGER, "unsigned integer"))
        return 0;
    if (o->via.u64 > max) {
        lp_rd_fail(r, path, "value %llu is over the limit of %llu", (unsigned long long)o->via.u64,
                   (unsigned long long)max);
        return 0;
    }
    return o->via.u64;
}

int64_t lp_rd_int(struct lp_rd *r, const msgpack_object *o, const char *path, int64_t min,
                  int64_t max)
{
    if (r->failed)
        return 0;
    int64_t v;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)max) {
            lp_rd_fail(r, path, "value %llu is over the limit of %lld",
                       (unsigned long long)o->via.u64, (long long)max);
            return 0;
        }
        v = (int64_t)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v = o->via.i64;
    } else {
        lp_rd_fail(r, path, "expected integer, got %s", lp_rd_type_name(o));
        return 0;
    }
    if (v < min || v > max) {
        lp_rd_fail(r, path, "value %lld is outside [%lld, %lld]", (long long)v, (long long)min,
                   (long long)max);
        return 0;
    }
    return v;
}

void lp_rd_fixbin(struct lp_rd *r, const msgpack_object *o, const char *path, void *out, size_t len)
{
    if (!lp_rd_expect(r, o, path, MSGPACK_OBJECT_BIN, "bin")) {
        memset(out, 0, len);
        return;
    }
    if (o->via.bin.size != len) {
        lp_rd_fail(r, path, "expected %zu bytes, got %u", len, o->via.bin.size);
        memset(out, 0, len);
        return;
    }
    memcpy(out, o->via.bin.ptr, len);
}

void lp_rd_u256(struct lp_rd *r, const msgpack_object *o, const char *path, struct lp_u256 *out)
{
    lp_rd_fixbin(r, o, path, out->be, sizeof(out->be));
}

bool lp_rd_is_nil(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_NIL;
}

char *lp_rd_str(struct lp_rd *r, const msgpack_object *o, const char *path, size_t max_len)
{
    if (!lp_rd_expect(r, o, path, MSGPACK_OBJECT_STR, "str"))
        return NULL;
    size_t len = o->via.str.size;
    if (len > max_len) {
        lp_rd_fail(r, path, "string of %zu bytes is longer than the limit of %zu", len, max_len);
        return NULL;
    }
    if (len > 0 && memchr(o->via.str.ptr, '\0', len) != NULL) {
        lp_rd_fail(r, path, "string contains a NUL byte");
        return NULL;
    }
    if (!lp_utf8_valid(o->via.str.ptr, len)) {
        lp_rd_fail(r, path, "string is not valid UTF-8");
        return NULL;
    }
    char *s = malloc(len + 1);
    if (s == NULL) {
        lp_rd_fail(r, path, "out of memory");
        return NULL;
    }
    if (len > 0)
        memcpy(s, o->via.str.ptr, len);
    s[len] = '\0';
    return s;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. Written by
 * hand because none of our libraries exposes a validator for a length-delimited buffer. */
bool lp_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* ---- structure pre-scan ------------------------------------------------------------------ */

static uint64_t lp_be_read(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Walks the msgpack grammar by hand: msgpack-c offers no way to bound what its C unpacker
 * allocates (limits exist only in its C++ API), so the bounds are checked here first. */
int lp_wire_prescan(const uint8_t *data, size_t len, const char *name, struct lp_wire_error *err)
{
    struct lp_rd r = {.err = err, .failed = false};
    uint64_t remaining[LP_WIRE_MAX_DEPTH + 1];
    int depth = 0;
    size_t pos = 0;
    remaining[0] = 1;
    while (depth >= 0) {
        if (remaining[depth] == 0) {
            depth--;
            continue;
        }
        remaining[depth]--;
        if (pos >= len) {
            lp_rd_fail(&r, name, "truncated: input ends at byte %zu inside a value", pos);
            return -1;
        }
        size_t at = pos;
        uint8_t b = data[pos++];
        size_t hdr = 0;        /* length bytes following b */
        uint64_t payload = 0;  /* raw bytes to skip */
        uint64_t children = 0; /* nested values */
        bool container = false, by_len = false;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, bool */
        } else if (b >= 0x80 && b <= 0x8f) {
            container = true, children = 2u * (b & 0x0f);
        } else if (b >= 0x90 && b <= 0x9f) {
            container = true, children = b & 0x0f;
        } else if (b >= 0xa0 && b <= 0xbf) {
            payload = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4:
            case 0xd9:
                hdr = 1, by_len = true;
                break;
            case 0xc5:
            case 0xda:
                hdr = 2, by_len = true;
                break;
            case 0xc6:
            case 0xdb:
                hdr = 4, by_len = true;
                break;
            case 0xca:
                payload = 4;
                break;
            case 0xcb:
                payload = 8;
                break;
            case 0xcc:
            case 0xd0:
                payload = 1;
                break;
            case 0xcd:
            case 0xd1:
                payload = 2;
                break;
            case 0xce:
            case 0xd2:
                payload = 4;
                break;
            case 0xcf:
            case 0xd3:
                payload = 8;
                break;
            case 0xdc:
            case 0xde:
                hdr = 2, container = true;
                break;
            case 0xdd:
            case 0xdf:
                hdr = 4, container = true;
                break;
            default: /* 0xc1 (never used), ext and fixext */
                lp_rd_fail(&r, name, "byte %zu: msgpack type 0x%02x is not allowed", at, b);
                return -1;
            }
        }
        if (hdr > len - pos) {
            lp_rd_fail(&r, name, "truncated: header at byte %zu", at);
            return -1;
        }
        if (hdr > 0) {
            uint64_t v = lp_be_read(data + pos, hdr);
            pos += hdr;
            if (by_len)
                payload = v;
            else
                children = (b == 0xde || b == 0xdf) ? 2 * v : v;
        }
        if (payload > len - pos) {
            lp_rd_fail(&r, name, "truncated: value at byte %zu needs %llu more bytes", at,
                       (unsigned long long)payload);
            return -1;
        }
        pos += payload;
        if (container) {
            bool is_map = (b & 0xf0) == 0x80 || b == 0xde || b == 0xdf;
            uint64_t entries = is_map ? children / 2 : children;
            if (entries > LP_WIRE_MAX_ITEMS) {
                lp_rd_fail(&r, name, "byte %zu: container of %llu entries is over the limit of %u",
                           at, (unsigned long long)entries, LP_WIRE_MAX_ITEMS);
                return -1;
            }
            if (children > len - pos) {
                lp_rd_fail(&r, name, "truncated: container at byte %zu claims %llu elements", at,
                           (unsigned long long)children);
                return -1;
            }
            if (depth + 1 > LP_WIRE_MAX_DEPTH) {
                lp_rd_fail(&r, name, "byte %zu: nesting deeper than %d", at, LP_WIRE_MAX_DEPTH);
                return -1;
            }
            remaining[++depth] = children;
        }
    }
    if (pos != len) {
        lp_rd_fail(&r, name, "%zu trailing bytes after the object (at byte %zu)", len - pos, pos);
        return -1;
    }
    return 0;
}

/* ---- drivers --------------------------------------------------------------------------- */

int lp_wire_encode_with(const struct lp_wire_codec *c, const void *obj, uint8_t **out,
                        size_t *out_len, struct lp_wire_error *err)
{
    struct lp_ww w;
    lp_ww_init(&w, err);
    c->encode(&w, obj);
    return lp_ww_finish(&w, out, out_len);
}

int lp_wire_decode_with(const struct lp_wire_codec *c, const uint8_t *data, size_t len, void *obj,
                        struct lp_wire_error *err)
{
    memset(obj, 0, c->obj_size);
    struct lp_rd r = {.err = err, .failed = false};
    if (data == NULL || len == 0) {
        lp_rd_fail(&r, c->name, "empty input");
        return -1;
    }
    if (len > LP_WIRE_MAX_SIZE) {
        lp_rd_fail(&r, c->name, "input of %zu bytes is over the limit of %u", len,
                   LP_WIRE_MAX_SIZE);
        return -1;
    }
    if (lp_wire_prescan(data, len, c->name, err) != 0)
        return -1;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&u, (const char *)data, len, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len) {
        lp_rd_fail(&r, c->name, "malformed msgpack (unpack status %d)", (int)rc);
        msgpack_unpacked_destroy(&u);
        return -1;
    }
    int ok = c->decode(&r, &u.data, obj);
    msgpack_unpacked_destroy(&u);
    if (ok != 0 || r.failed) {
        if (!r.failed)
            lp_rd_fail(&r, c->name, "invalid object");
        c->free(obj);
        memset(obj, 0, c->obj_size);
        return -1;
    }
    /* One object, one encoding: refuse anything our encoder would not have written byte for
     * byte (longer integer or length forms, unsorted map keys, ...). */
    struct lp_wire_error re_err;
    uint8_t *again = NULL;
    size_t again_len = 0;
    if (lp_wire_encode_with(c, obj, &again, &again_len, &re_err) != 0) {
        lp_rd_fail(&r, c->name, "does not re-encode: %s", re_err.message);
    } else if (again_len != len || memcmp(again, data, len) != 0) {
        size_t at = 0;
        while (at < len && at < again_len && again[at] == data[at])
            at++;
        lp_rd_fail(&r, c->name,
                   "non-canonical encoding (differs from the canonical form at byte %zu)", at);
    }
    free(again);
    if (r.failed) {
        c->free(obj);
        memset(obj, 0, c->obj_size);
        return -1;
    }
    return 0;
}

/* ---- common helpers (wire.h) ------------------------------------------------------------- */

void lp_wei_from_u64(struct lp_u256 *out, uint64_t value)
{
    memset(out->be, 0, sizeof(out->be));
    for (int i = 0; i < 8; i++)
        out->be[31 - i] = (uint8_t)(value >> (8 * i));
}

int lp_wei_cmp(const struct lp_u256 *a, const struct lp_u256 *b)
{
    return memcmp(a->be, b->be, sizeof(a->be));
}

int lp_wei_to_u64(const struct lp_u256 *in, uint64_t *out)
{
    for (int i = 0; i < 24; i++)
        if (in->be[i] != 0)
            return -1;
    *out = lp_be_read(in->be + 24, 8);
    return 0;
}

const char *lp_wire_kind_name(uint32_t kind)
{
    static const char *const names[] = {
        [LP_WIRE_JOB_OFFER] = "job_offer",
        [LP_WIRE_RESOURCE_OFFER] = "resource_offer",
        [LP_WIRE_DEAL] = "deal",
        [LP_WIRE_RESULT] = "result",
        [LP_WIRE_MEDIATION_REQUEST] = "mediation_request",
        [LP_WIRE_MEDIATION_VERDICT] = "mediation_verdict",
        [LP_WIRE_POW_CHALLENGE] = "pow_challenge",
        [LP_WIRE_POW_SUBMISSION] = "pow_submission",
    };
    if (kind < LP_WIRE_KIND_MIN || kind > LP_WIRE_KIND_MAX)
        return "unknown";
    return names[kind];
}

void lp_wire_id(const uint8_t *encoding, size_t len, uint8_t id[LP_WIRE_ID_LEN])
{
    lp_keccak256(encoding, len, id);
}
