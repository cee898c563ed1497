package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// noisyReport is what `hookline bench --noisy` measured: tenant B's
// end-to-end latency idle, then beside tenant A's backlog for an endpoint
// that hangs.
type noisyReport struct {
	Date string `json:"date"`
	Mode string `json:"mode"`
	// Load is the machine's load average (1, 5, 15 min) at the start and
	// at the end of the run.
	LoadStart string `json:"loadStart"`
	LoadEnd   string `json:"loadEnd"`

	BMessages int     `json:"bMessages"`
	BRate     float64 `json:"bRate"`
	IdleP50ms float64 `json:"idleP50Ms"`
	IdleP99ms float64 `json:"idleP99Ms"`
	IdleMaxms float64 `json:"idleMaxMs"`

	ABacklog       int     `json:"aBacklog"`
	AIngestSeconds float64 `json:"aIngestSeconds"`
	// AMostAtOnce is the most requests A's hanging endpoint ever had open
	// at once: its lane's limit, not the worker's concurrency.
	AMostAtOnce int64 `json:"aMostAtOnce"`

	NoisyP50ms float64 `json:"noisyP50Ms"`
	NoisyP99ms float64 `json:"noisyP99Ms"`
	NoisyMaxms float64 `json:"noisyMaxMs"`
	// IdleArrived and NoisyArrived count B's messages that arrived within
	// --timeout (the latencies are of those).
	IdleArrived  int  `json:"idleArrived"`
	NoisyArrived int  `json:"noisyArrived"`
	TimedOut     bool `json:"timedOut"`
}

// hangReceiver accepts requests and never answers them (until closed).
type hangReceiver struct {
	srv      *http.Server
	addr     string
	open     atomic.Int64
	most     atomic.Int64
	done     chan struct{}
	doneOnce sync.Once
}

func newHangReceiver(host string) (*hangReceiver, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("hanging receiver: %w", err)
	}
	h := &hangReceiver{addr: ln.Addr().String(), done: make(chan struct{})}
	h.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n := h.open.Add(1)
		defer h.open.Add(-1)
		for m := h.most.Load(); n > m && !h.most.CompareAndSwap(m, n); m = h.most.Load() {
		}
		select {
		case <-h.done:
		case <-r.Context().Done():
		}
	})}
	go func() { _ = h.srv.Serve(ln) }()
	return h, nil
}

func (h *hangReceiver) close() {
	h.doneOnce.Do(func() { close(h.done) })
	_ = h.srv.Close()
}

// loadAverage reads /proc/loadavg's three averages ("" where there is none).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// noisyMessages is tenant B's trial: 100 messages (at --rate, 20/s by
// default), once idle and once beside A's backlog.
const noisyMessages = 100

