package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Our OpenAPI document (issue 13, part 6), served at GET
// /api/v1/openapi.json: OpenAPI 3.1, every route the server registers.
//
// It is built once from two sources:
//   - openapi/svix-openapi.json, Svix's own document (OpenAPI 3.0) for the
//     routes of the Svix contract, embedded verbatim and converted to 3.1
//     (nullable becomes a "null" type, x-webhooks becomes webhooks);
//   - the operation table in openapi_routes.go for every other route:
//     Svix routes beyond that file (described by the Svix SDK's models) and
//     Hookline's own (admin, usage, settings, portal access, health). Their
//     schemas are derived from the Go types the handlers encode, so they
//     cannot drift from the code.
//
// Adding a route means adding one line to the table (TestOpenAPI_RouteTable
// fails until it is there).

//go:embed openapi/svix-openapi.json
var svixOpenAPI []byte

// openAPIVersion is the document's OpenAPI version.
const openAPIVersion = "3.1.0"

// OpenAPIDocument builds the server's OpenAPI 3.1 document. It fails only
// if the embedded document or the operation table is inconsistent (a
// duplicate operation, two schemas under one name), which the package's
// tests rule out.
func OpenAPIDocument() ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(svixOpenAPI, &doc); err != nil {
		return nil, fmt.Errorf("embedded svix document: %w", err)
	}
	to31(doc)
	doc["openapi"] = openAPIVersion
	doc["info"] = map[string]any{
		"title":   "Hookline API",
		"version": "1",
		"summary": "Svix-compatible webhook sending, plus Hookline's own routes.",
		"description": "Routes of the Svix API keep Svix's descriptions (from Svix's OpenAPI document and SDK). " +
			"Hookline's own routes (tags Hookline *) are extensions.",
	}
	doc["servers"] = []any{map[string]any{"url": "/"}}
	if wh, ok := doc["x-webhooks"]; ok {
		doc["webhooks"] = wh
		delete(doc, "x-webhooks")
	}
	delete(doc, "x-tagGroups")
	b := &docBuilder{doc: doc, paths: doc["paths"].(map[string]any), schemas: doc["components"].(map[string]any)["schemas"].(map[string]any)}
	for _, sec := range []struct{ name, desc string }{
		{"AdminToken", "The operator token (HOOKLINE_ADMIN_TOKEN) as `Authorization: Bearer <token>`."},
	} {
		doc["components"].(map[string]any)["securitySchemes"].(map[string]any)[sec.name] = map[string]any{
			"type": "http", "scheme": "bearer", "description": sec.desc,
		}
	}
	b.extendSvixErrors()
	if err := b.addExtensionFields(); err != nil {
		return nil, err
	}
	for name, values := range sdkEnums {
		sch, ok := b.schemas[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("openapi: sdkEnums names %s, which Svix's document lacks", name)
		}
		sch["enum"] = values
	}
	for _, op := range operations() {
		if err := b.add(op); err != nil {
			return nil, err
		}
	}
	for _, w := range operationalWebhooks() {
		if err := b.addWebhook(w); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode openapi document: %w", err)
	}
	return buf.Bytes(), nil
}

// openAPIDoc serves the document, built on first use.
type openAPIDoc struct {
	once sync.Once
	body []byte
	err  error
}

