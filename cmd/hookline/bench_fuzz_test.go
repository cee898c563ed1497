package main

import (
	"encoding/base64"
	"strconv"
	"testing"

	"github.com/hookline/hookline/worker"
)

// FuzzVerifySignature fuzzes the Standard Webhooks signature header parser
// the bench's receiver uses: any header never panics; a header the Signer
// made verifies, with anything appended or prepended as more
// space-separated entries; a header from another key never does.
func FuzzVerifySignature(f *testing.F) {
	f.Add("msg_1", "1700000000", []byte(`{"a":1}`), "v1,bm90IGEgc2lnbmF0dXJl v2,x")
	f.Add("", "", []byte{}, "")
	f.Add("id", "0", []byte("\x00\xff"), "v1, v1,,, v1,=== \t")
	key := []byte("0123456789abcdef0123456789abcdef")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key, another key, other!"))
	f.Fuzz(func(t *testing.T, id, ts string, body []byte, junk string) {
		_ = verify(key, id, ts, body, junk) // arbitrary headers: no panic
		s, err := worker.NewSigner([]string{secret})
		if err != nil {
			t.Fatal(err)
		}
		o, _ := worker.NewSigner([]string{other})
		n, _ := strconv.ParseInt(ts, 10, 64)
		good := s.Sign(id, n, body)
		tsStr := strconv.FormatInt(n, 10)
		if !verify(key, id, tsStr, body, good) || !verify(key, id, tsStr, body, junk+" "+good) || !verify(key, id, tsStr, body, good+" "+junk) {
			t.Fatalf("a valid signature did not verify: %q", good)
		}
		if verify(key, id, tsStr, body, o.Sign(id, n, body)) {
			t.Fatal("another key's signature verified")
		}
	})
}
