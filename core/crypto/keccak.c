/* Keccak-256 (Ethereum's hash: original Keccak padding, rate 136 bytes, 32-byte output).
 * Hand-written because Debian 12 ships no Keccak-256 (OpenSSL 3.0 has only SHA3, which differs
 * in the domain byte). This is the general, portable, incremental version for the core; the PoW
 * plugin has its own SIMD-specialised permutation and checks itself against this one.
 *
 * The permutation keeps all 25 lanes in local variables with every step of a round written
 * out, so the compiler can keep them in registers instead of indexing an array (about twice the
 * speed of the textbook loop-over-arrays version). */
#include "crypto/keccak.h"

#include <string.h>

#define KECCAK256_RATE 136 /* bytes: 1600 - 2 * 256 bits of capacity */
#define ROL64(x, n)    (((x) << (n)) | ((x) >> (64 - (n))))

static const uint64_t round_constants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* Lanes are little-endian 64-bit words; memcpy keeps unaligned input legal. */
static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline void store_le64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, sizeof v);
}

void lp_keccak_f1600(uint64_t state[25])
{
    uint64_t a00 = state[0];
    uint64_t a01 = state[1];
    uint64_t a02 = state[2];
    uint64_t a03 = state[3];
    uint64_t a04 = state[4];
    uint64_t a05 = state[5];
    uint64_t a06 = state[6];
    uint64_t a07 = state[7];
    uint64_t a08 = state[8];
    uint64_t a09 = state[9];
    uint64_t a10 = state[10];
    uint64_t a11 = state[11];
    uint64_t a12 = state[12];
    uint64_t a13 = state[13];
    uint64_t a14 = state[14];
    uint64_t a15 = state[15];
    uint64_t a16 = state[16];
    uint64_t a17 = state[17];
    uint64_t a18 = state[18];
    uint64_t a19 = state[19];
    uint64_t a20 = state[20];
    uint64_t a21 = state[21];
    uint64_t a22 = state[22];
    uint64_t a23 = state[23];
    uint64_t a24 = state[24];
    uint64_t b00, b01, b02, b03, b04, b05, b06, b07, b08, b09, b10, b11, b12, b13, b14, b15, b16,
        b17, b18, b19, b20, b21, b22, b23, b24;
    uint64_t c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;

    for (int round = 0; round < 24; round++) {
        /* theta: column parities, then each lane absorbs its neighbours' parities */
        c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20;
        c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21;
        c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22;
        c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23;
        c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24;
        d0 = c4 ^ ROL64(c1, 1);
        d1 = c0 ^ ROL64(c2, 1);
        d2 = c1 ^ ROL64(c3, 1);
        d3 = c2 ^ ROL64(c4, 1);
        d4 = c3 ^ ROL64(c0, 1);
        /* rho and pi: rotate each lane and move (x, y) to (y, 2x + 3y) */
        b00 = a00 ^ d0;
        b10 = ROL64(a01 ^ d1, 1);
        b20 = ROL64(a02 ^ d2, 62);
        b05 = ROL64(a03 ^ d3, 28);
        b15 = ROL64(a04 ^ d4, 27);
        b16 = ROL64(a05 ^ d0, 36);
        b01 = ROL64(a06 ^ d1, 44);
        b11 = ROL64(a07 ^ d2, 6);
        b21 = ROL64(a08 ^ d3, 55);
        b06 = ROL64(a09 ^ d4, 20);
        b07 = ROL64(a10 ^ d0, 3);
        b17 = ROL64(a11 ^ d1, 10);
        b02 = ROL64(a12 ^ d2, 43);
        b12 = ROL64(a13 ^ d3, 25);
        b22 = ROL64(a14 ^ d4, 39);
        b23 = ROL64(a15 ^ d0, 41);
        b08 = ROL64(a16 ^ d1, 45);
        b18 = ROL64(a17 ^ d2, 15);
        b03 = ROL64(a18 ^ d3, 21);
        b13 = ROL64(a19 ^ d4, 8);
        b14 = ROL64(a20 ^ d0, 18);
        b24 = ROL64(a21 ^ d1, 2);
        b09 = ROL64(a22 ^ d2, 61);
        b19 = ROL64(a23 ^ d3, 56);
        b04 = ROL64(a24 ^ d4, 14);
        /* chi: the only non-linear step, row by row */
        a00 = b00 ^ (~b01 & b02);
        a01 = b01 ^ (~b02 & b03);
        a02 = b02 ^ (~b03 & b04);
        a03 = b03 ^ (~b04 & b00);
        a04 = b04 ^ (~b00 & b01);
        a05 = b05 ^ (~b06 & b07);
        a06 = b06 ^ (~b07 & b08);
        a07 = b07 ^ (~b08 & b09);
        a08 = b08 ^ (~b09 & b05);
        a09 = b09 ^ (~b05 & b06);
        a10 = b10 ^ (~b11 & b12);
        a11 = b11 ^ (~b12 & b13);
        a12 = b12 ^ (~b13 & b14);
        a13 = b13 ^ (~b14 & b10);
        a14 = b14 ^ (~b10 & b11);
        a15 = b15 ^ (~b16 & b17);
        a16 = b16 ^ (~b17 & b18);
        a17 = b17 ^ (~b18 & b19);
        a18 = b18 ^ (~b19 & b15);
        a19 = b19 ^ (~b15 & b16);
        a20 = b20 ^ (~b21 & b22);
        a21 = b21 ^ (~b22 & b23);
        a22 = b22 ^ (~b23 & b24);
        a23 = b23 ^ (~b24 & b20);
        a24 = b24 ^ (~b20 & b21);
        /* iota */
        a00 ^= round_constants[round];
    }

    state[0] = a00;
    state[1] = a01;
    state[2] = a02;
    state[3] = a03;
    state[4] = a04;
    state[5] = a05;
    state[6] = a06;
    state[7] = a07;
    state[8] = a08;
    state[9] = a09;
    state[10] = a10;
    state[11] = a11;
    state[12] = a12;
    state[13] = a13;
    state[14] = a14;
    state[15] = a15;
    state[16] = a16;
    state[17] = a17;
    state[18] = a18;
    state[19] = a19;
    state[20] = a20;
    state[21] = a21;
    state[22] = a22;
    state[23] = a23;
    state[24] = a24;
}

