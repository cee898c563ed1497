package transform

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func compile(t testing.TB, e *Engine, code string) *Program {
	t.Helper()
	p, err := e.Compile(context.Background(), code)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

func sample() Webhook {
	return Webhook{Method: "POST", URL: "http://127.0.0.1:9/in", EventType: "invoice.paid",
		Payload: json.RawMessage(`{"id":"in_1","amount":4200,"nested":{"a":[1,2,3]}}`)}
}

func TestRun_Shapes(t *testing.T) {
	e := NewEngine(Options{})
	for _, tc := range []struct {
		name string
		code string
		vars map[string]string
		want Webhook
	}{
		{"Identity", `function handler(webhook) { return webhook; }`, nil,
			Webhook{Method: "POST", URL: "http://127.0.0.1:9/in", EventType: "invoice.paid",
				Payload: json.RawMessage(`{"id":"in_1","amount":4200,"nested":{"a":[1,2,3]}}`)}},
		{"RenameField", `function handler(w) { w.payload.total = w.payload.amount; delete w.payload.amount; return w; }`, nil,
			Webhook{Method: "POST", URL: "http://127.0.0.1:9/in", EventType: "invoice.paid",
				Payload: json.RawMessage(`{"id":"in_1","nested":{"a":[1,2,3]},"total":4200}`)}},
		{"MethodURLHeaders", `function handler(w) { w.method = 'put'; w.url = w.url + '/' + w.eventType; w.headers = {'X-Event': w.eventType}; return w; }`, nil,
			Webhook{Method: "PUT", URL: "http://127.0.0.1:9/in/invoice.paid", EventType: "invoice.paid",
				Payload: json.RawMessage(`{"id":"in_1","amount":4200,"nested":{"a":[1,2,3]}}`), Headers: map[string]string{"X-Event": "invoice.paid"}}},
		{"NewObject", `function handler(w) { return {url: w.url, payload: {text: 'paid ' + w.payload.amount}}; }`, nil,
			Webhook{Method: "POST", URL: "http://127.0.0.1:9/in", EventType: "invoice.paid", Payload: json.RawMessage(`{"text":"paid 4200"}`)}},
		{"Cancel", `function handler(w) { w.cancel = w.payload.amount > 100; return w; }`, nil,
			Webhook{Method: "POST", URL: "http://127.0.0.1:9/in", EventType: "invoice.paid", Cancel: true}},
		{"Variables", `function handler(w, vars) { w.payload = {a: vars.token, b: w.variables.token}; return w; }`, map[string]string{"token": "s3cret"},
			Webhook{Method: "POST", URL: "http://127.0.0.1:9/in", EventType: "invoice.paid", Payload: json.RawMessage(`{"a":"s3cret","b":"s3cret"}`)}},
		{"PayloadString", `function handler(w) { w.payload = 'plain'; return w; }`, nil,
			Webhook{Method: "POST", URL: "http://127.0.0.1:9/in", EventType: "invoice.paid", Payload: json.RawMessage(`"plain"`)}},
		{"ConsoleLog", `function handler(w) { console.log('seen', w); return w; }`, nil,
			Webhook{Method: "POST", URL: "http://127.0.0.1:9/in", EventType: "invoice.paid",
				Payload: json.RawMessage(`{"id":"in_1","amount":4200,"nested":{"a":[1,2,3]}}`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := compile(t, e, tc.code)
			for range 3 { // the same runtime again must give the same result
				got, err := p.Run(context.Background(), sample(), tc.vars)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Fatalf("(-want +got)\n%s", diff)
				}
			}
		})
	}
}

func TestCompile_Errors(t *testing.T) {
	e := NewEngine(Options{})
	for _, tc := range []struct {
		name, code, kind, contains string
	}{
		{"Syntax", "function handler(w) { return w;\n", KindSyntax, "syntax error"},
		{"SyntaxLine", "function handler(w) {\n  return w +* 2;\n}", KindSyntax, "2:"},
		{"NoHandler", "function transform(w) { return w; }", KindSyntax, "named handler"},
		{"HandlerNotFunction", "var handler = 42;", KindSyntax, "named handler"},
		{"TopLevelThrows", "throw new Error('boom'); function handler(w) { return w; }", KindException, "boom"},
		{"TopLevelLoops", "while (true) {} function handler(w) { return w; }", KindTimeout, "did not finish"},
		{"TooLarge", "function handler(w) { return w; }//" + strings.Repeat("x", MaxCodeBytes), KindSyntax, "at most 51200"},
		{"NoRequire", "var fs = require('fs'); function handler(w) { return w; }", KindException, "require"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Compile(context.Background(), tc.code)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if te.Kind != tc.kind || !strings.Contains(te.Message, tc.contains) {
				t.Fatalf("got %s %q, want %s containing %q", te.Kind, te.Message, tc.kind, tc.contains)
			}
		})
	}
}

