package worker

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline/internal/ttlcache"
	"github.com/hookline/hookline/tenants"
	"github.com/hookline/hookline/transform"
)

// Destinations that push — FIFO endpoints and RabbitMQ — are served here,
// beside the HTTP sender; polling endpoints need no worker.
//
// A pushing destination reads its application's messages by position, as
// a poller does (store/destination_reads.go), instead of getting a
// delivery row per message: no write per message and destination at
// ingest, and the order is the messages' own. One batch is in flight at a
// time, across every worker process: a sender takes a destination under a
// lease in PostgreSQL (ClaimSenders), records the batch's range before it
// sends it (StartSenderBatch), and moves the cursor past it only when the
// outcome is on record (FinishSenderBatch). A worker killed mid-send loses
// its lease when it ends; the next sender finds the batch recorded and
// sends exactly it again — nothing lost, nothing reordered, the only
// duplicate a batch whose outcome was unknown. Redis plays no part, so
// losing it loses nothing here.
//
// Why not the delivery lanes: a lane's worth is its adaptive limit and
// fair shares among many in-flight attempts; a FIFO destination has one
// attempt in flight by definition, and its state (the cursor and the
// batch) must be in PostgreSQL anyway to survive Redis. A lease row is the
// whole of what a lane of cap 1 would give.

// SinkStore is what the senders need of the store (package store
// implements it). Its methods' contracts are the store's.
type SinkStore interface {
	ClaimSenders(ctx context.Context, owner string, lease time.Duration, limit int) ([]tenants.Destination, error)
	HasSenders(ctx context.Context) (bool, error)
	SenderSecrets(ctx context.Context, tenantID, appID, id string) (secrets []string, headers map[string]string, uri string, err error)
	SenderTransformation(ctx context.Context, tenantID, id string) (tenants.Transformation, error)
	ReadSenderBatch(ctx context.Context, d tenants.Destination) ([]tenants.PollMessage, tenants.Position, error)
	StartSenderBatch(ctx context.Context, owner string, lease time.Duration, d tenants.Destination, b tenants.DestinationBatch) error
	FinishSenderBatch(ctx context.Context, owner string, d tenants.Destination, o tenants.DestinationOutcome) error
	AdvanceSender(ctx context.Context, owner string, d tenants.Destination, p tenants.Position) error
	ReleaseSender(ctx context.Context, owner, id string) error
}

// DestinationEvents is told when a destination is disabled because a
// batch exhausted its retries (the endpoint.disabled operational webhook).
// operational.Notifier implements it, through Deps.Events. It must be safe
// for concurrent use.
type DestinationEvents interface {
	DestinationDisabled(ctx context.Context, d tenants.Destination, batchID string)
}

// senderInterval is how often a worker process looks for destinations
// with something to send: one statement per interval, whatever the number
// of destinations (it returns only those with messages past their cursor
// or a retry due). A destination that is sending goes on from batch to
// batch without waiting for it.
const senderInterval = 200 * time.Millisecond

// senderIdleInterval is the longest a worker process waits between looks
// while no destination has had anything to send: the interval doubles
// from senderInterval after each empty look, so that an idle process (the
// common case: most deployments have no pushing destination) costs
// PostgreSQL under one statement a second instead of five; the first
// message after a quiet spell waits at most this long.
const senderIdleInterval = 1600 * time.Millisecond

// DefaultSendersCheckInterval is how often a worker process checks that
// any FIFO or RabbitMQ destination exists at all (Options.
// SendersCheckInterval). While none does, it stops looking for work every
// senderIdleInterval, which most deployments (no pushing destination)
// would pay for in every idle process. A destination created or enabled
// through the API wakes the senders of every process at once
// (Worker.WakeSenders, over the invalidation bus); this interval bounds
// the wait when that wake-up is lost (Redis down at the time) or when a
// destination is written to the database by other means.
const DefaultSendersCheckInterval = 30 * time.Second

// senderClaim is the most destinations one look takes.
const senderClaim = 64

// sendOutcome is what one send of a batch came to.
type sendOutcome struct {
	ok bool
	// canceled: the transformation canceled the batch; nothing was sent.
	canceled   bool
	statusCode int    // 0 without an HTTP answer
	response   string // the receiver's answer or the error, truncated
}

// sinkSession sends batches to one destination for as long as a sender
// holds it (a RabbitMQ connection lives that long). req is what the
// destination's transformation made of the batch (nil: none).
type sinkSession interface {
	send(ctx context.Context, batchID string, msgs []tenants.PollMessage, req *batchRequest) sendOutcome
	close()
}

