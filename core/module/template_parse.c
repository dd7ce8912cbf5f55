/* Parser for the Go text/template subset described in template.h. A hand-written recursive
 * descent over the source: text runs between actions, actions tokenised in place. Go's lexer
 * rules kept: "{{- " and " -}}" trim only when the dash touches the braces and whitespace sits
 * on its inner side (so {{-3}} is the number -3), comments must sit right inside the braces,
 * and function names are checked at parse time ("function X not defined"). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module/template_ast.h"

enum tok_kind {
    TK_END, /* }} */
    TK_PIPE,
    TK_LPAREN,
    TK_RPAREN,
    TK_STRING,
    TK_INT,
    TK_FIELD,
    TK_DOT,
    TK_IDENT,
};

struct tok {
    enum tok_kind kind;
    size_t off;
    size_t len;     /* source bytes */
    bool trim;      /* TK_END: -}} */
    char *str;      /* TK_STRING (unescaped), malloc'd */
    size_t str_len; /* TK_STRING */
    int64_t i;
};

struct parser {
    const char *name;
    const char *src;
    size_t len;
    size_t pos;
    bool trim_next;    /* the last action ended with -}} */
    size_t action_off; /* where the current action's {{ is */
    bool failed;
    struct lp_template_error *err;
};

static const struct {
    const char *name;
    enum tpl_func fn;
} FUNCS[] = {
    {"subst", TF_SUBST}, {"and", TF_AND}, {"or", TF_OR},       {"not", TF_NOT},       {"eq", TF_EQ},
    {"ne", TF_NE},       {"len", TF_LEN}, {"print", TF_PRINT}, {"printf", TF_PRINTF},
};

const char *lp_tpl_func_name(enum tpl_func fn)
{
    for (size_t i = 0; i < sizeof FUNCS / sizeof FUNCS[0]; i++)
        if (FUNCS[i].fn == fn)
            return FUNCS[i].name;
    return "?";
}

void lp_tpl_errorf(struct lp_template_error *err, const char *name, const char *src, size_t off,
                   const char *fmt, ...)
{
    if (err == NULL)
        return;
    unsigned line = 1, col = 1;
    for (size_t i = 0; i < off && src[i] != '\0'; i++) {
        if (src[i] == '\n')
            line++, col = 1;
        else
            col++;
    }
    int n = snprintf(err->message, sizeof err->message, "%s:%u:%u: ", name, line, col);
    if (n < 0 || (size_t)n >= sizeof err->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + n, sizeof err->message - (size_t)n, fmt, ap);
    va_end(ap);
}

#define fail(p, off, ...)                                                                          \
    do {                                                                                           \
        if (!(p)->failed)                                                                          \
            lp_tpl_errorf((p)->err, (p)->name, (p)->src, (off), __VA_ARGS__);                      \
        (p)->failed = true;                                                                        \
    } while (0)

/* Up to 24 bytes of source for an error message, with anything unprintable shown as '?', so a
 * message stays one printable line. */
