#include "cid/unixfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cid/dagpb.h"
#include "cid/multibase.h"

enum { PB_VARINT = 0, PB_BYTES = 2 };

size_t lp_unixfs_leaf_header(uint8_t *hdr_end, size_t chunk_len)
{
    /* UnixFS body: 08 02 [12 len chunk] 18 len; the Data field is omitted for an empty chunk. */
    size_t body = 2 + 1 + lp_varint_len(chunk_len);
    if (chunk_len)
        body += 1 + lp_varint_len(chunk_len) + chunk_len;
    uint8_t tmp[LP_UNIXFS_LEAF_HDR_MAX];
    size_t n = 0;
    tmp[n++] = 0x0a;
    n += lp_varint_put(tmp + n, body);
    tmp[n++] = 0x08;
    tmp[n++] = LP_UNIXFS_FILE;
    if (chunk_len) {
        tmp[n++] = 0x12;
        n += lp_varint_put(tmp + n, chunk_len);
    }
    memcpy(hdr_end - n, tmp, n);
    return n;
}

size_t lp_unixfs_leaf_trailer(uint8_t *out, size_t chunk_len)
{
    out[0] = 0x18;
    return 1 + lp_varint_put(out + 1, chunk_len);
}

size_t lp_unixfs_encode_file_node(uint64_t total, const uint64_t *sizes, size_t n, uint8_t *out)
{
    size_t len = 0;
    out[len++] = 0x08;
    out[len++] = LP_UNIXFS_FILE;
    out[len++] = 0x18;
    len += lp_varint_put(out + len, total);
    /* blocksizes is `repeated uint64` without [packed=true]: one key per value, as kubo does. */
    for (size_t i = 0; i < n; i++) {
        out[len++] = 0x20;
        len += lp_varint_put(out + len, sizes[i]);
    }
    return len;
}

size_t lp_unixfs_encode_directory(uint8_t out[2])
{
    out[0] = 0x08;
    out[1] = LP_UNIXFS_DIRECTORY;
    return 2;
}

size_t lp_unixfs_encode_symlink(const char *target, size_t target_len, uint8_t *out)
{
    size_t n = 0;
    out[n++] = 0x08;
    out[n++] = LP_UNIXFS_SYMLINK;
    out[n++] = 0x12;
    n += lp_varint_put(out + n, target_len);
    memcpy(out + n, target, target_len);
    return n + target_len;
}

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "unixfs: %s", msg);
    return -1;
}

static int push_size(struct lp_unixfs_view *v, size_t *cap, uint64_t value)
{
    if (v->nblocksizes == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        uint64_t *p = realloc(v->blocksizes, ncap * sizeof(*p));
        if (!p)
            return -1;
        v->blocksizes = p;
        *cap = ncap;
    }
    v->blocksizes[v->nblocksizes++] = value;
    return 0;
}

int lp_unixfs_decode(const uint8_t *buf, size_t len, struct lp_unixfs_view *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof(*out));
    size_t pos = 0, cap = 0;
    bool has_type = false;
    while (pos < len) {
        unsigned num, wt;
        uint64_t value;
        const uint8_t *payload;
        size_t plen;
        if (lp_pb_next_field(buf, len, &pos, &num, &wt, &value, &payload, &plen) < 0) {
            lp_unixfs_view_free(out);
            return fail(err, errlen, "malformed Data message");
        }
        if (num == 1 && wt == PB_VARINT) {
            if (value > LP_UNIXFS_HAMT_SHARD) {
                lp_unixfs_view_free(out);
                return fail(err, errlen, "unknown node type");
            }
            has_type = true;
            out->type = (uint32_t)value;
        } else if (num == 2 && wt == PB_BYTES) {
            out->has_data = true;
            out->data = payload;
            out->data_len = plen;
        } else if (num == 3 && wt == PB_VARINT) {
            out->has_filesize = true;
            out->filesize = value;
        } else if (num == 4 && wt == PB_VARINT) {
            if (push_size(out, &cap, value) < 0) {
                lp_unixfs_view_free(out);
                return fail(err, errlen, "out of memory");
            }
        } else if (num == 4 && wt == PB_BYTES) {
            /* Packed encoding: valid protobuf, so accepted when reading. */
            size_t p = 0;
            while (p < plen) {
                size_t k = lp_varint_get(payload + p, plen - p, &value);
                if (!k || push_size(out, &cap, value) < 0) {
                    lp_unixfs_view_free(out);
                    return fail(err, errlen, "malformed blocksizes");
                }
                p += k;
            }
        } else if ((num == 5 || num == 6 || num == 7) && wt == PB_VARINT) {
            /* hashType, fanout (HAMT only) and mode: no bearing on content. */
        } else if (num == 8 && wt == PB_BYTES) {
            /* mtime: not restored. */
        } else {
            lp_unixfs_view_free(out);
            return fail(err, errlen, "unknown field in Data message");
        }
    }
    if (!has_type) {
        lp_unixfs_view_free(out);
        return fail(err, errlen, "Data message without a Type");
    }
    return 0;
}

void lp_unixfs_view_free(struct lp_unixfs_view *view)
{
    free(view->blocksizes);
    memset(view, 0, sizeof(*view));
}
