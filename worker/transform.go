package worker

import (
	"context"
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
