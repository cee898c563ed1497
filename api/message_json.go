package api

import (
	"encoding/json"
	"time"

	"github.com/gin-gonic/gin"
)

// writeMessageOut answers with m as encoding/json would write it, less
// the re-validation of the payload: encoding/json compacts and checks every
// json.RawMessage it writes (about 2 % of the CPU of a message's whole
// path, flat out), and the payload of a message just accepted was
// validated when its request was decoded. The payload is written as the
// client sent it (insignificant whitespace kept); every other field is
// encoded by encoding/json or is of a validated alphabet.
func writeMessageOut(c *gin.Context, status int, m messageOut) {
	c.Data(status, "application/json; charset=utf-8", appendMessageOut(make([]byte, 0, 192+len(m.Payload)), m))
}

// appendMessageOut appends the JSON of m to b, in messageOut's field
// order and with its omitempty rules.
func appendMessageOut(b []byte, m messageOut) []byte {
	b = append(b, `{"id":`...)
	b = appendJSON(b, m.ID)
	b = append(b, `,"eventId":`...)
	if m.EventID == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSON(b, *m.EventID)
	}
	b = append(b, `,"eventType":`...)
	b = appendJSON(b, m.EventType)
	b = append(b, `,"payload":`...)
	if len(m.Payload) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, m.Payload...)
	}
	b = append(b, `,"channels":`...)
	b = appendJSON(b, m.Channels)
	if len(m.Tags) > 0 {
		b = append(b, `,"tags":`...)
		b = appendJSON(b, m.Tags)
	}
	b = append(b, `,"timestamp":"`...)
	b = m.Timestamp.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if m.DeliverAt != nil {
		b = append(b, `,"deliverAt":"`...)
		b = m.DeliverAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendJSON appends v encoded by encoding/json (strings and string
// slices: no raw JSON inside, so nothing is re-validated).
func appendJSON(b []byte, v any) []byte {
	if s, ok := v.(string); ok && plainString(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	j, err := json.Marshal(v)
	if err != nil {
		// Strings and string slices always encode.
		return append(b, "null"...)
	}
	return append(b, j...)
}

// plainString reports whether s encodes as itself between quotes: printable
// ASCII without '"', '\\' or the characters encoding/json escapes for HTML.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
