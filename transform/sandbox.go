package transform

import (
	"strconv"

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

// prelude hardens a fresh runtime before a tenant's code runs in it.
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
var prelude = `(function (g) {
  'use strict';
  var MAXS = ` + strconv.Itoa(maxStringChars) + `, MAXA = ` + strconv.Itoa(maxArrayLength) + `;
  var defineProperty = Object.defineProperty, getNames = Object.getOwnPropertyNames, rapply = Reflect.apply;
  function big(x) {
    return x !== null && (typeof x === 'object' || typeof x === 'function' || typeof x === 'string') && +x.length > MAXA;
  }
  function tooLarge(what) { return new RangeError(what + ' too large for a transformation'); }
  function wrap(obj, name, check) {
    var f = obj[name];
    if (typeof f !== 'function') return;
    var w = function () {
      check(this, arguments);
      return rapply(f, this, arguments);
    };
    defineProperty(w, 'name', { value: name });
    defineProperty(obj, name, { value: w, writable: true, configurable: true, enumerable: false });
  }
  function arrayArgs(self, args) {
    if (typeof self !== 'string' && big(self)) throw tooLarge('array');
    for (var i = 0; i < args.length; i++) if (typeof args[i] !== 'string' && big(args[i])) throw tooLarge('array');
  }
  var AP = Array.prototype;
  getNames(AP).forEach(function (k) {
    if (k === 'constructor' || typeof AP[k] !== 'function') return;
    if (k === 'join') {
      wrap(AP, k, function (self, args) {
        arrayArgs(self, args);
        var sep = args.length > 0 && args[0] !== undefined ? String(args[0]) : ',';
        if ((+self.length) * (sep.length + 1) > MAXS) throw tooLarge('string');
      });
      return;
    }
    wrap(AP, k, arrayArgs);
  });
  ['from', 'of'].forEach(function (k) { wrap(Array, k, function (self, args) { arrayArgs(null, args); }); });
  var FP = Function.prototype;
  wrap(FP, 'apply', function (self, args) { if (big(args[1])) throw tooLarge('argument list'); });
  if (typeof Reflect === 'object') {
    wrap(Reflect, 'apply', function (self, args) { if (big(args[2])) throw tooLarge('argument list'); });
    wrap(Reflect, 'construct', function (self, args) { if (big(args[1])) throw tooLarge('argument list'); });
  }
  var SP = String.prototype;
  wrap(SP, 'repeat', function (self, args) {
    if (String(self).length * Math.max(+args[0] || 0, 0) > MAXS) throw tooLarge('string');
  });
  ['padStart', 'padEnd'].forEach(function (k) {
    wrap(SP, k, function (self, args) { if (+args[0] > MAXS) throw tooLarge('string'); });
  });
  ['replace', 'replaceAll'].forEach(function (k) {
    wrap(SP, k, function (self, args) {
      var r = args[1];
      if (typeof r === 'string' && r.length > 1024 && String(self).length * r.length > MAXS) throw tooLarge('string');
    });
  });
  ['ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array',
   'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
   'WeakRef', 'FinalizationRegistry'].forEach(function (k) { delete g[k]; });
  var noop = function () {};
  g.console = { log: noop, info: noop, warn: noop, error: noop, debug: noop };
})(this);`

// preludeProgram is the prelude compiled once per process (a Program is
// immutable and may run in any number of runtimes).
var preludeProgram = goja.MustCompile("prelude", prelude, false)

// maxCallStack caps recursion: a runaway recursion ends with a RangeError
// long before it costs memory.
const maxCallStack = 1024

// newSandbox returns a fresh runtime with the prelude applied.
func newSandbox() (*goja.Runtime, error) {
	rt := goja.New()
	rt.SetMaxCallStackSize(maxCallStack)
	if _, err := rt.RunProgram(preludeProgram); err != nil {
		return nil, err
	}
	return rt, nil
}
