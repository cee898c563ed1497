package transform

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// The payload crosses into the runtime and back on every attempt whose
// handler reads it, so both directions are done here rather than by the
// engine's JSON.parse and JSON.stringify: goja's parse reads tokens through
// encoding/json's Decoder (an interface value and a few allocations per
// token) and its stringify quotes strings rune by rune; together they were
// most of a transformation's cost. The results are the same values and
// the same bytes (a differential test and fuzzer hold them to it); what
// the fast serializer does not know (toJSON, boxed primitives, proxies,
// lone surrogates, cycles) it leaves to JSON.stringify itself.

// maxJSONDepth is encoding/json's nesting limit: json.Valid refuses
// deeper payloads at the API, and the decoder's recursion stays bounded.
const maxJSONDepth = 10000

var errNotJSON = errors.New("not JSON")

// jsonDecoder turns JSON bytes into runtime values the way the runtime's
// JSON.parse does: objects with their keys in order (a repeated key keeps
// its first place and its last value), integers as integers, other
// numbers as floats, strings unquoted as encoding/json does.
type jsonDecoder struct {
	rt    *goja.Runtime
	data  []byte
	pos   int
	depth int
	// vals is a stack shared by the arrays being built, so that an
	// array's elements cost no slice of their own until NewArray.
	vals []goja.Value
	// src is data as a string when it is small (see maxSharedSource):
	// the keys and the strings without escapes are slices of it, one
	// allocation for all instead of one each.
	src string
}

// maxSharedSource is the largest JSON whose strings share one copy of it.
// A string kept alive keeps all of its source alive: a handler that keeps
// one small value of every payload in a global (until its runtime retires
// after maxUses calls) keeps at most this much per call.
const maxSharedSource = 2048

// decodeJSON returns data as a runtime value, or errNotJSON.
func decodeJSON(rt *goja.Runtime, data []byte) (goja.Value, error) {
	d := jsonDecoder{rt: rt, data: data}
	if len(data) <= maxSharedSource {
		d.src = string(data)
	}
	d.skipSpace()
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, errNotJSON
	}
	return v, nil
}

func (d *jsonDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *jsonDecoder) value() (goja.Value, error) {
	if d.pos >= len(d.data) {
		return nil, errNotJSON
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return d.rt.ToValue(s), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case c == 't':
		return d.literal("true", d.rt.ToValue(true))
	case c == 'f':
		return d.literal("false", d.rt.ToValue(false))
	case c == 'n':
		return d.literal("null", goja.Null())
	}
	return nil, errNotJSON
}

func (d *jsonDecoder) literal(word string, v goja.Value) (goja.Value, error) {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return nil, errNotJSON
	}
	d.pos += len(word)
	return v, nil
}

func (d *jsonDecoder) enter() error {
	d.depth++
	if d.depth > maxJSONDepth {
		return errNotJSON
	}
	return nil
}

func (d *jsonDecoder) object() (goja.Value, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // {
	obj := d.rt.NewObject()
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.depth--
		return obj, nil
	}
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, errNotJSON
		}
		key, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, errNotJSON
		}
		d.pos++
		d.skipSpace()
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		// An own data property, as JSON.parse defines it (Set would run
		// a setter found on the prototype chain: __proto__'s, or one the
		// handler's code put on Object.prototype).
		if err := obj.DefineDataProperty(key, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
			return nil, err
		}
		end, err := d.separator('}')
		if err != nil {
			return nil, err
		}
		if end {
			return obj, nil
		}
	}
}

func (d *jsonDecoder) array() (goja.Value, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // [
	base := len(d.vals)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.depth--
		return d.rt.NewArray(), nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		d.vals = append(d.vals, v)
		end, err := d.separator(']')
		if err != nil {
			return nil, err
		}
		if end {
			elems := make([]any, len(d.vals)-base)
			for i, v := range d.vals[base:] {
				elems[i] = v
			}
			clear(d.vals[base:])
			d.vals = d.vals[:base]
			return d.rt.NewArray(elems...), nil
		}
	}
}

