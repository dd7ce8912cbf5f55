#include "crypto/random.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "util/log.h"

int lp_random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t got = 0;
    /* getrandom() may be interrupted by a signal or return short reads above 256 bytes. */
    while (got < len) {
        ssize_t n = getrandom(p + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            lp_error("crypto: getrandom failed: %s", strerror(errno));
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}
