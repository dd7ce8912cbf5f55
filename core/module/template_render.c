/* Renderer for parsed templates: evaluates pipelines over the JSON-encoded inputs and writes the
 * output, tracking the JSON context so that text derived from an input never becomes JSON
 * structure (the rules, and where they differ from Go, are in template.h). */
#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module/json_text.h"
#include "module/template_ast.h"

/* Where a string value came from decides how it may be written. */
enum origin {
    O_TRUSTED, /* the module author's literals, or computed from them only */
    O_INPUT,   /* an input's JSON encoding, as Lilypad hands it to the template */
    O_TAINTED, /* raw text derived from an input (subst, printf, print) */
};

enum vkind { V_MISSING, V_STR, V_BOOL, V_INT };

struct value {
    enum vkind kind;
    enum origin origin;
    const char *s; /* V_STR text (for O_INPUT: the JSON encoding) */
    size_t len;
    const char *raw; /* O_INPUT: the input's raw value */
    size_t raw_len;
    int64_t i;
    bool b;
    const char *missing; /* V_MISSING: the key asked for */
};

struct input {
    const char *key;
    const char *raw;
    size_t raw_len;
    char *json; /* "..." as json.Marshal writes it */
    size_t json_len;
};

struct render {
    const struct lp_template *t;
    struct input *inputs;
    size_t n_inputs;
    struct lp_strbuf out;
    enum lp_json_ctx ctx;
    char **owned; /* strings made while rendering, freed at the end */
    size_t n_owned, cap_owned;
    struct lp_template_error *err;
    bool failed;
};

#define rfail(r, off, ...)                                                                         \
    do {                                                                                           \
        if (!(r)->failed)                                                                          \
            lp_tpl_errorf((r)->err, (r)->t->name, (r)->t->src, (off), __VA_ARGS__);                \
        (r)->failed = true;                                                                        \
    } while (0)

static char *own(struct render *r, struct lp_strbuf *b, size_t off, size_t *len)
{
    if (b->overflow) {
        lp_strbuf_free(b);
        rfail(r, off, "value too large");
        return NULL;
    }
    if (b->data == NULL && lp_strbuf_append(b, "", 0) != 0) {
        rfail(r, off, "out of memory");
        return NULL;
    }
    if (r->n_owned == r->cap_owned) {
        size_t cap = r->cap_owned ? r->cap_owned * 2 : 16;
        char **o = realloc(r->owned, cap * sizeof *o);
        if (o == NULL) {
            lp_strbuf_free(b);
            rfail(r, off, "out of memory");
            return NULL;
        }
        r->owned = o, r->cap_owned = cap;
    }
    r->owned[r->n_owned++] = b->data;
    *len = b->len;
    return b->data;
}

static const struct input *find_input(const struct render *r, const char *key)
{
    for (size_t i = r->n_inputs; i-- > 0;) /* the later of two equal keys wins */
        if (strcmp(r->inputs[i].key, key) == 0)
            return &r->inputs[i];
    return NULL;
}

static bool truth(const struct value *v)
{
    switch (v->kind) {
    case V_MISSING:
        return false;
    case V_STR:
        return v->len > 0;
    case V_BOOL:
        return v->b;
    case V_INT:
        return v->i != 0;
    }
    return false;
}

static int need_value(struct render *r, const struct value *v, size_t off, const char *what)
{
    if (v->kind == V_MISSING) {
        rfail(r, off, "%s: no input named \"%s\" (pass -i %s=VALUE)", what, v->missing, v->missing);
        return -1;
    }
    return 0;
}

/* Text of a value as Go's fmt %v / Sprint writes it. */
static void value_text(const struct value *v, char *num, size_t num_len, const char **s, size_t *n)
{
    if (v->kind == V_STR) {
        *s = v->s, *n = v->len;
    } else if (v->kind == V_BOOL) {
        *s = v->b ? "true" : "false", *n = strlen(*s);
    } else {
        snprintf(num, num_len, "%" PRId64, v->i);
        *s = num, *n = strlen(num);
    }
}

/* ---------- functions ---------- */

