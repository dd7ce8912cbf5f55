#include "cid/dagpb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cid/multibase.h"

enum { PB_VARINT = 0, PB_BYTES = 2 };

size_t lp_pb_put_key(uint8_t *out, unsigned field, unsigned wire_type)
{
    return lp_varint_put(out, ((uint64_t)field << 3) | wire_type);
}

size_t lp_pb_bytes_field_len(size_t len)
{
    return 1 + lp_varint_len(len) + len;
}

static size_t link_body_len(const struct lp_dagpb_link *l)
{
    return lp_pb_bytes_field_len(lp_cid_bytes_len(&l->cid)) + lp_pb_bytes_field_len(l->name_len) +
           1 + lp_varint_len(l->tsize);
}

size_t lp_dagpb_encoded_len(const struct lp_dagpb_link *links, size_t nlinks, size_t data_len)
{
    size_t n = lp_pb_bytes_field_len(data_len);
    for (size_t i = 0; i < nlinks; i++)
        n += lp_pb_bytes_field_len(link_body_len(&links[i]));
    return n;
}

size_t lp_dagpb_encode(const struct lp_dagpb_link *links, size_t nlinks, const uint8_t *data,
                       size_t data_len, bool has_data, uint8_t *out, size_t cap)
{
    size_t need = lp_dagpb_encoded_len(links, nlinks, data_len);
    if (!has_data)
        need -= lp_pb_bytes_field_len(data_len);
    if (need > cap)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < nlinks; i++) {
        const struct lp_dagpb_link *l = &links[i];
        n += lp_pb_put_key(out + n, 2, PB_BYTES);
        n += lp_varint_put(out + n, link_body_len(l));
        n += lp_pb_put_key(out + n, 1, PB_BYTES);
        n += lp_varint_put(out + n, lp_cid_bytes_len(&l->cid));
        n += lp_cid_to_bytes(&l->cid, out + n);
        n += lp_pb_put_key(out + n, 2, PB_BYTES);
        n += lp_varint_put(out + n, l->name_len);
        if (l->name_len)
            memcpy(out + n, l->name, l->name_len);
        n += l->name_len;
        n += lp_pb_put_key(out + n, 3, PB_VARINT);
        n += lp_varint_put(out + n, l->tsize);
    }
    if (has_data) {
        n += lp_pb_put_key(out + n, 1, PB_BYTES);
        n += lp_varint_put(out + n, data_len);
        if (data_len)
            memcpy(out + n, data, data_len);
        n += data_len;
    }
    return n;
}

static int fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "dag-pb: %s", msg);
    return -1;
}

/* Reads one field header and, for length-delimited fields, its payload bounds. */
struct pb_field {
    unsigned number;
    unsigned wire_type;
    uint64_t value;         /* varint fields */
    const uint8_t *payload; /* bytes fields */
    size_t payload_len;
};

static int pb_next(const uint8_t *buf, size_t len, size_t *pos, struct pb_field *f)
{
    uint64_t key;
    size_t k = lp_varint_get(buf + *pos, len - *pos, &key);
    if (!k || key >> 3 == 0 || key >> 3 > 0xffff)
        return -1;
    *pos += k;
    f->number = (unsigned)(key >> 3);
    f->wire_type = (unsigned)(key & 7);
    if (f->wire_type == PB_VARINT) {
        k = lp_varint_get(buf + *pos, len - *pos, &f->value);
        if (!k)
            return -1;
        *pos += k;
        return 0;
    }
    if (f->wire_type == PB_BYTES) {
        uint64_t l;
        k = lp_varint_get(buf + *pos, len - *pos, &l);
        if (!k || l > len - *pos - k)
            return -1;
        *pos += k;
        f->payload = buf + *pos;
        f->payload_len = (size_t)l;
        *pos += (size_t)l;
        return 0;
    }
    return -1;
}

int lp_pb_next_field(const uint8_t *buf, size_t len, size_t *pos, unsigned *number,
                     unsigned *wire_type, uint64_t *value, const uint8_t **payload,
                     size_t *payload_len)
{
    struct pb_field f = {0};
    if (pb_next(buf, len, pos, &f) < 0)
        return -1;
    *number = f.number;
    *wire_type = f.wire_type;
    *value = f.value;
    *payload = f.payload;
    *payload_len = f.payload_len;
    return 0;
}

static int decode_link(const uint8_t *buf, size_t len, struct lp_dagpb_link_view *l, char *err,
                       size_t errlen)
{
    size_t pos = 0;
    unsigned last = 0;
    memset(l, 0, sizeof(*l));
    while (pos < len) {
        struct pb_field f;
        if (pb_next(buf, len, &pos, &f) < 0)
            return fail(err, errlen, "malformed link");
        /* Canonical order is Hash, Name, Tsize, each at most once. */
        if (f.number <= last)
            return fail(err, errlen, "link fields out of order or repeated");
        last = f.number;
        if (f.number == 1 && f.wire_type == PB_BYTES) {
            l->hash = f.payload;
            l->hash_len = f.payload_len;
        } else if (f.number == 2 && f.wire_type == PB_BYTES) {
            l->name = f.payload;
            l->name_len = f.payload_len;
        } else if (f.number == 3 && f.wire_type == PB_VARINT) {
            l->has_tsize = true;
            l->tsize = f.value;
        } else {
            return fail(err, errlen, "unknown field in link");
        }
    }
    if (!l->hash)
        return fail(err, errlen, "link without a Hash");
    return 0;
}

int lp_dagpb_decode(const uint8_t *block, size_t len, struct lp_dagpb_node_view *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof(*out));
    /* Count the links first so the array is allocated once. */
    size_t pos = 0, count = 0;
    bool seen_data = false;
    while (pos < len) {
        struct pb_field f;
        if (pb_next(block, len, &pos, &f) < 0)
            return fail(err, errlen, "malformed block (bad field header or length)");
        if (f.number == 2 && f.wire_type == PB_BYTES) {
            if (seen_data)
                return fail(err, errlen, "Links after Data (not canonical)");
            count++;
        } else if (f.number == 1 && f.wire_type == PB_BYTES) {
            if (seen_data)
                return fail(err, errlen, "Data repeated");
            seen_data = true;
            out->has_data = true;
            out->data = f.payload;
            out->data_len = f.payload_len;
        } else {
            return fail(err, errlen, "unknown field in node");
        }
    }
    if (count) {
        out->links = calloc(count, sizeof(*out->links));
        if (!out->links)
            return fail(err, errlen, "out of memory");
    }
    pos = 0;
    while (pos < len) {
        struct pb_field f;
        pb_next(block, len, &pos, &f); /* already validated above */
        if (f.number != 2)
            continue;
        if (decode_link(f.payload, f.payload_len, &out->links[out->nlinks], err, errlen) < 0) {
            lp_dagpb_view_free(out);
            return -1;
        }
        out->nlinks++;
    }
    return 0;
}

void lp_dagpb_view_free(struct lp_dagpb_node_view *view)
{
    free(view->links);
    memset(view, 0, sizeof(*view));
}
