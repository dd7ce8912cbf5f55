#include "cid/multibase.h"

#include <string.h>

size_t lp_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t lp_varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t lp_varint_get(const uint8_t *buf, size_t len, uint64_t *v)
{
    uint64_t value = 0;
    for (size_t i = 0; i < len && i < LP_VARINT_MAX; i++) {
        uint8_t b = buf[i];
        /* The tenth byte may only carry the 64th bit. */
        if (i == 9 && b > 1)
            return 0;
        value |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            /* A final zero group after the first byte means a longer-than-needed encoding. */
            if (i > 0 && b == 0)
                return 0;
            *v = value;
            return i + 1;
        }
    }
    return 0;
}

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* CIDs are at most a few dozen bytes, so the quadratic schoolbook conversion is plenty. */
#define B58_MAX_BYTES 128

size_t lp_base58_encode(const uint8_t *data, size_t len, char *out, size_t out_cap)
{
    uint8_t digits[B58_MAX_BYTES * 138 / 100 + 2];
    size_t ndigits = 0, zeros = 0;
    if (len > B58_MAX_BYTES)
        return 0;
    while (zeros < len && data[zeros] == 0)
        zeros++;
    for (size_t i = zeros; i < len; i++) {
        unsigned carry = data[i];
        for (size_t j = 0; j < ndigits; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[ndigits++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    size_t total = zeros + ndigits;
    if (total + 1 > out_cap)
        return 0;
    for (size_t i = 0; i < zeros; i++)
        out[i] = '1';
    for (size_t i = 0; i < ndigits; i++)
        out[zeros + i] = b58_alphabet[digits[ndigits - 1 - i]];
    out[total] = '\0';
    return total;
}

static int b58_value(char c)
{
    const char *p = c ? strchr(b58_alphabet, c) : NULL;
    return p ? (int)(p - b58_alphabet) : -1;
}

long lp_base58_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap)
{
    uint8_t bytes[B58_MAX_BYTES];
    size_t nbytes = 0, zeros = 0;
    while (zeros < text_len && text[zeros] == '1')
        zeros++;
    for (size_t i = zeros; i < text_len; i++) {
        int v = b58_value(text[i]);
        if (v < 0)
            return -1;
        unsigned carry = (unsigned)v;
        for (size_t j = 0; j < nbytes; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry) {
            if (nbytes == sizeof(bytes))
                return -1;
            bytes[nbytes++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    if (zeros + nbytes > out_cap)
        return -1;
    memset(out, 0, zeros);
    for (size_t i = 0; i < nbytes; i++)
        out[zeros + i] = bytes[nbytes - 1 - i];
    return (long)(zeros + nbytes);
}

static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

size_t lp_base32_encode(const uint8_t *data, size_t len, char *out, size_t out_cap)
{
    size_t need = (len * 8 + 4) / 5;
    if (need + 1 > out_cap)
        return 0;
    size_t n = 0;
    unsigned buffer = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        buffer = (buffer << 8) | data[i];
        bits += 8;
        while (bits >= 5) {
            out[n++] = b32_alphabet[(buffer >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[n++] = b32_alphabet[(buffer << (5 - bits)) & 31];
    out[n] = '\0';
    return n;
}

long lp_base32_decode(const char *text, size_t text_len, uint8_t *out, size_t out_cap)
{
    /* Lengths whose trailing bits cannot form a whole byte never come out of an encoder. */
    size_t rem = text_len % 8;
    if (rem == 1 || rem == 3 || rem == 6)
        return -1;
    size_t n = 0;
    unsigned buffer = 0;
    int bits = 0;
    for (size_t i = 0; i < text_len; i++) {
        char c = text[i];
        unsigned v;
        if (c >= 'a' && c <= 'z')
            v = (unsigned)(c - 'a');
        else if (c >= '2' && c <= '7')
            v = (unsigned)(c - '2') + 26;
        else
            return -1;
        buffer = ((buffer << 5) | v) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            if (n == out_cap)
                return -1;
            out[n++] = (uint8_t)(buffer >> (bits - 8));
            bits -= 8;
        }
    }
    if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0)
        return -1;
    return (long)n;
}
