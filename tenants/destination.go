package tenants

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
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
func CheckRabbitMQ(uri, routingKey string, allowPrivate bool) error {
	u, err := url.Parse(uri)
	if err != nil || uri == "" {
		return InvalidAt([]string{"body", "config", "uri"}, "not a valid URI")
	}
	if s := strings.ToLower(u.Scheme); s != "amqp" && s != "amqps" {
		return InvalidAt([]string{"body", "config", "uri"}, "URI scheme must be amqp or amqps")
	}
	if u.Hostname() == "" {
		return InvalidAt([]string{"body", "config", "uri"}, "URI must have a host")
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
