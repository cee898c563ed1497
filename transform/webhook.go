package transform

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/dop251/goja"
	"golang.org/x/net/http/httpguts"
)

// Webhook is what a handler receives and returns: Svix's webhook object.
type Webhook struct {
	// Method is POST (the default), PUT or PATCH.
	Method string
	// URL is the endpoint's URL; a handler may change it (the caller
	// checks the result against its SSRF rules).
	URL string
	// EventType is the message's event type (read only).
	EventType string
	// Payload is the JSON body.
	Payload json.RawMessage
	// Headers are the headers a handler adds; on input, those the
	// endpoint sends already (sensitive ones masked by the caller).
	Headers map[string]string
	// Cancel, on output, says the webhook is not to be sent at all.
	Cancel bool
}

// Run calls p's handler with in and vars (the transformation's variables,
// also on webhook.variables) and returns the webhook it produced. The
// error is an *Error for anything the handler did wrong, or a context
// error if ctx ended first.
func (p *Program) Run(ctx context.Context, in Webhook, vars map[string]string) (Webhook, error) {
	var out Webhook
	err := p.call(ctx, func(v *vm) error {
		rt := v.rt
		obj := rt.NewObject()
		method := in.Method
		if method == "" {
			method = http.MethodPost
		}
		// payload is not configurable: delete cannot remove it (assign
		// undefined to drop it), so an untouched payload is the input's.
		v.lazy = lazyPayload{raw: in.Payload}
		defer func() { v.lazy = lazyPayload{} }()
		_ = obj.Set("method", method)
		_ = obj.Set("url", in.URL)
		_ = obj.Set("eventType", in.EventType)
		if err := obj.DefineAccessorProperty("payload", v.getter, v.setter, goja.FLAG_FALSE, goja.FLAG_TRUE); err != nil {
			return err
		}
		_ = obj.Set("headers", stringObject(rt, in.Headers))
		jsVars := stringObject(rt, vars)
		_ = obj.Set("variables", jsVars)
		res, err := v.handler(goja.Undefined(), obj, jsVars)
		if err != nil {
			return err
		}
		out, err = v.webhookOut(res, obj, in)
		return err
	})
	return out, err
}

