#!/usr/bin/env python3
"""Expected renderings of the published module templates, computed the way Go's text/template
and Lilypad's LoadModule would compute them, WITHOUT our C engine (no Go toolchain exists here).

Go semantics applied (text/template, pkg/module/utils.go in Lilypad):
  * every input value is json.Marshal'ed first (a JSON string with quotes; Go escapes < > & as
    \\u003c \\u003e \\u0026 and U+2028/9; control chars as \\n \\r \\t or \\u00XX);
  * {{if .X}}A{{else}}B{{end}} / {{if .X}}A{{end}}: .X of a missing map key is the invalid value
    (false); a present key is its non-empty JSON encoding (true);
  * {{.X}} prints the JSON encoding;
  * {{ subst "FMT" .X }} json.Unmarshal's the encoding back to the raw string and Sprintf's it,
    inserted with no escaping.
The three fixtures use only these forms, with no trim markers, so plain regular expressions over
the source text reproduce Go's output exactly. Run from this folder:
  python3 make_expected.py DIR     (DIR: one folder per published module repository)
It writes every case listed in cases.txt to its .out file."""
import json, re, sys, os

def go_json(s):
    out = json.dumps(s, ensure_ascii=False)
    return (out.replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026')
               .replace('\u2028', '\\u2028').replace('\u2029', '\\u2029'))

def render(src, inputs):
    def branch(m):
        key, a, b = m.group(1), m.group(2), m.group(3) or ''
        return a if key in inputs else b
    ifre = re.compile(r'\{\{ ?if \.(\w+) ?\}\}(.*?)(?:\{\{ ?else ?\}\}(.*?))?\{\{ ?end ?\}\}')
    src = ifre.sub(branch, src)
    src = re.sub(r'\{\{ ?subst "([^"]*)" \.(\w+) ?\}\}',
                 lambda m: m.group(1).replace('%s', json.loads(go_json(inputs[m.group(2)]))), src)
    src = re.sub(r'\{\{ ?\.(\w+) ?\}\}', lambda m: go_json(inputs[m.group(1)]), src)
    assert '{{' not in src, 'construct not handled'
    return src

def main():
    fixtures = sys.argv[1]
    for line in open('cases.txt', encoding='utf-8'):
        line = line.rstrip('\n')
        if not line or line.startswith('#'):
            continue
        fixture, out, *kvs = line.split('\t')
        inputs = dict(kv.split('=', 1) for kv in kvs)
        src = open(os.path.join(fixtures, fixture, 'lilypad_module.json.tmpl'), encoding='utf-8').read()
        with open(out, 'w', encoding='utf-8', newline='') as f:
            f.write(render(src, inputs))

main()