static int eval_pipe(struct render *r, const struct tpl_pipe *pp, struct value *out);
static int eval_arg(struct render *r, const struct tpl_arg *a, struct value *out);

/* subst FORMAT ARG...: Lilypad's helper. Each ARG is JSON-decoded (inputs arrive encoded) and
 * FORMAT is applied with Sprintf; only %s, %v and %% are accepted (see template.h, 3). */
static int fn_format(struct render *r, size_t off, bool decode_args, const char *fname,
                     const struct value *args, size_t n, struct value *out)
{
    if (n < 1) {
        rfail(r, off, "wrong number of args for %s: want at least 1 got 0", fname);
        return -1;
    }
    for (size_t k = 0; k < n; k++)
        if (need_value(r, &args[k], off, fname) != 0)
            return -1;
    if (args[0].kind != V_STR) {
        rfail(r, off, "%s: the format must be a string", fname);
        return -1;
    }
    enum origin origin = args[0].origin == O_TRUSTED ? O_TRUSTED : O_TAINTED;
    struct lp_strbuf b = {.limit = LP_TEMPLATE_MAX_OUTPUT};
    const char *f = args[0].s;
    size_t flen = args[0].len, next = 1;
    for (size_t i = 0; i < flen; i++) {
        if (f[i] != '%') {
            lp_strbuf_append(&b, f + i, 1);
            continue;
        }
        char verb = i + 1 < flen ? f[++i] : '\0';
        if (verb == '%') {
            lp_strbuf_append(&b, "%", 1);
            continue;
        }
        if (verb != 's' && verb != 'v' && !(verb == 'd' && !decode_args)) {
            lp_strbuf_free(&b);
            rfail(r, off, "%s: unsupported format verb %%%c (use %%s, %%v or %%%%)", fname,
                  isprint((unsigned char)verb) ? verb : '?');
            return -1;
        }
        if (next >= n) {
            lp_strbuf_free(&b);
            rfail(r, off, "%s: the format needs more arguments than the %zu given", fname, n - 1);
            return -1;
        }
        const struct value *a = &args[next++];
        if (a->origin != O_TRUSTED)
            origin = O_TAINTED;
        if (verb == 'd' && a->kind != V_INT) {
            lp_strbuf_free(&b);
            rfail(r, off, "%s: %%d needs an integer argument", fname);
            return -1;
        }
        if (!decode_args) {
            char num[32];
            const char *s;
            size_t len;
            value_text(a, num, sizeof num, &s, &len);
            lp_strbuf_append(&b, s, len);
        } else if (a->kind == V_STR && a->origin == O_INPUT) {
            lp_strbuf_append(&b, a->raw, a->raw_len);
        } else if (a->kind == V_STR) {
            /* a literal (or derived) argument: Lilypad json.Unmarshals it too */
            json_error_t jerr;
            json_t *j = json_loadb(a->s, a->len, JSON_DECODE_ANY, &jerr);
            if (j == NULL || !json_is_string(j)) {
                json_decref(j);
                lp_strbuf_free(&b);
                rfail(r, off, "%s: argument %zu is not a JSON-encoded string", fname, next - 1);
                return -1;
            }
            lp_strbuf_append(&b, json_string_value(j), json_string_length(j));
            json_decref(j);
        } else {
            lp_strbuf_free(&b);
            rfail(r, off, "%s: argument %zu is not a string", fname, next - 1);
            return -1;
        }
    }
    if (next != n) {
        lp_strbuf_free(&b);
        rfail(r, off, "%s: %zu arguments given but the format uses %zu", fname, n - 1, next - 1);
        return -1;
    }
    size_t len;
    const char *s = own(r, &b, off, &len);
    if (s == NULL)
        return -1;
    *out = (struct value){.kind = V_STR, .origin = origin, .s = s, .len = len};
    return 0;
}