func (s *Server) serveOpenAPI(c *gin.Context) error {
	s.openapi.once.Do(func() { s.openapi.body, s.openapi.err = OpenAPIDocument() })
	if s.openapi.err != nil {
		return s.openapi.err
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", s.openapi.body)
	return nil
}

// to31 rewrites OpenAPI 3.0 schema constructs of the Svix document into
// their 3.1 (JSON Schema 2020-12) form, in place: `nullable: true` becomes
// a "null" member of type (or, beside a $ref, an anyOf with a null type).
func to31(v any) {
	switch x := v.(type) {
	case map[string]any:
		for _, c := range x {
			to31(c)
		}
		if n, ok := x["nullable"].(bool); ok {
			delete(x, "nullable")
			if !n {
				return
			}
			switch t := x["type"].(type) {
			case string:
				x["type"] = []any{t, "null"}
				if e, ok := x["enum"].([]any); ok {
					x["enum"] = append(e, nil)
				}
			case nil:
				if ref, ok := x["$ref"]; ok {
					delete(x, "$ref")
					x["anyOf"] = []any{map[string]any{"$ref": ref}, map[string]any{"type": "null"}}
				}
			}
		}
		if ex, ok := x["example"]; ok && isSchema(x) {
			// 3.1 schemas take examples (a list); example is deprecated.
			delete(x, "example")
			x["examples"] = []any{ex}
		}
	case []any:
		for _, c := range x {
			to31(c)
		}
	}
}

// isSchema tells a schema object from the parameter and media-type
// objects that may also carry an example.
func isSchema(x map[string]any) bool {
	if _, ok := x["in"]; ok {
		return false
	}
	if _, ok := x["schema"]; ok {
		return false
	}
	_, t := x["type"]
	_, r := x["$ref"]
	_, a := x["anyOf"]
	return t || r || a
}

// op is one operation of the table in openapi_routes.go.
type op struct {
	method, path string // as registered in gin (":param", "*wildcard")
	tag, summary string
	auth         authKind
	// query lists query parameters (string-valued unless typed).
	query []param
	// body is a value of the request body's type; nil means none.
	body any
	// ok is the success status; resp a value of its body's type (nil: no
	// body). A string value means a non-JSON body of that media type.
	ok   int
	resp any
	// more are other documented answers (status -> body value, nil: none).
	more map[int]any
	// amend adds ok and more to an operation of Svix's document (where
	// Hookline answers differently) instead of defining one.
	amend bool
}

type param struct {
	name, typ, desc string
}

type authKind int

const (
	authTenant authKind = iota // API key or JWT (or an app token where the route allows)
	authAdmin                  // the operator token
	authNone                   // public
)

// mediaText is a non-JSON response body: its media type.
type mediaText string

type docBuilder struct {
	// request is set while a request body's schema is derived: Hookline's
	// request structs list no required fields (handlers check them and
	// answer 422), the SDK's models do.
	request bool
	doc     map[string]any
	paths   map[string]any
	schemas map[string]any
}

// oaPath turns a gin path into an OpenAPI path template.
func oaPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func pathParams(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			out = append(out, s[1:])
		}
	}
	return out
}

// Error answers every Hookline route may give, beside those Svix lists.
var commonErrors = []int{400, 401, 402, 403, 404, 409, 413, 422, 429, 500, 503}

func (b *docBuilder) errorResponse(status int) map[string]any {
	ref := "#/components/schemas/HttpErrorOut"
	if status == 422 {
		ref = "#/components/schemas/HTTPValidationError"
	}
	return map[string]any{
		"description": http.StatusText(status),
		"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": ref}}},
	}
}

// extendSvixErrors adds to the Svix operations the error answers Hookline
// gives beyond the ones Svix documents (400 on a malformed body, 413 on an
// oversized one, 500 with a request id): a client may meet them.
//
// It also declares the path parameters some Svix operations leave
// undeclared (OpenAPI requires every template variable to be), and gives
// HEAD operations an id of their own.
func (b *docBuilder) extendSvixErrors() {
	for path, item := range b.paths {
		for method, o := range item.(map[string]any) {
			oo, ok := o.(map[string]any)
			if !ok {
				continue
			}
			b.declarePathParams(path, oo)
			if id, ok := oo["operationId"].(string); ok && method == "head" {
				oo["operationId"] = id + ".head" // Svix gives HEAD its GET's id
			}
			resp := oo["responses"].(map[string]any)
			for _, st := range commonErrors {
				if _, ok := resp[fmt.Sprint(st)]; !ok {
					resp[fmt.Sprint(st)] = b.errorResponse(st)
				}
			}
		}
	}
}

