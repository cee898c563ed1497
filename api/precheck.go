package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

type precheckIn struct {
	EventType *string  `json:"eventType"`
	Channels  []string `json:"channels"`
}

// precheckMessage answers whether a message of this event type (and
// channels) would be sent to any endpoint, without creating one.
func (s *Server) precheckMessage(c *gin.Context) error {
	var in precheckIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.EventType == nil || *in.EventType == "" {
		return tenants.Invalid("eventType", "field required")
	}
	if !eventTypeNameRE.MatchString(*in.EventType) {
		return tenants.Invalid("eventType", "must be 1-256 characters of a-z, A-Z, 0-9, '-', '_' and '.'")
	}
	if len(in.Channels) == 0 {
		in.Channels = nil
	}
	if err := tenants.ValidateChannels("channels", in.Channels, 5); err != nil {
		return err
	}
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	ok, err := s.store.HasActiveEndpoint(c.Request.Context(), a.TenantID, a.ID, *in.EventType, in.Channels)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"active": ok})
	return nil
}