// separator reads what follows an object's member or an array's element:
// a comma (another follows; end is false) or the closing byte (the object
// or array ends, and its nesting with it).
func (d *jsonDecoder) separator(closing byte) (end bool, err error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return false, errNotJSON
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		d.skipSpace()
		return false, nil
	case closing:
		d.pos++
		d.depth--
		return true, nil
	}
	return false, errNotJSON
}

// str reads a string. Plain ASCII without escapes is taken as it is;
// anything else is unquoted by encoding/json, as the runtime's JSON.parse
// does (invalid UTF-8 becomes U+FFFD, escaped surrogates pair up).
func (d *jsonDecoder) str() (string, error) {
	start := d.pos
	d.pos++ // "
	plain := true
	for d.pos < len(d.data) {
		if jsonPlain[d.data[d.pos]] {
			d.pos++ // most bytes: one lookup
			continue
		}
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if plain {
				if d.src != "" {
					return d.src[start+1 : d.pos-1], nil
				}
				return string(d.data[start+1 : d.pos-1]), nil
			}
			var s string
			if err := json.Unmarshal(d.data[start:d.pos], &s); err != nil {
				return "", errNotJSON
			}
			return s, nil
		case c == '\\':
			plain = false
			d.pos += 2 // the escaped byte cannot end the string
		case c < 0x20:
			return "", errNotJSON
		case c >= utf8.RuneSelf:
			plain = false
			d.pos++
		default:
			d.pos++
		}
	}
	return "", errNotJSON
}

// number reads a number as JSON's grammar has it; integers of up to 15
// digits are read directly, others by strconv (as encoding/json does).
func (d *jsonDecoder) number() (goja.Value, error) {
	start := d.pos
	neg := false
	if d.data[d.pos] == '-' {
		neg = true
		d.pos++
	}
	intStart := d.pos
	if d.pos >= len(d.data) {
		return nil, errNotJSON
	}
	switch c := d.data[d.pos]; {
	case c == '0':
		d.pos++
	case c >= '1' && c <= '9':
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
		}
	default:
		return nil, errNotJSON
	}
	integer := true
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		integer = false
		d.pos++
		if !d.digits() {
			return nil, errNotJSON
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		integer = false
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if !d.digits() {
			return nil, errNotJSON
		}
	}
	if digits := d.data[intStart:d.pos]; integer && len(digits) <= 15 {
		var n int64
		for _, c := range digits {
			n = n*10 + int64(c-'0')
		}
		if n == 0 && neg {
			return d.rt.ToValue(math.Copysign(0, -1)), nil // -0 is a float
		}
		if neg {
			n = -n
		}
		return d.rt.ToValue(n), nil
	}
	f, err := strconv.ParseFloat(string(d.data[start:d.pos]), 64)
	if err != nil {
		// Out of range: encoding/json refuses it, and so does JSON.parse
		// in the runtime.
		return nil, errNotJSON
	}
	return d.rt.ToValue(f), nil
}

func (d *jsonDecoder) digits() bool {
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	return d.pos > start
}

var (
	typeString = reflect.TypeOf("")
	typeInt64  = reflect.TypeOf(int64(0))
	typeFloat  = reflect.TypeOf(float64(0))
	typeBool   = reflect.TypeOf(false)
	typeMap    = reflect.TypeOf(map[string]any(nil))
	typeSlice  = reflect.TypeOf([]any(nil))
)

// maxFastDepth is how deep the fast serializer follows objects before it
// leaves the value to JSON.stringify (which finds cycles).
const maxFastDepth = 64

// maxJSONOut caps what the fast serializer writes: a handler can make a
// small object that refers to one large string many times, and a native
// call is not interrupted while it runs.
const maxJSONOut = 1 << 26

// maxKeptBuffer is the largest serializer buffer a runtime keeps for its
// next call.
const maxKeptBuffer = 64 << 10

// errTooLarge is JSON that would pass maxJSONOut.
var errTooLarge = errors.New("JSON too large")

// errSlowPath says the fast serializer met something only JSON.stringify
// knows how to treat.
var errSlowPath = errors.New("slow path")

