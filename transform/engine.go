package transform

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/hookline/hookline/internal/ttlcache"
)

// MaxCodeBytes is the largest transformation Svix accepts (and so do we).
const MaxCodeBytes = 51200

// Options bound an Engine. The zero value means the production defaults.
type Options struct {
	// Timeout is the wall-clock limit of one call (0: 100 ms).
	Timeout time.Duration
	// MemoryLimit is how much the process heap may grow while one call
	// runs before the call is interrupted (0: 64 MiB). It is measured on
	// the whole process, every few milliseconds of a call's run, so it
	// only ever stops calls that run long; a quick call is never checked.
	MemoryLimit int64
	// MaxConcurrent is how many calls may run at once (0: GOMAXPROCS).
	// Further calls wait for a turn (or for their context).
	MaxConcurrent int
	// MaxIdle is how many idle runtimes the engine keeps across all its
	// programs (0: 256); each costs some hundreds of KB.
	MaxIdle int
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = 100 * time.Millisecond
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = 64 << 20
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = 256
	}
	return o
}

// Engine compiles and runs transformations within its Options' bounds.
// Safe for concurrent use.
type Engine struct {
	opts Options
	sem  chan struct{}
	// idle counts the runtimes kept idle by all programs, against
	// opts.MaxIdle.
	idle atomic.Int64
	// proven holds code that compiled and whose top level, run once,
	// defined a handler, by the code's SHA-256: compiling it again (every
	// endpoint that has the same code, the API checking it again) shares
	// the compiled program, which goja runs in any number of runtimes, and
	// builds no runtime just to prove it again. Only the compiled code is
	// shared, never a runtime: each Program keeps its own, so globals a
	// handler keeps never reach another endpoint. Stale costs nothing (the
	// key is the code itself).
	proven *ttlcache.Cache[[32]byte, *goja.Program]
}

// provenCacheSize bounds the compiled code an engine keeps, provenTTL how
// long, and maxProvenCode the code it keeps: goja's compiled form is about
// ten times the source (541 KB for 50 KB), so at most about 11 MB. Longer
// code is compiled and proven on each Compile, as all code was before.
const (
	provenCacheSize = 128
	provenTTL       = 10 * time.Minute
	maxProvenCode   = 8 << 10
)

// NewEngine returns an engine bounded by opts.
func NewEngine(opts Options) *Engine {
	opts = opts.withDefaults()
	return &Engine{opts: opts, sem: make(chan struct{}, opts.MaxConcurrent),
		proven: ttlcache.New[[32]byte, *goja.Program](provenCacheSize, provenTTL)}
}

