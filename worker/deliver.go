package worker

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookline/hookline/telemetry"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/transform"
)

// Outcomes of an attempt, as the metrics and logs name them.
const (
	OutcomeSuccess     = "success"
	OutcomeHTTPError   = "http_error"
	OutcomeTimeout     = "timeout"
	OutcomeConnError   = "connection_error"
	OutcomeSSRFBlocked = "ssrf_blocked"
	OutcomeThrottled   = "throttled"
	OutcomeCircuitOpen = "circuit_open"
)

// Observer is told about every attempt and postponement, for metrics. Its
// methods must be cheap and safe for concurrent use.
type Observer interface {
	// Attempted is called after each HTTP attempt. firstSuccess is the time
	// from the message's acceptance to this success, set only when this is
	// the delivery's first successful scheduled attempt.
	Attempted(outcome string, statusCode int, duration time.Duration, firstSuccess time.Duration)
	// Postponed is called when a delivery waits without an attempt
	// (throttled, circuit open).
	Postponed(outcome string)
	// Reenqueued is called when the sweeper restores n deliveries that
	// were missing from Redis.
	Reenqueued(n int)
}

type nopObserver struct{}

func (nopObserver) Attempted(string, int, time.Duration, time.Duration) {}
func (nopObserver) Postponed(string)                                    {}
func (nopObserver) Reenqueued(int)                                      {}

// dueTolerance is how early an attempt may start.
const dueTolerance = 2 * time.Millisecond

// handler makes attempts: the HTTP send with its signature, the breaker,
// the throttle, the record, and what the delivery's lane is told after.
type handler struct {
	store     Store
	cache     *endpointCache
	breaker   *breaker
	throttle  *throttle
	recorder  *recorder
	postponer *postponer
	egress    *transports // the shared client and endpoints' own (transport.go)
	opts      Options
	log       *slog.Logger
	obs       Observer
	tracer    trace.Tracer
	// sendSpan starts an attempt's client span; made once (an option is a
	// closure, and the variadic slice another allocation per attempt).
	sendSpan  []trace.SpanStartOption
	events    AttemptEvents // nil: none
	transform *transform.Engine
	now       func() time.Time
	rnd       func() float64
}

// outcome is what became of one turn of a delivery in its lane: when it is
// due again (zero: it is done: delivered, failed for good or canceled),
// and what the turn said about the receiver's capacity.
type outcome struct {
	next       time.Time
	signal     laneSignal
	pauseUntil time.Time
	cap        int
	appID      string
}

// unexpectedRetry is how long a delivery waits after an error that is not
// the receiver's (the database down, a record that could not be written):
// the lane keeps it, and PostgreSQL still says it is pending.
const unexpectedRetry = 5 * time.Second

