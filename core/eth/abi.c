/* The ABI coder is hand-written: no C library for it ships in Debian, and the subset we need
 * (no tuples) is small enough to check exhaustively. */
#include "eth/abi.h"

#include <ctype.h>
#include <string.h>

#include "crypto/keccak.h"

/* ---- signatures ---- */

static bool abi_parse_bits(const char *s, size_t n, unsigned *out)
{
    if (n == 0 || n > 3 || s[0] == '0')
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* One type token (no spaces), e.g. "uint256[]". Appends its canonical spelling to canon. */
static int abi_parse_type(const char *tok, size_t n, struct lp_abi_type *t, char *canon,
                          size_t *clen, size_t at, struct lp_eth_err *err)
{
    memset(t, 0, sizeof *t);
    size_t base = n;
    if (n >= 2 && tok[n - 2] == '[' && tok[n - 1] == ']') {
        t->is_array = true;
        base = n - 2;
    }
    if (memchr(tok, '[', base) != NULL || memchr(tok, '(', n) != NULL)
        return lp_eth_err_set(err, at,
                              "abi: signature offset %zu: type \"%.*s\" is not supported (only T[] "
                              "of elementary types; no tuples, T[k] or nested arrays)",
                              at, (int)n, tok);
    char name[16];
    unsigned v = 0;
#define IS(lit)     (base == sizeof(lit) - 1 && memcmp(tok, lit, base) == 0)
#define PREFIX(lit) (base >= sizeof(lit) - 1 && memcmp(tok, lit, sizeof(lit) - 1) == 0)
    if (IS("address")) {
        t->kind = LP_ABI_ADDRESS;
        strcpy(name, "address");
    } else if (IS("bool")) {
        t->kind = LP_ABI_BOOL;
        strcpy(name, "bool");
    } else if (IS("string")) {
        t->kind = LP_ABI_STRING;
        strcpy(name, "string");
    } else if (IS("bytes")) {
        t->kind = LP_ABI_BYTES;
        strcpy(name, "bytes");
    } else if (IS("uint") || IS("int")) {
        t->kind = tok[0] == 'u' ? LP_ABI_UINT : LP_ABI_INT;
        t->size = 256;
        strcpy(name, tok[0] == 'u' ? "uint256" : "int256");
    } else if (PREFIX("uint") && abi_parse_bits(tok + 4, base - 4, &v) && v % 8 == 0 && v <= 256) {
        t->kind = LP_ABI_UINT;
        t->size = (uint16_t)v;
        memcpy(name, tok, base);
        name[base] = '\0';
    } else if (PREFIX("int") && abi_parse_bits(tok + 3, base - 3, &v) && v % 8 == 0 && v <= 256) {
        t->kind = LP_ABI_INT;
        t->size = (uint16_t)v;
        memcpy(name, tok, base);
        name[base] = '\0';
    } else if (PREFIX("bytes") && abi_parse_bits(tok + 5, base - 5, &v) && v >= 1 && v <= 32) {
        t->kind = LP_ABI_FIXED_BYTES;
        t->size = (uint16_t)v;
        memcpy(name, tok, base);
        name[base] = '\0';
    } else {
        return lp_eth_err_set(err, at, "abi: signature offset %zu: unknown type \"%.*s\"", at,
                              (int)n, tok);
    }
#undef IS
#undef PREFIX
    if (t->is_array && lp_abi_type_is_dynamic(&(struct lp_abi_type){t->kind, t->size, false}))
        return lp_eth_err_set(err, at,
                              "abi: signature offset %zu: arrays of dynamic types (\"%.*s\") are "
                              "not supported",
                              at, (int)n, tok);
    size_t need = strlen(name) + (t->is_array ? 2 : 0);
    if (*clen + need + 2 >= LP_ABI_MAX_SIGNATURE)
        return lp_eth_err_set(err, at, "abi: signature longer than %d characters",
                              LP_ABI_MAX_SIGNATURE - 1);
    memcpy(canon + *clen, name, strlen(name));
    *clen += strlen(name);
    if (t->is_array) {
        memcpy(canon + *clen, "[]", 2);
        *clen += 2;
    }
    return 0;
}

static bool abi_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$';
}