static int fn_print(struct render *r, size_t off, const struct value *args, size_t n,
                    struct value *out)
{
    for (size_t k = 0; k < n; k++)
        if (need_value(r, &args[k], off, "print") != 0)
            return -1;
    if (n == 1 && args[0].kind == V_STR) { /* Sprint(s) == s: keep where it came from */
        *out = args[0];
        return 0;
    }
    struct lp_strbuf b = {.limit = LP_TEMPLATE_MAX_OUTPUT};
    enum origin origin = O_TRUSTED;
    for (size_t k = 0; k < n; k++) {
        /* Sprint puts a space between operands when neither is a string */
        if (k > 0 && args[k - 1].kind != V_STR && args[k].kind != V_STR)
            lp_strbuf_append(&b, " ", 1);
        char num[32];
        const char *s;
        size_t len;
        value_text(&args[k], num, sizeof num, &s, &len);
        lp_strbuf_append(&b, s, len);
        if (args[k].origin != O_TRUSTED)
            origin = O_TAINTED;
    }
    size_t len;
    const char *s = own(r, &b, off, &len);
    if (s == NULL)
        return -1;
    *out = (struct value){.kind = V_STR, .origin = origin, .s = s, .len = len};
    return 0;
}

static int compare(struct render *r, size_t off, const struct value *a, const struct value *b,
                   bool *equal)
{
    if (need_value(r, a, off, "comparison") != 0 || need_value(r, b, off, "comparison") != 0)
        return -1;
    if (a->kind != b->kind) {
        rfail(r, off, "incompatible types for comparison");
        return -1;
    }
    if (a->kind == V_STR)
        *equal = a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    else if (a->kind == V_INT)
        *equal = a->i == b->i;
    else
        *equal = a->b == b->b;
    return 0;
}

static int check_arity(struct render *r, size_t off, enum tpl_func fn, size_t n)
{
    size_t min = 0, max = SIZE_MAX;
    switch (fn) {
    case TF_NOT:
    case TF_LEN:
        min = max = 1;
        break;
    case TF_NE:
        min = max = 2;
        break;
    case TF_EQ:
        min = 2;
        break;
    case TF_AND:
    case TF_OR:
    case TF_SUBST:
    case TF_PRINTF:
        min = 1;
        break;
    case TF_PRINT:
        break;
    }
    if (n < min || n > max) {
        if (min == max)
            rfail(r, off, "wrong number of args for %s: want %zu got %zu", lp_tpl_func_name(fn),
                  min, n);
        else
            rfail(r, off, "wrong number of args for %s: want at least %zu got %zu",
                  lp_tpl_func_name(fn), min, n);
        return -1;
    }
    return 0;
}

/* Calls fn with the command's arguments args[0..n) and, when piped, one more value last. */
static int call(struct render *r, size_t off, enum tpl_func fn, const struct tpl_arg *args,
                size_t n, const struct value *piped, struct value *out)
{
    size_t total = n + (piped != NULL);
    if (check_arity(r, off, fn, total) != 0)
        return -1;
    if (fn == TF_AND || fn == TF_OR) {
        /* Go 1.18+: evaluation stops at the first argument that decides the result */
        for (size_t k = 0; k < total; k++) {
            if (k < n) {
                if (eval_arg(r, &args[k], out) != 0)
                    return -1;
            } else {
                *out = *piped;
            }
            if (truth(out) == (fn == TF_OR))
                return 0;
        }
        return 0;
    }
    struct value stack[8];
    struct value *vals = total <= 8 ? stack : calloc(total, sizeof *vals);
    if (vals == NULL) {
        rfail(r, off, "out of memory");
        return -1;
    }
    int rc = -1;
    for (size_t k = 0; k < n; k++)
        if (eval_arg(r, &args[k], &vals[k]) != 0)
            goto done;
    if (piped != NULL)
        vals[n] = *piped;
    switch (fn) {
    case TF_NOT:
        *out = (struct value){.kind = V_BOOL, .b = !truth(&vals[0])};
        rc = 0;
        break;
    case TF_LEN:
        if (need_value(r, &vals[0], off, "len") != 0)
            break;
        if (vals[0].kind != V_STR) {
            rfail(r, off, "len of a non-string");
            break;
        }
        *out = (struct value){.kind = V_INT, .i = (int64_t)vals[0].len};
        rc = 0;
        break;
    case TF_EQ:
    case TF_NE: {
        bool any = false;
        for (size_t k = 1; k < total; k++) {
            bool eq;
            if (compare(r, off, &vals[0], &vals[k], &eq) != 0)
                goto done;
            any = any || eq;
        }
        *out = (struct value){.kind = V_BOOL, .b = fn == TF_EQ ? any : !any};
        rc = 0;
        break;
    }
    case TF_SUBST:
        rc = fn_format(r, off, true, "subst", vals, total, out);
        break;
    case TF_PRINTF:
        rc = fn_format(r, off, false, "printf", vals, total, out);
        break;
    case TF_PRINT:
        rc = fn_print(r, off, vals, total, out);
        break;
    case TF_AND:
    case TF_OR:
        break;
    }
done:
    if (vals != stack)
        free(vals);
    return rc;
}