static const char *snippet(char out[25], const char *s, size_t n)
{
    size_t k = n > 24 ? 24 : n;
    for (size_t i = 0; i < k; i++)
        out[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
    out[k] = '\0';
    return out;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* ---------- freeing ---------- */

static void free_pipe(struct tpl_pipe *pp);

static void free_arg(struct tpl_arg *a)
{
    free(a->str);
    free_pipe(a->pipe);
}

static void free_pipe(struct tpl_pipe *pp)
{
    if (pp == NULL)
        return;
    for (size_t c = 0; c < pp->n; c++) {
        for (size_t a = 0; a < pp->cmds[c].n; a++)
            free_arg(&pp->cmds[c].args[a]);
        free(pp->cmds[c].args);
    }
    free(pp->cmds);
    free(pp);
}

static void free_list(struct tpl_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free_pipe(l->nodes[i].pipe);
        free_list(&l->nodes[i].then_list);
        free_list(&l->nodes[i].else_list);
    }
    free(l->nodes);
    l->nodes = NULL;
    l->n = 0;
}

void lp_template_free(struct lp_template *t)
{
    if (t == NULL)
        return;
    free_list(&t->root);
    free(t->name);
    free(t->src);
    free(t);
}

/* ---------- growable arrays ---------- */

static void *grow(struct parser *p, void *arr, size_t n, size_t size)
{
    /* n elements in use; make room for one more (capacity doubles at powers of two) */
    if (n != 0 && (n & (n - 1)) != 0)
        return arr;
    size_t cap = n == 0 ? 4 : n * 2;
    if (n != 0 && n < 4)
        return arr;
    void *q = realloc(arr, cap * size);
    if (q == NULL)
        fail(p, p->pos, "out of memory");
    return q;
}

static struct tpl_node *list_push(struct parser *p, struct tpl_list *l)
{
    struct tpl_node *nodes = grow(p, l->nodes, l->n, sizeof *nodes);
    if (nodes == NULL)
        return NULL;
    l->nodes = nodes;
    struct tpl_node *nd = &l->nodes[l->n++];
    memset(nd, 0, sizeof *nd);
    return nd;
}

/* ---------- tokens ---------- */

/* Decodes one Go double-quoted string starting at src[pos] == '"'. */
static int lex_quoted(struct parser *p, struct tok *t)
{
    size_t i = p->pos + 1;
    char *buf = malloc(p->len - p->pos + 1);
    size_t n = 0;
    if (buf == NULL) {
        fail(p, p->pos, "out of memory");
        return -1;
    }
    for (;;) {
        if (i >= p->len || p->src[i] == '\n') {
            fail(p, p->pos, "unterminated quoted string");
            free(buf);
            return -1;
        }
        char c = p->src[i];
        if (c == '"')
            break;
        if (c != '\\') {
            buf[n++] = c;
            i++;
            continue;
        }
        size_t esc = i++;
        if (i >= p->len) {
            fail(p, esc, "unterminated quoted string");
            free(buf);
            return -1;
        }
        c = p->src[i++];
        const char *simple = strchr("abfnrtv\\\"", c);
        if (simple != NULL && c != '\0') {
            static const char map[] = "\a\b\f\n\r\t\v\\\"";
            buf[n++] = map[simple - "abfnrtv\\\""];
            continue;
        }
        unsigned digits = 0, base = 16;
        if (c == 'x')
            digits = 2;
        else if (c == 'u')
            digits = 4;
        else if (c == 'U')
            digits = 8;
        else if (c >= '0' && c <= '7')
            digits = 3, base = 8, i--;
        if (digits == 0 || i + digits > p->len) {
            fail(p, esc, "invalid escape \\%c in quoted string",
                 isprint((unsigned char)c) ? c : '?');
            free(buf);
            return -1;
        }
        uint32_t v = 0;
        for (unsigned k = 0; k < digits; k++) {
            char d = p->src[i + k];
            int dv =
                isxdigit((unsigned char)d)
                    ? (isdigit((unsigned char)d) ? d - '0' : (tolower((unsigned char)d) - 'a' + 10))
                    : -1;
            if (dv < 0 || (unsigned)dv >= base) {
                fail(p, esc, "invalid escape in quoted string");
                free(buf);
                return -1;
            }
            v = v * base + (uint32_t)dv;
        }
        i += digits;
        if (c == 'x' || base == 8) {
            if (v > 255) {
                fail(p, esc, "octal escape value > 255");
                free(buf);
                return -1;
            }
            buf[n++] = (char)v;
        } else {
            /* \u and \U: a code point, written as UTF-8 (at most 4 bytes, never more than the
             * 6 or 10 source bytes it replaces, so buf cannot overflow) */
            if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
                fail(p, esc, "escape sequence is invalid Unicode code point");
                free(buf);
                return -1;
            }
            if (v < 0x80) {
                buf[n++] = (char)v;
            } else if (v < 0x800) {
                buf[n++] = (char)(0xC0 | (v >> 6));
                buf[n++] = (char)(0x80 | (v & 0x3F));
            } else if (v < 0x10000) {
                buf[n++] = (char)(0xE0 | (v >> 12));
                buf[n++] = (char)(0x80 | ((v >> 6) & 0x3F));
                buf[n++] = (char)(0x80 | (v & 0x3F));
            } else {
                buf[n++] = (char)(0xF0 | (v >> 18));
                buf[n++] = (char)(0x80 | ((v >> 12) & 0x3F));
                buf[n++] = (char)(0x80 | ((v >> 6) & 0x3F));
                buf[n++] = (char)(0x80 | (v & 0x3F));
            }
        }
    }
    buf[n] = '\0';
    t->kind = TK_STRING;
    t->str = buf;
    t->str_len = n;
    t->len = i + 1 - p->pos;
    return 0;
}