// stringObject is m as a plain JavaScript object (not a live view of the
// Go map: the handler may change it freely).
func stringObject(rt *goja.Runtime, m map[string]string) *goja.Object {
	o := rt.NewObject()
	for k, val := range m {
		_ = o.Set(k, val)
	}
	return o
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// webhookOut checks what a handler returned and converts it.
func (v *vm) webhookOut(res goja.Value, sent *goja.Object, in Webhook) (Webhook, error) {
	obj, ok := res.(*goja.Object)
	if !ok || goja.IsUndefined(res) || goja.IsNull(res) {
		return Webhook{}, invalid("the handler must return the webhook object (it returned %s)", describe(res))
	}
	if then, isFn := goja.AssertFunction(obj.Get("then")); isFn && then != nil {
		return Webhook{}, invalid("the handler must return the webhook object, not a Promise (async handlers are not supported)")
	}
	out := Webhook{EventType: in.EventType}
	if c := obj.Get("cancel"); c != nil && !goja.IsUndefined(c) && !goja.IsNull(c) {
		if _, isBool := c.Export().(bool); !isBool {
			return Webhook{}, invalid("webhook.cancel must be a boolean")
		}
		out.Cancel = c.ToBoolean()
	}
	m := obj.Get("method")
	switch {
	case m == nil || goja.IsUndefined(m) || goja.IsNull(m):
		out.Method = http.MethodPost
	default:
		s, isStr := exportString(m)
		s = strings.ToUpper(s)
		if !isStr || (s != http.MethodPost && s != http.MethodPut && s != http.MethodPatch) {
			return Webhook{}, invalid("webhook.method must be \"POST\", \"PUT\" or \"PATCH\" (got %s)", describe(m))
		}
		out.Method = s
	}
	u := obj.Get("url")
	s, isStr := exportString(u)
	if !isStr || s == "" {
		return Webhook{}, invalid("webhook.url must be a non-empty string (got %s)", describe(u))
	}
	out.URL = s
	if out.Cancel {
		return out, nil // nothing is sent: the payload does not matter
	}
	if obj == sent && !v.lazy.touched {
		// The payload was never read nor replaced: it is the input's.
		out.Payload = in.Payload
	} else if err := v.payloadOut(obj, &out); err != nil {
		return Webhook{}, err
	}
	if err := headersOut(obj, &out); err != nil {
		return Webhook{}, err
	}
	return out, nil
}

// payloadOut converts webhook.payload to JSON.
func (v *vm) payloadOut(obj *goja.Object, out *Webhook) error {
	p := obj.Get("payload")
	if p == nil || goja.IsUndefined(p) {
		return invalid("webhook.payload is missing")
	}
	body, ok, err := v.toJSON(p)
	if err != nil {
		return invalid("webhook.payload cannot be turned into JSON: %s", errText(err))
	}
	if !ok {
		return invalid("webhook.payload cannot be turned into JSON (got %s)", describe(p))
	}
	out.Payload = body
	return nil
}

// toJSON is JSON.stringify(val) as new bytes: by the fast serializer, or
// by JSON.stringify where that one does not know the value. ok is false
// where JSON.stringify returns undefined (a function, a symbol).
func (v *vm) toJSON(val goja.Value) (body []byte, ok bool, err error) {
	done, err := v.serialize(goja.Undefined(), val)
	if err != nil {
		return nil, false, err
	}
	if done == goja.Undefined() {
		return nil, false, nil
	}
	if done.ToBoolean() {
		body = make([]byte, len(v.out))
		copy(body, v.out)
		if cap(v.out) > maxKeptBuffer {
			v.out = nil // do not keep one large payload's buffer for good
		}
		return body, true, nil
	}
	js, err := v.stringify(goja.Undefined(), val)
	if err != nil {
		return nil, false, err
	}
	s, isStr := exportString(js)
	if !isStr {
		return nil, false, nil
	}
	return []byte(s), true, nil
}

// headersOut converts webhook.headers, checking each.
func headersOut(obj *goja.Object, out *Webhook) error {
	if h := obj.Get("headers"); h != nil && !goja.IsUndefined(h) && !goja.IsNull(h) {
		ho, isObj := h.(*goja.Object)
		if !isObj {
			return invalid("webhook.headers must be an object of strings")
		}
		keys := ho.Keys()
		if len(keys) > 0 {
			out.Headers = make(map[string]string, len(keys))
		}
		for _, k := range keys {
			val, isStr := exportString(ho.Get(k))
			if !isStr {
				return invalid("webhook.headers[%q] must be a string", k)
			}
			if err := CheckHeader(k, val); err != nil {
				return err
			}
			out.Headers[k] = val
		}
	}
	return nil
}

// reservedHeaders are headers a transformation may not set: the
// signature's, and those the HTTP client owns.
var reservedHeaders = map[string]bool{
	"Webhook-Id": true, "Webhook-Timestamp": true, "Webhook-Signature": true,
	"Svix-Id": true, "Svix-Timestamp": true, "Svix-Signature": true,
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Te": true, "Upgrade": true, "Trailer": true, "Keep-Alive": true, "Proxy-Connection": true,
}

// CheckHeader returns an *Error if a handler may not send the header k:
// an invalid name or value, or one of the signature's or the transport's.
func CheckHeader(k, val string) error {
	if !httpguts.ValidHeaderFieldName(k) {
		return invalid("webhook.headers: %q is not a valid header name", k)
	}
	if !httpguts.ValidHeaderFieldValue(val) {
		return invalid("webhook.headers[%q]: the value has characters a header cannot carry", k)
	}
	if reservedHeaders[http.CanonicalHeaderKey(k)] {
		return invalid("webhook.headers: %q is set by Hookline and cannot be changed", k)
	}
	return nil
}

// exportString is v.Export() if that is a string. A primitive string is
// read without Export, which boxes its result (an allocation per call);
// anything else (a String object, whose Export is its string too) goes
// through Export as before.
func exportString(v goja.Value) (string, bool) {
	if v == nil {
		return "", false
	}
	if s, ok := v.(goja.String); ok {
		return s.String(), true
	}
	s, ok := v.Export().(string)
	return s, ok
}

func invalid(format string, args ...any) *Error {
	return &Error{Kind: KindInvalidOutput, Message: fmt.Sprintf(format, args...)}
}

func describe(v goja.Value) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	}
	if o, ok := v.(*goja.Object); ok {
		return "an object of class " + o.ClassName()
	}
	return fmt.Sprintf("%s %s", v.ExportType(), truncate(v.String(), 80))
}

func errText(err error) string {
	if ex, ok := err.(*goja.Exception); ok {
		return truncate(ex.Value().String(), 300)
	}
	return truncate(err.Error(), 300)
}

// BatchResult is what a handler made of a batch: Body is the JSON of the
// object it returned (a destination reads its own fields from it: the
// request body of a FIFO endpoint, payloads for RabbitMQ), unless Cancel.
type BatchResult struct {
	Body   json.RawMessage
	Cancel bool
}

