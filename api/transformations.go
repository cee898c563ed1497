package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/transform"
)

// Endpoint transformations on Svix's wire (EndpointTransformationOut,
// EndpointTransformationPatch, TransformationSimulateIn/Out of Svix's
// API 1.947): GET and PATCH …/endpoint/{ep}/transformation and POST
// …/transformation/simulate. Code is compiled before it is stored, so a
// syntax error or a missing handler is a 422 naming the line, never a
// failure discovered at delivery time. Variables are secrets: GET shows
// their names with masked values, and a PATCH that sends a masked value
// back keeps the stored one.

func (s *Server) transformationRoutes() []route {
	const r, w = false, true
	ep := "/api/v1/app/:app_id/endpoint/:endpoint_id"
	d := "/api/v1/app/:app_id/destination/:destination_id"
	return []route{
		{"GET", ep + "/transformation", scopeApp, r, s.getTransformation},
		{"PATCH", ep + "/transformation", scopeApp, w, s.patchTransformation},
		// Simulation stores nothing, but it runs code with the endpoint's
		// variables: it needs the right to change the endpoint.
		{"POST", ep + "/transformation/simulate", scopeApp, w, s.simulateTransformation},
		// A FIFO endpoint's and a RabbitMQ destination's, run per batch
		// (destination_transformations.go).
		{"GET", d + "/transformation", scopeApp, r, s.getDestinationTransformation},
		{"PATCH", d + "/transformation", scopeApp, w, s.patchDestinationTransformation},
		{"POST", d + "/transformation/simulate", scopeApp, w, s.simulateDestinationTransformation},
	}
}

// transformationOut is Svix's EndpointTransformationOut.
type transformationOut struct {
	Code      *string           `json:"code"`
	Enabled   bool              `json:"enabled"`
	Variables map[string]string `json:"variables"`
	UpdatedAt *time.Time        `json:"updatedAt"`
}

func toTransformationOut(t tenants.Transformation) transformationOut {
	out := transformationOut{Code: t.Code, Enabled: t.Enabled, Variables: make(map[string]string, len(t.Variables))}
	for k := range t.Variables {
		out.Variables[k] = tenants.MaskedValue
	}
	if t.UpdatedAt != nil {
		u := t.UpdatedAt.UTC()
		out.UpdatedAt = &u
	}
	return out
}

// transformationPatchIn is Svix's EndpointTransformationPatch (and the
// deprecated EndpointTransformationIn, its subset).
type transformationPatchIn struct {
	Code      tenants.Optional[string]            `json:"code"`
	Enabled   *bool                               `json:"enabled"`
	Variables tenants.Optional[map[string]string] `json:"variables"`
}

func (s *Server) getTransformation(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	t, err := s.store.FindTransformation(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toTransformationOut(t))
	return nil
}