// attempt makes one attempt of a loaded delivery job, records it, and
// returns what its lane is to do next. It never fails: whatever goes
// wrong becomes a later turn. job is only read (a pointer: a copy would
// be moved to the heap, as its address is taken).
func (h *handler) attempt(ctx context.Context, job *tenants.DeliveryJob, requestID string) outcome {
	tenantID, id := job.TenantID, job.ID
	now := h.now()
	out := outcome{appID: job.AppID}
	span := trace.SpanFromContext(ctx)
	if job.Status != tenants.StatusPending {
		return out // done already: a duplicate turn, or a recovered one
	}
	if job.EndpointDeleted || job.EndpointDisabled || job.Payload == nil {
		// Disabled and deleted endpoints receive nothing; an expunged
		// payload has nothing to send.
		return h.cancel(ctx, *job, out)
	}
	if job.NextAttemptAt != nil && job.NextAttemptAt.Sub(now) > dueTolerance {
		// Early: a swept delivery, or a lane that learned its time late.
		// PostgreSQL holds the time.
		out.next = *job.NextAttemptAt
		return out
	}
	ep, err := h.cache.get(ctx, tenantID, job.EndpointID, job.EndpointRevision)
	if errors.Is(err, tenants.ErrNotFound) {
		return h.cancel(ctx, *job, out)
	}
	if err != nil {
		h.log.WarnContext(ctx, "cannot load endpoint; the delivery waits", "tenant_id", tenantID, "endpoint_id", job.EndpointID, "err", err)
		out.next = now.Add(unexpectedRetry)
		return out
	}
	out.cap = laneCap(ep.cfg.MaxConcurrency)
	// The transformation runs first: a cancel or a broken handler is the
	// customer's decision, not the receiver's health (transform.go).
	o, canceled, terr := h.prepare(ctx, job, ep)
	var te *transform.Error
	switch {
	case canceled || errors.As(terr, &te):
		return h.transformed(ctx, job, ep, canceled, terr, h.now().Sub(now), out, requestID)
	case terr != nil:
		h.log.WarnContext(ctx, "transformation did not run; the delivery waits", "tenant_id", tenantID, "endpoint_id", job.EndpointID, "err", terr)
		out.next = h.now().Add(unexpectedRetry)
		return out
	}
	var probeCost time.Duration // what a failure would cost this delivery
	if job.Trigger == tenants.TriggerScheduled {
		probeCost, _ = NextDelay(h.schedule(ep), job.Attempts+1, 0.5)
	}
	tk, ok, wait := h.breaker.allow(job.EndpointID, probeCost, now)
	if !ok {
		h.obs.Postponed(OutcomeCircuitOpen)
		// Spread the waiting deliveries over a fifth of the wait, so
		// they do not all come back at once.
		out.next = h.postpone(job, now, wait+time.Duration(h.rnd()*float64(wait)/5))
		return out
	}
	if r := ep.cfg.ThrottleRate; r != nil && *r > 0 {
		if ok, wait := h.throttle.allow(ctx, job.EndpointID, *r, now); !ok {
			h.obs.Postponed(OutcomeThrottled)
			out.next = h.postpone(job, now, wait)
			return out
		}
	}

	if span.IsRecording() { // attributes cost allocations even when dropped
		span.SetAttributes(attribute.String("hookline.msg_id", job.MsgID), attribute.Int("hookline.attempt", job.Attempts+1))
	}
	res := h.send(ctx, job, ep, o)
	result, next := h.decide(job, ep, res)
	out.signal = res.signal()
	if res.retryAfter > 0 && out.signal == signalCongestion {
		out.pauseUntil = res.at.Add(res.retryAfter)
	}
	h.breaker.done(job.EndpointID, tk, res.outcome == OutcomeSuccess, next, h.now())
	if err := h.recorder.record(ctx, result); err != nil {
		// The attempt happened but is not on record: try again (the
		// receiver de-duplicates on webhook-id).
		h.log.WarnContext(ctx, "attempt not recorded; it will be made again", "request_id", requestID, "tenant_id", tenantID,
			"msg_id", job.MsgID, "endpoint_id", job.EndpointID, "err", fmt.Errorf("record attempt of delivery %d: %w", id, err))
		out.next = h.now().Add(unexpectedRetry)
		return out
	}
	if h.events != nil {
		h.events.AttemptRecorded(ctx, job, result)
	}
	var firstSuccess time.Duration
	if res.outcome == OutcomeSuccess && job.Trigger == tenants.TriggerScheduled {
		firstSuccess = max(h.now().Sub(job.MsgCreatedAt), 0)
	}
	h.obs.Attempted(res.outcome, res.statusCode, res.duration, firstSuccess)
	if res.outcome != OutcomeSuccess {
		span.SetStatus(codes.Error, res.outcome)
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "delivery attempt", slog.String("request_id", requestID),
		slog.String("tenant_id", tenantID), slog.String("msg_id", job.MsgID), slog.String("endpoint_id", job.EndpointID),
		slog.String("attempt_id", result.Attempt.ID), slog.Int("attempt", job.Attempts+1),
		slog.Int("status_code", res.statusCode), slog.Int64("duration_ms", res.duration.Milliseconds()),
		slog.String("outcome", res.outcome), slog.String("next", result.Status.String()))
	if result.Status == tenants.StatusPending && result.NextAttemptAt != nil {
		out.next = *result.NextAttemptAt
	}
	return out
}

// cancel ends a delivery without an attempt (its endpoint was deleted or
// disabled, or its payload is gone).
func (h *handler) cancel(ctx context.Context, job tenants.DeliveryJob, out outcome) outcome {
	if err := h.store.SetDeliveryStatus(ctx, job.TenantID, job.ID, tenants.StatusCanceled); err != nil {
		out.next = h.now().Add(unexpectedRetry)
	}
	return out
}

// sendResult is what one HTTP request produced.
type sendResult struct {
	outcome    string
	statusCode int
	response   string
	errText    string
	duration   time.Duration
	retryAfter time.Duration
	headers    map[string]string
	at         time.Time
	// congested marks a connection error that means the receiver is full
	// or gone (refused, reset), as opposed to one of ours (a bad URL).
	congested bool
	// url is where the request went (a transformation may change it);
	// empty: the endpoint's.
	url string
}