// Error is a transformation that failed: it does not compile, threw, ran
// out of time or memory, or returned something that cannot be sent.
// Message is meant for the tenant's customer (the attempt log, the API).
type Error struct {
	// Kind is one of "syntax", "exception", "timeout", "memory",
	// "invalid_output".
	Kind    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Error kinds.
const (
	KindSyntax        = "syntax"
	KindException     = "exception"
	KindTimeout       = "timeout"
	KindMemory        = "memory"
	KindInvalidOutput = "invalid_output"
)

// Program is a compiled transformation, with a few idle runtimes in which
// its handler is already defined. Safe for concurrent use.
type Program struct {
	eng  *Engine
	prog *goja.Program
	// pool holds idle runtimes; its capacity bounds them per program, and
	// the engine's idle count bounds them in total.
	pool chan *vm
}

// perProgramIdle is how many idle runtimes one program keeps at most.
const perProgramIdle = 4

// vm is one runtime with the program's handler and the JSON functions a
// call needs.
type vm struct {
	rt        *goja.Runtime
	watch     watchdog
	handler   goja.Callable
	parse     goja.Callable
	stringify goja.Callable
	uses      int
	// lazy is the current call's payload: parsed only when the handler
	// reads it, so a handler that never looks at the payload (or returns
	// early) costs no JSON round trip. getter and setter are built once.
	lazy           lazyPayload
	getter, setter goja.Value
	// serialize is the fast JSON.stringify (see json.go): it leaves the
	// JSON in out and returns true, or false where JSON.stringify must
	// do it, or undefined where there is nothing to write.
	serialize goja.Callable
	out       []byte
}

// lazyPayload is webhook.payload of the call in progress.
type lazyPayload struct {
	raw     []byte
	val     goja.Value
	touched bool // read or written: val is authoritative
	err     error
}

// maxUses retires a runtime after this many calls, so whatever a handler
// keeps in its globals from call to call cannot grow without end.
const maxUses = 1000

// Compile checks code and compiles it: it must parse, and running it must
// define a function named handler. The error is an *Error (KindSyntax,
// or the kind of what running the top level did).
func (e *Engine) Compile(ctx context.Context, code string) (*Program, error) {
	if len(code) > MaxCodeBytes {
		return nil, &Error{Kind: KindSyntax, Message: fmt.Sprintf("code is %d bytes; at most %d are allowed", len(code), MaxCodeBytes)}
	}
	key := sha256.Sum256([]byte(code))
	remember := len(code) <= maxProvenCode
	if prog, ok := e.proven.Get(key); remember && ok {
		// Proven before: the first call builds this program's first
		// runtime (and reports what its top level does then, should it
		// not do the same twice).
		return e.newProgram(prog), nil
	}
	prog, err := goja.Compile("transformation.js", code, false)
	if err != nil {
		return nil, &Error{Kind: KindSyntax, Message: "syntax error: " + syntaxMessage(err)}
	}
	p := e.newProgram(prog)
	// Build one runtime now: it proves the handler is defined, and the
	// first call finds it ready.
	if err := e.acquire(ctx); err != nil {
		return nil, err
	}
	v, err := p.newVM(ctx)
	e.release()
	if err != nil {
		return nil, err
	}
	p.put(v)
	if remember {
		e.proven.Add(key, prog)
	}
	return p, nil
}

// newProgram returns a Program of prog with no runtime yet.
func (e *Engine) newProgram(prog *goja.Program) *Program {
	// More idle runtimes than calls can run at once would never be used.
	p := &Program{eng: e, prog: prog, pool: make(chan *vm, min(perProgramIdle, e.opts.MaxConcurrent))}
	// Idle runtimes of a program nobody references any more go with it;
	// give their share of the engine's bound back then.
	runtime.AddCleanup(p, func(pool chan *vm) { e.idle.Add(-int64(len(pool))) }, p.pool)
	return p
}

// newVM builds a runtime for p and runs its top level, within the
// engine's limits.
func (p *Program) newVM(ctx context.Context) (*vm, error) {
	rt, err := newSandbox()
	if err != nil {
		return nil, fmt.Errorf("transformation sandbox: %w", err)
	}
	v := &vm{rt: rt}
	v.watch.eng, v.watch.rt = p.eng, rt
	if err := p.eng.guard(ctx, v, func() error {
		_, err := rt.RunProgram(p.prog)
		return err
	}); err != nil {
		return nil, err
	}
	h, ok := goja.AssertFunction(rt.Get("handler"))
	if !ok {
		return nil, &Error{Kind: KindSyntax, Message: "the code must define a function named handler: function handler(webhook) { return webhook; }"}
	}
	v.handler = h
	j := rt.Get("JSON").ToObject(rt)
	v.parse, _ = goja.AssertFunction(j.Get("parse"))
	v.stringify, _ = goja.AssertFunction(j.Get("stringify"))
	v.getter = rt.ToValue(func(goja.FunctionCall) goja.Value {
		if !v.lazy.touched {
			v.lazy.touched = true
			v.lazy.val, v.lazy.err = decodeJSON(rt, orNull(v.lazy.raw))
			if v.lazy.err != nil {
				panic(rt.NewTypeError("the payload is not JSON"))
			}
		}
		return v.lazy.val
	})
	v.setter = rt.ToValue(func(c goja.FunctionCall) goja.Value {
		v.lazy.touched, v.lazy.val = true, c.Argument(0)
		return goja.Undefined()
	})
	v.serialize, _ = goja.AssertFunction(rt.ToValue(func(c goja.FunctionCall) goja.Value {
		out, skip, err := appendJSON(v.out[:0], c.Argument(0), 0)
		v.out = out
		switch {
		case errors.Is(err, errTooLarge):
			panic(rt.NewTypeError("the JSON would be larger than %d MiB", maxJSONOut>>20))
		case err != nil:
			return rt.ToValue(false)
		case skip:
			return goja.Undefined()
		}
		return rt.ToValue(true)
	}))
	return v, nil
}

// get returns an idle runtime or builds one.
func (p *Program) get(ctx context.Context) (*vm, error) {
	select {
	case v := <-p.pool:
		p.eng.idle.Add(-1)
		return v, nil
	default:
		return p.newVM(ctx)
	}
}

// put keeps v for the next call, unless the program or the engine holds
// enough idle runtimes already (then it is left to the garbage collector).
func (p *Program) put(v *vm) {
	if v.uses >= maxUses {
		return
	}
	if p.eng.idle.Add(1) > int64(p.eng.opts.MaxIdle) {
		p.eng.idle.Add(-1)
		return
	}
	select {
	case p.pool <- v:
	default:
		p.eng.idle.Add(-1)
	}
}

// call runs fn (a call into v's runtime) within the engine's limits, and
// returns v to the pool if it ended cleanly. A runtime that threw or was
// interrupted is dropped: its state is whatever the script left.
func (p *Program) call(ctx context.Context, fn func(v *vm) error) error {
	if err := p.eng.acquire(ctx); err != nil {
		return err
	}
	defer p.eng.release()
	v, err := p.get(ctx)
	if err != nil {
		return err
	}
	v.uses++
	err = p.eng.guard(ctx, v, func() error { return fn(v) })
	if err == nil {
		p.put(v)
	}
	return err
}

// watchEvery is how often a running call's heap growth and time are
// checked.
const watchEvery = 5 * time.Millisecond

// interrupt values, told apart when the call returns.
type (
	timeoutSignal struct{}
	memorySignal  struct{}
	cancelSignal  struct{}
)

// watchdog interrupts a runtime's call that runs past the engine's time
// or memory limit, or whose context ends. One per runtime, its timer
// reused from call to call: a timer made per call was a tenth of what a
// trivial call cost.
type watchdog struct {
	eng *Engine
	rt  *goja.Runtime

	mu       sync.Mutex
	t        *time.Timer
	running  bool // a call is in progress; checks outside one do nothing
	ctx      context.Context
	start    time.Time
	sampled  bool
	baseHeap uint64
	sample   []metrics.Sample
}

func (w *watchdog) begin(ctx context.Context) {
	w.mu.Lock()
	w.running, w.ctx, w.start, w.sampled = true, ctx, time.Now(), false
	if w.t == nil {
		w.t = time.AfterFunc(watchEvery, w.check)
	} else {
		w.t.Reset(watchEvery)
	}
	w.mu.Unlock()
}

func (w *watchdog) end() {
	w.mu.Lock()
	w.running, w.ctx = false, nil
	w.mu.Unlock()
	w.t.Stop()
	// A check may have interrupted the call just as it ended.
	w.rt.ClearInterrupt()
}

// check runs on the timer's goroutine.
func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running {
		return
	}
	switch {
	case w.ctx.Err() != nil:
		w.rt.Interrupt(cancelSignal{})
		return
	case time.Since(w.start) >= w.eng.opts.Timeout:
		w.rt.Interrupt(timeoutSignal{})
		return
	}
	if !w.sampled {
		if w.sample == nil {
			w.sample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		}
		metrics.Read(w.sample)
		w.baseHeap, w.sampled = heapBytes(w.sample), true
	} else {
		metrics.Read(w.sample)
		if h := heapBytes(w.sample); h > w.baseHeap && int64(h-w.baseHeap) > w.eng.opts.MemoryLimit {
			w.rt.Interrupt(memorySignal{})
			return
		}
	}
	w.t.Reset(min(watchEvery, max(w.eng.opts.Timeout-time.Since(w.start), time.Millisecond)))
}

