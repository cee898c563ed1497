package transform

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRun_MemoryWatchdog_LongTimeout: with the time limit raised to 20 s
// (from 100 ms) so that only memory can stop it, and the memory limit
// lowered to 32 MiB (from 64) so that a slow, loaded -race run gets there
// soon, a handler that keeps allocating is interrupted by the watchdog. It
// allocates by doubling a string (a memmove per step), not by
// String.prototype.repeat, whose character-by-character build took more
// than 20 s to reach the limit on a loaded -race run.
func TestRun_MemoryWatchdog_LongTimeout(t *testing.T) {
	e := NewEngine(Options{Timeout: 20 * time.Second, MemoryLimit: 32 << 20})
	p := compile(t, e, `function handler(w) { var a = [], s = 'x'; while (true) { s = s + s; a.push(s); } }`)
	_, err := p.Run(context.Background(), sample(), nil)
	var te *Error
	if !errors.As(err, &te) || te.Kind != KindMemory {
		t.Fatalf("err = %v, want a memory *Error", err)
	}
}

// benchRun raises the time limit from 100 ms to 10 s: under valgrind, or
// on a machine loaded far past its cores, a call that the scheduler or a
// garbage collection stalls could otherwise time out and end the run.
func benchRun(b *testing.B, code string) {
	e := NewEngine(Options{Timeout: 10 * time.Second})
	p := compile(b, e, code)
	in := Webhook{Method: "POST", URL: "http://127.0.0.1:9/in", EventType: "invoice.paid",
		Payload: json.RawMessage(`{"id":"in_1","customer":"cus_42","amount":4200,"currency":"eur","lines":[{"sku":"a","qty":1},{"sku":"b","qty":2}]}`)}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Run(ctx, in, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRun_Trivial is the first target: return webhook,
// at most 20 µs per call.
func BenchmarkRun_Trivial(b *testing.B) {
	benchRun(b, `function handler(webhook) { return webhook; }`)
}

// BenchmarkRun_Rename is the second target: renaming fields, at most
// 50 µs per call.
func BenchmarkRun_Rename(b *testing.B) {
	benchRun(b, `function handler(webhook) {
		var p = webhook.payload;
		webhook.payload = {invoiceId: p.id, customerId: p.customer, total: p.amount / 100, currency: p.currency.toUpperCase(),
			items: p.lines.map(function (l) { return {product: l.sku, quantity: l.qty}; })};
		webhook.headers = {'X-Event-Type': webhook.eventType};
		return webhook;
	}`)
}

// BenchmarkRun_Parallel is the trivial handler from every core at once
// (the pool and the concurrency bound under contention).
func BenchmarkRun_Parallel(b *testing.B) {
	e := NewEngine(Options{})
	p := compile(b, e, `function handler(webhook) { return webhook; }`)
	in := sample()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Run(context.Background(), in, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCompile is what a new code revision costs a worker once (each
// iteration's code differs, so none is found already compiled).
func BenchmarkCompile(b *testing.B) {
	e := NewEngine(Options{})
	i := 0
	for b.Loop() {
		i++
		if _, err := e.Compile(context.Background(), `function handler(webhook) { webhook.payload.x = 1; return webhook; } // `+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile_Again is compiling code the engine has compiled
// before: another endpoint with the same code, or the API's check of code
// a worker in the same process runs.
func BenchmarkCompile_Again(b *testing.B) {
	e := NewEngine(Options{})
	for b.Loop() {
		if _, err := e.Compile(context.Background(), `function handler(webhook) { webhook.payload.x = 1; return webhook; }`); err != nil {
			b.Fatal(err)
		}
	}
}

// benchBatch runs code on a FIFO batch of 100 events (batchSize's
// default) and reads the request out, as the sender does per batch.
func benchBatch(b *testing.B, code string) {
	e := NewEngine(Options{})
	p := compile(b, e, code)
	var sb []byte
	sb = append(sb, `{"events":[`...)
	for i := range 100 {
		if i > 0 {
			sb = append(sb, ',')
		}
		sb = append(sb, `{"id":"msg_2bYsQ3pT8oKxLwZr4UvN1mEcFd0","eventType":"invoice.paid","timestamp":"2026-01-01T00:00:00Z","payload":{"id":"in_1","customer":"cus_42","amount":4200,"currency":"eur"}}`...)
	}
	sb = append(sb, `],"url":"http://127.0.0.1:9/fifo","method":"POST","headers":{}}`...)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := p.RunBatch(ctx, sb, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ReadFIFORequest(res.Body, "http://127.0.0.1:9/fifo"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunBatch_Identity: return input, on a batch of 100.
func BenchmarkRunBatch_Identity(b *testing.B) {
	benchBatch(b, `function handler(input) { return input; }`)
}

// BenchmarkRunBatch_Reshape: a body of 100 reshaped events.
func BenchmarkRunBatch_Reshape(b *testing.B) {
	benchBatch(b, `function handler(input) {
		return {payload: input.events.map(function (e) { return {ref: e.id, kind: e.eventType, cents: e.payload.amount}; })};
	}`)
}

// benchHandlerCode and benchHandlerPayload are `hookline bench --transform`'s
// handler and payload (cmd/hookline/bench.go), so that a profile of this
// benchmark is a profile of the flat-out bench's calls.
const benchHandlerCode = `function handler(webhook) {
  var p = webhook.payload, out = {seq: p.seq};
  for (var k in p) { if (k !== 'seq') { out['renamed_' + k] = p[k]; } }
  webhook.payload = out;
  webhook.headers = {'X-Bench-Transformed': '1'};
  return webhook;
}`

// BenchmarkRun_BenchHandler is the flat-out bench's handler on its payload.
// The time limit is raised from 100 ms to 10 s: under valgrind (which
// profiles run at about a fiftieth of the speed) a call that a garbage
// collection lands on could otherwise time out.
func BenchmarkRun_BenchHandler(b *testing.B) {
	e := NewEngine(Options{Timeout: 10 * time.Second})
	p := compile(b, e, benchHandlerCode)
	in := Webhook{Method: "POST", URL: "http://127.0.0.1:9/in", EventType: "bench.event",
		Payload: json.RawMessage(`{"seq":17,"type":"invoice.paid","amount":4200,"currency":"eur","customer":"cus_bench","pad":"` +
			strings.Repeat("x", 136) + `"}`)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(ctx, in, nil); err != nil {
			b.Fatal(err)
		}
	}
}
