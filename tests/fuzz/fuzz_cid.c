/* CID strings and dag-pb/UnixFS blocks: what storage `get` and every CID argument take from
 * outside. The first byte picks the target (even: CID string parser, odd: block decoder).
 * Beyond "never crash", checks strictness: an accepted CID string formats back to itself, and
 * a block whose links are complete re-encodes to exactly the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cid/cid.h"
#include "cid/dagpb.h"
#include "cid/unixfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_string(const uint8_t *data, size_t size)
{
    char text[256];
    if (size >= sizeof(text))
        size = sizeof(text) - 1;
    memcpy(text, data, size);
    text[size] = '\0';
    struct lp_cidb cid;
    char err[128], again[LP_CID_STRING_MAX];
    if (lp_cid_parse(text, &cid, err, sizeof(err)) != 0)
        return;
    lp_cid_format(&cid, again);
    if (strcmp(again, text) != 0)
        abort();
}

static void fuzz_block(const uint8_t *data, size_t size)
{
    struct lp_dagpb_node_view v;
    char err[128];
    if (lp_dagpb_decode(data, size, &v, err, sizeof(err)) != 0)
        return;
    struct lp_unixfs_view u;
    if (v.has_data && lp_unixfs_decode(v.data, v.data_len, &u, err, sizeof(err)) == 0)
        lp_unixfs_view_free(&u);
    struct lp_dagpb_link *links = calloc(v.nlinks ? v.nlinks : 1, sizeof(*links));
    bool complete = v.has_data && links;
    for (size_t i = 0; complete && i < v.nlinks; i++) {
        const struct lp_dagpb_link_view *l = &v.links[i];
        uint8_t bytes[LP_CID_BYTES_MAX];
        if (!l->name || !l->has_tsize ||
            lp_cid_from_bytes(l->hash, l->hash_len, &links[i].cid, err, sizeof(err)) != 0 ||
            lp_cid_to_bytes(&links[i].cid, bytes) != l->hash_len ||
            memcmp(bytes, l->hash, l->hash_len) != 0) {
            complete = false;
            break;
        }
        links[i].name = (const char *)l->name;
        links[i].name_len = l->name_len;
        links[i].tsize = l->tsize;
    }
    if (complete) {
        uint8_t *out = malloc(size + 1);
        size_t n = lp_dagpb_encode(links, v.nlinks, v.data, v.data_len, true, out, size + 1);
        if (n != size || memcmp(out, data, size) != 0)
            abort();
        free(out);
    }
    free(links);
    lp_dagpb_view_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_block(data + 1, size - 1);
    else
        fuzz_string(data + 1, size - 1);
    return 0;
}
