package transform

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzRun feeds arbitrary payloads, headers and handler bodies through
// the input and output conversion: it must never panic, every failure
// must be an *Error, and a successful result must be sendable (valid JSON
// payload, an allowed method, headers a request can carry).
func FuzzRun(f *testing.F) {
	f.Add(`{"a":1}`, "X-A", "v", `return w;`)
	f.Add(`[1,2,{"b":null}]`, "x-b", "", `w.payload = {n: w.payload.length}; return w;`)
	f.Add(`"s"`, "Bad Header", "v", `w.headers = w.headers; return w;`)
	f.Add(`null`, "X-C", "\r\n", `w.method = 'PUT'; w.cancel = false; return w;`)
	f.Add(`{"u":"\u2028"}`, "X-D", "é", `return {url: w.url, payload: w.payload.u + '\uD800'};`)
	f.Add(`1e400`, "X-E", "v", `w.payload = undefined; return w;`)
	f.Add(`{}`, "X-F", "v", `w.headers = {'x': 1}; return w;`)
	f.Add(`{}`, "X-G", "v", `w.payload = function () {}; return w;`)
	f.Add(`{}`, "X-H", "v", `var o = {}; o.self = o; w.payload = o; return w;`)
	e := NewEngine(Options{})
	f.Fuzz(func(t *testing.T, payload, hk, hv, body string) {
		if !json.Valid([]byte(payload)) {
			payload = "null"
		}
		p, err := e.Compile(context.Background(), "function handler(w) {\n"+body+"\n}")
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("compile error is not an *Error: %v", err)
			}
			return
		}
		out, err := p.Run(context.Background(), Webhook{Method: "POST", URL: "http://127.0.0.1:9/x", EventType: "a.b",
			Payload: json.RawMessage(payload), Headers: map[string]string{hk: hv}}, map[string]string{"k": hv})
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Message == "" {
				t.Fatalf("run error is not a described *Error: %v", err)
			}
			return
		}
		if out.Method != "POST" && out.Method != "PUT" && out.Method != "PATCH" {
			t.Fatalf("method %q", out.Method)
		}
		if out.URL == "" {
			t.Fatal("empty URL")
		}
		if !out.Cancel && !json.Valid(out.Payload) {
			t.Fatalf("payload is not JSON: %q", out.Payload)
		}
		for k, v := range out.Headers {
			if err := CheckHeader(k, v); err != nil {
				t.Fatalf("header %q: %q passed: %v", k, v, err)
			}
		}
	})
}

// FuzzRunBatch feeds arbitrary events and handler bodies through a
// destination's batch conversion, and what comes out through both
// readers: never a panic, every failure an *Error, and a body that is
// sent is JSON.
func FuzzRunBatch(f *testing.F) {
	f.Add(`{"a":1}`, `return input;`)
	f.Add(`[1]`, `return {payload: input.events.length, method: 'put'};`)
	f.Add(`null`, `return {payloads: input.events.map(function (e) { return JSON.stringify(e); })};`)
	f.Add(`"s"`, `return [input.events[0].payload];`)
	f.Add(`{}`, `return {headers: {'X-A': 1}};`)
	f.Add(`{}`, `var o = {}; o.self = o; return {payload: o};`)
	f.Add(`{}`, `return {cancel: 1};`)
	e := NewEngine(Options{})
	f.Fuzz(func(t *testing.T, payload, body string) {
		if !json.Valid([]byte(payload)) {
			payload = "null"
		}
		p, err := e.Compile(context.Background(), "function handler(input) {\n"+body+"\n}")
		if err != nil {
			return
		}
		in := `{"events":[{"id":"msg_1","eventType":"a.b","payload":` + payload + `}],"url":"http://127.0.0.3:9/","method":"POST","headers":{}}`
		res, err := p.RunBatch(context.Background(), json.RawMessage(in), map[string]string{"k": "v"})
		var te *Error
		if err != nil {
			if !errors.As(err, &te) {
				t.Fatalf("RunBatch: %v is not an *Error", err)
			}
			return
		}
		if res.Cancel {
			return
		}
		if req, err := ReadFIFORequest(res.Body, "http://127.0.0.3:9/"); err == nil {
			if !json.Valid(req.Body) {
				t.Fatalf("FIFO body %q is not JSON", req.Body)
			}
		} else if !errors.As(err, &te) {
			t.Fatalf("ReadFIFORequest: %v is not an *Error", err)
		}
		if _, err := ReadPayloads(res.Body); err != nil && !errors.As(err, &te) {
			t.Fatalf("ReadPayloads: %v is not an *Error", err)
		}
	})
}
