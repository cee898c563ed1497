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
		s, isStr := m.Export().(string)
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

func exportString(v goja.Value) (string, bool) {
	if v == nil {
		return "", false
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

// BatchEvent is one message of a batch a destination sends.
type BatchEvent struct {
	MsgID     string
	EventType string
	CreatedAt string // RFC 3339
	Payload   json.RawMessage
}

// BatchResult is what a handler made of a batch: Body is the JSON of the
// object it returned (a destination reads its own fields from it: the
// request body of a FIFO endpoint, payloads for RabbitMQ), unless Cancel.
type BatchResult struct {
	Body   json.RawMessage
	Cancel bool
}

// RunBatch calls p's handler for a destination's batch: the input is
// {events: [{msgId, eventType, createdAt, payload}, …], variables}, and the
// handler returns an object (Svix's destination shapes). Errors as Run's.
func (p *Program) RunBatch(ctx context.Context, events []BatchEvent, vars map[string]string) (BatchResult, error) {
	var out BatchResult
	err := p.call(ctx, func(v *vm) error {
		rt := v.rt
		list := make([]any, len(events))
		for i, ev := range events {
			e := rt.NewObject()
			payload, err := decodeJSON(rt, orNull(ev.Payload))
			if err != nil {
				return invalid("the payload of event %d is not JSON", i)
			}
			_ = e.Set("msgId", ev.MsgID)
			_ = e.Set("eventType", ev.EventType)
			_ = e.Set("createdAt", ev.CreatedAt)
			_ = e.Set("payload", payload)
			list[i] = e
		}
		in := rt.NewObject()
		_ = in.Set("events", rt.NewArray(list...))
		jsVars := stringObject(rt, vars)
		_ = in.Set("variables", jsVars)
		res, err := v.handler(goja.Undefined(), in, jsVars)
		if err != nil {
			return err
		}
		obj, ok := res.(*goja.Object)
		if !ok {
			return invalid("the handler must return an object (it returned %s)", describe(res))
		}
		if c := obj.Get("cancel"); c != nil && c.ToBoolean() {
			out.Cancel = true
			return nil
		}
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