// signal is what the attempt says about the receiver's capacity: a
// timeout, a refused or reset connection, a 429 or a 503 is congestion;
// a success is room; anything else (a quick 500, a 404) is a failure that
// says nothing of capacity but still counts in the lane's window.
func (r sendResult) signal() laneSignal {
	switch {
	case r.outcome == OutcomeSuccess:
		return signalOK
	case r.outcome == OutcomeTimeout, r.outcome == OutcomeConnError && r.congested:
		return signalCongestion
	case r.statusCode == http.StatusTooManyRequests, r.statusCode == http.StatusServiceUnavailable:
		return signalCongestion
	}
	return signalFail
}

func (r sendResult) summary() string {
	if r.statusCode > 0 {
		return "HTTP " + strconv.Itoa(r.statusCode)
	}
	return r.errText
}

// headers returns the headers of an attempt and their record (sensitive
// values masked): the endpoint's own, the transformation's (which win),
// then Content-Type, User-Agent and the signature's, which no other may
// replace. Keys are written canonical, as Header.Set would write them.
func (h *handler) headers(msgID string, ts int64, sig string, ep *endpointEntry, o outgoing) (http.Header, map[string]string) {
	n := len(ep.headers) + len(o.headers) + 2 + 6
	if h.opts.SignatureHeaders != DefaultSignatureHeaders {
		n -= 3 // one scheme's headers only
	}
	// Sized exactly: up to 8 entries, a map is one group of slots (an
	// Authorization or a trace header, when there is one, grows it).
	hdr := make(http.Header, n)
	recorded := make(map[string]string, n)
	for _, f := range ep.headers {
		hdr[f.key] = f.value
		recorded[f.key] = f.shown
	}
	for k, v := range o.headers { // the transformation's win over the endpoint's
		ck := http.CanonicalHeaderKey(k)
		hdr[ck] = []string{v}
		if o.masked[k] {
			v = "********"
		}
		recorded[ck] = v
	}
	// One array holds every value below; each header gets a slice of it
	// full to capacity, so an append to one copies rather than overwrites
	// its neighbour.
	tsStr := strconv.FormatInt(ts, 10)
	vals := [...]string{"application/json", h.opts.UserAgent, msgID, tsStr, sig}
	v := make([]string, len(vals))
	copy(v, vals[:])
	set := func(k string, i int) {
		hdr[k] = v[i : i+1 : i+1]
		recorded[k] = v[i]
	}
	set("Content-Type", 0)
	set("User-Agent", 1)
	if h.opts.SignatureHeaders != "svix" {
		set("Webhook-Id", 2)
		set("Webhook-Timestamp", 3)
		set("Webhook-Signature", 4)
	}
	if h.opts.SignatureHeaders != "webhook" {
		set("Svix-Id", 2)
		set("Svix-Timestamp", 3)
		set("Svix-Signature", 4)
	}
	return hdr, recorded
}

// send POSTs the payload, byte for byte as stored, signed (or what the
// transformation made of it: o).
func (h *handler) send(ctx context.Context, job *tenants.DeliveryJob, ep *endpointEntry, o outgoing) sendResult {
	at := h.now()
	ts := at.Unix()
	sig := ep.signer.Sign(job.MsgID, ts, o.body)
	ctx, cancel := context.WithTimeout(ctx, h.opts.DeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, o.method, o.url, bytes.NewReader(o.body))
	if err != nil {
		return sendResult{outcome: OutcomeConnError, errText: "invalid URL: " + err.Error(), at: at, url: o.url}
	}
	var recorded map[string]string
	req.Header, recorded = h.headers(job.MsgID, ts, sig, ep, o)
	ctx, span := h.tracer.Start(ctx, "POST webhook", h.sendSpan...)
	defer span.End()
	if span.IsRecording() { // attributes cost allocations even when dropped
		span.SetAttributes(attribute.String("http.request.method", o.method), attribute.String("server.address", req.URL.Hostname()))
	}
	if span.SpanContext().IsValid() {
		// The receiver may continue the trace.
		telemetry.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	start := time.Now()
	resp, err := h.do(ctx, req, ep, recorded)
	if err != nil {
		span.SetStatus(codes.Error, "no response")
		r := sendResult{duration: time.Since(start), headers: recorded, at: at, url: o.url}
		var blocked *BlockedAddressError
		var netErr net.Error
		switch {
		case errors.As(err, &blocked):
			r.outcome, r.errText = OutcomeSSRFBlocked, blocked.Error()
		case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
			r.outcome, r.errText = OutcomeTimeout, fmt.Sprintf("no answer within %s", h.opts.DeliveryTimeout)
		default:
			r.outcome, r.errText = OutcomeConnError, connErrorText(err)
			r.congested = errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
				errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
		}
		return r
	}
	var body []byte
	var readErr error
	if resp.ContentLength != 0 { // most receivers answer with no body: nothing to read
		body, readErr = io.ReadAll(io.LimitReader(resp.Body, tenants.MaxResponseChars))
		// Drain a little more so the connection can be reused, then let go.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	}
	resp.Body.Close()
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	}
	r := sendResult{statusCode: resp.StatusCode, response: cleanText(body), duration: time.Since(start), headers: recorded, at: at, url: o.url}
	switch {
	case readErr != nil && errors.Is(readErr, context.DeadlineExceeded):
		r.outcome, r.errText = OutcomeTimeout, fmt.Sprintf("response body not read within %s", h.opts.DeliveryTimeout)
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		r.outcome = OutcomeSuccess
	default:
		r.outcome = OutcomeHTTPError
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), at); ok {
				r.retryAfter = d
			}
		}
	}
	return r
}

