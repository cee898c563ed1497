package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"

	"github.com/hookline/hookline/tenants"
)

// Event-type import from an OpenAPI 3.x document.
//
// Every entry of the document's top-level `webhooks` (OpenAPI 3.1) or
// `x-webhooks` (the 3.0 convention) becomes an event type named by its
// key. Its operation (post, else the first method present) gives the
// description (description, else summary), `deprecated`, and the optional
// `x-svix-group-name` / `x-svix-feature-flag`. The request body's
// application/json schema, with local `#/components/…` references
// resolved, becomes schemas["1"]; the media type's `example` (or the values
// of `examples`) are kept as the schema's `examples`, which is where
// send-example takes its payload from. Importing an archived type
// unarchives it; replaceAll archives the tenant's types the document does
// not name; dryRun changes nothing and lists what would change.

type eventTypeImportIn struct {
	DryRun     bool            `json:"dryRun"`
	ReplaceAll bool            `json:"replaceAll"`
	Spec       json.RawMessage `json:"spec"`
	SpecRaw    *string         `json:"specRaw"`
}

type eventTypeFromOpenAPIOut struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Deprecated  bool            `json:"deprecated"`
	FeatureFlag *string         `json:"featureFlag,omitempty"`
	GroupName   *string         `json:"groupName,omitempty"`
	Schemas     json.RawMessage `json:"schemas,omitempty"`
}

type eventTypeImportOut struct {
	Data struct {
		Modified []string                  `json:"modified"`
		ToModify []eventTypeFromOpenAPIOut `json:"to_modify,omitempty"`
	} `json:"data"`
}

// maxRefDepth bounds chains of $ref (and so cycles in a schema).
const maxRefDepth = 32

func (s *Server) importOpenAPI(c *gin.Context) error {
	var in eventTypeImportIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	doc, err := parseSpec(in)
	if err != nil {
		return err
	}
	types, err := eventTypesFromSpec(doc)
	if err != nil {
		return err
	}
	out := eventTypeImportOut{}
	out.Data.Modified = []string{}
	ctx := c.Request.Context()
	tenantID := principal(c).TenantID
	names := make([]string, 0, len(types))
	for _, et := range types {
		names = append(names, et.Name)
	}
	if in.DryRun {
		for _, et := range types {
			out.Data.ToModify = append(out.Data.ToModify, eventTypeFromOpenAPIOut{
				Name: et.Name, Description: et.Description, Deprecated: et.Deprecated,
				FeatureFlag: et.FeatureFlag, GroupName: et.GroupName, Schemas: et.Schemas,
			})
		}
		c.JSON(http.StatusOK, out)
		return nil
	}
	if err := s.store.ImportEventTypes(ctx, tenantID, tenants.EventTypeImport{Types: types, ReplaceAll: in.ReplaceAll}); err != nil {
		return err
	}
	out.Data.Modified = names
	c.JSON(http.StatusOK, out)
	return nil
}

func parseSpec(in eventTypeImportIn) (map[string]any, error) {
	var doc map[string]any
	switch {
	case len(in.Spec) > 0 && string(in.Spec) != "null":
		if err := json.Unmarshal(in.Spec, &doc); err != nil {
			return nil, tenants.Invalid("spec", "must be a JSON object (an OpenAPI document)")
		}
	case in.SpecRaw != nil:
		// YAML is a superset of JSON: one parser reads both.
		if err := yaml.Unmarshal([]byte(*in.SpecRaw), &doc); err != nil {
			return nil, tenants.Invalid("specRaw", "is neither JSON nor YAML: "+err.Error())
		}
	default:
		return nil, tenants.Invalid("spec", "give spec or specRaw")
	}
	if doc == nil {
		return nil, tenants.Invalid("spec", "must be an OpenAPI document")
	}
	v, _ := doc["openapi"].(string)
	if !strings.HasPrefix(v, "3.") {
		return nil, tenants.Invalid("spec", "must be an OpenAPI 3.x document (its openapi field says "+fmt.Sprintf("%q", v)+")")
	}
	return doc, nil
}

var webhookMethods = []string{"post", "put", "patch", "get", "delete"}