/* Reads the next token of an action. Returns 0, or -1 after recording an error. */
static int next_token(struct parser *p, struct tok *t)
{
    memset(t, 0, sizeof *t);
    bool space_before = false;
    while (p->pos < p->len && is_space(p->src[p->pos]))
        p->pos++, space_before = true;
    t->off = p->pos;
    const char *s = p->src + p->pos;
    size_t left = p->len - p->pos;
    if (left == 0) {
        fail(p, p->action_off, "unclosed action (no matching }})");
        return -1;
    }
    if (left >= 2 && s[0] == '}' && s[1] == '}') {
        t->kind = TK_END, t->len = 2;
    } else if (space_before && left >= 3 && memcmp(s, "-}}", 3) == 0) {
        t->kind = TK_END, t->len = 3, t->trim = true;
    } else if (s[0] == '|') {
        t->kind = TK_PIPE, t->len = 1;
    } else if (s[0] == '(') {
        t->kind = TK_LPAREN, t->len = 1;
    } else if (s[0] == ')') {
        t->kind = TK_RPAREN, t->len = 1;
    } else if (s[0] == '"') {
        if (lex_quoted(p, t) != 0)
            return -1;
    } else if (s[0] == '`') {
        const char *end = memchr(s + 1, '`', left - 1);
        if (end == NULL) {
            fail(p, p->pos, "unterminated raw quoted string");
            return -1;
        }
        t->kind = TK_STRING;
        t->str_len = (size_t)(end - s - 1);
        t->str = malloc(t->str_len + 1);
        if (t->str == NULL) {
            fail(p, p->pos, "out of memory");
            return -1;
        }
        memcpy(t->str, s + 1, t->str_len);
        t->str[t->str_len] = '\0';
        t->len = t->str_len + 2;
    } else if (s[0] == '.' && left >= 2 && is_ident_start(s[1])) {
        size_t n = 1;
        while (n < left &&
               (is_ident_char(s[n]) || (s[n] == '.' && n + 1 < left && is_ident_start(s[n + 1]))))
            n++;
        t->kind = TK_FIELD, t->len = n;
    } else if (s[0] == '.') {
        t->kind = TK_DOT, t->len = 1;
    } else if (isdigit((unsigned char)s[0]) ||
               ((s[0] == '-' || s[0] == '+') && left >= 2 && isdigit((unsigned char)s[1]))) {
        size_t n = 1;
        while (n < left && (isalnum((unsigned char)s[n]) || s[n] == '.' || s[n] == '_'))
            n++;
        char num[32];
        if (n >= sizeof num) {
            fail(p, p->pos, "number too long");
            return -1;
        }
        memcpy(num, s, n);
        num[n] = '\0';
        char *end;
        errno = 0;
        long long v = strtoll(num, &end, 10);
        if (*end != '\0' || errno != 0) {
            fail(p, p->pos, "bad number %s (only decimal integers are supported)", num);
            return -1;
        }
        t->kind = TK_INT, t->len = n, t->i = v;
    } else if (is_ident_start(s[0])) {
        size_t n = 1;
        while (n < left && is_ident_char(s[n]))
            n++;
        t->kind = TK_IDENT, t->len = n;
    } else if (s[0] == '$') {
        fail(p, p->pos, "variables ($) are not supported by this template subset");
        return -1;
    } else if (s[0] == '\'') {
        fail(p, p->pos, "character constants are not supported by this template subset");
        return -1;
    } else if (s[0] == '{' && left >= 2 && s[1] == '{') {
        fail(p, p->action_off, "unclosed action (a new {{ starts before }})");
        return -1;
    } else {
        fail(p, p->pos, "unexpected \"%c\" in action", isprint((unsigned char)s[0]) ? s[0] : '?');
        return -1;
    }
    p->pos += t->len;
    return 0;
}

