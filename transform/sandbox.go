package transform

import (
	"math"

	"github.com/dop251/goja"
)

// Size caps of the sandbox's one-step natives (see prelude).
const (
	// maxStringChars caps a string built by one native call.
	maxStringChars = 1 << 24
	// maxArrayLength caps the length of an array (or array-like) a native
	// walks or builds in one call.
	maxArrayLength = 1 << 22
)

// harden makes a fresh runtime safe for a tenant's code to run in.
//
// goja interrupts only between JavaScript instructions: a native built-in,
// once called, runs to its end. So the natives whose cost grows with an
// argument rather than with instructions (String.prototype.repeat,
// Array.prototype.join on a sparse array of length 2^32-1, Array.from of
// {length: 1e9}, f.apply with a huge array-like, typed arrays) are wrapped
// to refuse sizes past the caps, or removed. What remains can only grow
// memory one interruptible step at a time, which the timeout and the heap
// watchdog bound. console.log exists (and discards) because handlers
// written for Svix call it.
//
// The wrappers are Go functions, not JavaScript closures: a runtime is
// built for every program (and again after maxUses calls), and creating
// some fifty JavaScript closures, each with its arguments object on every
// call, was most of what building one cost.
func harden(rt *goja.Runtime) error {
	h := &hardener{rt: rt}
	h.rangeError, _ = goja.AssertConstructor(rt.Get("RangeError"))
	ap := rt.Get("Array").ToObject(rt)
	proto := ap.Get("prototype").ToObject(rt)
	for _, k := range proto.GetOwnPropertyNames() {
		if k == "constructor" {
			continue
		}
		check := h.arrayArgs
		if k == "join" {
			check = h.joinArgs
		}
		if err := h.wrap(proto, k, check); err != nil {
			return err
		}
	}
	for _, k := range []string{"from", "of"} {
		if err := h.wrap(ap, k, func(c goja.FunctionCall) { h.arrayArgs(goja.FunctionCall{This: goja.Null(), Arguments: c.Arguments}) }); err != nil {
			return err
		}
	}
	fp := rt.Get("Function").ToObject(rt).Get("prototype").ToObject(rt)
	if err := h.wrap(fp, "apply", func(c goja.FunctionCall) { h.refuseBig(c.Argument(1), "argument list") }); err != nil {
		return err
	}
	if r, ok := rt.Get("Reflect").(*goja.Object); ok {
		if err := h.wrap(r, "apply", func(c goja.FunctionCall) { h.refuseBig(c.Argument(2), "argument list") }); err != nil {
			return err
		}
		if err := h.wrap(r, "construct", func(c goja.FunctionCall) { h.refuseBig(c.Argument(1), "argument list") }); err != nil {
			return err
		}
	}
	sp := rt.Get("String").ToObject(rt).Get("prototype").ToObject(rt)
	if err := h.wrap(sp, "repeat", func(c goja.FunctionCall) {
		n := c.Argument(0).ToFloat()
		if n != n || n < 0 {
			n = 0
		}
		if float64(h.stringLength(c.This))*n > maxStringChars {
			panic(h.tooLarge("string"))
		}
	}); err != nil {
		return err
	}
	for _, k := range []string{"padStart", "padEnd"} {
		if err := h.wrap(sp, k, func(c goja.FunctionCall) {
			if c.Argument(0).ToFloat() > maxStringChars {
				panic(h.tooLarge("string"))
			}
		}); err != nil {
			return err
		}
	}
	for _, k := range []string{"replace", "replaceAll"} {
		if err := h.wrap(sp, k, func(c goja.FunctionCall) {
			r, ok := c.Argument(1).(goja.String)
			if ok && r.Length() > 1024 && float64(h.stringLength(c.This))*float64(r.Length()) > maxStringChars {
				panic(h.tooLarge("string"))
			}
		}); err != nil {
			return err
		}
	}
	g := rt.GlobalObject()
	for _, k := range []string{"ArrayBuffer", "SharedArrayBuffer", "DataView", "Int8Array", "Uint8Array", "Uint8ClampedArray",
		"Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array",
		"BigUint64Array", "WeakRef", "FinalizationRegistry"} {
		if err := g.Delete(k); err != nil {
			return err
		}
	}
	noop := rt.ToValue(func(goja.FunctionCall) goja.Value { return goja.Undefined() })
	console := rt.NewObject()
	for _, k := range []string{"log", "info", "warn", "error", "debug"} {
		if err := console.Set(k, noop); err != nil {
			return err
		}
	}
	return g.Set("console", console)
}

