package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	svix "github.com/svix/svix-webhooks/go"
	"github.com/svix/svix-webhooks/go/models"
)

// sendFunc sends message i to application appID and reports whether it was
// accepted.
type sendFunc func(ctx context.Context, appID string, i int) error

// sender returns how the bench's clients send: by default plain HTTP POSTs
// carrying an idempotency-key, as every Svix SDK POST does (so the bench
// measures the path users take); with --sdk through the official Svix Go
// SDK itself; with --no-idempotency without the key, for comparison.
func (b *bench) sender(client *http.Client) sendFunc { return b.senderAs(client, b.key) }

// senderAs is sender for the tenant whose API key is key.
func (b *bench) senderAs(client *http.Client, key string) sendFunc {
	run := randHex(6)
	if b.o.sdk {
		u, _ := url.Parse(b.apiURL)
		c, err := svix.New(key, &svix.SvixOptions{ServerUrl: u, HTTPClient: client})
		if err != nil {
			return func(context.Context, string, int) error { return err }
		}
		return func(ctx context.Context, appID string, i int) error {
			// The SDK adds its own auto_<uuid> idempotency key.
			_, err := c.Message.Create(ctx, appID, models.MessageIn{EventType: "bench.event", Payload: b.payload(i)}, nil)
			return err
		}
	}
	return func(ctx context.Context, appID string, i int) error {
		base := b.apiURL
		if len(b.apiURLs) > 1 {
			base = b.apiURLs[i%len(b.apiURLs)] // as behind a round-robin balancer
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/app/"+appID+"/msg", bytes.NewReader(b.body(i)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		if !b.o.noIdempotency {
			req.Header.Set("Idempotency-Key", "auto_bench_"+run+"_"+strconv.Itoa(i))
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("%s %s", resp.Status, body)
		}
		return nil
	}
}

// payload is message i's payload as the SDK takes it: the same fields as
// body(i).
func (b *bench) payload(i int) map[string]any {
	return map[string]any{"seq": i, "type": "invoice.paid", "amount": 4200, "currency": "eur", "customer": "cus_bench", "pad": b.pad}
}
