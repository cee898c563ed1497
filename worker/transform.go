package worker

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/transform"
)

// Outcomes of an attempt that a transformation decided.
const (
	// OutcomeTransformError: the endpoint's transformation threw, timed
	// out, ran out of memory or returned something unsendable. The
	// attempt fails with "transformation_error: …" and is retried on the
	// schedule, like a failed send: the customer can fix the code, and the
	// retry (or a resend) runs the new revision.
	OutcomeTransformError = "transformation_error"
	// OutcomeCanceled: the transformation set cancel: the attempt is
	// recorded as canceled, nothing is sent, and the delivery ends.
	OutcomeCanceled = "canceled"
)

// outgoing is the request an attempt sends: the stored payload to the
// endpoint's URL, or what its transformation made of them.
type outgoing struct {
	method string
	url    string
	body   []byte
	// headers are the transformation's extra headers (they win over the
	// endpoint's own; the signature's cannot be set).
	headers map[string]string
	// masked are the headers of headers the attempt log shows as
	// ******** : sensitive names, and values carrying a variable (the
	// transformation's secrets are never written back in the clear).
	masked map[string]bool
}

// transformSlot is the compiled transformation of a cached endpoint
// entry: compiled on the entry's first attempt, once per revision (the
// entry is replaced when the revision changes).
type transformSlot struct {
	mu   sync.Mutex
	prog *transform.Program
	err  *transform.Error // the code no longer compiles (an engine upgrade)
}

// program returns ep's compiled transformation.
func (h *handler) program(ctx context.Context, ep *endpointEntry) (*transform.Program, error) {
	s := &ep.tf
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prog != nil {
		return s.prog, nil
	}
	if s.err != nil {
		return nil, s.err
	}
	p, err := h.transform.Compile(ctx, *ep.cfg.Transformation.Code)
	var te *transform.Error
	if errors.As(err, &te) {
		s.err = te // the same code fails the same way: do not compile it again
	}
	if err != nil {
		return nil, err
	}
	s.prog = p
	return p, nil
}

// prepare returns what the attempt sends. With an active transformation
// it runs it: canceled reports cancel: true; a *transform.Error (or a
// URL the SSRF rules refuse) is a failed attempt; another error (the
// context ended) is not the customer's and makes the turn wait.
func (h *handler) prepare(ctx context.Context, job *tenants.DeliveryJob, ep *endpointEntry) (o outgoing, canceled bool, err error) {
	o = outgoing{method: http.MethodPost, url: ep.cfg.URL, body: job.Payload}
	t := ep.cfg.Transformation
	if t == nil || !t.Active() {
		return o, false, nil
	}
	prog, err := h.program(ctx, ep)
	if err != nil {
		return o, false, err
	}
	var shown map[string]string // most endpoints have no headers of their own
	if len(ep.cfg.Headers) > 0 {
		shown = make(map[string]string, len(ep.cfg.Headers))
	}
	for k, v := range ep.cfg.Headers {
		if tenants.IsSensitiveHeader(k) {
			v = tenants.MaskedValue
		}
		shown[k] = v
	}
	res, err := prog.Run(ctx, transform.Webhook{Method: http.MethodPost, URL: ep.cfg.URL, EventType: job.EventType,
		Payload: job.Payload, Headers: shown}, t.Variables)
	if err != nil {
		return o, false, err
	}
	if res.Cancel {
		return o, true, nil
	}
	if res.URL != ep.cfg.URL {
		if err := tenants.CheckEndpointTarget(res.URL, h.opts.AllowPrivateTargets); err != nil {
			var ve *tenants.Error
			if errors.As(err, &ve) {
				return o, false, &transform.Error{Kind: transform.KindInvalidOutput, Message: fmt.Sprintf("webhook.url %q: %s", res.URL, ve.Message)}
			}
			return o, false, err
		}
	}
	o = outgoing{method: res.Method, url: res.URL, body: res.Payload, headers: res.Headers}
	for k, v := range res.Headers {
		if tenants.IsSensitiveHeader(k) || carriesSecret(v, t.Variables) {
			if o.masked == nil {
				o.masked = map[string]bool{}
			}
			o.masked[k] = true
		}
	}
	return o, false, nil
}