func (s *Server) patchTransformation(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	p, err := s.readTransformationPatch(c)
	if err != nil {
		return err
	}
	if _, err := s.store.PatchTransformation(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"), p); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// readTransformationPatch decodes a PATCH …/transformation body and
// compiles its code.
func (s *Server) readTransformationPatch(c *gin.Context) (tenants.TransformationPatch, error) {
	var in transformationPatchIn
	if err := s.decodeJSON(c, &in); err != nil {
		return tenants.TransformationPatch{}, err
	}
	if in.Code.Set && !in.Code.Null {
		if err := s.checkTransformationCode(c.Request.Context(), in.Code.Value); err != nil {
			return tenants.TransformationPatch{}, err
		}
	}
	return tenants.TransformationPatch{Code: in.Code, Enabled: in.Enabled, Variables: in.Variables}, nil
}

// checkTransformationCode compiles code: a 422 on body.code says what is
// wrong (a syntax error with its line, no handler, a top level that
// throws or loops).
func (s *Server) checkTransformationCode(ctx context.Context, code string) error {
	if code == "" {
		return tenants.Invalid("code", "the code is empty; send null to remove the transformation")
	}
	if _, err := s.transform.Compile(ctx, code); err != nil {
		return transformationInvalid(err)
	}
	return nil
}

// transformationInvalid turns an engine error into a 422 on body.code
// (a context error passes through).
func transformationInvalid(err error) error {
	var te *transform.Error
	if errors.As(err, &te) {
		return &tenants.Error{Code: tenants.CodeInvalid, Loc: []string{"body", "code"}, Message: "transformation_error: " + te.Message, Type: "transformation_error"}
	}
	return err
}

// transformationSimulateIn is Svix's TransformationSimulateIn.
type transformationSimulateIn struct {
	Code      string            `json:"code"`
	EventType string            `json:"eventType"`
	Channels  []string          `json:"channels"`
	Payload   json.RawMessage   `json:"payload"`
	Variables map[string]string `json:"variables"`
}

// transformationSimulateOut is Svix's TransformationSimulateOut, plus the
// headers the handler added (a Hookline extension).
type transformationSimulateOut struct {
	URL     string            `json:"url"`
	Payload string            `json:"payload"`
	Method  string            `json:"method"`
	Cancel  bool              `json:"cancel"`
	Headers map[string]string `json:"headers,omitempty"`
	// Payloads, for a RabbitMQ destination, are the messages it would
	// publish (a Hookline extension; payload is their JSON array).
	Payloads []string `json:"payloads,omitempty"`
}

// simulateTransformation runs code on a sample message as the endpoint
// would, without storing or sending anything. Variables not given are the
// endpoint's own (masked values stand for the stored ones), so code that
// uses secrets can be tried without typing them again.
func (s *Server) simulateTransformation(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	in, err := s.readSimulateIn(c)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	ep, err := s.store.FindEndpoint(ctx, a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	stored, err := s.store.FindTransformation(ctx, a.TenantID, a.ID, ep.ID)
	if err != nil {
		return err
	}
	vars, hidden := simulateVariables(stored, in.Variables)
	prog, err := s.transform.Compile(ctx, in.Code)
	if err != nil {
		return transformationInvalid(err)
	}
	out, err := prog.Run(ctx, transform.Webhook{Method: http.MethodPost, URL: ep.URL, EventType: in.EventType, Payload: in.Payload}, vars)
	if err != nil {
		return transformationInvalid(maskError(err, hidden))
	}
	if err := s.checkTransformedURL(out.URL); err != nil {
		return err
	}
	res := transformationSimulateOut{URL: maskSecrets(out.URL, hidden), Payload: maskSecrets(string(out.Payload), hidden), Method: out.Method, Cancel: out.Cancel}
	res.Headers = maskHeaders(out.Headers, hidden)
	c.JSON(http.StatusOK, res)
	return nil
}

// readSimulateIn decodes and checks a TransformationSimulateIn.
func (s *Server) readSimulateIn(c *gin.Context) (transformationSimulateIn, error) {
	var in transformationSimulateIn
	if err := s.decodeJSON(c, &in); err != nil {
		return in, err
	}
	switch {
	case in.Code == "":
		return in, tenants.Invalid("code", "field required")
	case in.EventType == "":
		return in, tenants.Invalid("eventType", "field required")
	case len(in.Payload) == 0 || string(in.Payload) == "null":
		return in, tenants.Invalid("payload", "field required")
	}
	return in, nil
}

// simulateVariables returns the variables a simulation runs with: those
// sent, the stored ones where a masked value (or nothing) was sent, and
// the stored values the caller did not send in the clear — secrets it may
// use but not see, masked wherever they come out.
func simulateVariables(stored tenants.Transformation, sent map[string]string) (map[string]string, []string) {
	var hidden []string
	for k, v := range stored.Variables {
		if got, ok := sent[k]; sent == nil || (ok && got == tenants.MaskedValue) {
			hidden = append(hidden, v)
		}
	}
	if sent != nil {
		stored.Apply(tenants.TransformationPatch{Variables: tenants.Some(sent)})
	}
	return stored.Variables, hidden
}

// maskError masks the hidden values in a transformation's error message.
func maskError(err error, hidden []string) error {
	var te *transform.Error
	if errors.As(err, &te) {
		te.Message = maskSecrets(te.Message, hidden)
	}
	return err
}

func maskHeaders(h map[string]string, hidden []string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = maskSecrets(v, hidden)
	}
	return out
}

// checkTransformedURL refuses, as a transformation_error on body.code, a
// URL a handler chose that the SSRF rules refuse.
func (s *Server) checkTransformedURL(u string) error {
	if err := tenants.CheckEndpointTarget(u, s.opts.AllowPrivateTargets); err != nil {
		var ve *tenants.Error
		if errors.As(err, &ve) {
			err = &transform.Error{Kind: transform.KindInvalidOutput, Message: fmt.Sprintf("webhook.url %q: %s", u, ve.Message)}
		}
		return transformationInvalid(err)
	}
	return nil
}

// maskSecrets replaces every occurrence of a secret in s (as is, and as
// JSON and URL encoding write it) with tenants.MaskedValue. Values shorter
// than 4 characters are too common to mask.
func maskSecrets(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) < 4 {
			continue
		}
		js, _ := json.Marshal(v)
		for _, form := range []string{v, string(js[1 : len(js)-1]), url.QueryEscape(v), url.PathEscape(v)} {
			s = strings.ReplaceAll(s, form, tenants.MaskedValue)
		}
	}
	return s
}