// acquire takes a turn of the engine's concurrency, before a runtime is
// taken or built: so a program never has more runtimes than calls can
// run at once.
func (e *Engine) acquire(ctx context.Context) error {
	select {
	case e.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for a transformation slot: %w", ctx.Err())
	}
}

func (e *Engine) release() { <-e.sem }

// guard runs fn, which calls into v's runtime, under v's watchdog, and
// turns what went wrong into an *Error. The caller holds a turn
// (acquire).
func (e *Engine) guard(ctx context.Context, v *vm, fn func() error) error {
	v.watch.begin(ctx)
	err := runSafely(fn)
	v.watch.end()
	return e.classify(ctx, err)
}

func heapBytes(s []metrics.Sample) uint64 {
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// runSafely runs fn and turns a panic of the engine (goja panics on some
// host-side misuse, and a Go stack overflow is not recoverable anyway)
// into an error, so one script cannot take the worker down with a panic.
func runSafely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Kind: KindException, Message: fmt.Sprintf("the transformation crashed the engine: %v", r)}
		}
	}()
	return fn()
}

// classify turns what a run returned into an *Error (or a context error).
func (e *Engine) classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		switch ie.Value().(type) {
		case timeoutSignal:
			return &Error{Kind: KindTimeout, Message: fmt.Sprintf("the handler did not finish within %s", e.opts.Timeout)}
		case memorySignal:
			return &Error{Kind: KindMemory, Message: fmt.Sprintf("the handler used more than %d MiB of memory", e.opts.MemoryLimit>>20)}
		case cancelSignal:
			return fmt.Errorf("transformation: %w", ctx.Err())
		}
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return &Error{Kind: KindException, Message: fmt.Sprintf("the handler threw: RangeError: maximum call stack size exceeded (calls nested deeper than %d)", maxCallStack)}
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return &Error{Kind: KindException, Message: "the handler threw: " + exceptionMessage(ex)}
	}
	var se *goja.CompilerSyntaxError
	if errors.As(err, &se) {
		return &Error{Kind: KindSyntax, Message: "syntax error: " + se.Error()}
	}
	var te *Error
	if errors.As(err, &te) {
		return te
	}
	return &Error{Kind: KindException, Message: err.Error()}
}

// exceptionMessage is the thrown value and where it was thrown, short.
func exceptionMessage(ex *goja.Exception) string {
	msg := ex.Value().String()
	if st := ex.Stack(); len(st) > 0 {
		var b bytes.Buffer
		st[0].Write(&b)
		msg += " at " + b.String()
	}
	return truncate(msg, 1000)
}

func syntaxMessage(err error) string {
	var se *goja.CompilerSyntaxError
	if errors.As(err, &se) {
		return truncate(se.Error(), 1000)
	}
	return truncate(err.Error(), 1000)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
