/* The Go text/template subset: each construct against the output Go would give, the JSON-context
 * escaping that stops input injection, and one-line errors with name:line:col. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "module/template.h"

static struct lp_template_error err;

/* Renders src with "K=V" inputs (NULL-terminated); returns the output or NULL (err set). */
static char *render_v(const char *src, const char *const *kv)
{
    struct lp_template_input in[16];
    char keys[16][64];
    size_t n = 0;
    for (; kv && kv[n]; n++) {
        const char *eq = strchr(kv[n], '=');
        assert_non_null(eq);
        snprintf(keys[n], sizeof keys[n], "%.*s", (int)(eq - kv[n]), kv[n]);
        in[n].key = keys[n];
        in[n].value = eq + 1;
    }
    struct lp_template *t = NULL;
    memset(&err, 0, sizeof err);
    if (lp_template_parse("t", src, strlen(src), &t, &err) != 0)
        return NULL;
    char *out = NULL;
    size_t len = 0;
    int rc = lp_template_render(t, in, n, &out, &len, &err);
    lp_template_free(t);
    if (rc != 0)
        return NULL;
    assert_int_equal(len, strlen(out));
    return out;
}

#define render(src, ...) render_v((src), (const char *const[]){__VA_ARGS__, NULL})

static void expect(const char *src, const char *want, const char *const *kv)
{
    char *out = render_v(src, kv);
    if (out == NULL)
        fail_msg("%s: unexpected error: %s", src, err.message);
    if (strcmp(out, want) != 0)
        fail_msg("%s: got [%s] want [%s]", src, out, want);
    free(out);
}

#define EXPECT(src, want, ...) expect((src), (want), (const char *const[]){__VA_ARGS__ NULL})

static void expect_error(const char *src, const char *want, const char *const *kv)
{
    char *out = render_v(src, kv);
    if (out != NULL)
        fail_msg("%s: rendered [%s], expected error %s", src, out, want);
    if (strstr(err.message, want) == NULL)
        fail_msg("%s: error [%s] lacks [%s]", src, err.message, want);
    assert_null(strchr(err.message, '\n'));
}

#define EXPECT_ERROR(src, want, ...)                                                               \
    expect_error((src), (want), (const char *const[]){__VA_ARGS__ NULL})

static void test_go_semantics(void **state)
{
    (void)state;
    /* inputs arrive JSON-encoded (json.Marshal), HTML-safe like Go */
    EXPECT("[{{.A}}]", "[\"moo\"]", "A=moo", );
    EXPECT("{{.A}}", "\"\\u003cb\\u003e \\u0026 \\\"q\\\"\\n\"", "A=<b> & \"q\"\n", );
    EXPECT("{{ .A }}", "\"\"", "A=", );
    /* if: missing key false, present key true even when empty (its encoding is "") */
    EXPECT("{{if .A}}yes{{else}}no{{end}}", "no", );
    EXPECT("{{if .A}}yes{{else}}no{{end}}", "yes", "A=", );
    EXPECT("{{if .A}}a{{else if .B}}b{{else}}c{{end}}", "b", "B=1", );
    EXPECT("{{if .A}}a{{else if .B}}b{{else}}c{{end}}", "c", );
    EXPECT("{{if .A}}a{{end}}|", "|", );
    EXPECT("{{if .A}}{{if .B}}ab{{else}}a{{end}}{{end}}", "a", "A=1", );
    /* trim markers and comments */
    EXPECT("x  \n {{- .A -}} \n  y", "x\"1\"y", "A=1", );
    EXPECT("x {{/* note */}} y", "x  y", );
    EXPECT("x {{- /* note */ -}} y", "xy", );
    EXPECT("{{- .A}}", "\"1\"", "A=1", );
    /* {{-3}} is the number -3, not a trim marker */
    EXPECT("a {{-3}}", "a -3", );
    /* literals: Go escapes, raw strings, numbers, booleans */
    EXPECT("{{\"a\\tb\\u00e9\\x41\\101\"}}",
           "a\tb\xc3\xa9"
           "AA", );
    EXPECT("{{`raw \"q\" \\n`}}", "raw \"q\" \\n", );
    EXPECT("{{true}} {{false}} {{42}}", "true false 42", );
    /* or/and/not/eq/ne/len */
    EXPECT("{{or .A \"\\\"dflt\\\"\"}}", "\"dflt\"", );
    EXPECT("{{or .A \"\\\"dflt\\\"\"}}", "\"given\"", "A=given", );
    EXPECT("{{and .A .B}}", "\"b\"", "A=a", "B=b", );
    EXPECT("{{if not .A}}none{{end}}", "none", );
    EXPECT("{{if eq .A \"\\\"x\\\"\"}}X{{end}}{{if ne .A \"x\"}}N{{end}}", "XN", "A=x", );
    EXPECT("{{if eq 1 2 1}}in{{end}}", "in", );
    EXPECT("{{len .A}}", "5", "A=abc", );
    /* subst decodes its arguments; pipelines pass the value as the last argument */
    EXPECT("\"{{ subst \"K=%s\" .A }}\"", "\"K=v 1\"", "A=v 1", );
    EXPECT("\"{{ .A | subst \"K=%s\" }}\"", "\"K=v\"", "A=v", );
    EXPECT("\"{{ subst \"%s-%s\" .A \"\\\"lit\\\"\" }}\"", "\"v-lit\"", "A=v", );
    EXPECT("{{ printf \"%d%%\" 5 }}", "5%", );
    EXPECT("{{ (or .A .B) }}", "\"b\"", "B=b", );
    /* later of two equal keys wins, as in Lilypad's map */
    EXPECT("{{.A}}", "\"2\"", "A=1", "A=2", );
}