int lp_abi_parse_signature(const char *text, struct lp_abi_sig *sig, struct lp_eth_err *err)
{
    memset(sig, 0, sizeof *sig);
    const char *open = strchr(text, '(');
    size_t tlen = strlen(text);
    if (open == NULL || tlen == 0 || text[tlen - 1] != ')')
        return lp_eth_err_set(err, 0, "abi: signature \"%.80s\" is not of the form name(types)",
                              text);
    size_t name_len = (size_t)(open - text);
    if (name_len == 0)
        return lp_eth_err_set(err, 0, "abi: signature \"%.80s\" has no name", text);
    for (size_t i = 0; i < name_len; i++)
        if (!abi_ident_char(text[i]) || (i == 0 && isdigit((unsigned char)text[0])))
            return lp_eth_err_set(err, i, "abi: signature offset %zu: bad character in name", i);
    if (name_len + 2 >= LP_ABI_MAX_SIGNATURE)
        return lp_eth_err_set(err, 0, "abi: signature longer than %d characters",
                              LP_ABI_MAX_SIGNATURE - 1);
    size_t clen = name_len + 1;
    memcpy(sig->canonical, text, clen);

    const char *p = open + 1, *end = text + tlen - 1;
    while (p < end && *p == ' ')
        p++;
    if (p == end) { /* no parameters */
        sig->canonical[clen++] = ')';
        sig->canonical[clen] = '\0';
        return 0;
    }
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *pend = comma ? comma : end;
        /* up to three words: type [indexed] [name] */
        const char *words[4];
        size_t wlen[4], nw = 0;
        const char *q = p;
        while (q < pend) {
            while (q < pend && *q == ' ')
                q++;
            if (q == pend)
                break;
            const char *w = q;
            while (q < pend && *q != ' ')
                q++;
            if (nw == 3)
                return lp_eth_err_set(err, (size_t)(w - text),
                                      "abi: signature offset %zu: too many words in a parameter",
                                      (size_t)(w - text));
            words[nw] = w;
            wlen[nw++] = (size_t)(q - w);
        }
        if (nw == 0)
            return lp_eth_err_set(err, (size_t)(p - text),
                                  "abi: signature offset %zu: empty parameter", (size_t)(p - text));
        if (sig->n == LP_ABI_MAX_ARGS)
            return lp_eth_err_set(err, (size_t)(p - text),
                                  "abi: signature offset %zu: more than %d parameters",
                                  (size_t)(p - text), LP_ABI_MAX_ARGS);
        if (sig->n > 0)
            sig->canonical[clen++] = ',';
        if (abi_parse_type(words[0], wlen[0], &sig->types[sig->n], sig->canonical, &clen,
                           (size_t)(words[0] - text), err) != 0)
            return -1;
        size_t wi = 1;
        if (wi < nw && wlen[wi] == 7 && memcmp(words[wi], "indexed", 7) == 0) {
            sig->indexed[sig->n] = true;
            wi++;
        }
        if (wi < nw) {
            for (size_t i = 0; i < wlen[wi]; i++)
                if (!abi_ident_char(words[wi][i]))
                    return lp_eth_err_set(err, (size_t)(words[wi] - text),
                                          "abi: signature offset %zu: bad parameter name",
                                          (size_t)(words[wi] - text));
            wi++;
        }
        if (wi < nw)
            return lp_eth_err_set(err, (size_t)(words[wi] - text),
                                  "abi: signature offset %zu: unexpected word in a parameter",
                                  (size_t)(words[wi] - text));
        sig->n++;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    sig->canonical[clen++] = ')';
    sig->canonical[clen] = '\0';
    return 0;
}

