/* Demultiplexes a non-TTY container's log stream (docker.h has the frame format). Pure: no
 * I/O, so it is unit-tested and fuzzed on its own. The plugin always creates containers with
 * Tty false, so every log body is framed; it never trusts the response's Content-Type, which
 * Podman leaves out. No library parses this format, hence the hand-written parser. */
#include <string.h>

#include "docker.h"

void dk_frames_init(struct dk_frames *f, int want, uint64_t skip,
                    int (*write)(void *arg, const void *data, size_t len), void *arg)
{
    memset(f, 0, sizeof *f);
    f->want = want;
    f->skip = skip;
    f->write = write;
    f->arg = arg;
}

/* A payload piece of the current frame: dropped unless it is of the wanted stream, then the
 * first `skip` bytes of that stream are dropped too. */
static void deliver(struct dk_frames *f, const uint8_t *p, size_t n)
{
    if (f->current_stream != f->want || n == 0 || f->stopped)
        return;
    uint64_t before = f->delivered;
    f->delivered += n;
    if (before + n <= f->skip)
        return;
    if (before < f->skip) {
        size_t drop = (size_t)(f->skip - before);
        p += drop;
        n -= drop;
    }
    if (f->write != NULL && f->write(f->arg, p, n) != 0)
        f->stopped = true;
}

int dk_frames_feed(struct dk_frames *f, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0 && !f->stopped) {
        if (f->remaining > 0) {
            size_t n = f->remaining < len ? (size_t)f->remaining : len;
            deliver(f, p, n);
            f->remaining -= n;
            p += n;
            len -= n;
            continue;
        }
        size_t need = sizeof f->header - f->header_len;
        size_t n = need < len ? need : len;
        memcpy(f->header + f->header_len, p, n);
        f->header_len += n;
        p += n;
        len -= n;
        if (f->header_len < sizeof f->header)
            break; /* the rest of the header comes in the next piece */
        f->current_stream = f->header[0];
        f->remaining = (uint64_t)f->header[4] << 24 | (uint64_t)f->header[5] << 16 |
                       (uint64_t)f->header[6] << 8 | (uint64_t)f->header[7];
        f->header_len = 0;
    }
    return f->stopped;
}
