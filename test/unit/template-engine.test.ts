import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Template, TemplateExecError, TemplateParseError } from '../../src/template/index';
import { FuncError, type FuncMap } from '../../src/template/funcs/types';
import { GoStringSlice, newMap, type GoMap, type GoOpaque, type GoValue } from '../../src/template/values';

/** Builds a GoMap from a plain object (values must already be GoValues). */
function m(o: { [k: string]: GoValue }): GoMap {
  return Object.assign(newMap(), o);
}

function run(text: string, data: GoValue = null, funcs: FuncMap = {}, partials?: { name: string; text: string }[]): string {
  return Template.parse('t', text, funcs, { partials }).execute(data);
}

function parseErr(text: string, funcs: FuncMap = {}): TemplateParseError {
  try {
    Template.parse('t', text, funcs);
  } catch (e) {
    assert.ok(e instanceof TemplateParseError, `not a parse error: ${e}`);
    return e;
  }
  assert.fail('no parse error');
}

function execErr(text: string, data: GoValue = null, funcs: FuncMap = {}): TemplateExecError {
  const t = Template.parse('t', text, funcs);
  try {
    t.execute(data);
  } catch (e) {
    assert.ok(e instanceof TemplateExecError, `not an exec error: ${e}`);
    return e;
  }
  assert.fail('no exec error');
}

const data = m({
  s: 'str',
  i: 42n,
  f: 0.75,
  t: true,
  nul: null,
  list: ['a', 'b', 'c'],
  empty: [],
  emptyMap: m({}),
  nums: [1n, 2n, 3n],
  mixed: [1n, null, 'x'],
  mp: m({ b: 2n, a: 1n, c: m({ d: 'deep' }) }),
  srv: [m({ name: 'w1', port: 7001n }), m({ name: 'w2', port: 7002n })],
});

describe('template engine: text, actions, comments, trim markers', () => {
  it('copies text and prints fields', () => {
    assert.equal(run('a {{.s}} b {{.i}} {{.f}} {{.t}}', data), 'a str b 42 0.75 true');
  });
  it('comments produce nothing', () => {
    assert.equal(run('a{{/* comment \n spanning */}}b', data), 'ab');
    assert.equal(run('a  {{- /* c */ -}}  b', data), 'ab');
  });
  it('trim markers trim spaces, tabs and newlines', () => {
    assert.equal(run('{{23 -}} < {{- 45}}'), '23<45');
    assert.equal(run('a \n\t {{- .s -}} \n b', data), 'astrb');
    assert.equal(run('x{{-3}}'), 'x-3'); // no space: a number, not a trim marker
  });
  it('actions may span lines (Go >= 1.16)', () => {
    assert.equal(run('{{if\n.t}}yes{{end}}', data), 'yes');
  });
});

describe('template engine: printing values like Go', () => {
  it('missing and nil values print <no value>', () => {
    assert.equal(run('{{.missing}} {{.missing.child}} {{.nul}} {{.mp.zz}}', data), '<no value> <no value> <no value> <no value>');
  });
  it('floats use %v (shortest %g, exponent from 1e+06 / below 1e-4)', () => {
    const d = m({ a: 1000000.0, b: 0.0000005, c: 2.0, d: 0.75, e: 123456.0, f: 1234567.0, g: 0.0001, h: 0.00001, i: -0.0, j: 1e21, k: 1.5e300 });
    assert.equal(
      run('{{.a}} {{.b}} {{.c}} {{.d}} {{.e}} {{.f}} {{.g}} {{.h}} {{.i}} {{.j}} {{.k}}', d),
      '1e+06 5e-07 2 0.75 123456 1.234567e+06 0.0001 1e-05 -0 1e+21 1.5e+300',
    );
  });
  it('64-bit ints stay exact', () => {
    assert.equal(run('{{.}}', 9007199254740993n), '9007199254740993');
  });
  it('lists and maps print like fmt %v, maps sorted, nil inside as <nil>', () => {
    assert.equal(run('{{.list}} {{.empty}} {{.emptyMap}} {{.mixed}}', data), '[a b c] [] map[] [1 <nil> x]');
    assert.equal(run('{{.mp}}', data), 'map[a:1 b:2 c:map[d:deep]]');
    assert.equal(run('{{.srv}}', data), '[map[name:w1 port:7001] map[name:w2 port:7002]]');
    const labels = m({ b: 1n, B: 2n, '10': 'ten', '9': 'nine', 'a-b': 'dash', a_b: 'u' });
    assert.equal(run('{{.}}', labels), 'map[10:ten 9:nine B:2 a-b:dash a_b:u b:1]');
  });
  it('[]string prints like a list', () => {
    assert.equal(run('{{.}}', GoStringSlice.fromStrings(['x', 'y'])), '[x y]');
  });
});

