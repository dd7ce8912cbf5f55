/* JSON string text as Go's encoding/json writes it, and a byte-level tracker of where a piece
 * of output stands in JSON (outside a string, inside one, right after a backslash). The
 * template renderer needs both: inputs reach the template JSON-encoded exactly as the original
 * Lilypad (json.Marshal) encodes them, and text derived from an input is escaped according to
 * the JSON context it lands in. */
#ifndef LP_MODULE_JSON_TEXT_H
#define LP_MODULE_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* A growable byte buffer with a hard cap (rendering never grows without bound). */
struct lp_strbuf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit; /* 0: no limit */
    bool overflow;
};

/* Appends; on overflow or allocation failure sets ->overflow and returns -1. */
int lp_strbuf_append(struct lp_strbuf *b, const char *s, size_t n);
void lp_strbuf_free(struct lp_strbuf *b);

/* True when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool lp_json_utf8_valid(const char *s, size_t n);

/* Appends the JSON string CONTENT for s (no surrounding quotes): \" \\ \n \r \t \b \f and
 * other control characters as \u00XX. With go_html also '<' '>' '&' U+2028 U+2029 as \u003c
 * \u003e \u0026 \u2028 \u2029, which makes it byte-identical to Go's json.Marshal (HTML-safe
 * by default); without, text that needs no escaping stays byte-identical to its source. Bytes
 * that are not valid UTF-8 are copied as they are (callers check UTF-8 where it matters). */
int lp_json_escape_append(struct lp_strbuf *b, const char *s, size_t n, bool go_html);

/* Where a byte stream stands in JSON's lexical structure. Only strings matter: outside a
 * string every byte is structure, inside one every byte is content. */
enum lp_json_ctx { LP_JSON_OUTSIDE = 0, LP_JSON_IN_STRING, LP_JSON_AFTER_BACKSLASH };

/* Advances ctx over s[0..n). */
enum lp_json_ctx lp_json_ctx_advance(enum lp_json_ctx ctx, const char *s, size_t n);

#endif
