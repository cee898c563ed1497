package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/worker"
)

// TestDemoReceiver_Verify: the demo receiver accepts what a Standard
// Webhooks verifier accepts (either header family, any live secret) and
// rejects, with a reason, what it rejects; it lists both, newest first,
// and forgets past its bound.
func TestDemoReceiver_Verify(t *testing.T) {
	t.Parallel()
	const current, previous, other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_dGVzdC1zZWNyZXQtb2YtdGhlLWRlbW8tcmVj", "whsec_b3RoZXItc2VjcmV0LW5vdC1vbi10aGUtZW5k"
	now := time.Unix(1_800_000_000, 0)
	recv := newDemoReceiver(func(context.Context) ([]string, error) { return []string{current, previous}, nil })
	recv.now = func() time.Time { return now }
	srv := httptest.NewServer(recv)
	defer srv.Close()
	sign := func(secret, id string, ts int64, body string) string {
		s, err := worker.NewSigner([]string{secret})
		if err != nil {
			t.Fatal(err)
		}
		return s.Sign(id, ts, []byte(body))
	}
	body := `{"id":"ord_1"}`
	for _, tc := range []struct {
		name    string
		prefix  string
		id      string
		ts      int64
		sig     string
		want    int
		problem string
	}{
		{"CurrentSecret", "webhook-", "msg_1", now.Unix(), sign(current, "msg_1", now.Unix(), body), 204, ""},
		{"SvixHeaders", "svix-", "msg_2", now.Unix(), sign(current, "msg_2", now.Unix(), body), 204, ""},
		{"PreviousSecretAmongSeveral", "webhook-", "msg_3", now.Unix(), "v1,bm9wZQ== " + sign(previous, "msg_3", now.Unix(), body), 204, ""},
		{"OtherSecret", "webhook-", "msg_4", now.Unix(), sign(other, "msg_4", now.Unix(), body), 401, "no signature matches"},
		{"SignedOtherID", "webhook-", "msg_5", now.Unix(), sign(current, "msg_x", now.Unix(), body), 401, "no signature matches"},
		{"OldTimestamp", "webhook-", "msg_6", now.Add(-6 * time.Minute).Unix(), sign(current, "msg_6", now.Add(-6*time.Minute).Unix(), body), 401, "5 minutes"},
		{"NoHeaders", "", "", 0, "", 401, "missing webhook-id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+demoReceiverPath, strings.NewReader(body))
			if tc.prefix != "" {
				req.Header.Set(tc.prefix+"id", tc.id)
				req.Header.Set(tc.prefix+"timestamp", strconv.FormatInt(tc.ts, 10))
				req.Header.Set(tc.prefix+"signature", tc.sig)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			got := recv.list()[0]
			if got.MsgID != tc.id || got.Verified != (tc.want == 204) || !strings.Contains(got.Problem, tc.problem) || string(got.Payload) != body {
				t.Errorf("listed %+v, want id %q verified %v problem %q", got, tc.id, tc.want == 204, tc.problem)
			}
		})
	}

	for i := range demoReceiverKeep + 5 {
		id := fmt.Sprintf("msg_bulk%d", i)
		req, _ := http.NewRequest("POST", srv.URL+demoReceiverPath, strings.NewReader("not json"))
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sign(current, id, now.Unix(), "not json"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + demoReceiverJSONPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var listed struct{ Data []receivedWebhook }
	if err := json.NewDecoder(resp.Body).Decode(&listed); err != nil {
		t.Fatal(err)
	}
	last := fmt.Sprintf("msg_bulk%d", demoReceiverKeep+4)
	if len(listed.Data) != demoReceiverKeep || listed.Data[0].MsgID != last || listed.Data[0].Body != "not json" || !listed.Data[0].Verified {
		t.Errorf("listed %d, newest %+v; want %d, newest %s with its non-JSON body", len(listed.Data), listed.Data[0], demoReceiverKeep, last)
	}
}
