package transform

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// TestRun_MemoryWatchdog_LongTimeout: with the time limit raised to 20 s
// (from 100 ms) so that only memory can stop it, and the memory limit
// lowered to 32 MiB (from 64) so that a slow, loaded -race run gets there
// soon, a handler that keeps allocating is interrupted by the watchdog.
func TestRun_MemoryWatchdog_LongTimeout(t *testing.T) {
	e := NewEngine(Options{Timeout: 20 * time.Second, MemoryLimit: 32 << 20})
	p := compile(t, e, `function handler(w) { var a = []; while (true) { a.push('x'.repeat(1 << 20) + a.length); } }`)
	_, err := p.Run(context.Background(), sample(), nil)
	var te *Error
	if !errors.As(err, &te) || te.Kind != KindMemory {
		t.Fatalf("err = %v, want a memory *Error", err)
	}
}

func benchRun(b *testing.B, code string) {
	e := NewEngine(Options{})
	p := compile(b, e, code)
	in := Webhook{Method: "POST", URL: "https://hooks.example/in", EventType: "invoice.paid",
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

// BenchmarkCompile is what a new code revision costs a worker once.
func BenchmarkCompile(b *testing.B) {
	e := NewEngine(Options{})
	for b.Loop() {
		if _, err := e.Compile(context.Background(), `function handler(webhook) { webhook.payload.x = 1; return webhook; }`); err != nil {
			b.Fatal(err)
		}
	}
}
