package worker

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/hookline/hookline/tenants"
)

// rabbitSession publishes to a RabbitMQ destination: each message of a
// batch one AMQP message (persistent, JSON of the event as the body, the
// Standard Webhooks signature headers as AMQP headers) to the default
// exchange with the destination's routing key, in order, then waits for
// the broker's confirms of all of them. The batch succeeds only if every
// one is acked and none came back unroutable (published mandatory: the
// broker acks a message that reached no queue, and without the flag
// drops it silently), so a broker that goes away mid-batch, or a routing
// key with no queue bound, means the batch goes again on the retry
// schedule (at least once). The connection goes through the worker's
// SSRF dialer, or the egress proxy (tunnel.go), and lives as long as the
// sender holds the destination.
type rabbitSession struct {
	s      *senders
	uri    string
	key    string
	signer *Signer
	conn   *amqp.Connection
	ch     *amqp.Channel
	// returns hears the broker's basic.return of unroutable messages;
	// closed with the channel.
	returns chan amqp.Return
}

// rabbitReturnBuffer is how many returned messages wait for send to read
// them before the AMQP reader blocks (it gives up on one after 5 s). send
// reads them as it publishes and waits, so a few suffice.
const rabbitReturnBuffer = 16

func (s *senders) newRabbitSession(d tenants.Destination, secrets []string, uri string) (sinkSession, error) {
	signer, err := NewSigner(secrets)
	if err != nil {
		return nil, err
	}
	if uri == "" {
		return nil, errors.New("the destination has no URI")
	}
	return &rabbitSession{s: s, uri: uri, key: d.RoutingKey, signer: signer}, nil
}

func (r *rabbitSession) close() {
	if r.conn != nil {
		_ = r.conn.Close()
		r.conn, r.ch, r.returns = nil, nil, nil
	}
}

// connect opens the connection and a channel in confirm mode, unless open.
func (r *rabbitSession) connect() error {
	if r.conn != nil && !r.conn.IsClosed() && r.ch != nil && !r.ch.IsClosed() {
		return nil
	}
	r.close()
	timeout := r.s.timeout
	tc, err := r.tlsConfig()
	if err != nil {
		return err
	}
	conn, err := amqp.DialConfig(r.uri, amqp.Config{
		Heartbeat: 10 * time.Second,
		// Always ours: without it the client would build one from the
		// URI's cacertfile, certfile and keyfile, reading files of this
		// machine named by the tenant. The API refuses such URIs; this
		// covers those stored before it did.
		TLSClientConfig: tc,
		Dial: func(network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			c, err := r.s.dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The handshake must not hang past the timeout either.
			_ = c.SetDeadline(time.Now().Add(timeout))
			return c, nil
		},
	})
	if err != nil {
		return fmt.Errorf("connect to the broker: %w", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("open a channel: %w", err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = conn.Close()
		return fmt.Errorf("enable publisher confirms: %w", err)
	}
	r.returns = ch.NotifyReturn(make(chan amqp.Return, rabbitReturnBuffer))
	r.conn, r.ch = conn, ch
	return nil
}

// tlsConfig returns the TLS settings of a connection to the broker: TLS
// 1.2 or later, the broker verified against the worker's roots under the
// URI's host (or its server_name_indication), and no client certificate.
// A fresh one each time, as the client fills in what is missing.
func (r *rabbitSession) tlsConfig() (*tls.Config, error) {
	u, err := amqp.ParseURI(r.uri)
	if err != nil {
		return nil, fmt.Errorf("the destination's URI: %w", err)
	}
	name := u.Host
	if u.ServerName != "" {
		name = u.ServerName
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, ServerName: name, RootCAs: r.s.brokerRoots}, nil
}

// returned collects the messages the broker returned during one send.
type returned struct {
	first *amqp.Return
	n     int
}

// take reads the returns waiting on r.returns, without blocking.
func (r *rabbitSession) take(into *returned) {
	for {
		select {
		case ret, ok := <-r.returns:
			if !ok {
				r.returns = nil // the channel is closed; a nil one never answers
				return
			}
			into.add(ret)
		default:
			return
		}
	}
}

func (rt *returned) add(ret amqp.Return) {
	if rt.first == nil {
		rt.first = &ret
	}
	rt.n++
}

func (r *rabbitSession) send(ctx context.Context, batchID string, msgs []tenants.PollMessage) sendOutcome {
	if err := r.connect(); err != nil {
		return sendOutcome{response: truncate(err.Error(), 1024)}
	}
	ts := r.s.now().Unix()
	tsStr := strconv.FormatInt(ts, 10)
	r.take(&returned{}) // a previous batch's, already on record
	var rets returned
	confirms := make([]*amqp.DeferredConfirmation, 0, len(msgs))
	for _, m := range msgs {
		body, err := json.Marshal(toSinkEvent(m))
		if err != nil {
			return sendOutcome{response: "encode event: " + err.Error()}
		}
		sig := r.signer.Sign(m.ID, ts, body)
		dc, err := r.ch.PublishWithDeferredConfirmWithContext(ctx, "", r.key, true, false, amqp.Publishing{
			ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: m.ID, Type: m.EventType,
			Timestamp: m.CreatedAt, Body: body,
			Headers: amqp.Table{"webhook-id": m.ID, "webhook-timestamp": tsStr, "webhook-signature": sig, "webhook-batch-id": batchID},
		})
		if err != nil {
			r.close()
			return sendOutcome{response: truncate("publish: "+err.Error(), 1024)}
		}
		confirms = append(confirms, dc)
		r.take(&rets)
	}
	for _, dc := range confirms {
		if err := r.wait(ctx, dc, &rets); err != nil {
			r.close()
			return sendOutcome{response: truncate("waiting for the broker's confirm: "+err.Error(), 1024)}
		}
		if !dc.Acked() {
			return sendOutcome{response: "the broker refused (nacked) a message"}
		}
	}
	// The broker sends a message's basic.return before its ack, and the
	// client hands it over before it handles the ack: every return of
	// this batch is on r.returns by now.
	r.take(&rets)
	if rets.first != nil {
		return sendOutcome{response: truncate(fmt.Sprintf("rabbitmq: message returned unroutable (%s): routing key %q reaches no queue (%d of %d messages returned, first %s)",
			rets.first.ReplyText, rets.first.RoutingKey, rets.n, len(msgs), rets.first.MessageId), 1024)}
	}
	return sendOutcome{ok: true, response: "confirmed " + strconv.Itoa(len(msgs)) + " messages"}
}

// wait waits for dc's confirm, reading returns meanwhile so that the
// client's reader never blocks on them.
func (r *rabbitSession) wait(ctx context.Context, dc *amqp.DeferredConfirmation, rets *returned) error {
	for {
		select {
		case <-dc.Done():
			return nil
		case ret, ok := <-r.returns:
			if !ok {
				r.returns = nil
				continue
			}
			rets.add(ret)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
