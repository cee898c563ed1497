package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/worker"
)

// The demo receiver's routes, on the same listener as the API (dev only).
const (
	demoReceiverPath     = "/dev/receiver"
	demoReceiverJSONPath = "/dev/receiver.json"
)

const (
	// demoReceiverKeep bounds what the demo receiver remembers: the newest
	// webhooks, older ones forgotten.
	demoReceiverKeep = 100
	// demoReceiverMaxBody bounds each remembered body; the rest is cut.
	demoReceiverMaxBody = 64 << 10
	// demoReceiverTolerance is how far a webhook-timestamp may be from
	// now, as the Standard Webhooks libraries check it.
	demoReceiverTolerance = 5 * time.Minute
)

// receivedWebhook is one request the demo receiver got, as it lists it.
type receivedWebhook struct {
	ReceivedAt time.Time `json:"receivedAt"`
	MsgID      string    `json:"msgId"`
	Timestamp  int64     `json:"timestamp"`
	// Verified is true when the signature matched one of the endpoint's
	// live secrets and the timestamp was within tolerance.
	Verified bool   `json:"verified"`
	Problem  string `json:"problem,omitempty"`
	// Payload is the body when it is JSON; Body holds it otherwise.
	Payload   json.RawMessage `json:"payload,omitempty"`
	Body      string          `json:"body,omitempty"`
	Truncated bool            `json:"truncated,omitempty"`
}

// demoReceiver is the webhook receiver `hookline dev` runs beside the API,
// so a first message has somewhere to go: POST verifies the Standard
// Webhooks signature (webhook-* or svix-* headers) with the demo
// endpoint's live secrets and answers 204, or 401 naming what is wrong;
// GET lists the newest demoReceiverKeep requests as HTML or JSON. It is
// safe for concurrent use.
type demoReceiver struct {
	secrets func(ctx context.Context) ([]string, error)
	now     func() time.Time
	page    *template.Template

	mu  sync.Mutex
	got []receivedWebhook // oldest first, at most demoReceiverKeep; guarded by mu
}

// newDemoReceiver returns a receiver that checks signatures against what
// secrets returns (current secret first).
func newDemoReceiver(secrets func(ctx context.Context) ([]string, error)) *demoReceiver {
	return &demoReceiver{secrets: secrets, now: time.Now, page: template.Must(template.New("receiver").Parse(demoReceiverPage))}
}

// ServeHTTP answers POST (a webhook) and GET (the list) on
// demoReceiverPath, and GET on demoReceiverJSONPath.
func (d *demoReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == demoReceiverPath:
		d.receive(w, r)
	case r.Method == http.MethodGet && r.URL.Path == demoReceiverJSONPath:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": d.list()})
	case r.Method == http.MethodGet && r.URL.Path == demoReceiverPath:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_ = d.page.Execute(w, d.list())
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (d *demoReceiver) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	rec := receivedWebhook{ReceivedAt: d.now().UTC()}
	rec.Verified, rec.Problem = d.verify(r.Context(), r.Header, body, &rec)
	kept := body
	if len(kept) > demoReceiverMaxBody {
		kept, rec.Truncated = kept[:demoReceiverMaxBody], true
	}
	if !rec.Truncated && json.Valid(kept) {
		rec.Payload = json.RawMessage(kept)
	} else {
		rec.Body = string(kept)
	}
	d.mu.Lock()
	d.got = append(d.got, rec)
	if n := len(d.got) - demoReceiverKeep; n > 0 {
		d.got = slices.Delete(d.got, 0, n)
	}
	d.mu.Unlock()
	if !rec.Verified {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": rec.Problem})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// verify checks a request as a Standard Webhooks receiver does.
func (d *demoReceiver) verify(ctx context.Context, h http.Header, body []byte, rec *receivedWebhook) (bool, string) {
	header := func(name string) string {
		if v := h.Get("webhook-" + name); v != "" {
			return v
		}
		return h.Get("svix-" + name)
	}
	rec.MsgID = header("id")
	tsText, sig := header("timestamp"), header("signature")
	if rec.MsgID == "" || tsText == "" || sig == "" {
		return false, "missing webhook-id, webhook-timestamp or webhook-signature header"
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return false, "webhook-timestamp is not a Unix time"
	}
	rec.Timestamp = ts
	if skew := d.now().Sub(time.Unix(ts, 0)); skew > demoReceiverTolerance || skew < -demoReceiverTolerance {
		return false, "webhook-timestamp is more than 5 minutes away from now"
	}
	secrets, err := d.secrets(ctx)
	if err != nil {
		return false, "cannot read the demo endpoint's secret: " + err.Error()
	}
	for _, secret := range secrets {
		if tenants.IsAsymmetricSecret(secret) {
			// As a receiver does: with the public key alone (whpk_).
			pk, err := tenants.PublicSecret(secret)
			if err == nil && verifyV1a(pk, rec.MsgID, tsText, body, sig) {
				return true, ""
			}
			continue
		}
		signer, err := worker.NewSigner([]string{secret})
		if err != nil {
			continue
		}
		want := signer.Sign(rec.MsgID, ts, body)
		for _, got := range strings.Fields(sig) {
			if hmac.Equal([]byte(got), []byte(want)) {
				return true, ""
			}
		}
	}
	return false, "no signature matches the demo endpoint's secret"
}

// verifyV1a reports whether one of the "v1a," signatures in sig is the
// ed25519 signature of "id.timestamp.body" under the "whpk_" public key.
func verifyV1a(publicKey, msgID, ts string, body []byte, sig string) bool {
	pk, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(publicKey, tenants.PublicKeyPrefix))
	if err != nil || len(pk) != ed25519.PublicKeySize {
		return false
	}
	signed := append([]byte(msgID+"."+ts+"."), body...)
	for _, got := range strings.Fields(sig) {
		b64, ok := strings.CutPrefix(got, "v1a,")
		if !ok {
			continue
		}
		if s, err := base64.StdEncoding.DecodeString(b64); err == nil && ed25519.Verify(pk, signed, s) {
			return true
		}
	}
	return false
}

// list returns what was received, newest first.
func (d *demoReceiver) list() []receivedWebhook {
	d.mu.Lock()
	out := slices.Clone(d.got)
	d.mu.Unlock()
	slices.Reverse(out)
	return out
}

const demoReceiverPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<title>Hookline demo receiver</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ddd;padding:.4rem .6rem;text-align:left;vertical-align:top}
pre{margin:0;white-space:pre-wrap;word-break:break-all;font-size:12px}.ok{color:#176f2c}.bad{color:#b3261e}
</style></head><body>
<h1>Hookline demo receiver</h1>
<p>The webhooks the demo endpoint received from this <code>hookline dev</code>, newest first, each checked
against the endpoint's signing secret (Standard Webhooks). This page reloads every 3 seconds;
<a href="/dev/receiver.json">the same as JSON</a>.</p>
{{if .}}<table><thead><tr><th>Received (UTC)</th><th>Message</th><th>Signature</th><th>Payload</th></tr></thead><tbody>
{{range .}}<tr><td>{{.ReceivedAt.Format "15:04:05"}}</td><td><code>{{.MsgID}}</code></td>
<td>{{if .Verified}}<span class="ok">verified</span>{{else}}<span class="bad">rejected: {{.Problem}}</span>{{end}}</td>
<td><pre>{{if .Payload}}{{printf "%s" .Payload}}{{else}}{{.Body}}{{end}}</pre></td></tr>
{{end}}</tbody></table>{{else}}<p>Nothing yet. Send a message with the curl command <code>hookline dev</code> printed.</p>{{end}}
</body></html>
`