/* The value of key "m" after parsing out as JSON, which must have exactly the keys listed. */
static void check_only_m(const char *out, const char *value)
{
    json_error_t jerr;
    json_t *root = json_loads(out, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        fail_msg("not JSON: [%s]: %s", out, jerr.text);
    assert_int_equal(json_object_size(root), 2);
    json_t *m = json_object_get(root, "m");
    if (!json_is_string(m) || strcmp(json_string_value(m), value) != 0)
        fail_msg("m changed: [%s] for value [%s]", out, value);
    assert_string_equal(json_string_value(json_object_get(root, "Image")), "good");
    json_decref(root);
}

static const char *const NASTY[] = {
    "\"",
    "\\",
    "\\\"",
    "\",\"Image\":\"evil",
    "x\",\"Image\":\"evil\",\"y\":\"",
    "\"}",
    "\"}, \"Image\": \"evil\"}",
    "line1\nline2\r\n\ttab",
    "}}{{.A}}",
    "{{ .A }}",
    "\\u0022,\\\"Image\\\":1",
    "ctl \x01\x1f\x7f",
    "<script>&amp;</script>",
    "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x90\x84",
    "\\",
    "]}",
    "",
};

static void test_injection(void **state)
{
    (void)state;
    /* the lilysay shape: subst inside a JSON string (Go: injectable) */
    const char *in_string = "{\"m\": \"{{ subst \"%s\" .A }}\", \"Image\": \"good\"}";
    /* the cowsay shape: the encoded input as a JSON value (Go: already safe) */
    const char *as_value = "{\"m\": {{.A}}, \"Image\": \"good\"}";
    /* an input printed inside a string (Go: broken or injectable JSON) */
    const char *raw_in_string = "{\"m\": \"{{.A}}\", \"Image\": \"good\"}";
    /* subst output outside a string (Go: raw structure) */
    const char *subst_value = "{\"m\": {{subst \"%s\" .A}}, \"Image\": \"good\"}";
    for (size_t i = 0; i < sizeof NASTY / sizeof NASTY[0]; i++) {
        char kv[256];
        snprintf(kv, sizeof kv, "A=%s", NASTY[i]);
        char *out = render(in_string, kv);
        assert_non_null(out);
        check_only_m(out, NASTY[i]);
        free(out);
        out = render(as_value, kv);
        assert_non_null(out);
        check_only_m(out, NASTY[i]);
        free(out);
        out = render(subst_value, kv);
        assert_non_null(out);
        if (NASTY[i][0] != '\0')
            check_only_m(out, NASTY[i]);
        free(out);
        /* inside a string the input's JSON encoding is kept as content, quotes included */
        out = render(raw_in_string, kv);
        assert_non_null(out);
        json_t *enc = json_string(NASTY[i]);
        char *encoded = json_dumps(enc, JSON_ENCODE_ANY);
        json_decref(enc);
        json_t *root = json_loads(out, 0, NULL);
        assert_non_null(root);
        assert_int_equal(json_object_size(root), 2);
        assert_string_equal(json_string_value(json_object_get(root, "Image")), "good");
        /* m is the Go encoding: same text as jansson's up to HTML-safe escapes, so decode both */
        json_t *m_dec =
            json_loads(json_string_value(json_object_get(root, "m")), JSON_DECODE_ANY, NULL);
        assert_non_null(m_dec);
        assert_string_equal(json_string_value(m_dec), NASTY[i]);
        json_decref(m_dec);
        free(encoded);
        json_decref(root);
        free(out);
    }
    /* the array case Go gets wrong: ["a {{.A}} b"] with A=", 1, " is one element here */
    char *out = render("[\"a {{.A}} b\"]", "A=, 1, ");
    assert_non_null(out);
    json_t *arr = json_loads(out, 0, NULL);
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
    free(out);
    /* a number through subst outside a string stays a number, like Go */
    out = render("{\"n\": {{subst \"%s\" .A}}}", "A=30");
    assert_string_equal(out, "{\"n\": 30}");
    free(out);
    out = render("{\"n\": {{subst \"%s\" .A}}}", "A=1, \"x\": 2");
    assert_string_equal(out, "{\"n\": \"1, \\\"x\\\": 2\"}");
    free(out);
    /* right after a backslash in a string: refused rather than letting the escape eat a byte */
    EXPECT_ERROR("\"C:\\{{subst \"%s\" .A}}\"", "after a backslash", "A=\"", );
    /* template literals stay the author's text, as in Go */
    EXPECT("\"{{ \"a\\\"b\" }}\"", "\"a\"b\"", );
}

static void test_errors(void **state)
{
    (void)state;
    EXPECT_ERROR("a\nb {{foo .A}}", "t:2:5: function \"foo\" not defined", );
    EXPECT_ERROR("x {{ .A", "t:1:3: unclosed action", );
    EXPECT_ERROR("x {{ .A }", "t:1:9: unexpected \"}\" in action", );
    EXPECT_ERROR("{{ .A {{ .B }}", "unclosed action", );
    EXPECT_ERROR("{{if .A}}x", "t:1:1: unclosed {{if}}", );
    EXPECT_ERROR("{{if .A}}x{{else}}y{{else}}z{{end}}", "{{else}} after {{else}}", );
    EXPECT_ERROR("x{{end}}", "t:1:2: unexpected {{end}}", );
    EXPECT_ERROR("{{else}}", "unexpected {{else}}", );
    EXPECT_ERROR("{{range .A}}{{end}}", "{{range}} is not supported", );
    EXPECT_ERROR("{{with .A}}{{end}}", "{{with}} is not supported", );
    EXPECT_ERROR("{{ $x := 1 }}", "variables", );
    EXPECT_ERROR("{{ \"abc }}", "unterminated quoted string", );
    EXPECT_ERROR("{{ `abc }}", "unterminated raw quoted string", );
    EXPECT_ERROR("{{ \"\\q\" }}", "invalid escape", );
    EXPECT_ERROR("{{ .A .B }}", "can't give argument to non-function", );
    EXPECT_ERROR("{{ .A | .B }}", "non-function in pipeline", );
    EXPECT_ERROR("{{ }}", "missing value", );
    EXPECT_ERROR("{{ .A | }}", "missing command", );
    EXPECT_ERROR("{{ (.A }}", "unclosed left parenthesis", );
    EXPECT_ERROR("{{ .A) }}", "unexpected right parenthesis", );
    EXPECT_ERROR("{{/* open }}", "unclosed comment", );
    EXPECT_ERROR("{{ 1.5 }}", "only decimal integers", );
    EXPECT_ERROR("{{ if }}", "missing value", );
    /* render-time errors */
    EXPECT_ERROR("x\n  {{.Nope}}", "t:2:3: print: no input named \"Nope\" (pass -i Nope=VALUE)", );
    EXPECT_ERROR("{{subst \"%s %s\" .A}}", "subst:", "A=1", );
    EXPECT_ERROR("{{subst \"%s\" .A .A}}", "subst:", "A=1", );
    EXPECT_ERROR("{{subst \"%d\" .A}}", "unsupported format verb", "A=1", );
    EXPECT_ERROR("{{subst \"%s\" \"notjson\"}}", "not a JSON-encoded string", );
    EXPECT_ERROR("{{subst \"%s\" .Missing}}", "no input named \"Missing\"", );
    EXPECT_ERROR("{{not .A .B}}", "wrong number of args for not: want 1 got 2", );
    EXPECT_ERROR("{{if eq .A 1}}{{end}}", "incompatible types", "A=1", );
    EXPECT_ERROR("{{ .A.B }}", "have no fields", "A=1", );
    EXPECT_ERROR("{{ . }}", "cannot be used", );
    EXPECT_ERROR("{{.A}}", "not valid UTF-8", "A=\xff", );
    /* nesting deeper than the limit is an error, never a stack overflow */
    char deep[1024] = "{{ ";
    for (int i = 0; i < 200; i++)
        strcat(deep, "(");
    strcat(deep, "1");
    for (int i = 0; i < 200; i++)
        strcat(deep, ")");
    strcat(deep, " }}");
    EXPECT_ERROR(deep, "nested too deeply", );
    char ifs[4096] = "";
    for (int i = 0; i < 200; i++)
        strcat(ifs, "{{if 1}}");
    EXPECT_ERROR(ifs, "nested too deeply", );
    /* a NUL in the template is refused */
    struct lp_template *t = NULL;
    assert_int_not_equal(lp_template_parse("t", "a\0b", 3, &t, &err), 0);
    assert_null(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_semantics),
        cmocka_unit_test(test_injection),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
