// Package transform runs endpoint transformations: a tenant's customer's
// JavaScript function handler(webhook), Svix's contract, which reshapes a
// webhook before it is sent (method, URL, payload, extra headers) or
// cancels it.
//
// The code runs in github.com/dop251/goja, a pure-Go ECMAScript 5.1+
// engine: no cgo, no process per call, and nothing of the host reachable
// from a script. The sandbox (sandbox.go) has no require, no timers, no
// network and no filesystem (goja has none unless the host adds them);
// Math.random and Date (a handler may stamp a time) are the only inputs
// beyond the webhook; eval and Function compile within the same sandbox
// and limits. Every call is bounded:
//
//   - time: a wall-clock limit per call (Options.Timeout, default 100 ms)
//     interrupts the script from a timer, whatever it loops on;
//   - memory: the natives that can allocate or walk large strings or
//     arrays in one step (repeat, padStart/padEnd, replace with a long
//     replacement, every Array.prototype method on an array-like longer
//     than the cap, Array.from/of, apply, typed arrays) refuse sizes over
//     a cap or are removed, and a watchdog interrupts a call whose process
//     heap grows past Options.MemoryLimit while it runs;
//   - concurrency: at most Options.MaxConcurrent calls run at once in a
//     process, so scripts cannot take every CPU from the rest of the worker;
//   - stack: recursion is capped.
//
// A Program is compiled once per code revision; each keeps a few idle
// runtimes (a goja.Runtime is not safe for concurrent use, and building
// one costs far more than a call), bounded per Engine.
package transform
