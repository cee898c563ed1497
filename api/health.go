package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

type componentHealth struct {
	Status string `json:"status"`
}

// checkDeps pings PostgreSQL and Redis, each within a short deadline.
func (s *Server) checkDeps(ctx context.Context) (db, queue error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	db = s.store.Ping(ctx)
	if s.queue != nil {
		queue = s.queue(ctx)
	}
	return db, queue
}

func status(err error) componentHealth {
	if err != nil {
		return componentHealth{Status: "error"}
	}
	return componentHealth{Status: "ok"}
}

// health is the Svix contract's GET /api/v1/health: each component's
// status, 500 when any fails.
func (s *Server) health(c *gin.Context) error {
	db, queue := s.checkDeps(c.Request.Context())
	code := http.StatusOK
	if db != nil || queue != nil {
		code = http.StatusInternalServerError
	}
	c.JSON(code, gin.H{"database": status(db), "queue": status(queue), "cache": status(queue)})
	return nil
}

func (s *Server) ping(c *gin.Context) error {
	c.Status(http.StatusNoContent)
	return nil
}

// healthz says the process is alive; it checks nothing else, so an
// orchestrator does not restart a healthy process because a dependency is
// down.
func (s *Server) healthz(c *gin.Context) error {
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": s.opts.Version})
	return nil
}

// readyz says whether this process should get traffic: PostgreSQL and Redis
// answer and it is not draining.
func (s *Server) readyz(c *gin.Context) error {
	if !s.ready() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "draining"})
		return nil
	}
	db, queue := s.checkDeps(c.Request.Context())
	code := http.StatusOK
	st := "ok"
	if db != nil || queue != nil {
		code, st = http.StatusServiceUnavailable, "unavailable"
	}
	c.JSON(code, gin.H{"status": st, "database": status(db), "redis": status(queue)})
	return nil
}