// carriesSecret reports whether v contains the value of one of vars
// (values shorter than 4 characters are too common to tell).
func carriesSecret(v string, vars map[string]string) bool {
	for _, s := range vars {
		if len(s) >= 4 && strings.Contains(v, s) {
			return true
		}
	}
	return false
}

// transformed ends a turn that a transformation decided without a send:
// a canceled attempt, or a failed one (err, a *transform.Error), recorded
// like any attempt and retried on the schedule when it failed.
func (h *handler) transformed(ctx context.Context, job *tenants.DeliveryJob, ep *endpointEntry, canceled bool, err error, took time.Duration, out outcome, requestID string) outcome {
	at := h.now()
	var (
		result tenants.AttemptResult
		name   string
	)
	if canceled {
		name = OutcomeCanceled
		msg := "canceled by the endpoint's transformation (cancel: true); nothing was sent"
		result = tenants.AttemptResult{Status: tenants.StatusCanceled, Attempt: tenants.Attempt{
			ID: tenants.NewID(tenants.PrefixAttempt, at), TenantID: job.TenantID, AppID: job.AppID, MsgID: job.MsgID,
			EndpointID: job.EndpointID, DeliveryID: job.ID, URL: ep.cfg.URL, Status: tenants.StatusCanceled,
			Response: &msg, Error: msg, DurationMS: int(took.Milliseconds()), Trigger: job.Trigger, CreatedAt: at.UTC().Truncate(time.Microsecond),
		}}
	} else {
		name = OutcomeTransformError
		result, _ = h.decide(job, ep, sendResult{outcome: OutcomeTransformError, errText: "transformation_error: " + err.Error(), duration: took, at: at})
	}
	out.signal = signalNone // the receiver was not reached
	if err := h.recorder.record(ctx, result); err != nil {
		h.log.WarnContext(ctx, "attempt not recorded; it will be made again", "request_id", requestID, "tenant_id", job.TenantID,
			"msg_id", job.MsgID, "endpoint_id", job.EndpointID, "err", fmt.Errorf("record attempt of delivery %d: %w", job.ID, err))
		out.next = h.now().Add(unexpectedRetry)
		return out
	}
	if h.events != nil && !canceled { // a cancel is the customer's choice: nothing failed
		h.events.AttemptRecorded(ctx, job, result)
	}
	h.obs.Attempted(name, 0, took, 0)
	h.log.LogAttrs(ctx, slog.LevelInfo, "delivery attempt", slog.String("request_id", requestID),
		slog.String("tenant_id", job.TenantID), slog.String("msg_id", job.MsgID), slog.String("endpoint_id", job.EndpointID),
		slog.String("attempt_id", result.Attempt.ID), slog.Int("attempt", job.Attempts+1),
		slog.String("outcome", name), slog.String("next", result.Status.String()))
	if result.Status == tenants.StatusPending && result.NextAttemptAt != nil {
		out.next = *result.NextAttemptAt
	}
	return out
}

// Destination transformations. A FIFO endpoint's or a RabbitMQ
// destination's transformation runs once per batch, on Svix's shape:
// handler(input) gets {events: […]} — each event as the untransformed
// batch carries it (id, eventType, eventId, timestamp, payload) — and, for
// a FIFO endpoint, the url, method and headers it would send with (the
// sensitive headers masked). It returns the request of a FIFO endpoint
// (transform.ReadFIFORequest) or RabbitMQ's payloads, one message each
// (transform.ReadPayloads); cancel: true sends nothing, and the batch is
// recorded canceled and the destination moves past it. A handler that
// throws, loops or returns something unsendable fails the batch's attempt
// with "transformation_error: …", retried on the schedule like a failed
// send. The signature is computed over what is sent.

