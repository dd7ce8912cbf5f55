/* Template parser and renderer. Input layout: the template text, then optionally a NUL byte and
 * inputs as "KEY=VALUE" lines. Whatever parses must render or fail with a one-line
 * "NAME:LINE:COL: ..." error, and a successful rendering of a template that wraps a single
 * subst inside a JSON string must give JSON in which the input is that string's content. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    const char *text = (const char *)data;
    const char *nul = memchr(data, '\0', size);
    size_t tlen = nul ? (size_t)(nul - text) : size;

    char *in_copy = NULL;
    struct lp_template_input inputs[MAX_INPUTS];
    size_t n = 0;
    if (nul != NULL) {
        size_t ilen = size - tlen - 1;
        in_copy = malloc(ilen + 1);
        if (in_copy == NULL)
            return 0;
        memcpy(in_copy, nul + 1, ilen);
        in_copy[ilen] = '\0';
        for (char *line = in_copy; line && n < MAX_INPUTS;) {
            char *next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            char *eq = strchr(line, '=');
            if (eq) {
                *eq = '\0';
                inputs[n].key = line;
                inputs[n].value = eq + 1;
                n++;
            }
            line = next;
        }
    }

    struct lp_template *t = NULL;
    struct lp_template_error err;
    memset(&err, 0, sizeof err);
    if (lp_template_parse("fuzz", text, tlen, &t, &err) != 0) {
        if (strchr(err.message, '\n') != NULL || strncmp(err.message, "fuzz", 4) != 0)
            abort();
        free(in_copy);
        return 0;
    }
    char *out = NULL;
    size_t out_len = 0;
    if (lp_template_render(t, inputs, n, &out, &out_len, &err) == 0) {
        if (strlen(out) > out_len)
            abort();
        free(out);
    } else if (strchr(err.message, '\n') != NULL) {
        abort();
    }
    lp_template_free(t);

    /* injection oracle: every input through a fixed lilysay-shaped template */
    static const char *probe = "{\"m\": \"{{ subst \"%s\" .A }}\", \"v\": {{ .A }}}";
    if (n > 0 && lp_template_parse("probe", probe, strlen(probe), &t, &err) == 0) {
        struct lp_template_input a = {"A", inputs[0].value};
        if (lp_template_render(t, &a, 1, &out, &out_len, &err) == 0) {
            json_t *root = json_loadb(out, out_len, JSON_REJECT_DUPLICATES, NULL);
            if (root == NULL || json_object_size(root) != 2 ||
                strcmp(json_string_value(json_object_get(root, "m")), a.value) != 0 ||
                strcmp(json_string_value(json_object_get(root, "v")), a.value) != 0)
                abort();
            json_decref(root);
            free(out);
        }
        lp_template_free(t);
    }
    free(in_copy);
    return 0;
}
