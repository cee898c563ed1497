package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hookline/hookline/tenants"
)

// FuzzDecodeBodies feeds arbitrary bytes to the request decoders and
// their validation: nothing panics, every refusal is a domain error (tenants.Error)
// (a 422, never a 500), and what is accepted is UTF-8 without NUL in the
// strings that reach PostgreSQL.
func FuzzDecodeBodies(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","uid":"u1","metadata":{"k":"v"},"throttleRate":5}`,
		`{"name":"a\u0000"}`, "{\"name\":\"\xff\"}", `{"url":"https://hooks.test/x","channels":["a"],"headers":{"X-A":"1"},"retrySchedule":["1s",2]}`,
		`{"eventType":"a.b","payload":{"k\u0000":[1,{"x":null}]},"channels":["c"],"tags":["t"]}`,
		`{"name":"a.b","description":"d","schemas":{"1":{"type":"object"}}}`, `[1]`, `{`, `{"uid":5}`,
		`{"url":"https://hooks.test/x","maxConcurrency":1000}`, `{"url":"https://hooks.test/x","maxConcurrency":0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(err error) bool {
			if err == nil {
				return true
			}
			var ve *tenants.Error
			if !errors.As(err, &ve) {
				t.Fatalf("decode error is not a domain error (it would be a 500): %T %v", err, err)
			}
			return false
		}
		var app applicationIn
		if check(decodeBytes(b, &app)) {
			if in, err := app.toInput(); check(err) {
				if !cleanText(in.Name) || (in.UID != nil && !cleanText(*in.UID)) {
					t.Fatalf("accepted a name or uid PostgreSQL cannot store: %q", in.Name)
				}
				for k, v := range in.Metadata {
					if !cleanText(k) || !cleanText(v) {
						t.Fatalf("accepted metadata PostgreSQL cannot store: %q", in.Metadata)
					}
				}
			}
		}
		var ep endpointIn
		if check(decodeBytes(b, &ep)) {
			if in, err := ep.toInput(false); check(err) {
				if !cleanText(in.URL) || !cleanText(in.Description) {
					t.Fatalf("accepted a URL or description PostgreSQL cannot store: %q", in.URL)
				}
				if m := in.MaxConcurrency; m != nil && (*m < tenants.MinMaxConcurrency || *m > tenants.MaxMaxConcurrency) {
					t.Fatalf("accepted a lane cap the schema's CHECK refuses: %d", *m)
				}
			}
		}
		var et eventTypeIn
		if check(decodeBytes(b, &et)) && et.Name != nil {
			_, _ = et.toInput(*et.Name)
		}
		var msg messageIn
		if check(decodeBytes(b, &msg, "payload", "data")) {
			s := &Server{opts: Options{MaxPayloadBytes: 1 << 20}}
			if in, err := s.toMessageInput(msg); check(err) && !utf8.Valid(in.Payload) {
				t.Fatalf("accepted a payload that is not UTF-8")
			}
		}
	})
}

// FuzzCheckUID: an accepted uid is 1-256 characters of the uid alphabet,
// never an id of its kind, and the path check agrees with the body check.
func FuzzCheckUID(f *testing.F) {
	for _, s := range []string{"app1", "a\nb", "app_notanid", strings.Repeat("u", 300), "a b", "", "app_2Ug6JqzK8ODiTcjjwTnnbxbxqDh", "ok.-_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := checkUID("uid", &s, tenants.PrefixApplication)
		if err == nil {
			if len(s) == 0 || len(s) > 256 || strings.HasPrefix(s, tenants.PrefixApplication) || !uidRE.MatchString(s) {
				t.Fatalf("accepted uid %q", s)
			}
		}
		perr := checkPathRef("app_id", s, tenants.PrefixApplication)
		if tenants.IsID(tenants.PrefixApplication, s) {
			if perr != nil {
				t.Fatalf("path check refused the id %q: %v", s, perr)
			}
		} else if (err == nil) != (perr == nil) {
			t.Fatalf("body check %v and path check %v disagree on %q", err, perr, s)
		}
	})
}

// FuzzParseIterator: an accepted iterator is what a page could have
// returned: short, printable ASCII, no NUL.
func FuzzParseIterator(f *testing.F) {
	for _, s := range []string{"", "app_2Ug6JqzK8ODiTcjjwTnnbxbxqDh", "-msg_2Ug6JqzK8ODiTcjjwTnnbxbxqDh", "a.b", "\x00", "%ff", "--x", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseIterator(s)
		if err != nil {
			var ve *tenants.Error
			if !errors.As(err, &ve) {
				t.Fatalf("not an invalid-value error: %v", err)
			}
			return
		}
		if got != s || len(s) > 257 || !cleanText(s) || strings.ContainsAny(s, " \t\r\n'\"\\;") {
			t.Fatalf("accepted iterator %q", s)
		}
	})
}

// FuzzCheckBodyBytes: the NUL finder agrees with a full decode, and never
// panics on malformed JSON.
func FuzzCheckBodyBytes(f *testing.F) {
	for _, s := range []string{`{"a":"\u0000"}`, `{"a":"\\u0000"}`, `{"payload":{"x":"\u0000"}}`, `{"a":[{"b\u0000":1}]}`, `{"a":`, "{\"a\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkBodyBytes(b)
		if err != nil {
			var ve *tenants.Error
			if !errors.As(err, &ve) {
				t.Fatalf("not an invalid-value error: %v", err)
			}
			return
		}
		var v any
		if jsonErr := json.Unmarshal(b, &v); jsonErr == nil && hasNUL(v) {
			t.Fatalf("a NUL passed: %q", b)
		}
	})
}

func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	}
	return false
}
