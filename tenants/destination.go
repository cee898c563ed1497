package tenants

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Destination types, as Svix's API 1.947 names them.
const (
	DestinationPolling  = "pollingEndpoint"
	DestinationFIFO     = "fifoEndpoint"
	DestinationRabbitMQ = "rabbitMq"
)

// DestinationTypes are the destination types Hookline serves, in the order
// error messages name them.
var DestinationTypes = []string{DestinationPolling, DestinationFIFO, DestinationRabbitMQ}

// Destination bounds and defaults, from Svix's contract.
const (
	DefaultBatchSize = 100
	MaxBatchSize     = 1000
	MaxWaitSecs      = 300
	// MaxPollLimit is the most messages one poll returns.
	MaxPollLimit = 250
)

// ID prefixes of destinations and their attempts. Svix's are 21-22
// base62 characters after the prefix, not KSUIDs: see NewShortID.
const (
	PrefixDestination        = "sink_"
	PrefixDestinationAttempt = "sinkatmpt_"
	PrefixDestinationBatch   = "batch_"
)

// Destination is a place an application's messages go other than an HTTP
// endpoint: a polling endpoint customers read, a FIFO endpoint that gets
// ordered batches, or a RabbitMQ exchange. Every destination reads the
// application's messages by position (see Position), in one order.
type Destination struct {
	ID       string
	TenantID string
	AppID    string
	UID      *string
	Type     string
	// URL is a FIFO endpoint's target; RoutingKey RabbitMQ's.
	URL        string
	RoutingKey string
	// URI is RabbitMQ's connection URI (with its credentials): sealed at
	// rest, filled only by the loads the sender makes.
	URI           string
	EventTypes    []string // nil: all
	Channels      []string // nil: any
	BatchSize     int
	MaxWaitSecs   int
	Disabled      bool
	FailureReason *string
	Metadata      map[string]string
	// Start is where reading starts: the horizon when it was created.
	Start Position
	// Cursor is the position of the last message a FIFO or RabbitMQ
	// destination delivered (zero: none yet, read from Start).
	Cursor Position
	// Batch is the batch in flight or being retried, if any.
	Batch         *DestinationBatch
	NextAttemptAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// From returns where the destination's next read starts: after its
// cursor, or at its start.
func (d Destination) From() Position {
	if d.Cursor.IsZero() {
		return d.Start
	}
	return d.Cursor
}

// Status returns the destination's status as Svix reports it: disabled,
// retrying (a batch failed and waits for its retry) or enabled.
func (d Destination) Status() string {
	switch {
	case d.Disabled:
		return "disabled"
	case d.Batch != nil && d.Batch.Tries > 0:
		return "retrying"
	default:
		return "enabled"
	}
}

// DestinationBatch is the range of messages a FIFO or RabbitMQ destination
// is sending: recorded before it is sent, so that whoever sends next sends
// exactly these again.
type DestinationBatch struct {
	ID      string
	FirstID string
	Last    Position
	Count   int
	// Tries is how many times it has failed.
	Tries int
}

// Position is a message's place in its application's order: the id of
// the transaction that stored it, then its id. The zero Position is before
// every message. A Position with an empty ID is before every message of
// its transaction.
type Position struct {
	Tx uint64
	ID string
}

// IsZero reports whether p is the zero Position.
func (p Position) IsZero() bool { return p.Tx == 0 && p.ID == "" }

// String encodes p as an iterator: the transaction id in base 10, a dot,
// and the message id ("" for the start of a transaction).
func (p Position) String() string { return strconv.FormatUint(p.Tx, 10) + "." + p.ID }

// ParsePosition reads an iterator made by Position.String. It returns a
// CodeInvalid error at loc for anything else.
func ParsePosition(s string, loc []string) (Position, error) {
	tx, id, ok := strings.Cut(s, ".")
	n, err := strconv.ParseUint(tx, 10, 64)
	if !ok || err != nil || (id != "" && !IsID(PrefixMessage, id)) {
		return Position{}, InvalidAt(loc, "not an iterator from a previous poll")
	}
	return Position{Tx: n, ID: id}, nil
}

// DestinationInput holds the fields of a create or a full update (PUT).
type DestinationInput struct {
	UID        *string
	Type       string
	URL        string
	RoutingKey string
	URI        string
	Headers    map[string]string // FIFO only; nil keeps them on update
	Secret     *string           // create only; nil generates one
	EventTypes []string
	Channels   []string
	BatchSize  int
	MaxWait    int
	Disabled   bool
	Metadata   map[string]string
}

// DestinationPatch holds the fields of a partial update; unset fields keep
// their value.
type DestinationPatch struct {
	UID        Optional[string]
	URL        *string
	RoutingKey *string
	URI        *string
	EventTypes Optional[[]string]
	Channels   Optional[[]string]
	BatchSize  *int
	MaxWait    *int
	Disabled   *bool
	Metadata   *map[string]string
}

// DestinationAttempt is one batch sent to a FIFO endpoint or RabbitMQ.
type DestinationAttempt struct {
	ID            string
	TenantID      string
	DestinationID string
	BatchID       string
	FirstMsgID    string
	LastMsgID     string
	NumEvents     int
	Status        Status
	StatusCode    int
	Response      string
	DurationMs    int
	CreatedAt     time.Time
}

// DestinationOutcome is what became of a batch, for the store to record.
type DestinationOutcome struct {
	Attempt DestinationAttempt
	// NextAttempt, for a failure, is when to retry.
	NextAttempt time.Time
	// Disable disables the destination with Reason (retries exhausted).
	Disable bool
	Reason  string
	// Lease renews the sender's lease by this much (after a success it
	// goes on with the next batch); zero releases it.
	Lease time.Duration
}

// ErrDestinationLeaseLost is returned by a sender's writes when another
// process has taken the destination over (the sender's lease ended): the
// sender stops at once and writes nothing.
var ErrDestinationLeaseLost = errors.New("destination lease lost")

// ErrPollerDisabled is returned by a poll of a polling endpoint whose
// status is disabled. A disabled destination hands out nothing until it
// is enabled again, as a FIFO or RabbitMQ one sends nothing; a poll says
// so rather than answering an empty page, which a consumer could not tell
// from having caught up. Consumers' positions do not move meanwhile.
var ErrPollerDisabled = &Error{Code: CodeConflict, Reason: "destination_disabled",
	Message: "the polling endpoint is disabled; set its status to enabled to read again from where each consumer stopped"}

// DestinationAttemptFilter narrows a list of a destination's attempts.
type DestinationAttemptFilter struct {
	ListParams
	Status        *Status
	Before, After time.Time
}

// PollMessage is a message as a destination reads it, with its position.
type PollMessage struct {
	Message
	Pos Position
}

// PollFilter narrows a poll beyond the destination's own filters.
type PollFilter struct {
	EventType string
	Channel   string
}

// CheckDestinationType returns a CodeInvalid error naming the supported
// types when typ is not one of them.
func CheckDestinationType(typ string) error {
	for _, t := range DestinationTypes {
		if t == typ {
			return nil
		}
	}
	return Invalid("type", fmt.Sprintf("unsupported destination type %q; Hookline supports %s", typ, strings.Join(DestinationTypes, ", ")))
}

// CheckBatch returns a CodeInvalid error when the batch size or the wait
// is out of Svix's bounds (1–1000 and 0–300 s).
func CheckBatch(size, wait int) error {
	if size < 1 || size > MaxBatchSize {
		return Invalid("batchSize", fmt.Sprintf("must be between 1 and %d", MaxBatchSize))
	}
	if wait < 0 || wait > MaxWaitSecs {
		return Invalid("maxWaitSecs", fmt.Sprintf("must be between 0 and %d", MaxWaitSecs))
	}
	return nil
}

var routingKeyRE = regexp.MustCompile(`^[\x20-\x7e]{0,255}$`)

// CheckRabbitMQ validates a RabbitMQ destination's URI and routing key: an
// amqp or amqps URI with a host, and a printable key of at most 255 bytes
// (AMQP's short string). Unless allowPrivate, a host that names a private,
// loopback or reserved address literally is refused, as for endpoint URLs;
// the sender checks the resolved address again when it dials.
//
// The URI's query may hold only the parameters in rabbitURIParams, with
// well-formed values. The AMQP client reads cacertfile, certfile and
// keyfile as paths on the worker's disk: a tenant naming them would have
// the worker read its files and present them to the tenant's broker (and
// learn from the error which paths exist), so they are refused by name;
// any other parameter the client does not honour is refused too, rather
// than stored and silently ignored.
func CheckRabbitMQ(uri, routingKey string, allowPrivate bool) error {
	loc := []string{"body", "config", "uri"}
	u, err := url.Parse(uri)
	if err != nil || uri == "" || strings.ContainsAny(uri, " \t\r\n") {
		return InvalidAt(loc, "not a valid URI")
	}
	if u.Scheme != "amqp" && u.Scheme != "amqps" {
		return InvalidAt(loc, "URI scheme must be amqp or amqps")
	}
	if u.Hostname() == "" {
		return InvalidAt(loc, "URI must have a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return InvalidAt(loc, "the URI's port must be between 1 and 65535")
		}
	}
	if err := checkRabbitQuery(u); err != nil {
		return InvalidAt(loc, err.Error())
	}
	if !routingKeyRE.MatchString(routingKey) {
		return InvalidAt([]string{"body", "config", "routingKey"}, "must be at most 255 printable ASCII characters")
	}
	if allowPrivate {
		return nil
	}
	if err := checkTargetHost(u.Hostname()); err != nil {
		return InvalidAt([]string{"body", "config", "uri"}, "the broker's host is a private or reserved address")
	}
	return nil
}

// rabbitURIParams are the query parameters a RabbitMQ destination's URI
// may carry: those of RabbitMQ's URI spec that the AMQP client honours
// and that touch nothing but the connection to the tenant's broker.
var rabbitURIParams = []string{"auth_mechanism", "channel_max", "connection_timeout", "heartbeat", "server_name_indication"}

// rabbitFileParams are the query parameters with which the AMQP client
// would read files of the worker's disk.
var rabbitFileParams = []string{"cacertfile", "certfile", "keyfile"}

// checkRabbitQuery returns an error saying what is wrong with u's query,
// or nil.
func checkRabbitQuery(u *url.URL) error {
	if u.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return errors.New("the URI's query is not valid")
	}
	for name := range q {
		if slices.Contains(rabbitFileParams, strings.ToLower(name)) {
			return errors.New("the uri may not name local files (certfile, keyfile, cacertfile): Hookline does not present a client certificate to a broker, and verifies the broker against public CAs")
		}
	}
	names := slices.Sorted(maps.Keys(q))
	for _, name := range names {
		if !slices.Contains(rabbitURIParams, name) {
			return fmt.Errorf("unsupported URI query parameter %q; a RabbitMQ destination's URI may carry %s", name, strings.Join(rabbitURIParams, ", "))
		}
		vals := q[name]
		if name != "auth_mechanism" && len(vals) > 1 {
			return fmt.Errorf("the URI query parameter %s is given %d times", name, len(vals))
		}
		for _, v := range vals {
			if err := checkRabbitParam(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkRabbitParam checks one query parameter's value as the AMQP client
// would parse it, so that a bad one is refused here rather than failing
// every connection.
func checkRabbitParam(name, v string) error {
	switch name {
	case "heartbeat", "channel_max":
		if _, err := strconv.ParseUint(v, 10, 16); err != nil {
			return fmt.Errorf("the URI query parameter %s must be an integer between 0 and 65535", name)
		}
	case "connection_timeout":
		if n, err := strconv.ParseUint(v, 10, 31); err != nil || n == 0 {
			return fmt.Errorf("the URI query parameter %s must be a positive number of milliseconds", name)
		}
	case "auth_mechanism":
		// EXTERNAL authenticates with a client certificate, which
		// Hookline never presents.
		if m := strings.ToUpper(v); m != "PLAIN" && m != "AMQPLAIN" {
			return fmt.Errorf("the URI query parameter auth_mechanism must be plain or amqplain, not %q", v)
		}
	case "server_name_indication":
		if len(v) > 253 || !hostnameRE.MatchString(v) {
			return fmt.Errorf("the URI query parameter server_name_indication must be a DNS name, not %q", v)
		}
	}
	return nil
}

// hostnameRE matches a DNS name: labels of letters, digits and hyphens
// (not at either end), at most 253 characters in all.
var hostnameRE = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$`)

// NewShortID returns prefix followed by 22 base62 characters encoding 128
// bits: 6 bytes of Unix milliseconds, then 10 random bytes, so ids of one
// prefix sort by creation time (keyset pagination) as Svix's sink ids do.
// It is safe for concurrent use; it panics only if crypto/rand fails.
func NewShortID(prefix string, now time.Time) string {
	var b [16]byte
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(now.UnixMilli()))
	copy(b[:6], ts[2:])
	if _, err := rand.Read(b[6:]); err != nil {
		panic("tenants: crypto/rand failed: " + err.Error())
	}
	n := new(big.Int).SetBytes(b[:])
	out := make([]byte, 22)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := 21; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62[mod.Int64()]
	}
	return prefix + string(out)
}

var shortIDRE = regexp.MustCompile(`^[A-Za-z0-9]{21,22}$`)

// IsShortID reports whether s is prefix and 21–22 base62 characters, the
// shape of Svix's sink ids (and so never a uid, which may not start with
// the prefix).
func IsShortID(prefix, s string) bool {
	body, ok := strings.CutPrefix(s, prefix)
	return ok && shortIDRE.MatchString(body)
}
