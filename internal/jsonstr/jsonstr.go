// Package jsonstr writes JSON strings as encoding/json does, without
// boxing each string into an interface and running the encoder for the
// common case of a plain one: the hand-written JSON of the hot paths (the
// message create's answer, the attempt's recorded request headers).
package jsonstr

import "encoding/json"

// Append appends s as encoding/json encodes it: as itself between quotes
// when it is plain, through encoding/json otherwise.
func Append(b []byte, s string) []byte {
	if Plain(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	j, err := json.Marshal(s)
	if err != nil {
		// A string always encodes.
		return append(b, `""`...)
	}
	return append(b, j...)
}

// Plain reports whether s encodes as itself between quotes: printable
// ASCII without '"', '\\' or the characters encoding/json escapes for HTML.
func Plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