// senders runs the pushing destinations of one worker process.
type senders struct {
	store    SinkStore
	owner    string
	lease    time.Duration
	timeout  time.Duration
	schedule []time.Duration
	http     *http.Client
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	sigMode  string
	agent    string
	log      *slog.Logger
	now      func() time.Time
	events   DestinationEvents // nil tells nobody
	// brokerRoots verify amqps brokers (nil: the system pool).
	brokerRoots *x509.CertPool
	// transform runs destinations' transformations (the handler's
	// engine); programs caches them compiled.
	transform    *transform.Engine
	programs     *ttlcache.Cache[[32]byte, compiled]
	allowPrivate bool

	// wake rings run out of its wait (ring); none is whether its last
	// check found no pushing destination at all (run's state, read by
	// SendersResting too).
	wake      chan struct{}
	none      atomic.Bool
	noneEvery time.Duration // Options.SendersCheckInterval

	mu     sync.Mutex
	active map[string]bool // destinations this process is serving
	wg     sync.WaitGroup
}

func newSenders(st SinkStore, client *http.Client, dial func(ctx context.Context, network, addr string) (net.Conn, error), o Options, log *slog.Logger) *senders {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &senders{
		store: st, owner: "w-" + hex.EncodeToString(b[:]), lease: max(2*o.DeliveryTimeout, 5*time.Second), timeout: o.DeliveryTimeout,
		schedule: o.RetrySchedule, http: client, dial: dial, sigMode: o.SignatureHeaders, agent: o.UserAgent,
		log: log.With("component", "destinations"), now: time.Now, active: map[string]bool{}, wake: make(chan struct{}, 1),
		noneEvery:   o.SendersCheckInterval,
		brokerRoots: o.brokerRoots,
		transform:   transform.NewEngine(transform.Options{}), programs: ttlcache.New[[32]byte, compiled](destProgramCacheSize, destProgramTTL),
		allowPrivate: o.AllowPrivateTargets,
	}
}

// run looks for work every senderInterval until ctx ends, then waits for
// the sessions it started. Idle, it looks less and less often, down to
// every senderIdleInterval. At the start, every noneEvery and when woken
// it checks that some pushing destination exists at all: while none does,
// it takes no look for work.
func (s *senders) run(ctx context.Context) {
	interval := senderInterval
	t := time.NewTimer(interval)
	defer t.Stop()
	var checked time.Time // when it last checked that some destination exists; at once first
	for {
		if s.now().Sub(checked) >= s.noneEvery {
			ok, err := s.store.HasSenders(ctx)
			checked = s.now()
			s.none.Store(err == nil && !ok)
		}
		wait := s.noneEvery
		if !s.none.Load() {
			if s.claim(ctx) > 0 {
				interval = senderInterval
			} else {
				interval = min(2*interval, senderIdleInterval)
			}
			wait = interval
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			s.wg.Wait()
			return
		case <-t.C:
		case <-s.wake:
			// Check again at once; the looks start from the shortest
			// interval if a destination exists now.
			interval, checked = senderInterval, time.Time{}
		}
	}
}

// ring wakes run: a pushing destination was created or enabled somewhere.
func (s *senders) ring() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// claim takes the destinations with something to send (renewing the
// leases of those this process serves) and starts a session for each new
// one. It returns how many it took, zero on an error.
func (s *senders) claim(ctx context.Context) int {
	ds, err := s.store.ClaimSenders(ctx, s.owner, s.lease, senderClaim)
	if err != nil {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "cannot look for destinations to send to", "err", err)
		}
		return 0
	}
	for _, d := range ds {
		s.mu.Lock()
		busy := s.active[d.ID]
		s.active[d.ID] = true
		s.mu.Unlock()
		if busy {
			continue // our own session holds it; the claim only renewed the lease
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { s.mu.Lock(); delete(s.active, d.ID); s.mu.Unlock() }()
			s.serve(ctx, d)
		}()
	}
	return len(ds)
}

