#include "config/config.h"

#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_impl.h"
#include "util/small_file.h"

/* Settings files are a few KiB; anything near this is not one. */
#define LP_CONFIG_FILE_MAX (1u << 20)

/* Everything a filled struct points to is allocated here and freed together. */
struct lp_config_values {
    void *data;
    void **allocs;
    size_t n_allocs, cap_allocs;
};

static const config_setting_t *as_setting(const struct lp_cfg_node *node)
{
    return (const config_setting_t *)node;
}

static int load_common(struct lp_config *c, const char *name, int rc, char *err, size_t errlen)
{
    if (rc == CONFIG_TRUE)
        return 0;
    const char *file = config_error_file(&c->cfg);
    if (config_error_type(&c->cfg) == CONFIG_ERR_FILE_IO)
        snprintf(err, errlen, "%s: cannot read: %s", name, strerror(errno ? errno : ENOENT));
    else
        snprintf(err, errlen, "%s:%d: %s", file ? file : name, config_error_line(&c->cfg),
                 config_error_text(&c->cfg));
    return -1;
}

static struct lp_config *config_new(const char *name)
{
    struct lp_config *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    config_init(&c->cfg);
    c->file = strdup(name);
    char *copy = strdup(name);
    c->dir = copy ? strdup(dirname(copy)) : NULL;
    free(copy);
    if (c->file == NULL || c->dir == NULL) {
        lp_config_free(c);
        return NULL;
    }
    config_set_include_dir(&c->cfg, c->dir);
    return c;
}

