package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/outbox"
	"github.com/hookline/hookline/tenants"
)

// Idempotency settings, from the Svix contract: the first request holds
// the key for up to idemLock; duplicates poll every idemPoll for up to
// idemWait; a 2xx answer is replayed for idemTTL.
const (
	idemLock = 5 * time.Second
	idemPoll = 200 * time.Millisecond
	idemWait = 5 * time.Second
	idemTTL  = outbox.IdempotencyTTL
)

// replayedHeaders are the response headers kept with a stored answer.
var replayedHeaders = []string{"Content-Type", "Location"}

// captureWriter keeps a copy of what a handler writes.
type captureWriter struct {
	gin.ResponseWriter
	buf bytes.Buffer
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *captureWriter) WriteString(s string) (int, error) {
	w.buf.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}

// idempotent runs h at most once per (tenant, route, Idempotency-Key): a
// repeat with the same body gets the first 2xx answer again, byte for
// byte; one with another body is refused (422 idempotency_key_reused); a
// repeat that arrives while the first still runs waits for it. Non-2xx
// answers free the key so the client can retry. Message creation does not
// come here: its claim is committed with the message (package outbox).
func (s *Server) idempotent(c *gin.Context, h func(*gin.Context) error) error {
	ikey := c.GetHeader("Idempotency-Key")
	if ikey == "" || c.Request.Method != http.MethodPost {
		return h(c)
	}
	body, err := readBody(c, s.opts.MaxBodyBytes)
	if err != nil {
		return err
	}
	// The handler reads the body again.
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	tenantID := principal(c).TenantID
	key := outbox.IdempotencyKey(tenantID, c.Request.Method+" "+c.Request.URL.RequestURI(), ikey)
	fp := outbox.Fingerprint(body)
	ctx := c.Request.Context()
	deadline := time.Now().Add(idemWait)
	for {
		claimed, stored, err := s.store.ClaimIdempotencyKey(ctx, tenantID, key, fp, idemLock, idemTTL)
		if err != nil {
			return err
		}
		if stored != nil && stored.Fingerprint != nil && !bytes.Equal(stored.Fingerprint, fp) {
			return outbox.ErrIdempotencyMismatch
		}
		if stored != nil {
			for k, v := range stored.Headers {
				c.Header(k, v)
			}
			c.Header("Idempotent-Replayed", "true")
			c.Data(stored.StatusCode, stored.Headers["Content-Type"], stored.Body)
			return nil
		}
		if claimed {
			break
		}
		if time.Now().After(deadline) {
			return &tenants.Error{Code: tenants.CodeConflict, Message: "a request with this idempotency key is still in progress; retry later"}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(idemPoll):
		}
	}

	cw := &captureWriter{ResponseWriter: c.Writer}
	c.Writer = cw
	herr := h(c)
	if herr != nil {
		s.writeError(c, herr)
	}
	// The outcome is stored even if the client has gone: the work is done.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if st := cw.Status(); st >= 200 && st < 300 {
		headers := map[string]string{}
		for _, k := range replayedHeaders {
			if v := cw.Header().Get(k); v != "" {
				headers[k] = v
			}
		}
		if err := s.store.CompleteIdempotencyKey(sctx, key, storedResponse(st, headers, cw.buf.Bytes())); err != nil {
			s.log.WarnContext(ctx, "could not store idempotent response", "request_id", requestID(c), "err", err)
		}
	} else if err := s.store.ReleaseIdempotencyKey(sctx, key); err != nil {
		s.log.WarnContext(ctx, "could not release idempotency key", "request_id", requestID(c), "err", err)
	}
	return nil
}

func storedResponse(status int, headers map[string]string, body []byte) tenants.StoredResponse {
	return tenants.StoredResponse{StatusCode: status, Headers: headers, Body: append([]byte(nil), body...)}
}
