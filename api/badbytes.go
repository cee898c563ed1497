package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

// rejectBadBytes refuses, before any handler (and so before PostgreSQL,
// whose text type cannot hold them), a path or query that decodes to a NUL
// byte or to invalid UTF-8: such a path names nothing (404), such a query
// parameter is a 422 on its name. The raw query must also be well formed.
func (s *Server) rejectBadBytes(c *gin.Context) {
	if !cleanText(c.Request.URL.Path) {
		s.writeError(c, errNotFound)
		return
	}
	if raw := c.Request.URL.RawQuery; raw != "" {
		q, err := url.ParseQuery(raw)
		if err != nil {
			s.writeError(c, tenants.InvalidAt([]string{"query"}, "the query string is malformed (bad %-escape or ';')"))
			return
		}
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !cleanText(k) {
				s.writeError(c, tenants.InvalidAt([]string{"query"}, "query parameter names must be UTF-8 without NUL bytes"))
				return
			}
			for _, v := range q[k] {
				if !cleanText(v) {
					s.writeError(c, tenants.InvalidAt([]string{"query", k}, "must be UTF-8 text without NUL bytes"))
					return
				}
			}
		}
	}
	c.Next()
}

// cleanText reports whether s is valid UTF-8 without a NUL byte: what a
// PostgreSQL text value can hold.
func cleanText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// checkBodyBytes refuses a JSON body that is not UTF-8 (RFC 8259 §8.1) or
// that has a NUL (\u0000) in a string or key outside the top-level fields
// named in raw (message payloads are stored as bytes, so a NUL is theirs to
// send). Invalid UTF-8 would otherwise be stored and echoed back as
// invalid JSON; a NUL would reach PostgreSQL and fail there.
func checkBodyBytes(b []byte, raw ...string) error {
	if !utf8.Valid(b) {
		off := 0
		for off < len(b) {
			r, n := utf8.DecodeRune(b[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return &tenants.Error{Code: tenants.CodeInvalid, Loc: []string{"body"}, Message: fmt.Sprintf("the body must be UTF-8 JSON; invalid byte at offset %d", off), Type: "value_error.jsondecode"}
	}
	if !bytes.Contains(b, []byte(`\u0000`)) {
		return nil
	}
	loc, found := findNUL(b, raw)
	if !found {
		return nil
	}
	return tenants.InvalidAt(append([]string{"body"}, loc...), "strings must not contain NUL (\\u0000)")
}

// findNUL walks the JSON in b and returns the path of the first key or
// string value holding a NUL, skipping the values of top-level keys in
// skip. Malformed JSON reports nothing (the decoder says what is wrong).
func findNUL(b []byte, skip []string) ([]string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type frame struct {
		object bool
		key    string // the current key, in an object
		index  int    // the next index, in an array
		expect bool   // in an object: the next token is a key
	}
	var stack []frame
	path := func() []string {
		out := make([]string, 0, len(stack))
		for _, f := range stack {
			if f.object {
				out = append(out, f.key)
			} else {
				out = append(out, strconv.Itoa(f.index-1))
			}
		}
		return out
	}
	// value is called before each value token: it moves the enclosing
	// frame on.
	value := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].expect = true
			} else {
				stack[n-1].index++
			}
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return nil, false
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				value()
				if len(stack) == 1 && stack[0].object && slices.Contains(skip, stack[0].key) {
					// The opening delimiter is consumed: skip to its match.
					depth := 1
					for depth > 0 {
						t, err := dec.Token()
						if err != nil {
							return nil, false
						}
						if dd, ok := t.(json.Delim); ok {
							if dd == '{' || dd == '[' {
								depth++
							} else {
								depth--
							}
						}
					}
					continue
				}
				stack = append(stack, frame{object: d == '{', expect: d == '{'})
			default:
				stack = stack[:top]
			}
			continue
		}
		if top >= 0 && stack[top].object && stack[top].expect {
			k, _ := tok.(string)
			stack[top].key, stack[top].expect = k, false
			if strings.IndexByte(k, 0) >= 0 {
				return path(), true
			}
			continue
		}
		value()
		if str, ok := tok.(string); ok && strings.IndexByte(str, 0) >= 0 {
			if len(stack) == 1 && stack[0].object && slices.Contains(skip, stack[0].key) {
				continue
			}
			return path(), true
		}
	}
}
