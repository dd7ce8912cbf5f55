/* The docker executor's log demultiplexer (plugins/executor/docker/docker_frames.c): the bytes
 * of a container's log body, cut into pieces at points the input chooses, as curl would hand
 * them over. Beyond "never crash", checks that the payload delivered does not depend on where
 * the body was cut, and that a skip of k bytes delivers exactly the whole stream's tail. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
    uint8_t bytes[1 << 16];
    size_t len;
};

static int take(void *arg, const void *p, size_t n)
{
    struct out *o = arg;
    if (o->len + n > sizeof o->bytes)
        return 1; /* enough: stop, as a receiver may */
    memcpy(o->bytes + o->len, p, n);
    o->len += n;
    return 0;
}

static void run(const uint8_t *body, size_t len, int stream, uint64_t skip, size_t piece,
                struct out *o)
{
    struct dk_frames f;
    dk_frames_init(&f, stream, skip, take, o);
    for (size_t at = 0; at < len && !f.stopped; at += piece)
        dk_frames_feed(&f, body + at, len - at < piece ? len - at : piece);
    if (f.delivered < o->len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t piece = (size_t)data[0] % 13 + 1;
    uint64_t skip = data[1] % 64;
    const uint8_t *body = data + 2;
    size_t len = size - 2;
    static struct out whole, cut, skipped;
    for (int stream = LP_STREAM_STDOUT; stream <= LP_STREAM_STDERR; stream++) {
        whole.len = cut.len = skipped.len = 0;
        run(body, len, stream, 0, len ? len : 1, &whole);
        run(body, len, stream, 0, piece, &cut);
        if (whole.len != cut.len || memcmp(whole.bytes, cut.bytes, whole.len) != 0)
            abort();
        run(body, len, stream, skip, piece, &skipped);
        size_t expect = whole.len > skip ? whole.len - (size_t)skip : 0;
        if (whole.len < sizeof whole.bytes &&
            (skipped.len != expect || memcmp(skipped.bytes, whole.bytes + skip, expect) != 0))
            abort();
    }
    return 0;
}