// TestRun_Limits: scripts that throw, loop, allocate without end or
// return garbage fail with a clear *Error, and the program keeps working
// for the next call.
func TestRun_Limits(t *testing.T) {
	e := NewEngine(Options{})
	for _, tc := range []struct {
		name, body string
		kinds      []string
		contains   string
	}{
		{"Throws", `throw new Error('nope');`, []string{KindException}, "nope"},
		{"TypeError", `return w.payload.missing.field;`, []string{KindException}, "TypeError"},
		{"Loop", `while (true) {}`, []string{KindTimeout}, "did not finish within 100ms"},
		{"Recursion", `function f(n) { return f(n + 1) + 1; } return f(0);`, []string{KindException}, "RangeError"},
		{"RepeatHuge", `w.payload = 'x'.repeat(1e9); return w;`, []string{KindException}, "too large"},
		{"PadHuge", `w.payload = 'x'.padStart(2e9); return w;`, []string{KindException}, "too large"},
		{"JoinSparse", `var a = []; a.length = 4e9; w.payload = a.join('x'); return w;`, []string{KindException}, "too large"},
		{"FillSparse", `var a = new Array(4e9); a.fill(0); return w;`, []string{KindException}, "too large"},
		{"IndexOfSparse", `var a = []; a.length = 4e9; a.indexOf(1); return w;`, []string{KindException}, "too large"},
		{"ArrayFrom", `Array.from({length: 1e9}); return w;`, []string{KindException}, "too large"},
		{"ApplyHuge", `Math.max.apply(null, {length: 1e9}); return w;`, []string{KindException}, "too large"},
		{"ReflectApplyHuge", `Reflect.apply(Math.max, null, {length: 1e9}); return w;`, []string{KindException}, "too large"},
		{"ReflectConstructHuge", `Reflect.construct(Array, {length: 1e9}); return w;`, []string{KindException}, "too large"},
		{"ReplaceHuge", `var s = 'x'.repeat(1 << 14); s.replace(/x/g, 'y'.repeat(2048)); return w;`, []string{KindException}, "too large"},
		{"LoopInCallback", `[1, 2].forEach(function () { while (true) {} }); return w;`, []string{KindTimeout}, "did not finish"},
		{"ThrowInCallback", `[1].map(function () { throw new Error('inner'); }); return w;`, []string{KindException}, "inner"},
		{"TypedArray", `new Uint8Array(1e9); return w;`, []string{KindException}, "Uint8Array"},
		{"GrowForever", `var a = []; while (true) { a.push('x'.repeat(1 << 20) + a.length); }`, []string{KindMemory, KindTimeout}, ""},
		{"DoubleString", `var s = 'x'; while (true) { s = s + s; }`, []string{KindMemory, KindTimeout, KindException}, ""},
		{"ReturnsUndefined", `w.payload = 1;`, []string{KindInvalidOutput}, "must return the webhook object"},
		{"BadMethod", `w.method = 'GET'; return w;`, []string{KindInvalidOutput}, "webhook.method"},
		{"NoURL", `delete w.url; return w;`, []string{KindInvalidOutput}, "webhook.url"},
		{"NoPayload", `w.payload = undefined; return w;`, []string{KindInvalidOutput}, "payload is missing"},
		{"BadHeader", `w.headers = {'X-A': 'a\r\nX-B: b'}; return w;`, []string{KindInvalidOutput}, "X-A"},
		{"SignatureHeader", `w.headers = {'webhook-signature': 'v1,forged'}; return w;`, []string{KindInvalidOutput}, "cannot be changed"},
		{"CancelNotBool", `w.cancel = 'yes'; return w;`, []string{KindInvalidOutput}, "boolean"},
		{"Async", `return Promise.resolve(w);`, []string{KindInvalidOutput}, "Promise"},
		{"NewObjectNoPayload", `return {url: w.url};`, []string{KindInvalidOutput}, "payload is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := compile(t, e, "function handler(w) {\n"+tc.body+"\n}")
			_, err := p.Run(context.Background(), sample(), nil)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if !contains(tc.kinds, te.Kind) || !strings.Contains(te.Message, tc.contains) {
				t.Fatalf("got %s %q, want one of %v containing %q", te.Kind, te.Message, tc.kinds, tc.contains)
			}
			t.Logf("%s: %s", te.Kind, te.Message)
			// The engine is healthy: a sound program runs next.
			ok := compile(t, e, `function handler(w) { w.payload = {ok: true}; return w; }`)
			got, err := ok.Run(context.Background(), sample(), nil)
			if err != nil || string(got.Payload) != `{"ok":true}` {
				t.Fatalf("after %s: %s, %v", tc.name, got.Payload, err)
			}
		})
	}
}

