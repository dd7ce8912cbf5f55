#include "pow/uint256.h"

#include <math.h>
#include <string.h>

int lp_u256_cmp(const uint8_t a[32], const uint8_t b[32])
{
    return memcmp(a, b, 32);
}

void lp_u256_from_u64(uint64_t v, uint8_t out[32])
{
    memset(out, 0, 32);
    for (int i = 0; i < 8; i++)
        out[31 - i] = (uint8_t)(v >> (8 * i));
}

int lp_u256_add_u64(uint8_t a[32], uint64_t b)
{
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned s = a[i] + (unsigned)(b & 0xff) + carry;
        a[i] = (uint8_t)s;
        carry = s >> 8;
        b >>= 8;
        if (b == 0 && carry == 0)
            return 0;
    }
    return (int)carry;
}

/* out = out * mul + add; returns the overflow byte. */
static unsigned mul_add(uint8_t v[32], unsigned mul, unsigned add)
{
    unsigned carry = add;
    for (int i = 31; i >= 0; i--) {
        unsigned x = v[i] * mul + carry;
        v[i] = (uint8_t)x;
        carry = x >> 8;
    }
    return carry;
}

int lp_u256_from_dec(const char *text, uint8_t out[32])
{
    memset(out, 0, 32);
    if (text == NULL || *text == '\0')
        return -1;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (mul_add(out, 10, (unsigned)(*p - '0')) != 0)
            return -1;
    }
    return 0;
}

int lp_u256_from_hex(const char *text, uint8_t out[32])
{
    memset(out, 0, 32);
    if (text == NULL)
        return -1;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        text += 2;
    size_t n = strlen(text);
    if (n == 0 || n > 64)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = text[n - 1 - i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        out[31 - i / 2] |= (uint8_t)(i % 2 ? d << 4 : d);
    }
    return 0;
}

size_t lp_u256_to_dec(const uint8_t v[32], char out[79])
{
    uint8_t t[32];
    memcpy(t, v, 32);
    char rev[79];
    size_t n = 0;
    for (;;) {
        /* t /= 10, remainder r */
        unsigned r = 0;
        int zero = 1;
        for (int i = 0; i < 32; i++) {
            unsigned cur = (r << 8) | t[i];
            t[i] = (uint8_t)(cur / 10);
            r = cur % 10;
            if (t[i])
                zero = 0;
        }
        rev[n++] = (char)('0' + r);
        if (zero)
            break;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    out[n] = '\0';
    return n;
}

double lp_u256_difficulty(const uint8_t target[32])
{
    double t = 0;
    for (int i = 0; i < 32; i++)
        t = t * 256.0 + target[i];
    return t > 0 ? ldexp(1.0, 256) / t : INFINITY;
}

void lp_u256_target_for(double difficulty, uint8_t target[32])
{
    if (!(difficulty > 1.0)) {
        memset(target, 0xff, 32);
        return;
    }
    /* 2^256 / d = (1/m) * 2^(256 - k) for d = m * 2^k, 1/m in (1, 2]: a 53-bit mantissa placed
     * at its bit position. */
    int k;
    double m = frexp(difficulty, &k);
    uint64_t mantissa = (uint64_t)ldexp(1.0 / m, 52); /* bits 52..0 */
    int shift = 256 - k - 52;                         /* where bit 0 of the mantissa goes */
    memset(target, 0, 32);
    for (int bit = 0; bit < 54; bit++) {
        if (!(mantissa >> bit & 1))
            continue;
        int pos = shift + bit; /* bit position in the 256-bit number */
        if (pos < 0 || pos > 255)
            continue;
        target[31 - pos / 8] |= (uint8_t)(1u << (pos % 8));
    }
}
