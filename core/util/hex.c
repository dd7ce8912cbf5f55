/* Hex helpers: hand-written because they are a few lines and every caller needs the same
 * strict rules (no whitespace, no partial reads) that sscanf/strtoul would not enforce. */
#include "util/hex.h"

#include <string.h>

static const char lp_hex_digits[] = "0123456789abcdef";

void lp_hex_encode(const void *data, size_t len, char *out)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = lp_hex_digits[p[i] >> 4];
        out[2 * i + 1] = lp_hex_digits[p[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

void lp_hex_encode_0x(const void *data, size_t len, char *out)
{
    out[0] = '0';
    out[1] = 'x';
    lp_hex_encode(data, len, out + 2);
}

int lp_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int lp_hex_decode(const char *text, size_t text_len, void *out, size_t out_len)
{
    if (text_len != 2 * out_len)
        return -1;
    uint8_t *o = out;
    for (size_t i = 0; i < out_len; i++) {
        int hi = lp_hex_digit(text[2 * i]);
        int lo = lp_hex_digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        o[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static const char *lp_hex_skip_prefix(const char *text)
{
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        return text + 2;
    return text;
}

int lp_hex_decode_fixed(const char *text, void *out, size_t out_len)
{
    if (text == NULL)
        return -1;
    const char *digits = lp_hex_skip_prefix(text);
    return lp_hex_decode(digits, strlen(digits), out, out_len);
}

int lp_hex_decode_var(const char *text, void *out, size_t cap, size_t *out_len)
{
    if (text == NULL)
        return -1;
    const char *digits = lp_hex_skip_prefix(text);
    size_t n = strlen(digits);
    if (n % 2 != 0 || n / 2 > cap)
        return -1;
    if (lp_hex_decode(digits, n, out, n / 2) != 0)
        return -1;
    *out_len = n / 2;
    return 0;
}
