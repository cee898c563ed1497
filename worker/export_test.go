package worker

import (
	"context"
	"crypto/x509"
	"time"
)

// HoldSlots puts deliveries into their lanes as a process that took them
// for itself (their slots held) and then died would leave them: only the
// slots' leases bring them back. Tests of that death use it.
func (c *Client) HoldSlots(ctx context.Context, tenantID, endpointID string, ids []int64) error {
	ops := make([]admitOp, len(ids))
	for i, id := range ids {
		ops[i] = admitOp{ID: id, EndpointID: endpointID, TenantID: tenantID, Due: time.Now(), Local: true}
	}
	_, err := c.lanes.admit(ctx, ops)
	return err
}

// Lease is how long a slot is held without a release.
func (c *Client) Lease() time.Duration { return c.lanes.lease }

// WithBrokerRoots returns o with amqps brokers verified against the PEM
// certificates caPEM instead of the system pool: tests' brokers have
// made-up CAs, and a destination's URI may not name a CA file.
func WithBrokerRoots(o Options, caPEM []byte) Options {
	o.brokerRoots = x509.NewCertPool()
	if !o.brokerRoots.AppendCertsFromPEM(caPEM) {
		panic("worker: WithBrokerRoots given no certificate")
	}
	return o
}