bool lp_abi_type_is_dynamic(const struct lp_abi_type *t)
{
    return t->is_array || t->kind == LP_ABI_BYTES || t->kind == LP_ABI_STRING;
}

void lp_abi_selector(const struct lp_abi_sig *sig, uint8_t selector[4])
{
    uint8_t h[32];
    lp_keccak256(sig->canonical, strlen(sig->canonical), h);
    memcpy(selector, h, 4);
}

/* ---- values and words ---- */

void lp_abi_word_uint64(uint8_t word[32], uint64_t v)
{
    memset(word, 0, 32);
    for (int i = 0; i < 8; i++)
        word[31 - i] = (uint8_t)(v >> (8 * i));
}

int lp_abi_word_get_uint64(const uint8_t word[32], uint64_t *v)
{
    for (int i = 0; i < 24; i++)
        if (word[i] != 0)
            return -1;
    uint64_t x = 0;
    for (int i = 24; i < 32; i++)
        x = (x << 8) | word[i];
    *v = x;
    return 0;
}

void lp_abi_word_get_address(const uint8_t word[32], uint8_t addr[20])
{
    memcpy(addr, word + 12, 20);
}

struct lp_abi_value lp_abi_uint(uint64_t v)
{
    struct lp_abi_value x = {0};
    lp_abi_word_uint64(x.word, v);
    return x;
}

struct lp_abi_value lp_abi_int(int64_t v)
{
    struct lp_abi_value x = {0};
    lp_abi_word_uint64(x.word, (uint64_t)v);
    if (v < 0)
        memset(x.word, 0xff, 24);
    return x;
}

struct lp_abi_value lp_abi_uint256(const uint8_t be[32])
{
    struct lp_abi_value x = {0};
    memcpy(x.word, be, 32);
    return x;
}

struct lp_abi_value lp_abi_address(const uint8_t addr[20])
{
    struct lp_abi_value x = {0};
    memcpy(x.word + 12, addr, 20);
    return x;
}

struct lp_abi_value lp_abi_bool(bool v)
{
    return lp_abi_uint(v ? 1 : 0);
}

struct lp_abi_value lp_abi_fixed_bytes(const uint8_t *data, size_t n)
{
    struct lp_abi_value x = {0};
    memcpy(x.word, data, n > 32 ? 32 : n);
    return x;
}

struct lp_abi_value lp_abi_bytes(const uint8_t *data, size_t len)
{
    struct lp_abi_value x = {0};
    x.ptr = data;
    x.len = len;
    return x;
}

struct lp_abi_value lp_abi_string(const char *s)
{
    return lp_abi_bytes((const uint8_t *)s, strlen(s));
}