static bool ident_is(const struct parser *p, const struct tok *t, const char *word)
{
    return t->kind == TK_IDENT && strlen(word) == t->len &&
           memcmp(p->src + t->off, word, t->len) == 0;
}

/* ---------- pipelines ---------- */

static struct tpl_pipe *parse_pipeline(struct parser *p, int depth, enum tok_kind closer,
                                       struct tok *end);

/* Turns token t into an argument (consuming t->str). Returns 0 or -1. */
static int token_to_arg(struct parser *p, struct tok *t, int depth, struct tpl_arg *a)
{
    memset(a, 0, sizeof *a);
    a->off = t->off;
    switch (t->kind) {
    case TK_STRING:
        a->kind = TA_STRING, a->str = t->str, a->len = t->str_len;
        t->str = NULL;
        return 0;
    case TK_INT:
        a->kind = TA_INT, a->i = t->i;
        return 0;
    case TK_DOT:
        a->kind = TA_DOT;
        return 0;
    case TK_FIELD: {
        a->kind = TA_FIELD;
        const char *name = p->src + t->off + 1;
        size_t n = t->len - 1;
        const char *dot = memchr(name, '.', n);
        a->chained = dot != NULL;
        a->len = n;
        a->str = malloc(n + 1);
        if (a->str == NULL) {
            fail(p, t->off, "out of memory");
            return -1;
        }
        memcpy(a->str, name, n);
        a->str[n] = '\0';
        return 0;
    }
    case TK_LPAREN: {
        if (depth >= LP_TEMPLATE_MAX_DEPTH) {
            fail(p, t->off, "nested too deeply (more than %d levels)", LP_TEMPLATE_MAX_DEPTH);
            return -1;
        }
        struct tok close;
        a->kind = TA_PIPE;
        a->pipe = parse_pipeline(p, depth + 1, TK_RPAREN, &close);
        return a->pipe == NULL ? -1 : 0;
    }
    case TK_IDENT: {
        if (ident_is(p, t, "true") || ident_is(p, t, "false")) {
            a->kind = TA_BOOL, a->b = ident_is(p, t, "true");
            return 0;
        }
        if (ident_is(p, t, "nil")) {
            fail(p, t->off, "nil is not a command");
            return -1;
        }
        for (size_t i = 0; i < sizeof FUNCS / sizeof FUNCS[0]; i++) {
            if (ident_is(p, t, FUNCS[i].name)) {
                a->kind = TA_FUNC, a->fn = FUNCS[i].fn;
                return 0;
            }
        }
        static const char *const keywords[] = {"if",     "else",     "end",   "range", "with",
                                               "define", "template", "block", "break", "continue"};
        for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
            if (ident_is(p, t, keywords[i])) {
                fail(p, t->off, "unexpected \"%s\" inside an expression", keywords[i]);
                return -1;
            }
        }
        fail(p, t->off,
             "function \"%.*s\" not defined (supported: subst and or not eq ne len "
             "print printf)",
             (int)(t->len > 40 ? 40 : t->len), p->src + t->off); /* identifier chars only */
        return -1;
    }
    default: {
        char sn[25];
        fail(p, t->off, "unexpected \"%s\" in operand", snippet(sn, p->src + t->off, t->len));
        return -1;
    }
    }
}

