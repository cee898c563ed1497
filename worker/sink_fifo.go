package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hookline/hookline/tenants"
)

// sinkEvent is one message in a batch as FIFO endpoints and RabbitMQ get
// it: Svix's event shape.
type sinkEvent struct {
	ID        string          `json:"id"`
	EventType string          `json:"eventType"`
	EventID   *string         `json:"eventId,omitempty"`
	Timestamp time.Time       `json:"timestamp"`
	Payload   json.RawMessage `json:"payload"`
}

func toSinkEvent(m tenants.PollMessage) sinkEvent {
	p := json.RawMessage(m.Payload)
	if m.Payload == nil {
		p = json.RawMessage(`{"expired":true}`)
	}
	return sinkEvent{ID: m.ID, EventType: m.EventType, EventID: m.EventID, Timestamp: m.CreatedAt.UTC(), Payload: p}
}

// fifoSession posts batches to a FIFO endpoint: one request per batch, the
// body a JSON array of the batch's events in order, signed once with the
// destination's secrets (Standard Webhooks; webhook-id is the batch id, so
// a batch sent again carries the same id and a receiver can drop it).
type fifoSession struct {
	s       *senders
	url     string
	headers map[string]string
	signer  *Signer
}

func (s *senders) newFIFOSession(d tenants.Destination, secrets []string, headers map[string]string) (sinkSession, error) {
	signer, err := NewSigner(secrets)
	if err != nil {
		return nil, err
	}
	return &fifoSession{s: s, url: d.URL, headers: headers, signer: signer}, nil
}

func (f *fifoSession) close() {}

func (f *fifoSession) send(ctx context.Context, batchID string, msgs []tenants.PollMessage, tr *batchRequest) sendOutcome {
	method, url := http.MethodPost, f.url
	var body []byte
	if tr != nil {
		method, url, body = tr.method, tr.url, tr.body
	} else {
		events := make([]sinkEvent, len(msgs))
		for i, m := range msgs {
			events[i] = toSinkEvent(m)
		}
		var err error
		if body, err = json.Marshal(events); err != nil {
			return sendOutcome{response: "encode batch: " + err.Error()}
		}
	}
	ts := f.s.now().Unix()
	sig := f.signer.Sign(batchID, ts, body)
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return sendOutcome{response: "invalid URL: " + err.Error()}
	}
	for k, v := range f.headers {
		req.Header.Set(k, v)
	}
	if tr != nil {
		for k, v := range tr.headers { // the transformation's win over the destination's
			req.Header.Set(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", f.s.agent)
	tsStr := strconv.FormatInt(ts, 10)
	if f.s.sigMode != "svix" {
		req.Header.Set("Webhook-Id", batchID)
		req.Header.Set("Webhook-Timestamp", tsStr)
		req.Header.Set("Webhook-Signature", sig)
	}
	if f.s.sigMode != "webhook" {
		req.Header.Set("Svix-Id", batchID)
		req.Header.Set("Svix-Timestamp", tsStr)
		req.Header.Set("Svix-Signature", sig)
	}
	resp, err := f.s.http.Do(req)
	if err != nil {
		return sendOutcome{response: truncate(err.Error(), 1024)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return sendOutcome{ok: resp.StatusCode >= 200 && resp.StatusCode < 300, statusCode: resp.StatusCode, response: truncate(string(b), 1024)}
}