struct lp_abi_value lp_abi_array(const uint8_t (*words)[32], size_t count)
{
    struct lp_abi_value x = {0};
    x.ptr = (const uint8_t *)words;
    x.len = count;
    return x;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

int lp_abi_check_word(const struct lp_abi_type *t, const uint8_t word[32], size_t offset,
                      struct lp_eth_err *err)
{
    size_t nb = t->size / 8;
    switch (t->kind) {
    case LP_ABI_UINT:
        if (!all_bytes(word, 32 - nb, 0))
            return lp_eth_err_set(err, offset, "abi: offset %zu: value does not fit uint%u", offset,
                                  t->size);
        return 0;
    case LP_ABI_INT: {
        uint8_t fill = (word[32 - nb] & 0x80) ? 0xff : 0x00;
        if (!all_bytes(word, 32 - nb, fill))
            return lp_eth_err_set(err, offset,
                                  "abi: offset %zu: value does not fit int%u (bad sign extension)",
                                  offset, t->size);
        return 0;
    }
    case LP_ABI_ADDRESS:
        if (!all_bytes(word, 12, 0))
            return lp_eth_err_set(
                err, offset, "abi: offset %zu: address word has non-zero upper 12 bytes", offset);
        return 0;
    case LP_ABI_BOOL:
        if (!all_bytes(word, 31, 0) || word[31] > 1)
            return lp_eth_err_set(err, offset, "abi: offset %zu: bool word is not 0 or 1", offset);
        return 0;
    case LP_ABI_FIXED_BYTES:
        if (!all_bytes(word + t->size, 32 - t->size, 0))
            return lp_eth_err_set(err, offset, "abi: offset %zu: bytes%u word has non-zero padding",
                                  offset, t->size);
        return 0;
    default:
        return lp_eth_err_set(err, offset, "abi: offset %zu: not a static type", offset);
    }
}

/* ---- encoding ---- */

static size_t pad32(size_t n)
{
    return (n + 31) / 32 * 32;
}

int lp_abi_encode(const struct lp_abi_type *types, const struct lp_abi_value *vals, size_t n,
                  struct lp_eth_buf *out, struct lp_eth_err *err)
{
    size_t tail = 32 * n; /* offset of the next tail item, from start */
    /* heads */
    for (size_t i = 0; i < n; i++) {
        const struct lp_abi_type *t = &types[i];
        const struct lp_abi_value *v = &vals[i];
        if (!lp_abi_type_is_dynamic(t)) {
            struct lp_eth_err why;
            if (lp_abi_check_word(t, v->word, i * 32, &why) != 0)
                return lp_eth_err_set(err, i, "abi: argument %zu: %s", i, why.msg);
            lp_eth_buf_append(out, v->word, 32);
            continue;
        }
        uint8_t w[32];
        lp_abi_word_uint64(w, tail);
        lp_eth_buf_append(out, w, 32);
        if (v->len > (SIZE_MAX - tail) / 64)
            return lp_eth_err_set(err, i, "abi: argument %zu is too long", i);
        tail += 32 + (t->is_array ? 32 * v->len : pad32(v->len));
    }
    /* tails */
    for (size_t i = 0; i < n; i++) {
        const struct lp_abi_type *t = &types[i];
        const struct lp_abi_value *v = &vals[i];
        if (!lp_abi_type_is_dynamic(t))
            continue;
        uint8_t w[32];
        lp_abi_word_uint64(w, v->len);
        lp_eth_buf_append(out, w, 32);
        if (t->is_array) {
            struct lp_abi_type et = *t;
            et.is_array = false;
            for (size_t k = 0; k < v->len; k++) {
                struct lp_eth_err why;
                if (lp_abi_check_word(&et, v->ptr + 32 * k, 0, &why) != 0)
                    return lp_eth_err_set(err, i, "abi: argument %zu, element %zu: %s", i, k,
                                          why.msg);
                lp_eth_buf_append(out, v->ptr + 32 * k, 32);
            }
        } else {
            lp_eth_buf_append(out, v->ptr, v->len);
            lp_eth_buf_append_zeros(out, pad32(v->len) - v->len);
        }
    }
    if (out->failed)
        return lp_eth_err_set(err, 0, "abi: out of memory");
    return 0;
}

int lp_abi_encode_call(const char *signature, const struct lp_abi_value *vals, size_t n,
                       struct lp_eth_buf *out, struct lp_eth_err *err)
{
    struct lp_abi_sig sig;
    if (lp_abi_parse_signature(signature, &sig, err) != 0)
        return -1;
    if (sig.n != n)
        return lp_eth_err_set(err, 0, "abi: %s takes %zu arguments, %zu given", sig.canonical,
                              sig.n, n);
    uint8_t sel[4];
    lp_abi_selector(&sig, sel);
    lp_eth_buf_append(out, sel, 4);
    return lp_abi_encode(sig.types, vals, n, out, err);
}

/* ---- decoding ---- */

/* A 32-byte word at `pos` that must hold a size no larger than `limit`. */
static int abi_read_size(const uint8_t *data, size_t pos, size_t limit, size_t base,
                         const char *what, size_t *out, struct lp_eth_err *err)
{
    uint64_t v;
    if (lp_abi_word_get_uint64(data + pos, &v) != 0 || v > limit)
        return lp_eth_err_set(err, base + pos,
                              "abi: offset %zu: %s is out of range (at most %zu allowed here)",
                              base + pos, what, limit);
    *out = (size_t)v;
    return 0;
}

static int abi_decode_at(const uint8_t *data, size_t len, size_t base,
                         const struct lp_abi_type *types, size_t n, struct lp_abi_value *vals,
                         struct lp_eth_err *err)
{
    if (n > LP_ABI_MAX_ARGS)
        return lp_eth_err_set(err, base, "abi: more than %d values", LP_ABI_MAX_ARGS);
    if (len / 32 < n)
        return lp_eth_err_set(err, base + len,
                              "abi: offset %zu: input of %zu bytes is shorter than the %zu-byte "
                              "head",
                              base + len, len, 32 * n);
    for (size_t i = 0; i < n; i++) {
        const struct lp_abi_type *t = &types[i];
        struct lp_abi_value *v = &vals[i];
        memset(v, 0, sizeof *v);
        size_t head = 32 * i;
        if (!lp_abi_type_is_dynamic(t)) {
            if (lp_abi_check_word(t, data + head, base + head, err) != 0)
                return -1;
            memcpy(v->word, data + head, 32);
            continue;
        }
        size_t off = 0, count = 0;
        /* the length word must fit after the offset */
        if (abi_read_size(data, head, len - 32, base, "offset", &off, err) != 0)
            return -1;
        size_t avail = len - off - 32;
        if (t->is_array) {
            if (abi_read_size(data, off, avail / 32, base, "array length", &count, err) != 0)
                return -1;
            struct lp_abi_type et = *t;
            et.is_array = false;
            for (size_t k = 0; k < count; k++)
                if (lp_abi_check_word(&et, data + off + 32 + 32 * k, base + off + 32 + 32 * k,
                                      err) != 0)
                    return -1;
        } else {
            if (abi_read_size(data, off, avail, base, "byte length", &count, err) != 0)
                return -1;
            size_t padded = pad32(count);
            if (padded > avail)
                return lp_eth_err_set(err, base + off,
                                      "abi: offset %zu: %zu bytes padded to %zu run past the end",
                                      base + off, count, padded);
            if (!all_bytes(data + off + 32 + count, padded - count, 0))
                return lp_eth_err_set(
                    err, base + off + 32 + count, "abi: offset %zu: non-zero padding after %s",
                    base + off + 32 + count, t->kind == LP_ABI_STRING ? "a string" : "bytes");
        }
        v->ptr = data + off + 32;
        v->len = count;
    }
    return 0;
}

int lp_abi_decode(const uint8_t *data, size_t len, const struct lp_abi_type *types, size_t n,
                  struct lp_abi_value *vals, struct lp_eth_err *err)
{
    return abi_decode_at(data, len, 0, types, n, vals, err);
}

int lp_abi_decode_call(const struct lp_abi_sig *sig, const uint8_t *data, size_t len,
                       struct lp_abi_value *vals, struct lp_eth_err *err)
{
    uint8_t sel[4];
    lp_abi_selector(sig, sel);
    if (len < 4)
        return lp_eth_err_set(err, 0, "abi: offset 0: calldata of %zu bytes has no selector", len);
    if (memcmp(data, sel, 4) != 0)
        return lp_eth_err_set(err, 0,
                              "abi: offset 0: selector %02x%02x%02x%02x is not %s "
                              "(%02x%02x%02x%02x)",
                              data[0], data[1], data[2], data[3], sig->canonical, sel[0], sel[1],
                              sel[2], sel[3]);
    return abi_decode_at(data + 4, len - 4, 4, sig->types, sig->n, vals, err);
}