void lp_keccak256_init_domain(struct lp_keccak *ctx, uint8_t domain_byte)
{
    memset(ctx->state, 0, sizeof ctx->state);
    ctx->absorbed = 0;
    ctx->pad = domain_byte;
}

void lp_keccak256_init(struct lp_keccak *ctx)
{
    lp_keccak256_init_domain(ctx, 0x01);
}

/* XORs bytes into the state at byte offset `offset` of the current block. */
static void xor_bytes(uint64_t state[25], size_t offset, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        size_t pos = offset + i;
        state[pos / 8] ^= (uint64_t)data[i] << (8 * (pos % 8));
    }
}

static void absorb_block(uint64_t state[25], const uint8_t *block)
{
    for (int i = 0; i < KECCAK256_RATE / 8; i++)
        state[i] ^= load_le64(block + 8 * i);
    lp_keccak_f1600(state);
}

void lp_keccak256_update(struct lp_keccak *ctx, const void *data, size_t len)
{
    const uint8_t *in = data;

    /* Top up a partly filled block first. */
    if (ctx->absorbed > 0) {
        size_t take = KECCAK256_RATE - ctx->absorbed;
        if (take > len)
            take = len;
        xor_bytes(ctx->state, ctx->absorbed, in, take);
        ctx->absorbed += take;
        in += take;
        len -= take;
        if (ctx->absorbed < KECCAK256_RATE)
            return;
        lp_keccak_f1600(ctx->state);
        ctx->absorbed = 0;
    }
    /* Whole blocks straight from the caller's buffer, a lane at a time. */
    while (len >= KECCAK256_RATE) {
        absorb_block(ctx->state, in);
        in += KECCAK256_RATE;
        len -= KECCAK256_RATE;
    }
    if (len > 0) {
        xor_bytes(ctx->state, 0, in, len);
        ctx->absorbed = len;
    }
}

void lp_keccak256_final(struct lp_keccak *ctx, uint8_t out[LP_KECCAK256_LEN])
{
    /* pad10*1: the domain byte right after the message, 0x80 in the block's last byte
     * (both land in the same byte when the message leaves exactly one byte free). */
    uint8_t first = ctx->pad;
    uint8_t last = 0x80;
    xor_bytes(ctx->state, ctx->absorbed, &first, 1);
    xor_bytes(ctx->state, KECCAK256_RATE - 1, &last, 1);
    lp_keccak_f1600(ctx->state);
    for (int i = 0; i < LP_KECCAK256_LEN / 8; i++)
        store_le64(out + 8 * i, ctx->state[i]);
    /* Leave nothing of the input behind: the context may have hashed a secret (explicit_bzero,
     * because a plain memset of a dying local context may be optimised away). */
    explicit_bzero(ctx->state, sizeof ctx->state);
    ctx->absorbed = 0;
}

void lp_keccak256(const void *data, size_t len, uint8_t out[LP_KECCAK256_LEN])
{
    struct lp_keccak ctx;
    lp_keccak256_init(&ctx);
    lp_keccak256_update(&ctx, data, len);
    lp_keccak256_final(&ctx, out);
}