// batchRequest is what a batch sends once its destination's
// transformation ran (nil: the batch as it is).
type batchRequest struct {
	// FIFO endpoints.
	method  string
	url     string
	body    []byte
	headers map[string]string
	// RabbitMQ: one message each.
	payloads [][]byte
}

// destProgramCacheSize bounds the compiled destination transformations a
// worker process keeps (by destination and code: the engine shares the
// compiled code itself between destinations with the same code, but each
// destination keeps its own runtimes, so globals a handler keeps never
// reach another tenant's destination), and destProgramTTL how long; being
// stale costs nothing, the key being the code itself.
const (
	destProgramCacheSize = 1024
	destProgramTTL       = 10 * time.Minute
)

// compiled is a compile's outcome, cached either way: the same code fails
// the same way.
type compiled struct {
	prog *transform.Program
	err  error
}

// destProgram returns destination destID's compiled code, from the cache
// when it has it.
func (s *senders) destProgram(ctx context.Context, destID, code string) (*transform.Program, error) {
	h := sha256.New()
	h.Write([]byte(destID))
	h.Write([]byte{0})
	h.Write([]byte(code))
	var key [32]byte
	h.Sum(key[:0])
	if c, ok := s.programs.Get(key); ok {
		return c.prog, c.err
	}
	p, err := s.transform.Compile(ctx, code)
	var te *transform.Error
	if err == nil || errors.As(err, &te) {
		s.programs.Add(key, compiled{prog: p, err: err})
	}
	return p, err
}

// transformBatch runs d's transformation t on msgs. canceled reports
// cancel: true; a *transform.Error is the customer's (the attempt fails
// with it); another error (the context ended) is not.
func (s *senders) transformBatch(ctx context.Context, d tenants.Destination, t tenants.Transformation, headers map[string]string, msgs []tenants.PollMessage) (req *batchRequest, canceled bool, err error) {
	prog, err := s.destProgram(ctx, d.ID, *t.Code)
	if err != nil {
		return nil, false, err
	}
	events := make([]sinkEvent, len(msgs))
	for i, m := range msgs {
		events[i] = toSinkEvent(m)
	}
	type fifoInput struct {
		Events  []sinkEvent       `json:"events"`
		URL     string            `json:"url"`
		Method  string            `json:"method"`
		Headers map[string]string `json:"headers"`
	}
	var input any = struct {
		Events []sinkEvent `json:"events"`
	}{events}
	if d.Type == tenants.DestinationFIFO {
		shown := make(map[string]string, len(headers))
		for k, v := range headers {
			if tenants.IsSensitiveHeader(k) {
				v = tenants.MaskedValue
			}
			shown[k] = v
		}
		input = fifoInput{Events: events, URL: d.URL, Method: http.MethodPost, Headers: shown}
	}
	in, err := json.Marshal(input)
	if err != nil {
		return nil, false, fmt.Errorf("encode batch: %w", err)
	}
	res, err := prog.RunBatch(ctx, in, t.Variables)
	if err != nil || res.Cancel {
		return nil, res.Cancel, err
	}
	if d.Type == tenants.DestinationRabbitMQ {
		p, err := transform.ReadPayloads(res.Body)
		return &batchRequest{payloads: p}, false, err
	}
	fr, err := transform.ReadFIFORequest(res.Body, d.URL)
	if err != nil {
		return nil, false, err
	}
	if fr.URL != d.URL {
		if err := tenants.CheckEndpointTarget(fr.URL, s.allowPrivate); err != nil {
			var ve *tenants.Error
			if errors.As(err, &ve) {
				return nil, false, &transform.Error{Kind: transform.KindInvalidOutput, Message: fmt.Sprintf("url %q: %s", fr.URL, ve.Message)}
			}
			return nil, false, err
		}
	}
	return &batchRequest{method: fr.Method, url: fr.URL, body: fr.Body, headers: fr.Headers}, false, nil
}
