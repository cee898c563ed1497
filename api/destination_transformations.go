package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/transform"
)

// Destination transformations on Svix's 1.947 wire (SinkTransformationOut,
// SinkTransformIn): GET and PATCH …/destination/{id}/transformation, and
// POST …/transformation/simulate as for endpoints. The shapes are the
// endpoint routes' (code, enabled, variables masked on the way out and
// sealed at rest); SinkTransformIn has only code, so a PATCH that sets
// code without saying enabled turns the transformation on, as Svix's
// destinations have no other switch. The worker runs it once per batch
// (worker/transform.go).

func (s *Server) getDestinationTransformation(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	t, err := ds.FindDestinationTransformation(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toTransformationOut(t))
	return nil
}

func (s *Server) patchDestinationTransformation(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	p, err := s.readTransformationPatch(c)
	if err != nil {
		return err
	}
	if p.Enabled == nil && p.Code.Set {
		on := !p.Code.Null
		p.Enabled = &on
	}
	d, err := ds.FindDestination(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"))
	if err != nil {
		return err
	}
	if d.Type == tenants.DestinationPolling {
		return errNoPollingTransformation
	}
	if _, err := ds.PatchDestinationTransformation(c.Request.Context(), a.TenantID, a.ID, d.ID, p); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{})
	return nil
}

// errNoPollingTransformation: Svix's polling endpoints have none.
var errNoPollingTransformation = tenants.InvalidAt([]string{"path", "destination_id"},
	"a polling endpoint has no transformation: its consumers read the messages as they are")

// simulatedEvent is one event of a simulated batch, as the sender builds
// them (worker/sink_fifo.go's sinkEvent).
type simulatedEvent struct {
	ID        string          `json:"id"`
	EventType string          `json:"eventType"`
	Timestamp time.Time       `json:"timestamp"`
	Payload   json.RawMessage `json:"payload"`
}

// simulateDestinationTransformation runs code on a batch of one sample
// message as the destination's sender would, storing and sending nothing.
// The answer is TransformationSimulateOut: a FIFO endpoint's request, or
// for RabbitMQ the payloads (also as payload, their JSON array).
func (s *Server) simulateDestinationTransformation(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	in, err := s.readSimulateIn(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	d, err := ds.FindDestination(ctx, a.TenantID, a.ID, c.Param("destination_id"))
	if err != nil {
		return err
	}
	if d.Type == tenants.DestinationPolling {
		return errNoPollingTransformation
	}
	stored, err := ds.FindDestinationTransformation(ctx, a.TenantID, a.ID, d.ID)
	if err != nil {
		return err
	}
	vars, hidden := simulateVariables(stored, in.Variables)
	prog, err := s.transform.Compile(ctx, in.Code)
	if err != nil {
		return transformationInvalid(err)
	}
	now := time.Now().UTC()
	batch := map[string]any{"events": []simulatedEvent{{ID: tenants.NewID(tenants.PrefixMessage, now), EventType: in.EventType, Timestamp: now, Payload: in.Payload}}}
	if d.Type == tenants.DestinationFIFO {
		h, err := ds.DestinationHeaders(ctx, a.TenantID, a.ID, d.ID)
		if err != nil {
			return err
		}
		for k := range h {
			if tenants.IsSensitiveHeader(k) {
				h[k] = tenants.MaskedValue
			}
		}
		batch["url"], batch["method"], batch["headers"] = d.URL, http.MethodPost, h
	}
	input, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	res, err := prog.RunBatch(ctx, input, vars)
	if err != nil {
		return transformationInvalid(maskError(err, hidden))
	}
	out := transformationSimulateOut{URL: d.URL, Method: http.MethodPost, Cancel: res.Cancel}
	switch {
	case res.Cancel:
	case d.Type == tenants.DestinationRabbitMQ:
		payloads, err := transform.ReadPayloads(res.Body)
		if err != nil {
			return transformationInvalid(err)
		}
		out.URL, out.Payloads = "", make([]string, len(payloads))
		for i, p := range payloads {
			out.Payloads[i] = maskSecrets(string(p), hidden)
		}
		js, _ := json.Marshal(out.Payloads)
		out.Payload = string(js)
	default:
		fr, err := transform.ReadFIFORequest(res.Body, d.URL)
		if err != nil {
			return transformationInvalid(maskError(err, hidden))
		}
		if fr.URL != d.URL {
			if err := s.checkTransformedURL(fr.URL); err != nil {
				return err
			}
		}
		out.URL, out.Method, out.Payload = maskSecrets(fr.URL, hidden), fr.Method, maskSecrets(string(fr.Body), hidden)
		out.Headers = maskHeaders(fr.Headers, hidden)
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// eventOut is Svix's EventOut: a destination's last acknowledged or next
// event, its payload as a JSON string.
type eventOut struct {
	EventType string    `json:"eventType"`
	Payload   string    `json:"payload"`
	Timestamp time.Time `json:"timestamp"`
}

func toEventOut(m tenants.Message) eventOut {
	p := string(m.Payload)
	if m.Payload == nil {
		p = string(expiredPayload)
	}
	return eventOut{EventType: m.EventType, Payload: p, Timestamp: m.CreatedAt.UTC()}
}

// getLastAckedEvent answers GET …/destination/{id}/last-acked-event: the
// last message a FIFO endpoint answered with a 2xx (RabbitMQ: confirmed),
// or 404 before the first.
func (s *Server) getLastAckedEvent(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	m, err := ds.DestinationLastAcked(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toEventOut(m))
	return nil
}

// getNextEvent answers GET …/destination/{id}/next-event: the oldest
// message not acknowledged yet (the first of a batch being retried), or
// 404 when the destination has caught up.
func (s *Server) getNextEvent(c *gin.Context) error {
	a, ds, err := s.destCtx(c)
	if err != nil {
		return err
	}
	m, err := ds.DestinationNextEvent(c.Request.Context(), a.TenantID, a.ID, c.Param("destination_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toEventOut(m))
	return nil
}
