package store

import (
	"encoding/json"
	"testing"
)

// FuzzHeadersJSON: the recorder's headers are exactly what encoding/json
// writes for the map, whatever the keys and values.
func FuzzHeadersJSON(f *testing.F) {
	f.Add("content-type", "application/json", "webhook-id", "msg_1", "", "")
	f.Add("x-q", `a"b\c`, "x-html", "<&>", "x-bad", "\xff\x00é")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		h := map[string]string{k1: v1, k2: v2, k3: v3}
		want, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if got := headersJSON(h); got != string(want) {
			t.Fatalf("headersJSON(%q) = %s; encoding/json: %s", h, got, want)
		}
	})
}

// TestHeadersJSON_Many: more headers than the key buffer on the stack.
func TestHeadersJSON_Many(t *testing.T) {
	h := map[string]string{}
	for i := range 40 {
		h[string(rune('a'+i%26))+string(rune('A'+i))] = string(rune('0' + i%10))
	}
	want, _ := json.Marshal(h)
	if got := headersJSON(h); got != string(want) {
		t.Fatalf("headersJSON = %s; encoding/json: %s", got, want)
	}
	if got := headersJSON(map[string]string{}); got != "{}" {
		t.Fatalf("headersJSON(empty) = %s", got)
	}
}
