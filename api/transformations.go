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
	return []route{
		{"GET", ep + "/transformation", scopeApp, r, s.getTransformation},
		{"PATCH", ep + "/transformation", scopeApp, w, s.patchTransformation},
		// Simulation stores nothing, but it runs code with the endpoint's
		// variables: it needs the right to change the endpoint.
		{"POST", ep + "/transformation/simulate", scopeApp, w, s.simulateTransformation},
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
	var in transformationPatchIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Code.Set && !in.Code.Null {
		if err := s.checkTransformationCode(c.Request.Context(), in.Code.Value); err != nil {
			return err
		}
	}
	p := tenants.TransformationPatch{Code: in.Code, Enabled: in.Enabled, Variables: in.Variables}
	if _, err := s.store.PatchTransformation(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"), p); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
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
	var in transformationSimulateIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	switch {
	case in.Code == "":
		return tenants.Invalid("code", "field required")
	case in.EventType == "":
		return tenants.Invalid("eventType", "field required")
	case len(in.Payload) == 0 || string(in.Payload) == "null":
		return tenants.Invalid("payload", "field required")
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
	// The stored values the caller did not send in the clear are secrets
	// it may use but not see: they are masked wherever they come out.
	var hidden []string
	for k, v := range stored.Variables {
		if sent, ok := in.Variables[k]; in.Variables == nil || (ok && sent == tenants.MaskedValue) {
			hidden = append(hidden, v)
		}
	}
	if in.Variables != nil {
		stored.Apply(tenants.TransformationPatch{Variables: tenants.Some(in.Variables)})
	}
	prog, err := s.transform.Compile(ctx, in.Code)
	if err != nil {
		return transformationInvalid(err)
	}
	out, err := prog.Run(ctx, transform.Webhook{Method: http.MethodPost, URL: ep.URL, EventType: in.EventType, Payload: in.Payload}, stored.Variables)
	var te *transform.Error
	if errors.As(err, &te) {
		te.Message = maskSecrets(te.Message, hidden)
	}
	if err != nil {
		return transformationInvalid(err)
	}
	if err := tenants.CheckEndpointTarget(out.URL, s.opts.AllowPrivateTargets); err != nil {
		var ve *tenants.Error
		if errors.As(err, &ve) {
			err = &transform.Error{Kind: transform.KindInvalidOutput, Message: fmt.Sprintf("webhook.url %q: %s", out.URL, ve.Message)}
		}
		return transformationInvalid(err)
	}
	res := transformationSimulateOut{URL: maskSecrets(out.URL, hidden), Payload: maskSecrets(string(out.Payload), hidden), Method: out.Method, Cancel: out.Cancel}
	for k, v := range out.Headers {
		if res.Headers == nil {
			res.Headers = map[string]string{}
		}
		res.Headers[k] = maskSecrets(v, hidden)
	}
	c.JSON(http.StatusOK, res)
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
