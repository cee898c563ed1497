package api

import (
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/internal/jsonstr"
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
	b = jsonstr.Append(b, m.ID)
	b = append(b, `,"eventId":`...)
	if m.EventID == nil {
		b = append(b, "null"...)
	} else {
		b = jsonstr.Append(b, *m.EventID)
	}
	b = append(b, `,"eventType":`...)
	b = jsonstr.Append(b, m.EventType)
	b = append(b, `,"payload":`...)
	if len(m.Payload) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, m.Payload...)
	}
	b = append(b, `,"channels":`...)
	b = appendStrings(b, m.Channels)
	if len(m.Tags) > 0 {
		b = append(b, `,"tags":`...)
		b = appendStrings(b, m.Tags)
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

// appendStrings appends ss as encoding/json encodes a []string: null when
// nil.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, s)
	}
	return append(b, ']')
}
