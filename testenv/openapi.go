package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/hookline/hookline/api"
)

// The OpenAPI document is parsed once per test binary: it is the same for
// every stack (built from embedded files), and parsing it costs more than
// most tests.
var (
	openapiOnce   sync.Once
	openapiRouter routers.Router
	openapiErr    error
)

// OpenAPIRouter returns a router over the server's OpenAPI document,
// loaded and validated with kin-openapi (OpenAPI 3.1, JSON Schema
// 2020-12). Its servers are dropped so that any host matches.
func OpenAPIRouter() (routers.Router, error) {
	openapiOnce.Do(func() {
		var b []byte
		b, openapiErr = api.OpenAPIDocument()
		if openapiErr != nil {
			return
		}
		loader := openapi3.NewLoader()
		var doc *openapi3.T
		doc, openapiErr = loader.LoadFromData(b)
		if openapiErr != nil {
			openapiErr = fmt.Errorf("load openapi document: %w", openapiErr)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			openapiErr = fmt.Errorf("openapi document is invalid: %w", err)
			return
		}
		doc.Servers = nil
		// For a 3.1 document, openapi3filter validates with the JSON Schema
		// 2020-12 engine, which compiles the operation's schema again on
		// every response: 6.5 ms a call here against 0.2 ms unvalidated,
		// enough to starve timing-sensitive tests of CPU under -race.
		// The document uses no 2020-12 keyword beyond type lists with
		// "null" and anyOf, which kin-openapi's own validator handles (see
		// TestValidatingClient), so the validator is told it reads 3.0.
		// The document itself is loaded and checked as 3.1 above and in
		// api's TestOpenAPI_Valid31.
		doc.OpenAPI = "3.0.3"
		openapiRouter, openapiErr = gorillamux.NewRouter(doc)
	})
	return openapiRouter, openapiErr
}

// validatingTransport checks every response the Svix SDK receives against
// the OpenAPI document: the route must be documented, the status listed
// and the body match its schema. A mismatch fails the test (t.Errorf); the
// response still reaches the SDK unchanged.
type validatingTransport struct {
	t      testing.TB
	next   http.RoundTripper
	router routers.Router
}

// ValidatingClient returns an HTTP client whose responses are validated
// against the OpenAPI document, failing t on a mismatch.
func ValidatingClient(t testing.TB) *http.Client {
	t.Helper()
	r, err := OpenAPIRouter()
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &validatingTransport{t: t, next: http.DefaultTransport, router: r}}
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, nil // the SDK sees the short body and reports it
	}
	what := req.Method + " " + req.URL.Path
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		v.t.Errorf("openapi: %s is not in the document: %v", what, err)
		return resp, nil
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		v.t.Errorf("openapi: %s answered %d, which does not match the document: %v\nbody: %.2000s", what, resp.StatusCode, err, body)
	}
	return resp, nil
}