/* ---------- evaluation ---------- */

static int eval_arg(struct render *r, const struct tpl_arg *a, struct value *out)
{
    memset(out, 0, sizeof *out);
    switch (a->kind) {
    case TA_STRING:
        out->kind = V_STR, out->origin = O_TRUSTED, out->s = a->str, out->len = a->len;
        return 0;
    case TA_INT:
        out->kind = V_INT, out->i = a->i;
        return 0;
    case TA_BOOL:
        out->kind = V_BOOL, out->b = a->b;
        return 0;
    case TA_DOT:
        rfail(r, a->off, "\".\" (all inputs at once) cannot be used; name one input as .Key");
        return -1;
    case TA_FIELD: {
        if (a->chained) {
            rfail(r, a->off, "can't evaluate .%s: inputs are strings and have no fields", a->str);
            return -1;
        }
        const struct input *in = find_input(r, a->str);
        if (in == NULL) {
            out->kind = V_MISSING, out->missing = a->str;
            return 0;
        }
        out->kind = V_STR, out->origin = O_INPUT;
        out->s = in->json, out->len = in->json_len;
        out->raw = in->raw, out->raw_len = in->raw_len;
        return 0;
    }
    case TA_FUNC:
        return call(r, a->off, a->fn, NULL, 0, NULL, out);
    case TA_PIPE:
        return eval_pipe(r, a->pipe, out);
    }
    return -1;
}

static int eval_pipe(struct render *r, const struct tpl_pipe *pp, struct value *out)
{
    struct value prev = {0};
    for (size_t c = 0; c < pp->n; c++) {
        const struct tpl_cmd *cmd = &pp->cmds[c];
        struct value v;
        if (cmd->args[0].kind == TA_FUNC) {
            if (call(r, cmd->args[0].off, cmd->args[0].fn, cmd->args + 1, cmd->n - 1,
                     c > 0 ? &prev : NULL, &v) != 0)
                return -1;
        } else if (eval_arg(r, &cmd->args[0], &v) != 0) {
            return -1;
        }
        prev = v;
    }
    *out = prev;
    return 0;
}

/* ---------- output ---------- */