// hardener holds what harden's checks need.
type hardener struct {
	rt *goja.Runtime
	// rangeError is the runtime's own, taken before any script can
	// replace the global.
	rangeError goja.Constructor
}

// wrap replaces obj[name], a native function, with one that calls check
// (which panics with a RangeError to refuse the call) and then the
// original, with the same this and arguments. Like a built-in, the
// wrapper is writable, configurable and not enumerable, and named name.
func (h *hardener) wrap(obj *goja.Object, name string, check func(goja.FunctionCall)) error {
	orig, ok := goja.AssertFunction(obj.Get(name))
	if !ok {
		return nil
	}
	w := h.rt.ToValue(func(c goja.FunctionCall) goja.Value {
		check(c)
		res, err := orig(c.This, c.Arguments...)
		if err != nil {
			panic(err) // rethrown as it was: an exception, or an interrupt
		}
		return res
	}).(*goja.Object)
	// ToValue names a function after its Go symbol; a built-in's name is
	// its property's.
	if err := w.DefineDataProperty("name", h.rt.ToValue(name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return err
	}
	return obj.DefineDataProperty(name, w, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// tooLarge is the RangeError a refused call throws.
func (h *hardener) tooLarge(what string) *goja.Object {
	e, err := h.rangeError(nil, h.rt.ToValue(what+" too large for a transformation"))
	if err != nil {
		panic(err)
	}
	return e
}

// length is +x.length for an object (its getter and valueOf may run
// script, which is interruptible), a string's length, and NaN otherwise.
func (h *hardener) length(x goja.Value) float64 {
	switch x := x.(type) {
	case *goja.Object:
		l := x.Get("length")
		if l == nil {
			return math.NaN()
		}
		return l.ToFloat()
	case goja.String:
		return float64(x.Length())
	}
	return math.NaN()
}

// refuseBig throws if x (an object, a function or a string) has a length
// past maxArrayLength.
func (h *hardener) refuseBig(x goja.Value, what string) {
	if h.length(x) > maxArrayLength {
		panic(h.tooLarge(what))
	}
}

// arrayArgs refuses a call on, or with, an array-like (a string aside)
// longer than maxArrayLength.
func (h *hardener) arrayArgs(c goja.FunctionCall) {
	if _, isStr := c.This.(goja.String); !isStr {
		h.refuseBig(c.This, "array")
	}
	for _, a := range c.Arguments {
		if _, isStr := a.(goja.String); !isStr {
			h.refuseBig(a, "array")
		}
	}
}

// joinArgs is arrayArgs, and refuses a join whose result would be longer
// than maxStringChars.
func (h *hardener) joinArgs(c goja.FunctionCall) {
	h.arrayArgs(c)
	sep := 1.0
	if a := c.Argument(0); !goja.IsUndefined(a) {
		sep = h.stringLength(a)
	}
	if h.length(c.This)*(sep+1) > maxStringChars {
		panic(h.tooLarge("string"))
	}
}

// stringLength is String(x).length (0 for undefined and null, on which
// the native throws anyway).
func (h *hardener) stringLength(x goja.Value) float64 {
	if x == nil || goja.IsUndefined(x) || goja.IsNull(x) {
		return 0
	}
	if s, ok := x.ToString().(goja.String); ok {
		return float64(s.Length())
	}
	return 0
}

// maxCallStack caps recursion: a runaway recursion ends with a RangeError
// long before it costs memory.
const maxCallStack = 1024

// newSandbox returns a fresh runtime with the prelude applied.
func newSandbox() (*goja.Runtime, error) {
	rt := goja.New()
	rt.SetMaxCallStackSize(maxCallStack)
	if err := harden(rt); err != nil {
		return nil, err
	}
	return rt, nil
}
