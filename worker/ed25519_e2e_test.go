package worker_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/svix/svix-webhooks/go/models"

	"github.com/hookline/hookline/testenv"
)

// Svix's own asymmetric key vector.
const (
	svixSK = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
	svixPK = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
)

// verifyV1a checks, as a receiver holding only the whpk_ public key does,
// that each header family carries a v1a signature of "id.timestamp.body"
// by that key.
func verifyV1a(t *testing.T, publicKey string, r received) {
	t.Helper()
	pk, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(publicKey, "whpk_"))
	if err != nil || len(pk) != ed25519.PublicKeySize {
		t.Fatalf("public key %q: %v", publicKey, err)
	}
	for _, family := range []string{"webhook-", "svix-"} {
		signed := []byte(r.Header.Get(family+"id") + "." + r.Header.Get(family+"timestamp") + "." + string(r.Body))
		ok := false
		for _, s := range strings.Fields(r.Header.Get(family + "signature")) {
			b64, isV1a := strings.CutPrefix(s, "v1a,")
			if sig, err := base64.StdEncoding.DecodeString(b64); isV1a && err == nil && ed25519.Verify(pk, signed, sig) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%ssignature %q has no v1a signature by %s", family, r.Header.Get(family+"signature"), publicKey)
		}
	}
}

// TestEd25519_SignAndRotate: an endpoint created through the SDK with
// Svix's whsk_ key signs v1a in both header sets and reads back only its
// whpk_ public key; rotating to an HMAC secret signs with both (v1 for
// the new secret, v1a for the old key) during the grace period, and back
// to a whsk_ key the other way round.
func TestEd25519_SignAndRotate(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true})
	rc := newReceiver(t, nil)
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rc.URL + "/hook", Secret: ptr(svixSK)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Endpoint.GetSecret(ctx, app.Id, ep.Id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != svixPK {
		t.Fatalf("GET secret = %q, want the public key %q", got.Key, svixPK)
	}
	send := func(n int) received {
		t.Helper()
		if _, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "user.created", Payload: map[string]any{"n": n}}, nil); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the webhook", func() bool { return len(rc.requests()) == n })
		return rc.requests()[n-1]
	}
	r := send(1)
	if sig := r.Header.Get("webhook-signature"); strings.Count(sig, " ") != 0 || !strings.HasPrefix(sig, "v1a,") {
		t.Errorf("signature %q: want one v1a signature", sig)
	}
	verifyV1a(t, svixPK, r)

	// To HMAC, with a grace period: both sign.
	const hmacSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	if err := c.Endpoint.RotateSecret(ctx, app.Id, ep.Id, models.EndpointSecretRotateIn{Key: ptr(hmacSecret)}, nil); err != nil {
		t.Fatal(err)
	}
	r = send(2)
	verifyV1a(t, svixPK, r)
	sw, err := standardwebhooks.NewWebhook(hmacSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Verify(r.Body, r.Header); err != nil {
		t.Errorf("the new HMAC secret does not verify: %v (signature %q)", err, r.Header.Get("webhook-signature"))
	}
	if got, _ := c.Endpoint.GetSecret(ctx, app.Id, ep.Id); got == nil || got.Key != hmacSecret {
		t.Errorf("GET secret after rotating to HMAC = %+v", got)
	}

	// Back to another ed25519 key: it signs v1a, the HMAC secret v1.
	const otherSK = "whsk_D/tevn+LnlEdmtCqideY+eADvVoUdNccaeI0nSbWBZNjlcATR/zJ3VjscFyNO5XXnpvsLRyQhI0WSMtzBC97YA=="
	if err := c.Endpoint.RotateSecret(ctx, app.Id, ep.Id, models.EndpointSecretRotateIn{Key: ptr(otherSK)}, nil); err != nil {
		t.Fatal(err)
	}
	pk, err := c.Endpoint.GetSecret(ctx, app.Id, ep.Id)
	if err != nil || !strings.HasPrefix(pk.Key, "whpk_") {
		t.Fatalf("GET secret = %+v, %v", pk, err)
	}
	r = send(3)
	verifyV1a(t, pk.Key, r)
	if err := sw.Verify(r.Body, r.Header); err != nil {
		t.Errorf("the HMAC secret (in its grace period) does not verify: %v", err)
	}
}

// TestEd25519_OperatorDefault: with HOOKLINE_DEFAULT_SIGNATURE=ed25519 an
// endpoint created without a secret, and a rotation without a key, get
// ed25519 keys; an explicit whsec_ secret still signs v1; a bad whsk_ key
// is a 422 naming the field.
func TestEd25519_OperatorDefault(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.Options{Worker: true, DefaultSignature: "ed25519"})
	rc := newReceiver(t, nil)
	ctx := context.Background()
	c := env.SDK(env.APIKey)
	app, err := c.Application.Create(ctx, models.ApplicationIn{Name: "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rc.URL + "/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := c.Endpoint.GetSecret(ctx, app.Id, ep.Id)
	if err != nil || !strings.HasPrefix(pk.Key, "whpk_") {
		t.Fatalf("GET secret = %+v, %v; want a whpk_ public key", pk, err)
	}
	if _, err := c.Message.Create(ctx, app.Id, models.MessageIn{EventType: "user.created", Payload: map[string]any{"n": 1}}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the webhook", func() bool { return len(rc.requests()) == 1 })
	verifyV1a(t, pk.Key, rc.requests()[0])

	if err := c.Endpoint.RotateSecret(ctx, app.Id, ep.Id, models.EndpointSecretRotateIn{}, nil); err != nil {
		t.Fatal(err)
	}
	if pk2, err := c.Endpoint.GetSecret(ctx, app.Id, ep.Id); err != nil || !strings.HasPrefix(pk2.Key, "whpk_") || pk2.Key == pk.Key {
		t.Errorf("after a rotation without a key: %+v, %v; want a new whpk_ key", pk2, err)
	}

	hm, err := c.Endpoint.Create(ctx, app.Id, models.EndpointIn{Url: rc.URL + "/hmac", Secret: ptr("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Endpoint.GetSecret(ctx, app.Id, hm.Id); s == nil || s.Key != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
		t.Errorf("explicit HMAC secret reads back as %+v", s)
	}

	bad := `{"url":"` + rc.URL + `/bad","secret":"whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlaaaaaaaaaaAJ6p9lMicMFs6Kvg=="}`
	code, body := testenv.Call(t, env.URL, "POST", "/api/v1/app/"+app.Id+"/endpoint", env.APIKey, bad)
	if code != 422 || !strings.Contains(body, "secret") {
		t.Errorf("a whsk_ key that does not hold together: %d %s, want 422 naming secret", code, body)
	}
}