// TestRun_HardenedBuiltins: the wrapped built-ins behave as the originals
// within the caps: same results, names, this and arguments, and what they
// throw can be caught, a refusal as a RangeError.
func TestRun_HardenedBuiltins(t *testing.T) {
	e := NewEngine(Options{})
	p := compile(t, e, `function handler(w) {
		var caught;
		try { 'x'.repeat(1e9); } catch (err) { caught = err instanceof RangeError && /too large/.test(err.message); }
		var inner;
		try { [1].forEach(function () { throw new TypeError('cb'); }); } catch (err) { inner = err instanceof TypeError && err.message; }
		w.payload = {
			names: [[].map.name, [].join.name, 'x'.repeat.name, Function.prototype.apply.name, Array.from.name],
			caught: caught, inner: inner,
			sum: [1, 2, 3].reduce(function (a, b) { return a + b; }, 0),
			joined: [1, 2].join('-') + '|' + [1, 2].join() + '|' + Array.prototype.join.call({length: 2, 0: 'a', 1: 'b'}, '+'),
			mapped: [1, 2].map(function (x) { return x * this.k; }, {k: 10}),
			str: 'ab'.repeat(2) + 'a'.padStart(3, '-') + 'aXa'.replaceAll('a', 'b'),
			applied: Math.max.apply(null, [1, 5, 2]) + Reflect.apply(Math.min, null, [4, 3]),
			from: Array.from('abc').concat(Array.of(1)),
			sorted: [3, 1, 2].sort(),
			typed: typeof Uint8Array + typeof ArrayBuffer,
			console: typeof console.log
		};
		return w;
	}`)
	got, err := p.Run(context.Background(), sample(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"names":["map","join","repeat","apply","from"],"caught":true,"inner":"cb","sum":6,"joined":"1-2|1,2|a+b",` +
		`"mapped":[10,20],"str":"abab--abXb","applied":8,"from":["a","b","c",1],"sorted":[1,2,3],"typed":"undefinedundefined","console":"function"}`
	if string(got.Payload) != want {
		t.Fatalf("got  %s\nwant %s", got.Payload, want)
	}
}

// TestRun_FreshWebhookEachCall: whatever a handler does to the webhook it
// was given (and to its headers and variables), the next call of the same
// runtime gets a new, clean one.
func TestRun_FreshWebhookEachCall(t *testing.T) {
	e := NewEngine(Options{MaxConcurrent: 1})
	p := compile(t, e, `var prev;
	function handler(w, vars) {
		var seen = {same: prev === w, extra: typeof w.extra, header: typeof w.headers.injected, variable: typeof w.variables.injected,
			varsArg: vars === w.variables, keys: Object.keys(w), frozen: Object.isFrozen(w.headers)};
		w.extra = 1; w.headers.injected = 'x'; w.variables.injected = 'y'; w.method = 'PUT';
		Object.freeze(w.headers);
		prev = w;
		w.payload = seen;
		return w;
	}`)
	want := `{"same":false,"extra":"undefined","header":"undefined","variable":"undefined","varsArg":true,` +
		`"keys":["method","url","eventType","payload","headers","variables"],"frozen":false}`
	for i := range 3 {
		got, err := p.Run(context.Background(), sample(), map[string]string{"k": "v"})
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Payload) != want {
			t.Fatalf("call %d saw %s\nwant %s", i, got.Payload, want)
		}
	}
}

// TestRun_Isolation: two programs never see each other's globals, and a
// runtime that threw is not reused with what the script left behind.
func TestRun_Isolation(t *testing.T) {
	e := NewEngine(Options{})
	a := compile(t, e, `var seen = 0; function handler(w) { seen++; globalThis.leak = 'from a'; w.payload = seen; return w; }`)
	b := compile(t, e, `function handler(w) { w.payload = typeof leak; return w; }`)
	if _, err := a.Run(context.Background(), sample(), nil); err != nil {
		t.Fatal(err)
	}
	got, err := b.Run(context.Background(), sample(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Payload) != `"undefined"` {
		t.Fatalf("b saw a's global: %s", got.Payload)
	}
}

// TestCompile_SameCode: compiling code the engine has proven before
// shares the compiled program and builds no runtime, but each Program
// keeps runtimes of its own: globals a handler keeps are never another
// endpoint's.
func TestCompile_SameCode(t *testing.T) {
	e := NewEngine(Options{})
	code := `var calls = 0; function handler(w) { calls++; w.payload = calls; return w; }`
	a := compile(t, e, code)
	b := compile(t, e, code)
	if a.prog != b.prog {
		t.Error("the same code was compiled twice")
	}
	if len(a.pool) != 1 || len(b.pool) != 0 {
		t.Errorf("idle runtimes: %d and %d, want 1 (the proof) and 0", len(a.pool), len(b.pool))
	}
	var got []string
	for _, p := range []*Program{a, b, a, b, b} {
		res, err := p.Run(context.Background(), sample(), nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(res.Payload))
	}
	if diff := cmp.Diff([]string{"1", "1", "2", "2", "3"}, got); diff != "" {
		t.Errorf("calls counted per program (-want +got)\n%s", diff)
	}
	// Code longer than maxProvenCode is not remembered (its compiled form
	// is large): each Compile compiles and proves it again.
	long := code + "\n//" + strings.Repeat("x", maxProvenCode)
	if c, d := compile(t, e, long), compile(t, e, long); c.prog == d.prog || len(d.pool) != 1 {
		t.Error("long code was remembered")
	}
	// Code that failed is not remembered: it fails again, the same way.
	for range 2 {
		var te *Error
		if _, err := e.Compile(context.Background(), "function handler(w) { return w;"); !errors.As(err, &te) || te.Kind != KindSyntax {
			t.Fatalf("err = %v, want a syntax *Error", err)
		}
	}
}

func TestRunBatch(t *testing.T) {
	e := NewEngine(Options{})
	p := compile(t, e, `function handler(input) {
		return {payloads: input.events.map(function (e) { return {type: e.eventType, id: e.payload.id, key: input.variables.k}; })};
	}`)
	got, err := p.RunBatch(context.Background(), json.RawMessage(`{"events":[
		{"id": "msg_1", "eventType": "a.b", "payload": {"id":1}},
		{"id": "msg_2", "eventType": "c.d", "payload": {"id":2}}]}`), map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"payloads":[{"type":"a.b","id":1,"key":"v"},{"type":"c.d","id":2,"key":"v"}]}`
	if string(got.Body) != want || got.Cancel {
		t.Fatalf("got %s (cancel %v), want %s", got.Body, got.Cancel, want)
	}
	c := compile(t, e, `function handler(input) { return {cancel: input.events.length === 0}; }`)
	if got, err := c.RunBatch(context.Background(), json.RawMessage(`{"events":[]}`), nil); err != nil || !got.Cancel {
		t.Fatalf("empty batch: %+v, %v", got, err)
	}
	// What the handler returns unchanged comes back without its variables.
	same := compile(t, e, `function handler(input) { return input; }`)
	got, err = same.RunBatch(context.Background(), json.RawMessage(`{"events":[{"id":"msg_1"}],"url":"http://x"}`), map[string]string{"k": "secret"})
	if err != nil || string(got.Body) != `{"events":[{"id":"msg_1"}],"url":"http://x"}` {
		t.Fatalf("identity: %s, %v", got.Body, err)
	}
	for _, code := range []string{`function handler() { return 3; }`, `function handler() { return null; }`, `function handler() { return {cancel: "yes"}; }`} {
		if _, err := compile(t, e, code).RunBatch(context.Background(), json.RawMessage(`{"events":[]}`), nil); err == nil {
			t.Errorf("%s: no error", code)
		}
	}
}

// TestRun_ContextCanceled: a call whose context ends stops with the
// context's error, not an *Error of the tenant's.
func TestRun_ContextCanceled(t *testing.T) {
	e := NewEngine(Options{Timeout: 10_000_000_000}) // 10 s: the context ends first
	p := compile(t, e, `function handler(w) { while (true) {} }`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Run(ctx, sample(), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestRun_ReadmeExample: the handler README shows runs as it says.
func TestRun_ReadmeExample(t *testing.T) {
	e := NewEngine(Options{})
	p := compile(t, e, "function handler(webhook) {\n"+
		"  webhook.payload = {text: `Invoice ${webhook.payload.id} paid`};\n"+
		"  webhook.url = webhook.url + '/' + webhook.eventType;\n"+
		"  webhook.method = 'PUT';\n"+
		"  webhook.headers = {'X-Source': 'hookline'};\n"+
		"  webhook.cancel = webhook.payload.test === true;\n"+
		"  return webhook;\n}")
	got, err := p.Run(context.Background(), sample(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Webhook{Method: "PUT", URL: "http://127.0.0.1:9/in/invoice.paid", EventType: "invoice.paid",
		Payload: json.RawMessage(`{"text":"Invoice in_1 paid"}`), Headers: map[string]string{"X-Source": "hookline"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got)\n%s", diff)
	}
}

func TestReadFIFORequest(t *testing.T) {
	const url = "http://127.0.0.3:9/fifo"
	tests := []struct {
		name, body string
		want       FIFORequest
		wantErr    string
	}{
		{"Identity", `{"events":[{"id":"msg_1"}],"url":"http://127.0.0.3:9/fifo","method":"POST","headers":{}}`,
			FIFORequest{Method: "POST", URL: url, Body: json.RawMessage(`[{"id":"msg_1"}]`), Headers: map[string]string{}}, ""},
		{"Array", `[1,2]`, FIFORequest{Method: "POST", URL: url, Body: json.RawMessage(`[1,2]`)}, ""},
		{"Payload", `{"payload":{"a":1},"method":"put","url":"http://127.0.0.2:9/x","headers":{"X-A":"b"}}`,
			FIFORequest{Method: "PUT", URL: "http://127.0.0.2:9/x", Body: json.RawMessage(`{"a":1}`), Headers: map[string]string{"X-A": "b"}}, ""},
		{"PayloadWinsOverEvents", `{"events":[1],"payload":"text"}`, FIFORequest{Method: "POST", URL: url, Body: json.RawMessage(`"text"`)}, ""},
		{"ObjectIsTheBody", `{"count":2,"events":[1]}`, FIFORequest{Method: "POST", URL: url, Body: json.RawMessage(`{"count":2,"events":[1]}`)}, ""},
		{"BadMethod", `{"events":[],"method":"GET"}`, FIFORequest{}, "method must be"},
		{"EmptyURL", `{"events":[],"url":""}`, FIFORequest{}, "url must be"},
		{"ReservedHeader", `{"events":[],"headers":{"webhook-signature":"x"}}`, FIFORequest{}, "cannot be changed"},
		{"HeaderNotString", `{"events":[],"headers":{"X-A":1}}`, FIFORequest{}, "headers must be"},
		{"NotJSON", `nope`, FIFORequest{}, "object or an array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadFIFORequest(json.RawMessage(tc.body), url)
			if tc.wantErr != "" {
				var te *Error
				if !errors.As(err, &te) || te.Kind != KindInvalidOutput || !strings.Contains(te.Message, tc.wantErr) {
					t.Fatalf("err = %v; want an invalid_output error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestReadPayloads(t *testing.T) {
	got, err := ReadPayloads(json.RawMessage(`{"payloads":["a \"quoted\" string",{"n":1},[2],3]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`a "quoted" string`, `{"n":1}`, `[2]`, `3`}
	if len(got) != len(want) {
		t.Fatalf("got %q; want %q", got, want)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("payload %d = %q; want %q", i, got[i], want[i])
		}
	}
	for _, body := range []string{`{}`, `{"payloads":"x"}`, `{"payloads":null}`, `[1]`} {
		if _, err := ReadPayloads(json.RawMessage(body)); err == nil {
			t.Errorf("%s: no error", body)
		}
	}
	if got, err := ReadPayloads(json.RawMessage(`{"payloads":[]}`)); err != nil || len(got) != 0 {
		t.Errorf("no payloads: %q, %v; want none, no error", got, err)
	}
}