int lp_config_load_file(const char *path, struct lp_config **out, char *err, size_t errlen)
{
    struct lp_config *c = config_new(path);
    if (c == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    /* Read here rather than by libconfig's fopen, which would hang on a FIFO and read
     * /dev/zero without end: a regular file of at most 1 MiB, or one clear line. */
    size_t len = 0;
    char *text =
        lp_small_file_read(path, LP_CONFIG_FILE_MAX, "a settings file", &len, NULL, err, errlen);
    if (text == NULL) {
        lp_config_free(c);
        return -1;
    }
    int rc = load_common(c, path, config_read_string(&c->cfg, text), err, errlen);
    lp_small_file_free(text, len);
    if (rc != 0) {
        lp_config_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

int lp_config_load_string(const char *text, const char *name, struct lp_config **out, char *err,
                          size_t errlen)
{
    struct lp_config *c = config_new(name);
    if (c == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    if (load_common(c, name, config_read_string(&c->cfg, text), err, errlen) != 0) {
        lp_config_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

void lp_config_free(struct lp_config *cfg)
{
    if (cfg == NULL)
        return;
    config_destroy(&cfg->cfg);
    free(cfg->file);
    free(cfg->dir);
    free(cfg);
}

const char *lp_config_file(const struct lp_config *cfg)
{
    return cfg->file;
}

const char *lp_config_dir(const struct lp_config *cfg)
{
    return cfg->dir;
}

const struct lp_cfg_node *lp_config_lookup(const struct lp_config *cfg, const char *path)
{
    if (cfg == NULL)
        return NULL;
    return (const struct lp_cfg_node *)config_lookup(&cfg->cfg, path);
}

int lp_config_node_line(const struct lp_cfg_node *node)
{
    return node ? config_setting_source_line(as_setting(node)) : 0;
}

const char *lp_config_node_file(const struct lp_config *cfg, const struct lp_cfg_node *node)
{
    const char *f = node ? config_setting_source_file(as_setting(node)) : NULL;
    return f ? f : cfg->file;
}

bool lp_config_node_is_group(const struct lp_cfg_node *node)
{
    return node && config_setting_is_group(as_setting(node));
}

size_t lp_config_list_length(const struct lp_cfg_node *node)
{
    const config_setting_t *s = as_setting(node);
    if (s == NULL || (!config_setting_is_list(s) && !config_setting_is_array(s)))
        return 0;
    return (size_t)config_setting_length(s);
}

const struct lp_cfg_node *lp_config_list_item(const struct lp_cfg_node *node, size_t index)
{
    if (index >= lp_config_list_length(node))
        return NULL;
    return (const struct lp_cfg_node *)config_setting_get_elem(as_setting(node), (unsigned)index);
}

const char *lp_config_node_string(const struct lp_cfg_node *node)
{
    const config_setting_t *s = as_setting(node);
    return s && config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
}

const char **lp_config_group_keys(const struct lp_cfg_node *group, size_t *count)
{
    const config_setting_t *g = as_setting(group);
    int n = g != NULL && config_setting_is_group(g) ? config_setting_length(g) : 0;
    const char **keys = calloc((size_t)n + 1, sizeof(*keys));
    if (keys == NULL)
        return NULL;
    for (int i = 0; i < n; i++)
        keys[i] = config_setting_name(config_setting_get_elem(g, (unsigned)i));
    *count = (size_t)n;
    return keys;
}

const char *lp_cfg_type_name(uint32_t type)
{
    switch (type) {
    case LP_CFG_STRING:
        return "string";
    case LP_CFG_INT:
        return "integer";
    case LP_CFG_BOOL:
        return "boolean";
    case LP_CFG_SIZE:
        return "size";
    case LP_CFG_DURATION:
        return "duration";
    case LP_CFG_STRING_LIST:
        return "list of strings";
    case LP_CFG_INT_LIST:
        return "list of integers";
    }
    return "unknown type";
}

static const char *setting_type_name(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a float";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    }
    return "nothing";
}

static void *values_alloc(struct lp_config_values *v, size_t size)
{
    if (v->n_allocs == v->cap_allocs) {
        size_t cap = v->cap_allocs ? v->cap_allocs * 2 : 8;
        void **grown = realloc(v->allocs, cap * sizeof(*grown));
        if (grown == NULL)
            return NULL;
        v->allocs = grown;
        v->cap_allocs = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (p != NULL)
        v->allocs[v->n_allocs++] = p;
    return p;
}

static char *values_strdup(struct lp_config_values *v, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = values_alloc(v, n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/* "512M", "2G", "1KiB", "4096" -> bytes (binary multiples, as memory and disk limits are). */
static int parse_size(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (end == text || errno != 0 || text[0] == '-')
        return -1;
    uint64_t mul = 1;
    switch (*end) {
    case '\0':
        break;
    case 'K':
    case 'k':
        mul = UINT64_C(1) << 10;
        end++;
        break;
    case 'M':
        mul = UINT64_C(1) << 20;
        end++;
        break;
    case 'G':
        mul = UINT64_C(1) << 30;
        end++;
        break;
    case 'T':
        mul = UINT64_C(1) << 40;
        end++;
        break;
    default:
        return -1;
    }
    if (mul > 1 && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
        end += strlen(end);
    if (*end != '\0' || (n != 0 && mul > UINT64_MAX / n))
        return -1;
    *out = n * mul;
    return 0;
}

/* "250ms", "30s", "5m", "2h", "1d" -> milliseconds. */
static int parse_duration(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (end == text || errno != 0 || text[0] == '-')
        return -1;
    uint64_t mul;
    if (strcmp(end, "ms") == 0)
        mul = 1;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        mul = 1000;
    else if (strcmp(end, "m") == 0)
        mul = 60 * 1000;
    else if (strcmp(end, "h") == 0)
        mul = 3600 * 1000;
    else if (strcmp(end, "d") == 0)
        mul = 86400 * 1000;
    else
        return -1;
    if (n != 0 && mul > UINT64_MAX / n)
        return -1;
    *out = n * mul;
    return 0;
}

static const char *type_hint(uint32_t type)
{
    switch (type) {
    case LP_CFG_STRING:
        return "a string in double quotes";
    case LP_CFG_INT:
        return "an integer";
    case LP_CFG_BOOL:
        return "true or false";
    case LP_CFG_SIZE:
        return "a size such as 4096, \"512M\" or \"2G\"";
    case LP_CFG_DURATION:
        return "a duration such as 30 (seconds), \"250ms\", \"5m\" or \"2h\"";
    case LP_CFG_STRING_LIST:
        return "a list of strings such as [\"a\", \"b\"]";
    case LP_CFG_INT_LIST:
        return "a list of integers such as [0, 1]";
    }
    return "?";
}

/* Converts one libconfig value into the field's C representation at dst. */
static int convert_value(struct lp_config_values *v, const struct lp_cfg_field *f,
                         const config_setting_t *s, void *dst)
{
    int t = config_setting_type(s);
    bool is_int = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
    switch (f->type) {
    case LP_CFG_STRING: {
        if (t != CONFIG_TYPE_STRING)
            return -1;
        const char *copy = values_strdup(v, config_setting_get_string(s));
        if (copy == NULL)
            return -1;
        memcpy(dst, &copy, sizeof(copy));
        return 0;
    }
    case LP_CFG_INT: {
        if (!is_int)
            return -1;
        int64_t n = config_setting_get_int64(s);
        memcpy(dst, &n, sizeof(n));
        return 0;
    }
    case LP_CFG_BOOL: {
        if (t != CONFIG_TYPE_BOOL)
            return -1;
        bool b = config_setting_get_bool(s) != 0;
        memcpy(dst, &b, sizeof(b));
        return 0;
    }
    case LP_CFG_SIZE:
    case LP_CFG_DURATION: {
        uint64_t n;
        if (is_int) {
            long long raw = config_setting_get_int64(s);
            if (raw < 0)
                return -1;
            n = (uint64_t)raw;
            if (f->type == LP_CFG_DURATION) {
                if (n > UINT64_MAX / 1000)
                    return -1;
                n *= 1000;
            }
        } else if (t == CONFIG_TYPE_STRING) {
            const char *text = config_setting_get_string(s);
            int rc = f->type == LP_CFG_SIZE ? parse_size(text, &n) : parse_duration(text, &n);
            if (rc != 0)
                return -1;
        } else {
            return -1;
        }
        memcpy(dst, &n, sizeof(n));
        return 0;
    }
    case LP_CFG_STRING_LIST:
    case LP_CFG_INT_LIST: {
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
            return -1;
        int n = config_setting_length(s);
        bool strings = f->type == LP_CFG_STRING_LIST;
        void *items = values_alloc(v, (size_t)n * (strings ? sizeof(char *) : sizeof(int64_t)));
        if (items == NULL)
            return -1;
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            int et = config_setting_type(e);
            if (strings) {
                if (et != CONFIG_TYPE_STRING)
                    return -1;
                const char *copy = values_strdup(v, config_setting_get_string(e));
                if (copy == NULL)
                    return -1;
                ((const char **)items)[i] = copy;
            } else {
                if (et != CONFIG_TYPE_INT && et != CONFIG_TYPE_INT64)
                    return -1;
                ((int64_t *)items)[i] = config_setting_get_int64(e);
            }
        }
        if (strings) {
            struct lp_str_list list = {(size_t)n, (const char *const *)items};
            memcpy(dst, &list, sizeof(list));
        } else {
            struct lp_int_list list = {(size_t)n, (const int64_t *)items};
            memcpy(dst, &list, sizeof(list));
        }
        return 0;
    }
    }
    return -1;
}

static size_t field_size(uint32_t type)
{
    switch (type) {
    case LP_CFG_STRING:
        return sizeof(const char *);
    case LP_CFG_INT:
        return sizeof(int64_t);
    case LP_CFG_BOOL:
        return sizeof(bool);
    case LP_CFG_SIZE:
    case LP_CFG_DURATION:
        return sizeof(uint64_t);
    case LP_CFG_STRING_LIST:
        return sizeof(struct lp_str_list);
    case LP_CFG_INT_LIST:
        return sizeof(struct lp_int_list);
    }
    return 0;
}

/* Parses a schema default by reading it as the value of a one-line config file, so defaults
 * are written exactly like values in a file and go through the same conversion. */
static int convert_default(struct lp_config_values *v, const struct lp_cfg_field *f, void *dst)
{
    size_t len = strlen(f->default_value) + 8;
    char *text = malloc(len);
    if (text == NULL)
        return -1;
    snprintf(text, len, "v = %s;", f->default_value);
    config_t tmp;
    config_init(&tmp);
    int rc = -1;
    if (config_read_string(&tmp, text) == CONFIG_TRUE) {
        const config_setting_t *s = config_lookup(&tmp, "v");
        if (s != NULL)
            rc = convert_value(v, f, s, dst);
    }
    config_destroy(&tmp);
    free(text);
    return rc;
}

static void append(char *buf, size_t len, const char *fmt, ...) LP_PRINTF(3, 4);
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

static void valid_keys(const struct lp_cfg_field *schema, const char *const *extra, char *buf,
                       size_t len)
{
    buf[0] = '\0';
    bool first = true;
    for (const struct lp_cfg_field *f = schema; f && f->key; f++) {
        append(buf, len, "%s%s", first ? "" : ", ", f->key);
        first = false;
    }
    for (const char *const *e = extra; e && *e; e++) {
        append(buf, len, "%s%s", first ? "" : ", ", *e);
        first = false;
    }
    if (first)
        append(buf, len, "(none)");
}

static const char *node_file(const struct lp_config *cfg, const config_setting_t *s)
{
    const char *f = s ? config_setting_source_file(s) : NULL;
    return f ? f : cfg->file;
}

int lp_config_check_schema(const struct lp_cfg_field *schema, size_t struct_size, char *err,
                           size_t errlen)
{
    struct lp_config_values scratch = {0};
    uint8_t *data = calloc(1, struct_size ? struct_size : 1);
    int rc = data ? 0 : -1;
    for (const struct lp_cfg_field *f = schema; rc == 0 && f && f->key; f++) {
        size_t size = field_size(f->type);
        if (size == 0) {
            snprintf(err, errlen, "key \"%s\" has unknown type %u", f->key, f->type);
            rc = -1;
        } else if (f->offset > struct_size || size > struct_size - f->offset) {
            snprintf(err, errlen, "key \"%s\" lies outside its %zu-byte config struct", f->key,
                     struct_size);
            rc = -1;
        } else if (f->default_value && convert_default(&scratch, f, data + f->offset) != 0) {
            snprintf(err, errlen, "key \"%s\": default %s is not %s", f->key, f->default_value,
                     type_hint(f->type));
            rc = -1;
        }
    }
    for (size_t i = 0; i < scratch.n_allocs; i++)
        free(scratch.allocs[i]);
    free(scratch.allocs);
    free(data);
    return rc;
}

int lp_config_apply_schema(const struct lp_config *cfg, const char *group_path,
                           const struct lp_cfg_field *schema, size_t struct_size,
                           const char *const *extra_keys, struct lp_config_values **out, char *err,
                           size_t errlen)
{
    struct lp_config_values *v = calloc(1, sizeof(*v));
    if (v == NULL || (v->data = values_alloc(v, struct_size)) == NULL) {
        snprintf(err, errlen, "out of memory");
        lp_config_values_free(v);
        return -1;
    }
    const config_setting_t *group = NULL;
    if (cfg != NULL)
        group = *group_path ? config_lookup(&cfg->cfg, group_path) : config_root_setting(&cfg->cfg);
    const char *where = *group_path ? group_path : "(top level)";

    if (group != NULL && !config_setting_is_group(group)) {
        snprintf(err, errlen, "%s:%d: %s: expected a group { ... }, got %s", node_file(cfg, group),
                 config_setting_source_line(group), where, setting_type_name(group));
        goto fail;
    }
    /* Unknown keys first: a typo is the likeliest mistake and deserves the list of valid keys. */
    for (int i = 0; group && i < config_setting_length(group); i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        bool known = false;
        for (const struct lp_cfg_field *f = schema; f && f->key && !known; f++)
            known = strcmp(f->key, name) == 0;
        for (const char *const *e = extra_keys; e && *e && !known; e++)
            known = strcmp(*e, name) == 0;
        if (!known) {
            char keys[768];
            valid_keys(schema, extra_keys, keys, sizeof(keys));
            snprintf(err, errlen, "%s:%d: %s: unknown key \"%s\"; valid keys: %s",
                     node_file(cfg, s), config_setting_source_line(s), where, name, keys);
            goto fail;
        }
    }
    for (const struct lp_cfg_field *f = schema; f && f->key; f++) {
        uint8_t *dst = (uint8_t *)v->data + f->offset;
        const config_setting_t *s = group ? config_setting_get_member(group, f->key) : NULL;
        if (s != NULL) {
            if (convert_value(v, f, s, dst) != 0) {
                snprintf(err, errlen, "%s:%d: %s.%s: expected %s, got %s", node_file(cfg, s),
                         config_setting_source_line(s), where, f->key, type_hint(f->type),
                         config_setting_is_scalar(s) && config_setting_type(s) == CONFIG_TYPE_STRING
                             ? "a string that does not parse"
                             : setting_type_name(s));
                goto fail;
            }
        } else if (f->flags & LP_CFG_REQUIRED) {
            if (group != NULL)
                snprintf(err, errlen, "%s:%d: %s: missing required key \"%s\" (%s: %s)",
                         node_file(cfg, group), config_setting_source_line(group), where, f->key,
                         lp_cfg_type_name(f->type), f->description ? f->description : "");
            else
                snprintf(err, errlen, "%s: %s: missing required key \"%s\" (%s: %s)",
                         cfg ? cfg->file : "(no configuration file)", where, f->key,
                         lp_cfg_type_name(f->type), f->description ? f->description : "");
            goto fail;
        } else if (f->default_value && convert_default(v, f, dst) != 0) {
            snprintf(err, errlen, "%s.%s: the schema's default %s is not %s", where, f->key,
                     f->default_value, type_hint(f->type));
            goto fail;
        }
    }
    *out = v;
    return 0;
fail:
    lp_config_values_free(v);
    return -1;
}

const void *lp_config_values_data(const struct lp_config_values *values)
{
    return values->data;
}

void lp_config_values_free(struct lp_config_values *values)
{
    if (values == NULL)
        return;
    for (size_t i = 0; i < values->n_allocs; i++)
        free(values->allocs[i]);
    free(values->allocs);
    free(values);
}

static void dump_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

void lp_config_values_dump(FILE *out, const struct lp_cfg_field *schema, const void *data,
                           int indent)
{
    for (const struct lp_cfg_field *f = schema; f && f->key; f++) {
        const uint8_t *src = (const uint8_t *)data + f->offset;
        fprintf(out, "%*s%s = ", indent, "", f->key);
        if (f->flags & LP_CFG_SECRET) {
            fputs("\"********\";\n", out);
            continue;
        }
        switch (f->type) {
        case LP_CFG_STRING: {
            const char *s;
            memcpy(&s, src, sizeof(s));
            if (s)
                dump_string(out, s);
            else
                fputs("\"\"", out);
            break;
        }
        case LP_CFG_INT: {
            int64_t n;
            memcpy(&n, src, sizeof(n));
            fprintf(out, "%" PRId64 "L", n);
            break;
        }
        case LP_CFG_BOOL: {
            bool b;
            memcpy(&b, src, sizeof(b));
            fputs(b ? "true" : "false", out);
            break;
        }
        case LP_CFG_SIZE: {
            uint64_t n;
            memcpy(&n, src, sizeof(n));
            fprintf(out, "%" PRIu64 "L", n);
            break;
        }
        case LP_CFG_DURATION: {
            uint64_t n;
            memcpy(&n, src, sizeof(n));
            /* The largest unit that states it exactly, as a person would write it. */
            static const struct {
                uint64_t ms;
                const char *unit;
            } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
            size_t u = 0;
            while (n != 0 && n % units[u].ms != 0)
                u++;
            if (n == 0)
                u = 3;
            fprintf(out, "\"%" PRIu64 "%s\"", n / units[u].ms, units[u].unit);
            break;
        }
        case LP_CFG_STRING_LIST: {
            struct lp_str_list l;
            memcpy(&l, src, sizeof(l));
            fputc('[', out);
            for (size_t i = 0; i < l.count; i++) {
                fputs(i ? ", " : " ", out);
                dump_string(out, l.items[i]);
            }
            fputs(l.count ? " ]" : "]", out);
            break;
        }
        case LP_CFG_INT_LIST: {
            struct lp_int_list l;
            memcpy(&l, src, sizeof(l));
            fputc('[', out);
            for (size_t i = 0; i < l.count; i++)
                fprintf(out, "%s%" PRId64, i ? ", " : " ", l.items[i]);
            fputs(l.count ? " ]" : "]", out);
            break;
        }
        }
        fputs(";\n", out);
    }
}
