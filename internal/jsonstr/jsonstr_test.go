package jsonstr

import (
	"encoding/json"
	"testing"
)

// FuzzAppend: Append writes exactly what encoding/json writes for a string.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "plain", `q"uote`, `back\slash`, "<html>&", "tab\there", "é", "\x00\x1f\x7f", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := Append([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("Append(%q) = %s; encoding/json: %s", s, got[1:], want)
		}
	})
}