/* Parses commands separated by | until `closer` (TK_END or TK_RPAREN), which is left in *end. */
static struct tpl_pipe *parse_pipeline(struct parser *p, int depth, enum tok_kind closer,
                                       struct tok *end)
{
    struct tpl_pipe *pp = calloc(1, sizeof *pp);
    if (pp == NULL) {
        fail(p, p->pos, "out of memory");
        return NULL;
    }
    pp->off = p->pos;
    struct tpl_cmd *cmd = NULL;
    for (;;) {
        struct tok t;
        if (next_token(p, &t) != 0)
            goto bad;
        if (t.kind == TK_END || t.kind == TK_RPAREN || t.kind == TK_PIPE) {
            if (cmd == NULL || cmd->n == 0) {
                fail(p, t.off,
                     t.kind == TK_PIPE || pp->n > 0 ? "missing command in pipeline"
                                                    : "missing value");
                goto bad;
            }
            if (t.kind == TK_PIPE) {
                cmd = NULL;
                continue;
            }
            if (t.kind != closer) {
                fail(p, t.off,
                     closer == TK_RPAREN ? "unclosed left parenthesis"
                                         : "unexpected right parenthesis");
                goto bad;
            }
            *end = t;
            return pp;
        }
        if (cmd == NULL) {
            struct tpl_cmd *cmds = grow(p, pp->cmds, pp->n, sizeof *cmds);
            if (cmds == NULL)
                goto bad_tok;
            pp->cmds = cmds;
            cmd = &pp->cmds[pp->n++];
            memset(cmd, 0, sizeof *cmd);
            cmd->off = t.off;
        }
        struct tpl_arg *args = grow(p, cmd->args, cmd->n, sizeof *args);
        if (args == NULL)
            goto bad_tok;
        cmd->args = args;
        struct tpl_arg *a = &cmd->args[cmd->n];
        if (token_to_arg(p, &t, depth, a) != 0) {
            free_arg(a);
            goto bad_tok;
        }
        cmd->n++;
        /* Go: only a function takes arguments, and a stage after | must be a function */
        if (cmd->n == 2 && cmd->args[0].kind != TA_FUNC) {
            fail(p, cmd->args[1].off, "can't give argument to non-function");
            goto bad;
        }
        if (cmd->n == 1 && pp->n > 1 && a->kind != TA_FUNC) {
            fail(p, a->off, "non-function in pipeline stage");
            goto bad;
        }
        continue;
    bad_tok:
        free(t.str);
        goto bad;
    }
bad:
    free_pipe(pp);
    return NULL;
}

/* ---------- actions and lists ---------- */

enum stop { STOP_EOF, STOP_END, STOP_ELSE, STOP_ELSE_IF };

static int parse_list(struct parser *p, struct tpl_list *list, int depth, enum stop *stop,
                      size_t *stop_off, struct tpl_pipe **else_if);

/* After {{if P}}: parses the branches up to and including the matching {{end}}. */
static int parse_if_rest(struct parser *p, struct tpl_node *nd, int depth)
{
    if (depth >= LP_TEMPLATE_MAX_DEPTH) {
        fail(p, nd->off, "nested too deeply (more than %d levels)", LP_TEMPLATE_MAX_DEPTH);
        return -1;
    }
    enum stop stop;
    size_t stop_off;
    struct tpl_pipe *elif = NULL;
    if (parse_list(p, &nd->then_list, depth + 1, &stop, &stop_off, &elif) != 0)
        return -1;
    if (stop == STOP_EOF) {
        fail(p, nd->off, "unclosed {{if}} (no matching {{end}})");
        return -1;
    }
    if (stop == STOP_END)
        return 0;
    if (stop == STOP_ELSE_IF) {
        /* {{else if Q}} is {{else}}{{if Q}}...{{end}}{{end}} sharing one {{end}} */
        struct tpl_node *inner = list_push(p, &nd->else_list);
        if (inner == NULL) {
            free_pipe(elif);
            return -1;
        }
        inner->kind = TN_IF;
        inner->off = stop_off;
        inner->pipe = elif;
        return parse_if_rest(p, inner, depth + 1);
    }
    if (parse_list(p, &nd->else_list, depth + 1, &stop, &stop_off, &elif) != 0)
        return -1;
    if (stop == STOP_EOF) {
        fail(p, nd->off, "unclosed {{if}} (no matching {{end}})");
        return -1;
    }
    if (stop != STOP_END) {
        free_pipe(elif);
        fail(p, stop_off, "{{else}} after {{else}}");
        return -1;
    }
    return 0;
}