// decide turns an attempt into the record to store and, for a retry, the
// delay before it.
func (h *handler) decide(job *tenants.DeliveryJob, ep *endpointEntry, res sendResult) (tenants.AttemptResult, time.Duration) {
	a := tenants.Attempt{
		ID: tenants.NewID(tenants.PrefixAttempt, res.at), TenantID: job.TenantID, AppID: job.AppID, MsgID: job.MsgID,
		EndpointID: job.EndpointID, DeliveryID: job.ID, URL: cmp.Or(res.url, ep.cfg.URL), StatusCode: res.statusCode,
		Error: res.errText, DurationMS: int(res.duration.Milliseconds()), Trigger: job.Trigger,
		RequestHeaders: res.headers, CreatedAt: res.at.UTC().Truncate(time.Microsecond),
	}
	resp := res.response
	if res.statusCode == 0 && resp == "" {
		resp = res.errText
	}
	a.Response = &resp
	out := tenants.AttemptResult{Attempt: a}
	now := h.now()
	if res.outcome == OutcomeSuccess {
		a.Status = tenants.StatusSuccess
		out.Attempt = a
		out.Status = tenants.StatusSuccess
		if job.FailingSince != nil {
			out.Health = tenants.HealthRecovered
		}
		return out, 0
	}
	a.Status = tenants.StatusFail
	out.Attempt = a
	switch {
	case job.FailingSince == nil:
		out.Health = tenants.HealthFailing
	case h.opts.DisableAfter > 0 && now.Sub(*job.FailingSince) >= h.opts.DisableAfter:
		out.Health = tenants.HealthDisable
	}
	sched := h.schedule(ep)
	if job.Trigger == tenants.TriggerManual || res.statusCode == http.StatusGone || out.Health == tenants.HealthDisable {
		out.Status = tenants.StatusFail
		return out, 0
	}
	delay, ok := NextDelay(sched, job.Attempts+1, h.rnd())
	if !ok {
		out.Status = tenants.StatusFail
		return out, 0
	}
	if res.retryAfter > 0 {
		delay = HonourRetryAfter(delay, res.retryAfter, sched)
	}
	next := now.Add(delay).UTC().Truncate(time.Microsecond)
	out.Status, out.NextAttemptAt = tenants.StatusPending, &next
	return out, delay
}

// schedule returns the retry schedule of ep: its own, or the server's.
func (h *handler) schedule(ep *endpointEntry) []time.Duration {
	if ep.cfg.RetrySchedule != nil {
		return ep.cfg.RetrySchedule
	}
	return h.opts.RetrySchedule
}

// postpone puts job off by d without an attempt: PostgreSQL is told the
// new time (batched, for the API and the portal), and the lane keeps the
// delivery until then. It returns the new time.
func (h *handler) postpone(job *tenants.DeliveryJob, now time.Time, d time.Duration) time.Time {
	at := now.Add(d)
	h.postponer.add(tenants.Postponement{TenantID: job.TenantID, DeliveryID: job.ID, Attempts: job.Attempts, At: at})
	return at
}

// cleanText makes a response body storable as PostgreSQL text: valid UTF-8
// without NUL bytes.
func cleanText(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "")
}

func connErrorText(err error) string {
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr.Op + ": " + opErr.Err.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "dns: " + dnsErr.Error()
	}
	s := err.Error()
	if i := strings.Index(s, ": "); i > 0 && strings.HasPrefix(s, "Post ") {
		s = s[i+2:]
	}
	return s
}

func defaultRand() float64 { return rand.Float64() }
