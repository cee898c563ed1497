package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzAppendMessageOut: the hand-written encoding of a message answers
// exactly what encoding/json writes for the same messageOut, whatever its
// strings hold (payloads here are compact and free of HTML characters,
// which encoding/json would rewrite; any other payload is written as
// received, checked by the decode below).
func FuzzAppendMessageOut(f *testing.F) {
	f.Add("msg_1", "ev-1", "user.created", `{"a":1}`, "ch1", "tag", int64(1733500000123456789), true)
	f.Add("msg_2", "", "a.b", `{}`, "", "", int64(0), false)
	f.Add("m\"<&>\u2028", "é\x01", "t\\", `{"x":"\u0000"}`, "c\n", "t\t", int64(-5), true)
	f.Fuzz(func(t *testing.T, id, eventID, eventType, payload, channel, tag string, ns int64, deliver bool) {
		if !json.Valid([]byte(payload)) || !bytes.HasPrefix([]byte(payload), []byte("{")) {
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(payload)); err != nil {
			return
		}
		ts := time.Unix(0, ns).UTC()
		m := messageOut{ID: id, EventType: eventType, Payload: json.RawMessage(payload), Timestamp: ts}
		if eventID != "" {
			m.EventID = &eventID
		}
		if channel != "" {
			m.Channels = []string{channel, "x"}
		}
		if tag != "" {
			m.Tags = []string{tag}
		}
		if deliver {
			m.DeliverAt = &ts
		}
		got := appendMessageOut(nil, m)
		want, err := json.Marshal(m)
		if err != nil {
			return
		}
		if !bytes.ContainsAny(compact.Bytes(), "<>&") && bytes.Equal(compact.Bytes(), []byte(payload)) && !bytes.Equal(got, want) {
			t.Fatalf("encoded\n%s\nwant (encoding/json)\n%s", got, want)
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("not JSON: %s: %v", got, err)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("decodes differently:\n%s\n%s", got, want)
		}
	})
}