/* Expects the action to end here ("}}" or " -}}"). */
static int expect_end(struct parser *p, const char *after)
{
    struct tok t;
    if (next_token(p, &t) != 0)
        return -1;
    if (t.kind != TK_END) {
        free(t.str);
        char sn[25];
        fail(p, t.off, "unexpected \"%s\" after %s", snippet(sn, p->src + t.off, t.len), after);
        return -1;
    }
    p->trim_next = t.trim;
    return 0;
}

static int parse_list(struct parser *p, struct tpl_list *list, int depth, enum stop *stop,
                      size_t *stop_off, struct tpl_pipe **else_if)
{
    for (;;) {
        if (p->failed)
            return -1;
        const char *open = NULL;
        for (size_t i = p->pos; i + 1 < p->len; i++) {
            if (p->src[i] == '{' && p->src[i + 1] == '{') {
                open = p->src + i;
                break;
            }
        }
        size_t text_start = p->pos;
        size_t text_end = open ? (size_t)(open - p->src) : p->len;
        size_t action = text_end + 2; /* first byte inside the braces */
        bool trim_left =
            open && action + 1 < p->len && p->src[action] == '-' && is_space(p->src[action + 1]);
        if (p->trim_next)
            while (text_start < text_end && is_space(p->src[text_start]))
                text_start++;
        p->trim_next = false;
        size_t kept_end = text_end;
        if (trim_left)
            while (kept_end > text_start && is_space(p->src[kept_end - 1]))
                kept_end--;
        if (kept_end > text_start) {
            struct tpl_node *nd = list_push(p, list);
            if (nd == NULL)
                return -1;
            nd->kind = TN_TEXT;
            nd->off = text_start;
            nd->text = p->src + text_start;
            nd->len = kept_end - text_start;
        }
        if (open == NULL) {
            p->pos = p->len;
            *stop = STOP_EOF;
            return 0;
        }
        p->action_off = text_end;
        p->pos = action + (trim_left ? 2 : 0);
        /* a comment must start right after the braces (and the trim marker) */
        if (p->pos + 1 < p->len && p->src[p->pos] == '/' && p->src[p->pos + 1] == '*') {
            const char *close = NULL;
            for (size_t i = p->pos + 2; i + 1 < p->len; i++) {
                if (p->src[i] == '*' && p->src[i + 1] == '/') {
                    close = p->src + i;
                    break;
                }
            }
            if (close == NULL) {
                fail(p, p->action_off, "unclosed comment");
                return -1;
            }
            size_t after = (size_t)(close - p->src) + 2;
            if (after + 1 < p->len && p->src[after] == '}' && p->src[after + 1] == '}') {
                p->pos = after + 2;
            } else if (after + 3 < p->len && is_space(p->src[after]) &&
                       memcmp(p->src + after + 1, "-}}", 3) == 0) {
                p->pos = after + 4;
                p->trim_next = true;
            } else {
                fail(p, p->action_off, "comment ends before closing delimiter");
                return -1;
            }
            continue;
        }
        size_t save = p->pos;
        struct tok t;
        if (next_token(p, &t) != 0)
            return -1;
        if (ident_is(p, &t, "if")) {
            struct tpl_node *nd = list_push(p, list);
            if (nd == NULL)
                return -1;
            nd->kind = TN_IF;
            nd->off = p->action_off;
            struct tok end;
            nd->pipe = parse_pipeline(p, depth, TK_END, &end);
            if (nd->pipe == NULL)
                return -1;
            p->trim_next = end.trim;
            if (parse_if_rest(p, nd, depth) != 0)
                return -1;
            continue;
        }
        if (ident_is(p, &t, "else")) {
            *stop_off = p->action_off;
            size_t after_else = p->pos;
            struct tok u;
            if (next_token(p, &u) != 0)
                return -1;
            if (ident_is(p, &u, "if")) {
                if (depth == 0) {
                    fail(p, p->action_off, "unexpected {{else}} outside {{if}}");
                    return -1;
                }
                struct tok end;
                *else_if = parse_pipeline(p, depth, TK_END, &end);
                if (*else_if == NULL)
                    return -1;
                p->trim_next = end.trim;
                *stop = STOP_ELSE_IF;
                return 0;
            }
            free(u.str);
            p->pos = after_else;
            if (depth == 0) {
                fail(p, p->action_off, "unexpected {{else}} outside {{if}}");
                return -1;
            }
            if (expect_end(p, "else") != 0)
                return -1;
            *stop = STOP_ELSE;
            return 0;
        }
        if (ident_is(p, &t, "end")) {
            *stop_off = p->action_off;
            if (depth == 0) {
                fail(p, p->action_off, "unexpected {{end}}");
                return -1;
            }
            if (expect_end(p, "end") != 0)
                return -1;
            *stop = STOP_END;
            return 0;
        }
        static const char *const unsupported[] = {"range", "with",  "define",  "template",
                                                  "block", "break", "continue"};
        for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
            if (ident_is(p, &t, unsupported[i])) {
                fail(p, t.off,
                     "{{%s}} is not supported by this template subset (supported: if, else, "
                     "else if, end)",
                     unsupported[i]);
                return -1;
            }
        }
        free(t.str);
        p->pos = save;
        struct tpl_node *nd = list_push(p, list);
        if (nd == NULL)
            return -1;
        nd->kind = TN_PRINT;
        nd->off = p->action_off;
        struct tok end;
        nd->pipe = parse_pipeline(p, depth, TK_END, &end);
        if (nd->pipe == NULL)
            return -1;
        p->trim_next = end.trim;
    }
}