// RunBatch calls p's handler for a destination's batch: input is the JSON
// object the handler receives (Svix's destination shape, {events: […]}
// and whatever else the destination adds), given webhook.variables from
// vars; the handler returns an object. The caller reads the fields it
// knows from Body. Errors as Run's; a result that is not an object, or
// has no JSON form, is a KindInvalidOutput *Error.
func (p *Program) RunBatch(ctx context.Context, input json.RawMessage, vars map[string]string) (BatchResult, error) {
	var out BatchResult
	err := p.call(ctx, func(v *vm) error {
		rt := v.rt
		parsed, err := decodeJSON(rt, orNull(input))
		if err != nil {
			return invalid("the batch is not JSON")
		}
		in, ok := parsed.(*goja.Object)
		if !ok {
			return invalid("the batch is not a JSON object")
		}
		jsVars := stringObject(rt, vars)
		_ = in.Set("variables", jsVars)
		res, err := v.handler(goja.Undefined(), in, jsVars)
		if err != nil {
			return err
		}
		obj, ok := res.(*goja.Object)
		if !ok || goja.IsNull(res) {
			return invalid("the handler must return an object (it returned %s)", describe(res))
		}
		if then, isFn := goja.AssertFunction(obj.Get("then")); isFn && then != nil {
			return invalid("the handler must return an object, not a Promise (async handlers are not supported)")
		}
		if c := obj.Get("cancel"); c != nil && !goja.IsUndefined(c) && !goja.IsNull(c) {
			if _, isBool := c.Export().(bool); !isBool {
				return invalid("cancel must be a boolean")
			}
			if c.ToBoolean() {
				out.Cancel = true
				return nil
			}
		}
		// variables go back as they came: never into what is sent.
		_ = obj.Delete("variables")
		body, ok, err := v.toJSON(obj)
		if err != nil {
			return invalid("the result cannot be turned into JSON: %s", errText(err))
		}
		if !ok {
			return invalid("the result cannot be turned into JSON (got %s)", describe(obj))
		}
		out.Body = body
		return nil
	})
	return out, err
}

// FIFORequest is the request a FIFO endpoint's handler asked for.
type FIFORequest struct {
	Method  string
	URL     string
	Body    json.RawMessage
	Headers map[string]string
}

// ReadFIFORequest reads what a FIFO endpoint's handler returned
// (BatchResult.Body): url, method and headers change the request as an
// endpoint's handler does (url defaults to url, method to POST; the caller
// checks a changed url against its SSRF rules); the body is payload when
// set, else events when that is all that is left (so returning the input,
// or changing input.events in place, sends the array as without a
// transformation), else the returned object without those fields; an
// array returned is the body. A KindInvalidOutput *Error says what is
// wrong.
func ReadFIFORequest(body json.RawMessage, url string) (FIFORequest, error) {
	req := FIFORequest{Method: http.MethodPost, URL: url}
	if len(body) > 0 && body[0] == '[' {
		req.Body = body
		return req, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return req, invalid("the handler must return an object or an array")
	}
	if v, ok := obj["url"]; ok {
		if json.Unmarshal(v, &req.URL) != nil || req.URL == "" {
			return req, invalid("url must be a non-empty string")
		}
	}
	if v, ok := obj["method"]; ok {
		var m string
		_ = json.Unmarshal(v, &m)
		m = strings.ToUpper(m)
		if m != http.MethodPost && m != http.MethodPut && m != http.MethodPatch {
			return req, invalid("method must be \"POST\", \"PUT\" or \"PATCH\" (got %s)", truncate(string(v), 80))
		}
		req.Method = m
	}
	if v, ok := obj["headers"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &req.Headers); err != nil {
			return req, invalid("headers must be an object of strings")
		}
		for k, val := range req.Headers {
			if err := CheckHeader(k, val); err != nil {
				return req, err
			}
		}
	}
	for _, k := range []string{"url", "method", "headers", "cancel"} {
		delete(obj, k)
	}
	switch p, hasPayload := obj["payload"]; {
	case hasPayload:
		req.Body = p
	case len(obj) == 1 && obj["events"] != nil:
		req.Body = obj["events"]
	default:
		b, err := json.Marshal(obj)
		if err != nil {
			return req, invalid("the result cannot be turned into JSON")
		}
		req.Body = b
	}
	return req, nil
}

// ReadPayloads reads what a RabbitMQ destination's handler returned:
// {payloads: […]}, one message each, a string as is and anything else as
// its JSON (Svix's documented default stringifies each event).
func ReadPayloads(body json.RawMessage) ([][]byte, error) {
	var out struct {
		Payloads *[]json.RawMessage `json:"payloads"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Payloads == nil {
		return nil, invalid("the handler must return {payloads: [...]}: one message per payload")
	}
	res := make([][]byte, 0, len(*out.Payloads))
	for _, p := range *out.Payloads {
		var s string
		if len(p) > 0 && p[0] == '"' && json.Unmarshal(p, &s) == nil {
			res = append(res, []byte(s))
			continue
		}
		res = append(res, p)
	}
	return res, nil
}