// appendJSON appends v as JSON.stringify(v) would write it, or returns
// errSlowPath (then the caller uses JSON.stringify). skip reports a value
// JSON.stringify leaves out (undefined in an object, null in an array).
// It calls into the runtime (getters, Keys), so it must run inside a
// native function, where an exception thrown there is the handler's.
func appendJSON(buf []byte, v goja.Value, depth int) (out []byte, skip bool, err error) {
	if v == nil || goja.IsUndefined(v) {
		return buf, true, nil
	}
	if goja.IsNull(v) {
		return append(buf, "null"...), false, nil
	}
	obj, isObj := v.(*goja.Object)
	if !isObj {
		if _, isSym := v.(*goja.Symbol); isSym {
			return buf, false, errSlowPath // left out, as undefined is
		}
		switch v.ExportType() {
		case typeString:
			s := v.String()
			if len(buf)+len(s) > maxJSONOut {
				return buf, false, errTooLarge
			}
			if plainJSON(s) {
				// The common case, in one pass: nothing to check or escape.
				buf = append(buf, '"')
				buf = append(buf, s...)
				return append(buf, '"'), false, nil
			}
			if !utf8.ValidString(s) || containsReplacement(s) {
				// Possibly a lone surrogate, which String() has replaced:
				// JSON.stringify writes it as an escape.
				return buf, false, errSlowPath
			}
			return appendQuoted(buf, s), false, nil
		case typeInt64:
			return strconv.AppendInt(buf, v.ToInteger(), 10), false, nil
		case typeFloat:
			f := v.ToFloat()
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return append(buf, "null"...), false, nil
			}
			return append(buf, v.String()...), false, nil
		case typeBool:
			if v.ToBoolean() {
				return append(buf, "true"...), false, nil
			}
			return append(buf, "false"...), false, nil
		}
		return buf, false, errSlowPath // symbols, BigInts
	}
	if depth >= maxFastDepth {
		return buf, false, errSlowPath
	}
	if _, isFn := goja.AssertFunction(obj.Get("toJSON")); isFn {
		return buf, false, errSlowPath
	}
	switch obj.ExportType() {
	case typeMap:
		if obj.ClassName() != "Object" {
			return buf, false, errSlowPath
		}
		buf = append(buf, '{')
		first := true
		for _, k := range obj.Keys() {
			if len(buf) > maxJSONOut {
				return buf, false, errTooLarge
			}
			mark := len(buf)
			if !first {
				buf = append(buf, ',')
			}
			buf = appendQuoted(buf, k)
			buf = append(buf, ':')
			var skipped bool
			buf, skipped, err = appendJSON(buf, obj.Get(k), depth+1)
			if err != nil {
				return buf, false, err
			}
			if skipped {
				buf = buf[:mark]
				continue
			}
			first = false
		}
		return append(buf, '}'), false, nil
	case typeSlice:
		if obj.ClassName() != "Array" {
			return buf, false, errSlowPath
		}
		n := obj.Get("length").ToInteger()
		if n > maxArrayLength {
			return buf, false, errTooLarge
		}
		buf = append(buf, '[')
		var idx [20]byte
		for i := range n {
			if len(buf) > maxJSONOut {
				return buf, false, errTooLarge
			}
			if i > 0 {
				buf = append(buf, ',')
			}
			var skipped bool
			buf, skipped, err = appendJSON(buf, obj.Get(string(strconv.AppendInt(idx[:0], i, 10))), depth+1)
			if err != nil {
				return buf, false, err
			}
			if skipped {
				buf = append(buf, "null"...)
			}
		}
		return append(buf, ']'), false, nil
	}
	// Functions (left out, as undefined is), dates, boxed primitives,
	// proxies, host objects.
	return buf, false, errSlowPath
}

func containsReplacement(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0xEF && i+2 < len(s) && s[i+1] == 0xBF && s[i+2] == 0xBD {
			return true
		}
	}
	return false
}

// jsonPlain marks the bytes a JSON string carries as they are: ASCII
// (so valid UTF-8, and no U+FFFD) that is neither a control character,
// the quote nor the backslash.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainJSON reports whether every byte of s is jsonPlain.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// appendQuoted quotes s as JSON.stringify does: only the quote, the
// backslash and control characters are escaped; everything else is
// written as it is.
func appendQuoted(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\f':
			buf = append(buf, '\\', 'f')
		case '\r':
			buf = append(buf, '\\', 'r')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
