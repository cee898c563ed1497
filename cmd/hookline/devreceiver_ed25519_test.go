package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/tenants"
)

// TestDemoReceiver_VerifyEd25519: with an ed25519 ("whsk_") endpoint key
// the demo receiver verifies v1a signatures with the public key, alone or
// beside a v1 signature of a previous HMAC secret, and rejects a v1a
// signature by another key.
func TestDemoReceiver_VerifyEd25519(t *testing.T) {
	t.Parallel()
	const sk = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
	key, err := tenants.Ed25519SecretKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	now := time.Unix(1_800_000_000, 0)
	recv := newDemoReceiver(func(context.Context) ([]string, error) { return []string{sk}, nil })
	recv.now = func() time.Time { return now }
	srv := httptest.NewServer(recv)
	defer srv.Close()
	body := `{"id":"ord_1"}`
	v1a := func(k ed25519.PrivateKey, id string) string {
		return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(k, []byte(id+"."+strconv.FormatInt(now.Unix(), 10)+"."+body)))
	}
	for _, tc := range []struct {
		name, id, sig string
		want          int
	}{
		{"V1a", "msg_1", v1a(key, "msg_1"), 204},
		{"V1aBesideV1", "msg_2", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= " + v1a(key, "msg_2"), 204},
		{"OtherKey", "msg_3", v1a(otherKey, "msg_3"), 401},
		{"SignedOtherID", "msg_4", v1a(key, "msg_x"), 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+demoReceiverPath, strings.NewReader(body))
			req.Header.Set("webhook-id", tc.id)
			req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
			req.Header.Set("webhook-signature", tc.sig)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