// runNoisy is the noisy-neighbour trial. B's tenant, app and endpoint are
// the bench's own (setup made them); A's are made here.
func (b *bench) runNoisy(ctx context.Context) (noisyReport, error) {
	o := b.o
	rep := noisyReport{Date: time.Now().UTC().Format(time.RFC3339), Mode: "self-contained", LoadStart: loadAverage(),
		BMessages: noisyMessages, BRate: o.rate, ABacklog: o.noisyBacklog}
	if o.apiURL != "" {
		rep.Mode = "remote " + o.apiURL
	}
	host, _, _ := net.SplitHostPort(b.recv.addr)
	hang, err := newHangReceiver(host)
	if err != nil {
		return rep, err
	}
	defer hang.close()

	keyA := o.noisyKey
	if keyA == "" {
		// Self-contained: a second tenant of the bench's own.
		t, err := b.store.CreateTenant(ctx, "bench noisy "+time.Now().UTC().Format(time.RFC3339))
		if err != nil {
			return rep, err
		}
		b.cleanups = append(b.cleanups, func() { b.dropTenant(context.Background(), t.ID) })
		if _, keyA, err = b.store.CreateAPIKey(ctx, t.ID, "bench"); err != nil {
			return rep, err
		}
	}
	var appA struct{ ID string }
	if err := b.call(ctx, keyA, "POST", "/api/v1/app", `{"name":"bench noisy neighbour"}`, &appA); err != nil {
		return rep, err
	}
	b.cleanups = append(b.cleanups, func() { _ = b.call(context.Background(), keyA, "DELETE", "/api/v1/app/"+appA.ID, "", nil) })
	if err := b.call(ctx, keyA, "POST", "/api/v1/app/"+appA.ID+"/endpoint", `{"url":"http://`+hang.addr+`/hang"}`, nil); err != nil {
		return rep, err
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.concurrency * 2, MaxIdleConns: o.concurrency * 2}}
	sendB := b.sender(client)
	trial := func(first int) (p50, p99, most float64, arrived int, timedOut bool) {
		start := time.Now()
		for i := range noisyMessages {
			due := start.Add(time.Duration(float64(i) / o.rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			seq := first + i
			// From the request's start: a first attempt may arrive before
			// the 202 does.
			b.recv.accepted(seq, time.Now())
			if err := sendB(ctx, b.appIDs[0], seq); err != nil {
				b.logf("tenant B's message refused: %v", err)
			}
		}
		want := int64(first + noisyMessages)
		deadline := time.Now().Add(o.timeout)
		for b.recv.delivered.Load() < want && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		lat := b.recv.latenciesOf(first, first+noisyMessages)
		return pct(lat, 50), pct(lat, 99), pct(lat, 100), len(lat), b.recv.delivered.Load() < want
	}
	b.logf("tenant B: %d messages at %.0f/s, idle", noisyMessages, o.rate)
	rep.IdleP50ms, rep.IdleP99ms, rep.IdleMaxms, rep.IdleArrived, rep.TimedOut = trial(0)

	// A's backlog, as fast as the API takes it.
	b.logf("tenant A: %d messages for an endpoint that hangs", o.noisyBacklog)
	sendA := b.senderAs(client, keyA)
	aStart := time.Now()
	var next atomic.Int64
	var refusedA atomic.Int64
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < o.noisyBacklog && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				// A's sequence numbers are past B's: its receiver never
				// sees them anyway.
				if err := sendA(ctx, appA.ID, 2*noisyMessages+i); err != nil && refusedA.Add(1) <= 3 {
					b.logf("tenant A's message refused: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	rep.AIngestSeconds = time.Since(aStart).Seconds()
	if refusedA.Load() > 0 {
		return rep, fmt.Errorf("tenant A: %d of %d messages refused", refusedA.Load(), o.noisyBacklog)
	}
	for hang.open.Load() == 0 && time.Since(aStart) < o.timeout && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}

	b.logf("tenant B: %d messages at %.0f/s, beside A's backlog", noisyMessages, o.rate)
	var busyTimedOut bool
	rep.NoisyP50ms, rep.NoisyP99ms, rep.NoisyMaxms, rep.NoisyArrived, busyTimedOut = trial(noisyMessages)
	rep.TimedOut = rep.TimedOut || busyTimedOut
	rep.AMostAtOnce = hang.most.Load()
	rep.LoadEnd = loadAverage()
	return rep, nil
}

func (r noisyReport) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	f1 := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	fmt.Fprintf(tw, "run\t%s, %s, noisy neighbour\n", r.Date, r.Mode)
	fmt.Fprintf(tw, "load average\t%s at the start, %s at the end\n", r.LoadStart, r.LoadEnd)
	fmt.Fprintf(tw, "tenant B idle\t%d messages at %.0f/s, %d arrived: end-to-end p50 %s ms, p99 %s ms, max %s ms\n", r.BMessages, r.BRate, r.IdleArrived, f1(r.IdleP50ms), f1(r.IdleP99ms), f1(r.IdleMaxms))
	fmt.Fprintf(tw, "tenant A\t%d messages for an endpoint that hangs, sent in %.1f s; at most %d requests open to it at once\n", r.ABacklog, r.AIngestSeconds, r.AMostAtOnce)
	fmt.Fprintf(tw, "tenant B beside A\t%d messages at %.0f/s, %d arrived: end-to-end p50 %s ms, p99 %s ms, max %s ms%s\n", r.BMessages, r.BRate, r.NoisyArrived, f1(r.NoisyP50ms), f1(r.NoisyP99ms), f1(r.NoisyMaxms),
		map[bool]string{true: " (TIMED OUT: the rest had not arrived)"}[r.TimedOut])
	fmt.Fprintln(tw, "end-to-end\tfrom the start of the API request to the first arrival at the receiver")
	tw.Flush()
}
