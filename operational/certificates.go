package operational

import (
	"context"
	"fmt"
	"time"

	"github.com/hookline/hookline/tenants"
)

// TaskCertCheck is the periodic task that announces certificates about to
// expire (endpoint.certificate_expiring).
const TaskCertCheck = "endpoint:cert-check"

// CertificateData is the data of endpoint.certificate_expiring: which
// endpoint, which of its certificates (kind "clientIdentity" for its mTLS
// identity, "serverCa" for the CA its server is verified against), and
// when it expires.
type CertificateData struct {
	AppID       string    `json:"appId"`
	AppUID      *string   `json:"appUid,omitempty"`
	EndpointID  string    `json:"endpointId"`
	EndpointUID *string   `json:"endpointUid,omitempty"`
	Kind        string    `json:"kind"`
	Subject     string    `json:"subject"`
	NotAfter    time.Time `json:"notAfter"`
}

// CertStore is what the certificate check reads and marks (package store
// implements it).
type CertStore interface {
	FindExpiringCerts(ctx context.Context, before time.Time, limit int) ([]tenants.ExpiringCert, error)
	MarkCertWarned(ctx context.Context, c tenants.ExpiringCert) error
}

// certBatch bounds one check's work; the next check takes the rest.
const certBatch = 500

// CheckCertificates sends endpoint.certificate_expiring, once per
// certificate, for every stored client identity and server CA that
// expires within tenants.CertExpiryWarning of now, and returns how many it
// announced. A tenant without operational endpoints is marked all the
// same: nobody was listening when the warning was due.
func (n *Notifier) CheckCertificates(ctx context.Context, st CertStore, now time.Time) (int, error) {
	due, err := st.FindExpiringCerts(ctx, now.Add(tenants.CertExpiryWarning), certBatch)
	if err != nil {
		return 0, err
	}
	for i, c := range due {
		n.certificateExpiring(ctx, c)
		if err := st.MarkCertWarned(ctx, c); err != nil {
			return i, fmt.Errorf("certificate check: %w", err)
		}
	}
	return len(due), nil
}

func (n *Notifier) certificateExpiring(ctx context.Context, c tenants.ExpiringCert) {
	if n == nil {
		return
	}
	if _, err := n.store.SystemApplication(ctx, c.TenantID); err != nil {
		return // no operational endpoints: nobody to tell
	}
	d := CertificateData{AppID: c.AppID, EndpointID: c.EndpointID, Kind: c.Kind, Subject: c.Info.Subject, NotAfter: c.Info.NotAfter.UTC()}
	if app, err := n.store.FindApplication(ctx, c.TenantID, c.AppID); err == nil {
		d.AppUID = app.UID
	}
	if e, err := n.store.FindEndpoint(ctx, c.TenantID, c.AppID, c.EndpointID); err == nil {
		d.EndpointUID = e.UID
	}
	id := EndpointCertificateExpiring + "." + c.EndpointID + "." + c.Kind + "." + c.Info.NotAfter.UTC().Format(time.RFC3339)
	n.emit(ctx, c.TenantID, EndpointCertificateExpiring, id, d)
}
