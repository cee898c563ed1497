package worker

import (
	"context"
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
// one is acked, so a broker that goes away mid-batch means the batch goes
// again (at least once). The connection goes through the worker's SSRF
// dialer and lives as long as the sender holds the destination.
type rabbitSession struct {
	s      *senders
	uri    string
	key    string
	signer *Signer
	conn   *amqp.Connection
	ch     *amqp.Channel
}

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
		r.conn, r.ch = nil, nil
	}
}

// connect opens the connection and a channel in confirm mode, unless open.
func (r *rabbitSession) connect() error {
	if r.conn != nil && !r.conn.IsClosed() && r.ch != nil && !r.ch.IsClosed() {
		return nil
	}
	r.close()
	timeout := r.s.timeout
	conn, err := amqp.DialConfig(r.uri, amqp.Config{
		Heartbeat: 10 * time.Second,
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
	r.conn, r.ch = conn, ch
	return nil
}

func (r *rabbitSession) send(ctx context.Context, batchID string, msgs []tenants.PollMessage, tr *batchRequest) sendOutcome {
	if err := r.connect(); err != nil {
		return sendOutcome{response: truncate(err.Error(), 1024)}
	}
	ts := r.s.now().Unix()
	tsStr := strconv.FormatInt(ts, 10)
	pubs, err := rabbitPublishings(batchID, msgs, tr)
	if err != nil {
		return sendOutcome{response: "encode event: " + err.Error()}
	}
	confirms := make([]*amqp.DeferredConfirmation, 0, len(pubs))
	for _, p := range pubs {
		sig := r.signer.Sign(p.MessageId, ts, p.Body)
		p.Headers = amqp.Table{"webhook-id": p.MessageId, "webhook-timestamp": tsStr, "webhook-signature": sig, "webhook-batch-id": batchID}
		dc, err := r.ch.PublishWithDeferredConfirmWithContext(ctx, "", r.key, false, false, p)
		if err != nil {
			r.close()
			return sendOutcome{response: truncate("publish: "+err.Error(), 1024)}
		}
		confirms = append(confirms, dc)
	}
	for _, dc := range confirms {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			r.close()
			return sendOutcome{response: truncate("waiting for the broker's confirm: "+err.Error(), 1024)}
		}
		if !ok {
			return sendOutcome{response: "the broker refused (nacked) a message"}
		}
	}
	return sendOutcome{ok: true, response: "confirmed " + strconv.Itoa(len(pubs)) + " messages"}
}

// rabbitPublishings are the messages a batch publishes: each event's JSON,
// or the transformation's payloads (then each is its own message, with an
// id made of the batch's and its index, since it is no one message).
func rabbitPublishings(batchID string, msgs []tenants.PollMessage, tr *batchRequest) ([]amqp.Publishing, error) {
	if tr != nil {
		out := make([]amqp.Publishing, len(tr.payloads))
		for i, p := range tr.payloads {
			out[i] = amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent,
				MessageId: batchID + "_" + strconv.Itoa(i), Body: p}
		}
		return out, nil
	}
	out := make([]amqp.Publishing, len(msgs))
	for i, m := range msgs {
		body, err := json.Marshal(toSinkEvent(m))
		if err != nil {
			return nil, err
		}
		out[i] = amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: m.ID, Type: m.EventType,
			Timestamp: m.CreatedAt, Body: body}
	}
	return out, nil
}