func (b *docBuilder) declarePathParams(path string, operation map[string]any) {
	params, _ := operation["parameters"].([]any)
	for _, seg := range strings.Split(path, "/") {
		if !strings.HasPrefix(seg, "{") {
			continue
		}
		name := strings.Trim(seg, "{}")
		found := false
		for _, p := range params {
			if pm, ok := p.(map[string]any); ok && pm["in"] == "path" && pm["name"] == name {
				found = true
			}
		}
		if !found {
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
	}
	if params != nil {
		operation["parameters"] = params
	}
}

func (b *docBuilder) add(o op) error {
	p := oaPath(o.path)
	item, _ := b.paths[p].(map[string]any)
	if item == nil {
		item = map[string]any{}
		b.paths[p] = item
	}
	m := strings.ToLower(o.method)
	if o.amend {
		return b.amend(item, m, o)
	}
	if _, dup := item[m]; dup {
		return fmt.Errorf("openapi: %s %s is documented twice", o.method, o.path)
	}
	var params []any
	for _, name := range pathParams(o.path) {
		params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range o.query {
		t := q.typ
		if t == "" {
			t = "string"
		}
		params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.desc, "schema": map[string]any{"type": t}})
	}
	responses := map[string]any{}
	okResp, err := b.response(o.ok, o.resp)
	if err != nil {
		return fmt.Errorf("openapi: %s %s: %w", o.method, o.path, err)
	}
	responses[fmt.Sprint(o.ok)] = okResp
	for st, v := range o.more {
		r, err := b.response(st, v)
		if err != nil {
			return fmt.Errorf("openapi: %s %s: %w", o.method, o.path, err)
		}
		responses[fmt.Sprint(st)] = r
	}
	if o.auth != authNone {
		for _, st := range commonErrors {
			if _, ok := responses[fmt.Sprint(st)]; !ok {
				responses[fmt.Sprint(st)] = b.errorResponse(st)
			}
		}
	}
	operation := map[string]any{
		"summary":     o.summary,
		"operationId": operationID(o.method, o.path),
		"tags":        []any{o.tag},
		"responses":   responses,
	}
	if params != nil {
		operation["parameters"] = params
	}
	switch o.auth {
	case authTenant:
		operation["security"] = []any{map[string]any{"HTTPBearer": []any{}}}
	case authAdmin:
		operation["security"] = []any{map[string]any{"AdminToken": []any{}}}
	case authNone:
		operation["security"] = []any{}
	}
	if o.body != nil {
		b.request = true
		s, err := b.schemaFor(reflect.TypeOf(o.body))
		b.request = false
		if err != nil {
			return fmt.Errorf("openapi: %s %s body: %w", o.method, o.path, err)
		}
		operation["requestBody"] = map[string]any{"required": true,
			"content": map[string]any{"application/json": map[string]any{"schema": s}}}
	}
	item[m] = operation
	return nil
}

func (b *docBuilder) amend(item map[string]any, m string, o op) error {
	operation, ok := item[m].(map[string]any)
	if !ok {
		return fmt.Errorf("openapi: %s %s: nothing to amend", o.method, o.path)
	}
	responses := operation["responses"].(map[string]any)
	all := map[int]any{o.ok: o.resp}
	for st, v := range o.more {
		all[st] = v
	}
	for st, v := range all {
		r, err := b.response(st, v)
		if err != nil {
			return fmt.Errorf("openapi: %s %s: %w", o.method, o.path, err)
		}
		responses[fmt.Sprint(st)] = r
	}
	return nil
}

func operationID(method, path string) string {
	var parts []string
	for _, s := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if s == "" {
			continue
		}
		parts = append(parts, strings.TrimLeft(s, ":*"))
	}
	return strings.ToLower(method) + "." + strings.Join(parts, ".")
}

func (b *docBuilder) response(status int, v any) (map[string]any, error) {
	r := map[string]any{"description": http.StatusText(status)}
	switch x := v.(type) {
	case nil:
	case mediaText:
		r["content"] = map[string]any{string(x): map[string]any{"schema": map[string]any{"type": "string"}}}
	default:
		s, err := b.schemaFor(reflect.TypeOf(v))
		if err != nil {
			return nil, err
		}
		r["content"] = map[string]any{"application/json": map[string]any{"schema": s}}
	}
	return r, nil
}

// webhook is one operational event documented under webhooks.
type webhook struct {
	name, summary string
	body          any
}

