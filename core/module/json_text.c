#include "module/json_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lp_strbuf_append(struct lp_strbuf *b, const char *s, size_t n)
{
    if (b->overflow)
        return -1;
    if (b->limit != 0 && (n > b->limit || b->len > b->limit - n)) {
        b->overflow = true;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL) {
            b->overflow = true;
            return -1;
        }
        b->data = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void lp_strbuf_free(struct lp_strbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Length of the UTF-8 sequence at s (1..4) with its code point, or 0 when malformed. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t min;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2, min = 0x80, *cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, min = 0x800, *cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, *cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return len;
}

bool lp_json_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_decode(u + i, n - i, &cp);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

int lp_json_escape_append(struct lp_strbuf *b, const char *s, size_t n, bool go_html)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t start = 0; /* first byte not yet copied */
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        char esc[8];
        size_t esc_len = 0, adv = 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, esc_len = 2;
        } else if (c == '\n') {
            memcpy(esc, "\\n", 2), esc_len = 2;
        } else if (c == '\r') {
            memcpy(esc, "\\r", 2), esc_len = 2;
        } else if (c == '\t') {
            memcpy(esc, "\\t", 2), esc_len = 2;
        } else if (c == '\b') {
            memcpy(esc, "\\b", 2), esc_len = 2;
        } else if (c == '\f') {
            memcpy(esc, "\\f", 2), esc_len = 2;
        } else if (c < 0x20 || (go_html && (c == '<' || c == '>' || c == '&'))) {
            snprintf(esc, sizeof esc, "\\u%04x", c), esc_len = 6;
        } else if (go_html && c == 0xE2 && i + 2 < n && u[i + 1] == 0x80 &&
                   (u[i + 2] & 0xFE) == 0xA8) {
            /* U+2028 / U+2029: valid JSON, but Go escapes them for JavaScript's sake */
            snprintf(esc, sizeof esc, "\\u202%c", u[i + 2] == 0xA8 ? '8' : '9'), esc_len = 6;
            adv = 3;
        }
        if (esc_len > 0) {
            if (lp_strbuf_append(b, s + start, i - start) != 0 ||
                lp_strbuf_append(b, esc, esc_len) != 0)
                return -1;
            start = i + adv;
        }
        i += adv;
    }
    return lp_strbuf_append(b, s + start, n - start);
}

enum lp_json_ctx lp_json_ctx_advance(enum lp_json_ctx ctx, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        switch (ctx) {
        case LP_JSON_OUTSIDE:
            if (c == '"')
                ctx = LP_JSON_IN_STRING;
            break;
        case LP_JSON_IN_STRING:
            if (c == '\\')
                ctx = LP_JSON_AFTER_BACKSLASH;
            else if (c == '"')
                ctx = LP_JSON_OUTSIDE;
            break;
        case LP_JSON_AFTER_BACKSLASH:
            ctx = LP_JSON_IN_STRING;
            break;
        }
    }
    return ctx;
}