describe('template engine: variables and scoping', () => {
  it('declares, assigns and reads variables; $ is the data', () => {
    assert.equal(run('{{$x := .s}}{{$x}} {{$x = "y"}}{{$x}} {{$.i}}', data), 'str y 42');
  });
  it('variables declared in if/range are scoped to the block', () => {
    assert.equal(run('{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}'), '21');
    assert.equal(run('{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}'), '2');
    const e = parseErr('{{if true}}{{$y := 1}}{{end}}{{$y}}');
    assert.equal(e.message, 'template: t:1: undefined variable "$y"');
  });
  it('fields on variables and parenthesised pipelines', () => {
    assert.equal(run('{{$m := .mp}}{{$m.c.d}} {{(index .srv 1).name}} {{(.mp).a}}', data), 'deep w2 1');
  });
  it('templates do not see the caller variables', () => {
    assert.equal(run('{{define "x"}}{{$}}{{end}}{{$v := 1}}{{template "x" "dot"}}'), 'dot');
  });
});

describe('template engine: control flow', () => {
  it('if / else if / else', () => {
    const t = '{{if eq .s "a"}}A{{else if eq .s "str"}}S{{else}}N{{end}}';
    assert.equal(run(t, data), 'S');
    assert.equal(run(t, m({ s: 'a' })), 'A');
    assert.equal(run(t, m({ s: 'z' })), 'N');
  });
  it('truthiness follows Go IsTrue', () => {
    const t = '{{range .}}{{if .}}T{{else}}F{{end}}{{end}}';
    assert.equal(run(t, [false, 0n, 0.0, '', null, [], m({}), true, 1n, 0.5, 'x', ['x'], m({ a: 1n })]), 'FFFFFFFTTTTTT');
    assert.equal(run('{{if .missing}}T{{else}}F{{end}}', data), 'F');
  });
  it('range over lists with index, else branch, and over maps in sorted key order', () => {
    assert.equal(run('{{range $i, $v := .list}}{{$i}}={{$v}};{{end}}', data), '0=a;1=b;2=c;');
    assert.equal(run('{{range .empty}}x{{else}}none{{end}}', data), 'none');
    assert.equal(run('{{range .missing}}x{{else}}none{{end}}', data), 'none');
    assert.equal(run('{{range $k, $v := .mp}}{{$k}}:{{$v}} {{end}}', data), 'a:1 b:2 c:map[d:deep] ');
    assert.equal(run('{{range $k, $v := .}}{{$k}} {{end}}', m({ b: 1n, a_b: 1n, 'a-b': 1n, B: 1n, '9': 1n, '10': 1n })), '10 9 B a-b a_b b ');
    assert.equal(run('{{range .srv}}{{.name}}:{{.port}} {{end}}', data), 'w1:7001 w2:7002 ');
    assert.equal(run('{{range $v := .nums}}{{$v}}{{end}}', data), '123');
  });
  it('range can not iterate over scalars', () => {
    assert.match(execErr('{{range .i}}{{end}}', data).message, /range can't iterate over 42$/);
  });
  it('break and continue (Go 1.18+)', () => {
    assert.equal(run('{{range .nums}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}', data), '13');
    assert.equal(run('{{range .nums}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}', data), '1');
    assert.equal(parseErr('{{break}}').message, 'template: t:1: {{break}} outside {{range}}');
  });
  it('continue in a range else continues the enclosing range, break there ends only the inner one (Go 1.19)', () => {
    const d = m({ m: m({ a: 1n, b: 2n, c: 3n }), e: [] });
    const inner = (ctl: string) => `{{range $k, $v := .m}}{{range $.e}}x{{else}}{{if eq $k "a"}}{{${ctl}}}{{end}}-{{end}}[{{$k}}]{{end}}`;
    assert.equal(run(inner('continue'), d), '-[b]-[c]');
    assert.equal(run(inner('break'), d), '[a]-[b]-[c]');
    assert.equal(parseErr('{{range .e}}{{else}}{{continue}}{{end}}').message, 'template: t:1: {{continue}} outside {{range}}');
  });
  it('with / else sets dot', () => {
    assert.equal(run('{{with .mp.c}}{{.d}}{{end}}|{{with .missing}}x{{else}}no{{end}}', data), 'deep|no');
  });
  it('rejects {{else with}} like Go 1.19', () => {
    assert.equal(parseErr('{{with .a}}{{else with .b}}{{end}}').message, 'template: t:1: unexpected <with> in else');
  });
  it('define, template and block', () => {
    assert.equal(run('{{define "T"}}<{{.}}>{{end}}{{template "T" .s}}{{template "T"}}', data), '<str><<no value>>');
    assert.equal(run('{{block "B" .i}}[{{.}}]{{end}}', data), '[42]');
    assert.equal(run('{{template "P" .}}', data, {}, [{ name: 'p.partial', text: '{{define "P"}}from partial {{.s}}{{end}}' }]), 'from partial str');
  });
  it('later definitions replace earlier ones, empty ones do not', () => {
    const partials = [
      { name: 'a.partial', text: '{{define "X"}}first{{end}}' },
      { name: 'b.partial', text: '{{define "X"}}second{{end}}{{define "Y"}}y{{end}}' },
      { name: 'c.partial', text: '{{define "Y"}}{{end}}' },
    ];
    assert.equal(run('{{template "X"}}{{template "Y"}}', null, {}, partials), 'secondy');
  });
  it('multiple definition in one text is an error', () => {
    assert.equal(parseErr('{{define "a"}}x{{end}}{{define "a"}}y{{end}}').message, 'template: t:1: template: multiple definition of template "a"');
  });
  it('missing template is an exec error', () => {
    assert.equal(execErr('{{template "nope"}}').message, 'template: t:1:11: executing "t" at <{{template "nope"}}>: template "nope" not defined');
  });
});

describe('template engine: builtins', () => {
  it('and / or return an operand and short-circuit', () => {
    assert.equal(run('{{and 1 0 "x"}} {{and 1 "x"}} {{or 0 "" "y"}} {{or 0 ""}} {{or .missing "d"}} {{not .t}} {{not .missing}}', data), '0 x y  d false true');
    assert.equal(run('{{or 1 (index .list 99)}}', data), '1');
  });
  it('len, index, slice', () => {
    assert.equal(run('{{len .list}} {{len .mp}} {{len .s}} {{len "héllo"}}', data), '3 3 3 6');
    assert.equal(run('{{index .list 1}} {{index .mp "a"}} {{index .srv 1 "name"}} {{index .mp "zz"}} {{index .s 0}}', data), 'b 1 w2 <no value> 115');
    assert.equal(run('{{slice .list 1}} {{slice .list 1 2}} {{slice .s 1 2}} {{slice .s}}', data), '[b c] [b] t str');
  });
  it('index errors', () => {
    const e = execErr('{{index .list 3}}', data);
    assert.equal(e.message, 'template: t:1:2: executing "t" at <index .list 3>: error calling index: index out of range: 3');
    assert.equal(e.line, 1);
    assert.equal(e.col, 2);
    assert.match(execErr('{{index .list "x"}}', data).message, /error calling index: cannot index slice\/array with type string$/);
    assert.match(execErr('{{index .mp 1}}', data).message, /error calling index: value has type int; should be string$/);
    assert.match(execErr('{{index .missing 1}}', data).message, /error calling index: index of untyped nil$/);
    assert.match(execErr('{{index .i 1}}', data).message, /error calling index: can't index item of type int$/);
    assert.match(execErr('{{index .mixed 1 0}}', data).message, /error calling index: index of nil pointer$/);
  });
  it('len errors', () => {
    assert.match(execErr('{{len .i}}', data).message, /error calling len: len of type int$/);
    assert.match(execErr('{{len .nul}}', data).message, /error calling len: len of nil pointer$/);
    assert.match(execErr('{{len .missing}}', data).message, /error calling len: reflect: call of reflect.Value.Type on zero Value$/);
  });
  it('comparisons', () => {
    assert.equal(run('{{eq 1 1}} {{eq "a" "b" "a"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1.5 2.5}}'), 'true true true true true true false');
    assert.equal(run('{{eq .missing .missing}} {{ne .missing "x"}}', data), 'true true');
    assert.match(execErr('{{eq 1 1.0}}').message, /error calling eq: incompatible types for comparison$/);
    assert.match(execErr('{{lt true false}}').message, /error calling lt: invalid type for comparison$/);
    assert.match(execErr('{{lt .list 1}}', data).message, /error calling lt: invalid type for comparison$/);
    assert.match(execErr('{{eq 1}}').message, /error calling eq: missing argument for comparison$/);
  });
  it('print, println, html, js, urlquery', () => {
    assert.equal(run('{{print 1 2 "a" 3 "b" "c" .nul}}', data), '1 2a3bc<nil>');
    assert.equal(run('{{println 1 "a"}}'), '1 a\n');
    assert.equal(run(`{{html "<a href='x'>&\\"" }}`), '&lt;a href=&#39;x&#39;&gt;&amp;&#34;');
    assert.equal(run('{{html .missing}}', data), '&lt;no value&gt;');
    assert.equal(run(`{{js "a'b\\"c<d>&="}}`), 'a\\\'b\\"c\\u003Cd\\u003E\\u0026\\u003D');
    assert.equal(run('{{urlquery "a b&c/é"}}'), 'a+b%26c%2F%C3%A9');
  });
  it('pipelines pass the value as the last argument', () => {
    assert.equal(run('{{.s | printf "%s-%s" "x"}} {{"a" | printf "%q"}} {{.missing | printf "%.5s"}}', data), 'x-str "a" %!s(<nil>)');
  });
});

describe('template engine: user functions', () => {
  const funcs: FuncMap = {
    up: { params: ['string'], fn: (s) => (s as string).toUpperCase() },
    add: { params: ['int', 'int'], fn: (a, b) => (a as bigint) + (b as bigint) },
    half: { params: ['float'], fn: (a) => (a as number) / 2 },
    join: { params: ['string', 'stringList'], fn: (sep, l) => (l as string[]).join(sep as string) },
    split: { params: ['string', 'string'], fn: (s, sep) => GoStringSlice.fromStrings((s as string).split(sep as string)) },
    cnt: { params: [], variadic: 'any', fn: (...a) => BigInt(a.length) },
    isNil: { params: ['any'], fn: (x) => x === null },
    boom: {
      params: [],
      fn: () => {
        throw new FuncError('kaboom');
      },
    },
    panic: {
      params: [],
      fn: () => {
        throw new TypeError('runtime error: oops');
      },
    },
    nilret: { params: [], fn: () => null },
    eq: { params: [], variadic: 'any', fn: (...a) => a.slice(1).some((x) => x === a[0]) },
    isList: { params: ['list'], fn: () => true },
  };
  it('converts untyped constants to the parameter type', () => {
    assert.equal(run('{{add 1 2}} {{add 1.0 2}} {{half 3}} {{half 1.5}}', null, funcs), '3 3 1.5 0.75');
    assert.equal(run('{{cnt}} {{cnt 1 "a" .}} {{.s | up}}', data, funcs), '0 3 STR');
  });
  it('checks argument types with Go messages', () => {
    assert.equal(execErr('{{up .i}}', data, funcs).message, 'template: t:1:5: executing "t" at <.i>: wrong type for value; expected string; got int');
    assert.match(execErr('{{up .missing}}', data, funcs).message, /at <.missing>: invalid value; expected string$/);
    assert.match(execErr('{{up .nul}}', data, funcs).message, /at <.nul>: wrong type for value; expected string; got interface \{\}$/);
    assert.match(execErr('{{add 1.5 2}}', data, funcs).message, /at <1.5>: expected integer; found 1.5$/);
    assert.match(execErr('{{up 3}}', data, funcs).message, /at <3>: expected string; found 3$/);
    assert.match(execErr('{{join "," .list}}', data, funcs).message, /wrong type for value; expected \[\]string; got \[\]interface \{\}$/);
    assert.equal(run('{{join "," (split "a,b" ",")}}', null, funcs), 'a,b');
    assert.match(execErr('{{isList .s}}', data, funcs).message, /expected \[\]interface \{\}; got string$/);
    assert.match(execErr('{{up nil}}', data, funcs).message, /cannot assign nil to string$/);
  });
  it('checks argument counts', () => {
    assert.match(execErr('{{up}}', data, funcs).message, /at <up>: wrong number of args for up: want 1 got 0$/);
    assert.match(execErr('{{up "a" "b"}}', data, funcs).message, /wrong number of args for up: want 1 got 2$/);
    assert.match(execErr('{{printf}}', data, funcs).message, /wrong number of args for printf: want at least 1 got 0$/);
  });
  it('reports function errors and panics as "error calling"', () => {
    assert.match(execErr('{{boom}}', data, funcs).message, /at <boom>: error calling boom: kaboom$/);
    assert.match(execErr('{{panic}}', data, funcs).message, /error calling panic: runtime error: oops$/);
  });
  it('nil passes as nil to interface{} params; nil results print <no value>', () => {
    assert.equal(run('{{isNil .missing}} {{isNil .nul}} {{isNil nil}} {{isNil .s}} {{nilret}}', data, funcs), 'true true true false <no value>');
  });
  it('user functions shadow builtins', () => {
    assert.equal(run('{{eq 1 2 1}} {{eq 1 1.0}}', null, funcs), 'true false');
  });
  it('undefined functions are parse errors', () => {
    assert.equal(parseErr('\n\n{{foo 1}}').message, 'template: t:3: function "foo" not defined');
  });
  it('methods of opaque values (dgr cell)', () => {
    const cell = (): GoOpaque => {
      const c: GoOpaque = {
        __goOpaque: true,
        goType: '*template.Cell',
        value: null,
        methods: {
          Set: {
            params: ['any'],
            fn: (v) => {
              c.value = v;
              return c;
            },
          },
          Get: { params: [], fn: () => c.value as GoValue },
        },
      };
      return c;
    };
    const f: FuncMap = { ...funcs, cell: { params: [], variadic: 'any', fn: () => cell() } };
    const t = '{{$c := cell 0}}{{range .nums}}{{$_ := $c.Set (add $c.Get 1)}}{{end}}{{$c.Get}}';
    assert.match(execErr(t.replace('cell 0', 'cell'), data, f).message, /at <\$c.Get>: wrong type for value; expected int; got interface \{\}$/);
    const g: FuncMap = {
      ...f,
      cell: {
        params: [],
        variadic: 'any',
        fn: (...a) => {
          const c = cell();
          c.value = a[0] ?? null;
          return c;
        },
      },
    };
    assert.equal(run(t, data, g), '3');
    assert.match(execErr('{{$c := cell 0}}{{$c.Nope}}', data, g).message, /can't evaluate field Nope in type \*template.Cell$/);
  });
});

describe('template engine: field errors', () => {
  it('fields of non-maps', () => {
    assert.match(execErr('{{.s.x}}', data).message, /at <.s.x>: can't evaluate field x in type interface \{\}$/);
    assert.match(execErr('{{$v := .s}}{{$v.x}}', data).message, /can't evaluate field x in type string$/);
    assert.match(execErr('{{with .s}}{{.x}}{{end}}', data).message, /can't evaluate field x in type string$/);
    assert.match(execErr('{{range .list}}{{.x}}{{end}}', data).message, /can't evaluate field x in type interface \{\}$/);
  });
  it('fields of a nil interface are an error, of a missing value <no value>', () => {
    assert.match(execErr('{{.nul.x}}', data).message, /nil pointer evaluating interface \{\}.x$/);
    assert.equal(run('{{.missing.x.y}}', data), '<no value>');
  });
  it('map fields can not take arguments', () => {
    assert.match(execErr('{{.s 1}}', m({ s: 'a' })).message, /s is not a method but has arguments$/);
  });
  it('error position is the byte column of the node (0-based) and line', () => {
    const e = execErr('line1\nÉ{{index .list 5}}', data);
    assert.equal(e.line, 2);
    assert.equal(e.col, 4);
    assert.equal(e.file, 't');
    assert.equal(e.partialOutput, 'line1\nÉ');
    assert.match(e.message, /^template: t:2:4: executing "t" at <index .list 5>/);
  });
  it('errors inside a partial report the partial file and the template name', () => {
    const t = Template.parse(
      'main.tmpl',
      'a{{template "p" .}}',
      {},
      { partials: [{ name: 'x.partial', text: '\n{{define "p"}}\n  {{index .list 9}}{{end}}' }] },
    );
    try {
      t.execute(data);
      assert.fail('expected error');
    } catch (e) {
      assert.ok(e instanceof TemplateExecError);
      assert.equal(e.message, 'template: x.partial:3:4: executing "p" at <index .list 9>: error calling index: index out of range: 9');
      assert.equal(e.partialOutput, 'a\n  ');
    }
  });
});

describe('template engine: parse errors', () => {
  const cases: [string, string][] = [
    ['{{if .a}}\nx\n', 'template: t:3: unexpected EOF'],
    ['{{.a', 'template: t:1: unclosed action'],
    ['{{.a}}{{end}}', 'template: t:1: unexpected {{end}}'],
    ['{{else}}', 'template: t:1: unexpected {{else}}'],
    ['{{range .a}}{{else if .b}}{{end}}', 'template: t:1: unexpected <if> in input'],
    ['{{$x}}', 'template: t:1: undefined variable "$x"'],
    ['{{"abc}}', 'template: t:1: unterminated quoted string'],
    ['{{/* x', 'template: t:1: unclosed comment'],
    ['{{/* x */ }}', 'template: t:1: comment ends before closing delimiter'],
    ['{{ (1 }}', 'template: t:1: unclosed left paren'],
    ['{{ 1) }}', 'template: t:1: unexpected ")" in command'],
    ['{{3x}}', 'template: t:1: bad number syntax: "3x"'],
    ['{{.a | 3}}', 'template: t:1: non executable command in pipeline stage 2'],
    ['{{}}', 'template: t:1: missing value for command'],
    ['{{range $a, $b, $c := .}}{{end}}', 'template: t:1: too many declarations in range'],
    ['{{$a, $b := .}}', 'template: t:1: too many declarations in command'],
    ['{{template .x}}', 'template: t:1: unexpected ".x" in template clause'],
    ['{{template . }}', 'template: t:1: unexpected <.> in template clause'],
    ['{{define "a"}}{{else}}{{end}}', 'template: t:1: unexpected {{else}} in define clause'],
    ['{{"a".b}}', 'template: t:1: unexpected . after term "\\"a\\""'],
    ['{{nil.b}}', 'template: t:1: unexpected . after term "nil"'],
    ['{{.a.}}', 'template: t:1: unexpected <.> in operand'],
    ['{{ $x := 1 }}{{ $x.y = 2 }}', 'template: t:1: unexpected "=" in operand'],
    ['{{999999999999999999999}}', 'template: t:1: integer overflow: "999999999999999999999"'],
    ['{{if}}{{end}}', 'template: t:1: missing value for if'],
    ['{{ "\\q" }}', 'template: t:1: invalid syntax'],
  ];
  for (const [text, msg] of cases) {
    it(JSON.stringify(text), () => {
      assert.equal(parseErr(text).message, msg);
    });
  }
  it('keeps the file name and line as fields', () => {
    try {
      Template.parse('/x/unit.tmpl', 'a\nb\n{{if .x}}', {});
      assert.fail('expected error');
    } catch (e) {
      assert.ok(e instanceof TemplateParseError);
      assert.equal(e.file, '/x/unit.tmpl');
      assert.equal(e.line, 3);
      assert.equal(e.message, 'template: /x/unit.tmpl:3: unexpected EOF');
    }
  });
});

describe('template engine: literals', () => {
  it('numbers, chars, strings and booleans', () => {
    assert.equal(run("{{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}} {{1e3}} {{1.0}} {{.5}} {{-2}} {{'a'}} {{'\\n'}}"), '31 15 15 5 1000 1000 1 0.5 -2 97 10');
    assert.equal(run('{{"a\\tb\\u00e9\\x41"}} {{`raw\\n`}} {{true}} {{false}}'), 'a\tbéA raw\\n true false');
  });
  it('nil is not a command', () => {
    assert.match(execErr('{{nil}}').message, /nil is not a command$/);
  });
});