int lp_template_parse(const char *name, const char *text, size_t len, struct lp_template **out,
                      struct lp_template_error *err)
{
    *out = NULL;
    if (name == NULL)
        name = "template";
    if (len > LP_TEMPLATE_MAX_TEXT) {
        snprintf(err->message, sizeof err->message, "%s: template larger than %u bytes", name,
                 LP_TEMPLATE_MAX_TEXT);
        return -1;
    }
    if (memchr(text, '\0', len) != NULL) {
        lp_tpl_errorf(err, name, text, (size_t)((const char *)memchr(text, '\0', len) - text),
                      "NUL byte in template");
        return -1;
    }
    struct lp_template *t = calloc(1, sizeof *t);
    if (t == NULL || (t->name = strdup(name)) == NULL || (t->src = malloc(len + 1)) == NULL) {
        lp_template_free(t);
        snprintf(err->message, sizeof err->message, "%s: out of memory", name);
        return -1;
    }
    memcpy(t->src, text, len);
    t->src[len] = '\0';
    t->src_len = len;
    struct parser p = {.name = t->name, .src = t->src, .len = len, .err = err};
    enum stop stop;
    size_t stop_off;
    struct tpl_pipe *elif = NULL;
    if (parse_list(&p, &t->root, 0, &stop, &stop_off, &elif) != 0 || p.failed) {
        free_pipe(elif);
        if (!p.failed)
            snprintf(err->message, sizeof err->message, "%s: parse error", name);
        lp_template_free(t);
        return -1;
    }
    *out = t;
    return 0;
}