func eventTypesFromSpec(doc map[string]any) ([]tenants.EventTypeInput, error) {
	hooks, _ := doc["webhooks"].(map[string]any)
	if xh, ok := doc["x-webhooks"].(map[string]any); ok {
		if hooks == nil {
			hooks = map[string]any{}
		}
		for k, v := range xh {
			if _, dup := hooks[k]; !dup {
				hooks[k] = v
			}
		}
	}
	if len(hooks) == 0 {
		return nil, tenants.Invalid("spec", "the document has no webhooks (nor x-webhooks) section")
	}
	names := make([]string, 0, len(hooks))
	for k := range hooks {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]tenants.EventTypeInput, 0, len(names))
	for _, name := range names {
		if !eventTypeNameRE.MatchString(name) {
			return nil, tenants.Invalid("spec", fmt.Sprintf("webhook %q: an event type name is 1-256 characters of a-z, A-Z, 0-9, '-', '_' and '.'", name))
		}
		item, _ := hooks[name].(map[string]any)
		var op map[string]any
		for _, m := range webhookMethods {
			if o, ok := item[m].(map[string]any); ok {
				op = o
				break
			}
		}
		if op == nil {
			return nil, tenants.Invalid("spec", fmt.Sprintf("webhook %q has no operation", name))
		}
		et := tenants.EventTypeInput{Name: name}
		et.Description, _ = op["description"].(string)
		if et.Description == "" {
			et.Description, _ = op["summary"].(string)
		}
		if utf8.RuneCountInString(et.Description) > maxEventTypeDescChars {
			return nil, tenants.Invalid("spec", fmt.Sprintf("webhook %q: its description must be at most %d characters, as an event type's", name, maxEventTypeDescChars))
		}
		et.Deprecated, _ = op["deprecated"].(bool)
		if g, ok := op["x-svix-group-name"].(string); ok && g != "" {
			et.GroupName = &g
		}
		if f, ok := op["x-svix-feature-flag"].(string); ok && f != "" {
			et.FeatureFlag = &f
		}
		schema, err := webhookSchema(doc, name, op)
		if err != nil {
			return nil, err
		}
		if schema != nil {
			b, err := json.Marshal(map[string]any{"1": schema})
			if err != nil {
				return nil, tenants.Invalid("spec", fmt.Sprintf("webhook %q: schema is not JSON: %v", name, err))
			}
			et.Schemas = b
		}
		out = append(out, et)
	}
	return out, nil
}

// webhookSchema returns the operation's JSON request-body schema with
// references resolved and the media type's examples attached, or nil when
// it has none.
func webhookSchema(doc map[string]any, name string, op map[string]any) (map[string]any, error) {
	body, err := resolve(doc, op["requestBody"])
	if err != nil {
		return nil, tenants.Invalid("spec", fmt.Sprintf("webhook %q: %v", name, err))
	}
	bm, _ := body.(map[string]any)
	content, _ := bm["content"].(map[string]any)
	var media map[string]any
	for _, ct := range []string{"application/json", "application/*", "*/*"} {
		if m, ok := content[ct].(map[string]any); ok {
			media = m
			break
		}
	}
	if media == nil {
		return nil, nil
	}
	raw, err := resolve(doc, media["schema"])
	if err != nil {
		return nil, tenants.Invalid("spec", fmt.Sprintf("webhook %q: %v", name, err))
	}
	schema, _ := raw.(map[string]any)
	if schema == nil {
		schema = map[string]any{}
	}
	var examples []any
	if ex, ok := media["example"]; ok {
		examples = append(examples, ex)
	}
	if exs, ok := media["examples"].(map[string]any); ok {
		keys := make([]string, 0, len(exs))
		for k := range exs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			ex, err := resolve(doc, exs[k])
			if err != nil {
				return nil, tenants.Invalid("spec", fmt.Sprintf("webhook %q: %v", name, err))
			}
			if em, ok := ex.(map[string]any); ok {
				if v, ok := em["value"]; ok {
					examples = append(examples, v)
				}
			}
		}
	}
	if _, has := schema["examples"]; !has && len(examples) > 0 {
		schema["examples"] = examples
	}
	if _, has := schema["example"]; has && schema["examples"] == nil {
		schema["examples"] = []any{schema["example"]}
	}
	return schema, nil
}

// maxResolvedNodes bounds the size of a resolved schema, so that a small
// document whose references fan out cannot expand without limit.
const maxResolvedNodes = 100_000

// resolve returns v with every local $ref ("#/…") replaced by what it
// points at, recursively, up to maxRefDepth references deep and
// maxResolvedNodes values in all. Other references are an error: the
// importer fetches nothing.
func resolve(doc map[string]any, v any) (any, error) {
	budget := maxResolvedNodes
	return resolveRefs(doc, v, 0, &budget)
}

func resolveRefs(doc map[string]any, v any, refs int, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("the schema expands to more than %d values", maxResolvedNodes)
	}
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			if refs >= maxRefDepth {
				return nil, fmt.Errorf("$ref nesting deeper than %d (a cycle?)", maxRefDepth)
			}
			target, err := lookupRef(doc, ref)
			if err != nil {
				return nil, err
			}
			return resolveRefs(doc, target, refs+1, budget)
		}
		out := make(map[string]any, len(t))
		for k, x := range t {
			r, err := resolveRefs(doc, x, refs, budget)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			r, err := resolveRefs(doc, x, refs, budget)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func lookupRef(doc map[string]any, ref string) (any, error) {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local to the document", ref)
	}
	var cur any = doc
	for _, part := range strings.Split(path, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return cur, nil
}
