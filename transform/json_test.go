package transform

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// jsonVM is a runtime as Run uses it, with the runtime's own JSON.parse
// and JSON.stringify at hand to compare against, and same(a, b): deep
// equality with key order, types and -0.
func jsonVM(t testing.TB) *vm {
	t.Helper()
	e := NewEngine(Options{})
	p := compile(t, e, `function handler(w) { return w; }
function same(a, b) {
  if (typeof a !== typeof b) return false;
  if (a === null || b === null || typeof a !== 'object') return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  var ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (var i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i] || !same(a[ka[i]], b[kb[i]])) return false;
  }
  return Object.getPrototypeOf(a) === Object.getPrototypeOf(b);
}`)
	v, err := p.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkDecode fails unless decodeJSON and the runtime's JSON.parse agree
// on data: both refuse it, or both give the same value.
func checkDecode(t *testing.T, v *vm, data string) {
	t.Helper()
	got, gotErr := decodeJSON(v.rt, []byte(data))
	want, wantErr := v.parse(goja.Undefined(), v.rt.ToValue(data))
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("decode %.200q: err = %v, JSON.parse err = %v", data, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	same, _ := goja.AssertFunction(v.rt.Get("same"))
	eq, err := same(goja.Undefined(), got, want)
	if err != nil || !eq.ToBoolean() {
		t.Fatalf("decode %.200q: the values differ (%v)", data, err)
	}
}

// checkEncode fails unless toJSON writes what JSON.stringify does (or both
// throw, or both give undefined) for the value of the expression src.
func checkEncode(t *testing.T, v *vm, src string) {
	t.Helper()
	val, err := v.rt.RunString("(" + src + ")")
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	got, gotOK, gotErr := v.toJSON(val)
	want, wantErr := v.stringify(goja.Undefined(), val)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("encode %s: err = %v, JSON.stringify err = %v", src, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	if goja.IsUndefined(want) {
		if gotOK {
			t.Fatalf("encode %s = %s, JSON.stringify gives undefined", src, got)
		}
		return
	}
	if !gotOK || string(got) != want.String() {
		t.Fatalf("encode %s = %s (ok %v), JSON.stringify gives %s", src, got, gotOK, want.String())
	}
}

// TestDecodeJSON: the payload decoder gives what JSON.parse gives, and
// refuses what it refuses.
func TestDecodeJSON(t *testing.T) {
	v := jsonVM(t)
	for _, data := range []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `-0.0`, `1`, `-1`, `123456789012345`, `1234567890123456`,
		`12345678901234567890`, `1.5`, `-1.5e3`, `1E2`, `1e-7`, `1e400`, `-1e400`, `0.1`, `9007199254740993`,
		`"a"`, `"é"`, `"\u00e9"`, `"\ud83d\ude00"`, `"\ud800"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u0000"`, "\"\xff\"",
		`{"a":1,"b":[1,2,{"c":null}],"d":"x"}`, `{"b":1,"a":2,"1":3,"0":4}`, `{"a":1,"a":2,"b":3}`,
		`{"__proto__":{"x":1}}`, `{"toString":1,"constructor":2}`, ` { "a" : [ 1 , 2 ] } `, "\t\n\r[1]\n",
		`[[[[[[]]]]]]`, `[1,[2,[3,[4]]]]`, `["a",1,true,null,{}]`, `{"":""}`,
		// refused
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `'a'`, `01`, `1.`, `.1`, `-`, `+1`, `1e`, `1e+`,
		`0x1`, `NaN`, `Infinity`, `tru`, `nul`, `"a`, "\"a\nb\"", `"\x"`, `"\u12"`, `[1 2]`, `1 2`, `{"a":1}x`,
		// past maxSharedSource: strings are copied one by one
		`{"pad":"` + strings.Repeat("x", maxSharedSource) + `","é":"\u00e9","a":[{"b":"c"}]}`,
		`{"pad":"` + strings.Repeat("x", maxSharedSource) + `",`,
	} {
		checkDecode(t, v, data)
	}
}

// TestDecodeJSON_Depth: nesting is refused past encoding/json's limit
// (json.Valid's, so the API never accepts such a payload; the runtime's
// JSON.parse has no limit).
func TestDecodeJSON_Depth(t *testing.T) {
	v := jsonVM(t)
	for _, tc := range []struct {
		depth int
		ok    bool
	}{{10000, true}, {10001, false}} {
		data := strings.Repeat("[", tc.depth) + strings.Repeat("]", tc.depth)
		_, err := decodeJSON(v.rt, []byte(data))
		if (err == nil) != tc.ok || json.Valid([]byte(data)) != tc.ok {
			t.Fatalf("depth %d: err = %v, json.Valid %v; want ok %v", tc.depth, err, json.Valid([]byte(data)), tc.ok)
		}
	}
}

// TestAppendJSON: the payload serializer writes what JSON.stringify
// writes, throws where it throws, and leaves to it what it does not know.
func TestAppendJSON(t *testing.T) {
	v := jsonVM(t)
	for _, src := range []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `1.5`, `1e21`, `1e-7`, `0.1`, `123456789012345680000`,
		`NaN`, `Infinity`, `-Infinity`, `2**53`, `'a'`, `'é'`, `'\u2028'`, `'\ud83d\ude00'`, `'\ud800'`, `'a\ud800b'`,
		`'\uFFFD'`, `'"\\/\b\f\n\r\t\u0000\u001f\u007f'`,
		`{a: 1, b: [1, 2, {c: null}], d: 'x'}`, `{b: 1, a: 2, 1: 3, 0: 4}`, `{a: undefined, b: function () {}, c: Symbol('s'), d: 1}`,
		`[undefined, function () {}, Symbol('s'), 1]`, `[,1,,]`, `(function () { var a = [1]; a.x = 2; return a; })()`,
		`{toJSON: function () { return 'j'; }}`, `{a: {toJSON: function (k) { return k; }}}`, `new Date(0)`, `{d: new Date(0)}`,
		`new String('s')`, `new Number(1)`, `new Boolean(false)`, `{s: new String('s')}`, `Object.create(null)`,
		`(function () { var o = Object.create(null); o.a = 1; return o; })()`, `Object.create({inherited: 1})`,
		`Object.defineProperty({}, 'hidden', {value: 1, enumerable: false})`, `{get g() { return 7; }}`,
		`{get g() { throw new Error('boom'); }}`, `(function () { var o = {}; o.self = o; return o; })()`,
		`(function () { var a = []; a.push(a); return a; })()`, `new Proxy({a: 1}, {})`, `new Map([[1, 2]])`,
		`/re/g`, `new Error('e')`, `function () {}`, `Symbol('s')`, `undefined`, `10n`, `{b: 10n}`,
		`(function () { var o = {}; for (var i = 0; i < 100; i++) { o = {n: o}; } return o; })()`,
		`(function () { class A { constructor() { this.x = 1; } } return new A(); })()`,
		`(function () { var a = []; a.length = 5; return a; })()`, `{'__proto__': 1}`, `JSON.parse('{"__proto__": {"a": 1}}')`,
		`Math`, `JSON`, `{m: Math}`, `[new Date(0)]`, `Object.assign([], {0: 'a'})`,
	} {
		checkEncode(t, v, src)
	}
}

// TestAppendJSON_TooLarge: a sparse array of a huge length, or many
// references to one large string, is refused before the native call
// builds gigabytes (a native call cannot be interrupted).
func TestAppendJSON_TooLarge(t *testing.T) {
	v := jsonVM(t)
	for _, src := range []string{
		`(function () { var a = []; a.length = 4294967295; return a; })()`,
		`(function () { var s = 'x'.repeat(1 << 20), a = []; for (var i = 0; i < 100; i++) a.push(s); return a; })()`,
		`(function () { var s = 'x'.repeat(1 << 20), o = {}; for (var i = 0; i < 100; i++) o['k' + i] = s; return o; })()`,
	} {
		val, err := v.rt.RunString("(" + src + ")")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := v.toJSON(val); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("%s: err = %v, want a refusal", src, err)
		}
	}
}

// FuzzJSON: on any input, the decoder agrees with JSON.parse, and what it
// decoded is serialized as JSON.stringify would.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[1,2,{"c":null}]}`, `"\ud800"`, `-0`, `1e400`, `{"a":1,"a":2}`, `[1,]`, "\"\xff\""} {
		f.Add(s)
	}
	v := jsonVM(f)
	f.Fuzz(func(t *testing.T, data string) {
		checkDecode(t, v, data)
		if val, err := v.parse(goja.Undefined(), v.rt.ToValue(data)); err == nil {
			got, ok, err := v.toJSON(val)
			want, werr := v.stringify(goja.Undefined(), val)
			if err != nil || werr != nil || !ok || string(got) != want.String() {
				t.Fatalf("encode of %q = %s (%v, %v), JSON.stringify gives %v (%v)", data, got, ok, err, want, werr)
			}
		}
	})
}