// serve sends d's batches one after another while it has some, then gives
// the destination back.
func (s *senders) serve(ctx context.Context, d tenants.Destination) {
	log := s.log.With("tenant_id", d.TenantID, "app_id", d.AppID, "destination_id", d.ID)
	release := func() {
		if err := s.store.ReleaseSender(context.WithoutCancel(ctx), s.owner, d.ID); err != nil {
			log.Warn("cannot release destination", "err", err)
		}
	}
	secrets, headers, uri, err := s.store.SenderSecrets(ctx, d.TenantID, d.AppID, d.ID)
	if err != nil {
		log.Warn("cannot load destination secrets", "err", err)
		release()
		return
	}
	// The transformation is read once per session: a change reaches the
	// next session (the next batch after a failure or a quiet spell).
	tr, err := s.store.SenderTransformation(ctx, d.TenantID, d.ID)
	if err != nil {
		log.Warn("cannot load destination transformation", "err", err)
		release()
		return
	}
	var sess sinkSession
	switch d.Type {
	case tenants.DestinationFIFO:
		sess, err = s.newFIFOSession(d, secrets, headers)
	case tenants.DestinationRabbitMQ:
		sess, err = s.newRabbitSession(d, secrets, uri)
	default:
		err = errors.New("not a pushing destination: " + d.Type)
	}
	if err != nil {
		log.Warn("cannot send to destination", "err", err)
		release()
		return
	}
	defer sess.close()
	for ctx.Err() == nil {
		msgs, next, err := s.store.ReadSenderBatch(ctx, d)
		if err != nil {
			log.Warn("cannot read destination batch", "err", err)
			release()
			return
		}
		if d.Batch == nil {
			if len(msgs) == 0 {
				if err := s.store.AdvanceSender(ctx, s.owner, d, next); err != nil {
					log.Warn("cannot advance destination", "err", err)
				}
				return
			}
			// A short batch waits up to maxWaitSecs from its oldest
			// message for more; a later look sends it.
			if len(msgs) < d.BatchSize && s.now().Sub(msgs[0].CreatedAt) < time.Duration(d.MaxWaitSecs)*time.Second {
				release()
				return
			}
			b := tenants.DestinationBatch{ID: tenants.NewShortID(tenants.PrefixDestinationBatch, s.now()), FirstID: msgs[0].ID,
				Last: msgs[len(msgs)-1].Pos, Count: len(msgs)}
			if err := s.store.StartSenderBatch(ctx, s.owner, s.lease, d, b); err != nil {
				if !errors.Is(err, tenants.ErrDestinationLeaseLost) {
					log.Warn("cannot record destination batch", "err", err)
					release()
				}
				return
			}
			d.Batch = &b
		}
		out := sendOutcome{ok: true}
		start := s.now()
		if len(msgs) > 0 { // none: the batch's messages are gone (retention); move on
			sctx, cancel := context.WithTimeout(ctx, s.timeout)
			out = s.send(sctx, sess, d, tr, headers, msgs)
			cancel()
		}
		if ctx.Err() != nil {
			return // shutting down: the lease ends, the batch goes again
		}
		o := s.outcome(d, msgs, out, start)
		// The outcome is written even if shutdown begins meanwhile (a
		// transaction cancelled mid-statement would only mean the batch
		// again).
		if err := s.store.FinishSenderBatch(context.WithoutCancel(ctx), s.owner, d, o); err != nil {
			if !errors.Is(err, tenants.ErrDestinationLeaseLost) {
				log.Warn("cannot record destination attempt", "err", err)
				release()
			}
			return
		}
		if !out.ok && !out.canceled {
			if o.Disable {
				log.Warn("destination disabled: its retries are exhausted", "batch", d.Batch.ID)
				if s.events != nil {
					s.events.DestinationDisabled(ctx, d, d.Batch.ID)
				}
			}
			return // the lease is released; the retry is due at o.NextAttempt
		}
		d.Cursor, d.Batch = d.Batch.Last, nil
	}
}

// send runs d's transformation, if it has one, and sends the batch.
func (s *senders) send(ctx context.Context, sess sinkSession, d tenants.Destination, tr tenants.Transformation, headers map[string]string, msgs []tenants.PollMessage) sendOutcome {
	if !tr.Active() {
		return sess.send(ctx, d.Batch.ID, msgs, nil)
	}
	req, canceled, err := s.transformBatch(ctx, d, tr, headers, msgs)
	switch {
	case canceled:
		return sendOutcome{canceled: true, response: "canceled by the destination's transformation (cancel: true); nothing was sent"}
	case err != nil:
		// The customer's error (a *transform.Error), or the context's,
		// which serve sees for itself when it is shutdown.
		return sendOutcome{response: truncate(OutcomeTransformError+": "+err.Error(), 1024)}
	}
	return sess.send(ctx, d.Batch.ID, msgs, req)
}

// outcome turns a send into what the store records: the attempt, and
// for a failure the retry or, past the schedule, the destination disabled.
func (s *senders) outcome(d tenants.Destination, msgs []tenants.PollMessage, out sendOutcome, start time.Time) tenants.DestinationOutcome {
	now := s.now()
	a := tenants.DestinationAttempt{
		ID: tenants.NewShortID(tenants.PrefixDestinationAttempt, now), TenantID: d.TenantID, DestinationID: d.ID,
		BatchID: d.Batch.ID, NumEvents: len(msgs), Status: tenants.StatusSuccess, StatusCode: out.statusCode,
		Response: out.response, DurationMs: int(now.Sub(start).Milliseconds()), CreatedAt: now.UTC().Truncate(time.Microsecond),
	}
	if len(msgs) > 0 {
		a.FirstMsgID, a.LastMsgID = msgs[0].ID, msgs[len(msgs)-1].ID
	}
	o := tenants.DestinationOutcome{Attempt: a}
	if out.canceled {
		o.Attempt.Status = tenants.StatusCanceled
		o.Lease = s.lease
		return o
	}
	if out.ok {
		o.Lease = s.lease
		return o
	}
	o.Attempt.Status = tenants.StatusFail
	if d.Batch.Tries >= len(s.schedule) {
		o.Disable = true
		o.Reason = "batch " + d.Batch.ID + " failed " + itoa(d.Batch.Tries+1) + " times: " + out.response
		return o
	}
	// Jittered as endpoints' retries are, so that destinations whose
	// broker or receiver failed together do not all retry together.
	o.NextAttempt = now.Add(Jitter(s.schedule[d.Batch.Tries], mrand.Float64()))
	return o
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// truncate bounds what an attempt keeps of an answer.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
