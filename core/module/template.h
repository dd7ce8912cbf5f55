/* The subset of Go's text/template that published Lilypad modules use, for rendering
 * lilypad_module.json.tmpl.
 *
 * Written by hand: no C library implements Go templates, and the subset is small. Supported:
 *   text, {{ pipeline }}, {{- / -}} whitespace trimming, comments (slash-star ... star-slash
 *   right inside the braces),
 *   {{if P}} ... {{else if P}} ... {{else}} ... {{end}},
 *   operands .Key, "string" (Go escapes), `raw string`, integers, true, false, ( pipeline ),
 *   pipelines  a | f b  (the left value becomes f's last argument),
 *   functions  subst (Lilypad's), and, or, not, eq, ne, len, print, printf.
 * Anything else (range, with, define, variables, other functions) is a parse error naming the
 * construct. Errors read "NAME:LINE:COL: what" (LINE and COL 1-based, COL in bytes).
 *
 * The data are the job creator's inputs (-i KEY=VALUE), each JSON-encoded first, exactly as
 * Lilypad does (json.Marshal, so {{.Message}} prints "moo" with its quotes). A key with no input
 * is false in {{if}} and the default of {{or}}.
 *
 * Where rendering differs from Go's text/template (which never escapes anything), and why:
 *  1. Injection. Text derived from an input's raw value (subst/printf/print results) is written
 *     according to the JSON context it lands in, tracked byte by byte over the output:
 *       - inside a JSON string: escaped as string content (\" \\ \n \u00XX ...). Go inserts it
 *         as is, so an input with a quote ends the string and can add fields (e.g. Message=
 *         `x","Image":"evil` in lilysay's "{{ subst "MESSAGE=%s" .Message }}"). For inputs
 *         without " \ or control characters the output is byte-identical to Go's.
 *       - outside a string: kept as is when it is one JSON number (so "steps": {{subst "%s"
 *         .Steps}} still gives 30), otherwise written as a quoted JSON string. Go writes it raw.
 *       - right after a backslash inside a string: an error (the escape would swallow our
 *         first byte).
 *     An input's JSON encoding ({{.Key}}) is written as is outside a string (identical to Go,
 *     and already a single JSON string token); inside a string (`"a {{.Key}}"`, which in Go
 *     yields `"a "x""`, invalid JSON for every input, or structure for inputs like `, 1, `),
 *     it is escaped as string content.
 *     Template literals are the module author's text and are written as is, like Go.
 *  2. Printing a key that has no input is an error naming the key; Go prints "<no value>".
 *  3. subst/printf: arguments must decode to JSON strings and verbs are limited to %s %v %%;
 *     Go would print "%!s(float64=1)"-style text or "%!(EXTRA ...)" instead of failing.
 *  4. Inputs must be valid UTF-8 (Go silently replaces bad bytes with U+FFFD).
 *  5. Comparisons (eq/ne) take strings, integers and booleans only, like Go's basic kinds. */
#ifndef LP_MODULE_TEMPLATE_H
#define LP_MODULE_TEMPLATE_H

#include <stddef.h>

#define LP_TEMPLATE_MAX_TEXT   (1024u * 1024u)      /* template source */
#define LP_TEMPLATE_MAX_OUTPUT (4u * 1024u * 1024u) /* rendered text */
#define LP_TEMPLATE_MAX_DEPTH  64                   /* nested ifs and parentheses */

struct lp_template;

struct lp_template_error {
    char message[384];
};

/* One input: raw key and value as given on the command line (not yet JSON-encoded). When a key
 * appears twice the later one wins, as in Lilypad's map. */
struct lp_template_input {
    const char *key;
    const char *value;
};

/* Parses text (len bytes, NUL bytes refused) named `name` for error messages. */
int lp_template_parse(const char *name, const char *text, size_t len, struct lp_template **out,
                      struct lp_template_error *err);

/* Renders with the inputs. *out is malloc'd and NUL-terminated, *out_len its length. */
int lp_template_render(const struct lp_template *t, const struct lp_template_input *inputs,
                       size_t n_inputs, char **out, size_t *out_len, struct lp_template_error *err);

void lp_template_free(struct lp_template *t);

#endif