func (b *docBuilder) addWebhook(w webhook) error {
	wh, _ := b.doc["webhooks"].(map[string]any)
	if wh == nil {
		wh = map[string]any{}
		b.doc["webhooks"] = wh
	}
	if _, dup := wh[w.name]; dup {
		return nil // Svix's own description stays
	}
	s, err := b.schemaFor(reflect.TypeOf(w.body))
	if err != nil {
		return fmt.Errorf("openapi: webhook %s: %w", w.name, err)
	}
	wh[w.name] = map[string]any{"post": map[string]any{
		"summary": w.name, "description": w.summary, "operationId": w.name, "tags": []any{"Webhooks"},
		"requestBody": map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": s}}},
		"responses":   map[string]any{"2XX": map[string]any{"description": "Return any 2XX status to indicate that the data was received successfully"}},
	}}
	return nil
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
)

// schemaFor derives a JSON Schema from a Go type the way encoding/json
// encodes it: a field without omitempty is required, a pointer, slice or
// map may be null. Named structs go to components/schemas under their
// Go name (capitalized); a name Svix's document already defines is reused
// as is, since those are the same wire shapes.
func (b *docBuilder) schemaFor(t reflect.Type) (map[string]any, error) {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}, nil
	case t == rawType:
		return anySchema(), nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		s, err := b.schemaFor(t.Elem())
		return orNull(s), err
	case reflect.String:
		return map[string]any{"type": "string"}, nil
	case reflect.Bool:
		return map[string]any{"type": "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}, nil
	case reflect.Interface:
		return anySchema(), nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string"}, nil
		}
		items, err := b.schemaFor(t.Elem())
		if err != nil {
			return nil, err
		}
		return orNull(map[string]any{"type": "array", "items": items}), nil
	case reflect.Map:
		vals, err := b.schemaFor(t.Elem())
		if err != nil {
			return nil, err
		}
		return orNull(map[string]any{"type": "object", "additionalProperties": vals}), nil
	case reflect.Struct:
		return b.structSchema(t)
	}
	return nil, fmt.Errorf("no schema for Go type %s", t)
}

// anySchema is any JSON value. It lists the types rather than being {}
// so that validators reading it with OpenAPI 3.0 semantics (where {}
// refuses null) agree with 3.1's.
func anySchema() map[string]any {
	return map[string]any{"type": []any{"object", "array", "string", "number", "boolean", "null"}}
}

func orNull(s map[string]any) map[string]any {
	switch t := s["type"].(type) {
	case string:
		s["type"] = []any{t, "null"}
		return s
	case []any:
		return s
	}
	if len(s) == 0 {
		return s // any value, null included
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
}

// schemaName is the components name of a named struct type, "" for an
// anonymous or generic one (inlined).
func schemaName(t reflect.Type) string {
	n := t.Name()
	if n == "" {
		return ""
	}
	if i := strings.IndexByte(n, '['); i >= 0 {
		// listOut[pkg.fooOut] -> ListResponse_FooOut_, as Svix names lists.
		if n[:i] != "listOut" {
			return ""
		}
		inner := n[i+1 : len(n)-1]
		if j := strings.LastIndexByte(inner, '.'); j >= 0 {
			inner = inner[j+1:]
		}
		return "ListResponse_" + strings.ToUpper(inner[:1]) + inner[1:] + "_"
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

func (b *docBuilder) structSchema(t reflect.Type) (map[string]any, error) {
	name := schemaName(t)
	if name != "" {
		if _, ok := b.schemas[name]; ok {
			return map[string]any{"$ref": "#/components/schemas/" + name}, nil
		}
		b.schemas[name] = map[string]any{} // placeholder: recursion and duplicates
	}
	props := map[string]any{}
	var required []string
	if err := b.fields(t, props, &required); err != nil {
		return nil, err
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	if name == "" {
		return s, nil
	}
	b.schemas[name] = s
	return map[string]any{"$ref": "#/components/schemas/" + name}, nil
}

func (b *docBuilder) fields(t reflect.Type, props map[string]any, required *[]string) error {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if err := b.fields(ft, props, required); err != nil {
				return err
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s, err := b.schemaFor(f.Type)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", t.Name(), f.Name, err)
		}
		if strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") {
			props[name] = s
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type.NumField() > 0 && f.Type.Field(0).Name == "Set" {
			props[name] = anySchema() // nullable.Value[T]: any JSON value, absent allowed
			continue
		}
		props[name] = s
		if !b.request || strings.Contains(t.PkgPath(), "svix") {
			*required = append(*required, name)
		}
	}
	return nil
}
