package api

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPI_Valid31 loads the document with kin-openapi as OpenAPI 3.1
// and validates it: structure, refs, path parameters, unique operation ids.
func TestOpenAPI_Valid31(t *testing.T) {
	t.Parallel()
	b, err := OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("document is not OpenAPI 3.1")
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid document: %v", err)
	}
	// Converted from Svix's 3.0: no nullable keyword survives.
	if strings.Contains(string(b), `"nullable"`) {
		t.Errorf("document still uses the 3.0 nullable keyword")
	}
	// The operational events are documented as webhooks.
	for _, w := range []string{"EndpointDisabledEvent", "EndpointEnabledEvent", "MessageAttemptExhaustedEvent", "BackgroundTaskFinishedEvent"} {
		if doc.Webhooks[w] == nil {
			t.Errorf("webhook %s is not documented", w)
		}
	}
}
