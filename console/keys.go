package console

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

type keyOut struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	// Key is the key in clear: only in the answer to its creation.
	Key string `json:"key,omitempty"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func toKeyOut(k tenants.APIKey) keyOut {
	return keyOut{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(),
		LastUsedAt: utcPtr(k.LastUsedAt), RevokedAt: utcPtr(k.RevokedAt)}
}

// listKeys lists the tenant's API keys, newest first, revoked ones too.
func (s *Server) listKeys(c *gin.Context) error {
	keys, err := s.d.Store.FindAPIKeys(c.Request.Context(), tenantOf(c))
	if err != nil {
		return err
	}
	out := make([]keyOut, 0, len(keys))
	for i := len(keys) - 1; i >= 0; i-- {
		out = append(out, toKeyOut(keys[i]))
	}
	c.JSON(http.StatusOK, gin.H{"data": out})
	return nil
}

type createKeyIn struct {
	Name string `json:"name"`
}

// createKey mints a key; the answer is the only time it is shown.
func (s *Server) createKey(c *gin.Context) error {
	var in createKeyIn
	if err := decode(c, &in); err != nil {
		return err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return tenants.Invalid("name", "give the key a name of 1-100 characters, to tell it apart later")
	}
	k, secret, err := s.d.Store.CreateAPIKey(c.Request.Context(), tenantOf(c), name)
	if err != nil {
		return err
	}
	out := toKeyOut(k)
	out.Key = secret
	c.JSON(http.StatusCreated, out)
	return nil
}

// revokeKey revokes one of the tenant's keys; it stops working at once in
// this process (and within the API's auth cache time elsewhere). A key of
// another tenant is a 404, like a missing one.
func (s *Server) revokeKey(c *gin.Context) error {
	tid := tenantOf(c)
	k, err := s.d.Store.RevokeAPIKey(c.Request.Context(), tid, c.Param("key_id"))
	if err != nil {
		return err
	}
	s.d.Forget(tid)
	c.JSON(http.StatusOK, toKeyOut(k))
	return nil
}
