package api

import "fmt"

// extensionField is a Hookline field added to schemas of Svix's document:
// the wire shapes stay Svix's, with properties Svix does not have.
type extensionField struct {
	name    string
	schemas []string // components/schemas it is added to
	schema  map[string]any
}

// maxConcurrencyDoc describes the maxConcurrency field (issue 20).
const maxConcurrencyDoc = "Hookline extension: the most attempts in flight to this endpoint at once, across all workers " +
	"(its delivery lane's cap). Within it the lane adapts to the receiver: it grows after successes and shrinks " +
	"on timeouts, refused connections, 429 and 503. Null or absent: the server's default (64). " +
	"A PUT that leaves the field out keeps the current value (the Svix SDKs do not send it); " +
	"a PATCH with null resets it to the default."

// extensionFields are the Hookline fields of Svix's schemas.
var extensionFields = []extensionField{
	{name: "maxConcurrency", schemas: []string{"EndpointIn", "EndpointUpdate", "EndpointPatch"}, schema: map[string]any{
		"type": []any{"integer", "null"}, "minimum": 1, "maximum": 1000, "description": maxConcurrencyDoc,
	}},
	{name: "maxConcurrency", schemas: []string{"EndpointOut", "MessageEndpointOut"}, schema: map[string]any{
		"type": "integer", "minimum": 1, "maximum": 1000,
		"description": maxConcurrencyDoc + " Present only when the endpoint has a cap of its own.",
	}},
}

// addExtensionFields adds extensionFields to the document's schemas.
func (b *docBuilder) addExtensionFields() error {
	for _, f := range extensionFields {
		for _, name := range f.schemas {
			sch, ok := b.schemas[name].(map[string]any)
			if !ok {
				return fmt.Errorf("openapi: extension field %s: Svix's document lacks schema %s", f.name, name)
			}
			props, _ := sch["properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
				sch["properties"] = props
			}
			if _, dup := props[f.name]; dup {
				return fmt.Errorf("openapi: extension field %s: schema %s has it already", f.name, name)
			}
			props[f.name] = f.schema
		}
	}
	return nil
}