static bool is_json_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return false;
    if (s[i] == '0')
        i++;
    else if (s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    else
        return false;
    if (i < n && s[i] == '.') {
        i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    return i == n;
}

static void emit_raw(struct render *r, const char *s, size_t n)
{
    lp_strbuf_append(&r->out, s, n);
    r->ctx = lp_json_ctx_advance(r->ctx, s, n);
}

static int emit_value(struct render *r, const struct value *v, size_t off)
{
    if (need_value(r, v, off, "print") != 0)
        return -1;
    if (v->kind != V_STR || v->origin == O_TRUSTED) {
        char num[32];
        const char *s;
        size_t n;
        value_text(v, num, sizeof num, &s, &n);
        emit_raw(r, s, n);
        return 0;
    }
    switch (r->ctx) {
    case LP_JSON_AFTER_BACKSLASH:
        rfail(r, off, "an input cannot be inserted right after a backslash in a JSON string");
        return -1;
    case LP_JSON_IN_STRING:
        /* string content: escaped, the string stays open (template.h, 1) */
        lp_json_escape_append(&r->out, v->s, v->len, false);
        return 0;
    case LP_JSON_OUTSIDE:
        if (v->origin == O_INPUT || is_json_number(v->s, v->len)) {
            emit_raw(r, v->s, v->len); /* one JSON string or number token */
        } else {
            lp_strbuf_append(&r->out, "\"", 1);
            lp_json_escape_append(&r->out, v->s, v->len, false);
            lp_strbuf_append(&r->out, "\"", 1);
        }
        return 0;
    }
    return -1;
}

static int render_list(struct render *r, const struct tpl_list *l)
{
    for (size_t i = 0; i < l->n && !r->failed; i++) {
        const struct tpl_node *nd = &l->nodes[i];
        struct value v;
        switch (nd->kind) {
        case TN_TEXT:
            emit_raw(r, nd->text, nd->len);
            break;
        case TN_PRINT:
            if (eval_pipe(r, nd->pipe, &v) != 0 || emit_value(r, &v, nd->off) != 0)
                return -1;
            break;
        case TN_IF:
            if (eval_pipe(r, nd->pipe, &v) != 0)
                return -1;
            if (render_list(r, truth(&v) ? &nd->then_list : &nd->else_list) != 0)
                return -1;
            break;
        }
        if (r->out.overflow) {
            rfail(r, nd->off, "rendered text larger than %u bytes", LP_TEMPLATE_MAX_OUTPUT);
            return -1;
        }
    }
    return r->failed ? -1 : 0;
}

/* Encodes every input as json.Marshal would. */
static int encode_inputs(struct render *r, const struct lp_template_input *inputs, size_t n)
{
    r->inputs = calloc(n ? n : 1, sizeof *r->inputs);
    if (r->inputs == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct input *in = &r->inputs[r->n_inputs];
        const char *value = inputs[i].value ? inputs[i].value : "";
        in->key = inputs[i].key ? inputs[i].key : "";
        in->raw = value;
        in->raw_len = strlen(value);
        if (!lp_json_utf8_valid(value, in->raw_len)) {
            snprintf(r->err->message, sizeof r->err->message,
                     "input %.64s: value is not valid UTF-8", in->key);
            r->failed = true;
            return -1;
        }
        struct lp_strbuf b = {0};
        if (lp_strbuf_append(&b, "\"", 1) != 0 ||
            lp_json_escape_append(&b, value, in->raw_len, true) ||
            lp_strbuf_append(&b, "\"", 1) != 0) {
            lp_strbuf_free(&b);
            return -1;
        }
        in->json = b.data;
        in->json_len = b.len;
        r->n_inputs++;
    }
    return 0;
}

int lp_template_render(const struct lp_template *t, const struct lp_template_input *inputs,
                       size_t n_inputs, char **out, size_t *out_len, struct lp_template_error *err)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    struct render r = {.t = t, .err = err, .out = {.limit = LP_TEMPLATE_MAX_OUTPUT}};
    int rc = -1;
    if (encode_inputs(&r, inputs, n_inputs) != 0) {
        if (!r.failed)
            snprintf(err->message, sizeof err->message, "%s: out of memory", t->name);
        goto done;
    }
    if (render_list(&r, &t->root) != 0)
        goto done;
    if (r.out.overflow) {
        snprintf(err->message, sizeof err->message, "%s: rendered text larger than %u bytes",
                 t->name, LP_TEMPLATE_MAX_OUTPUT);
        goto done;
    }
    if (r.out.data == NULL && lp_strbuf_append(&r.out, "", 0) != 0)
        goto done;
    *out = r.out.data;
    if (out_len)
        *out_len = r.out.len;
    r.out.data = NULL;
    rc = 0;
done:
    lp_strbuf_free(&r.out);
    for (size_t i = 0; i < r.n_inputs; i++)
        free(r.inputs[i].json);
    free(r.inputs);
    for (size_t i = 0; i < r.n_owned; i++)
        free(r.owned[i]);
    free(r.owned);
    return rc;
}
