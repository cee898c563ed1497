package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/hookline/hookline/internal/nullable"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/tenants"
)

type applicationIn struct {
	Name         *string           `json:"name"`
	UID          *string           `json:"uid"`
	ThrottleRate *int              `json:"throttleRate"`
	RateLimit    *int              `json:"rateLimit"` // the old name of throttleRate
	Metadata     map[string]string `json:"metadata"`
}

func (in applicationIn) toInput() (tenants.ApplicationInput, error) {
	if in.Name == nil || *in.Name == "" {
		return tenants.ApplicationInput{}, tenants.Invalid("name", "field required")
	}
	if err := checkLength("name", in.Name, maxAppNameChars); err != nil {
		return tenants.ApplicationInput{}, err
	}
	if err := checkUID("uid", in.UID, tenants.PrefixApplication); err != nil {
		return tenants.ApplicationInput{}, err
	}
	rate := in.ThrottleRate
	if rate == nil {
		rate = in.RateLimit
	}
	if err := checkRate("throttleRate", rate); err != nil {
		return tenants.ApplicationInput{}, err
	}
	if err := checkMetadata(in.Metadata); err != nil {
		return tenants.ApplicationInput{}, err
	}
	return tenants.ApplicationInput{Name: *in.Name, UID: in.UID, ThrottleRate: rate, Metadata: in.Metadata}, nil
}

type applicationPatchIn struct {
	Name         *string                `json:"name"`
	UID          nullable.Value[string] `json:"uid"`
	ThrottleRate nullable.Value[int]    `json:"throttleRate"`
	RateLimit    nullable.Value[int]    `json:"rateLimit"`
	Metadata     map[string]string      `json:"metadata"`
}

type applicationOut struct {
	ID           string            `json:"id"`
	UID          *string           `json:"uid,omitempty"`
	Name         string            `json:"name"`
	ThrottleRate *int              `json:"throttleRate"`
	RateLimit    *int              `json:"rateLimit,omitempty"`
	Metadata     map[string]string `json:"metadata"`
	CreatedAt    time.Time         `json:"createdAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
}

func toApplicationOut(a tenants.Application) applicationOut {
	md := a.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return applicationOut{
		ID: a.ID, UID: a.UID, Name: a.Name, ThrottleRate: a.ThrottleRate, RateLimit: a.ThrottleRate,
		Metadata: md, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(),
	}
}

// loadApp resolves the route's {app_id} (id or uid) within the caller's
// tenant. An app-scoped token sees only its own application: any other is
// 404, exactly like a missing one.
func (s *Server) loadApp(c *gin.Context) (tenants.Application, error) {
	if a, ok := systemApp(c); ok {
		return a, nil // an operational-webhook route (operational.go)
	}
	p := principal(c)
	a, err := s.store.FindApplication(c.Request.Context(), p.TenantID, c.Param("app_id"))
	if err != nil {
		return tenants.Application{}, err
	}
	if p.AppID != "" && a.ID != p.AppID {
		return tenants.Application{}, errNotFound
	}
	return a, nil
}

func (s *Server) listApplications(c *gin.Context) error {
	p, err := listParams(c, false)
	if err != nil {
		return err
	}
	f := tenants.ApplicationFilter{ListParams: p}
	if f.ExcludeNoEndpoints, err = boolQuery(c, "exclude_apps_with_no_endpoints", false); err != nil {
		return err
	}
	if f.ExcludeOnlyDisabledEndpoints, err = boolQuery(c, "exclude_apps_with_disabled_endpoints", false); err != nil {
		return err
	}
	pg, err := s.store.FindApplicationsFiltered(c.Request.Context(), principal(c).TenantID, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toList(pg, toApplicationOut))
	return nil
}

func (s *Server) createApplication(c *gin.Context) error {
	getIfExists, err := boolQuery(c, "get_if_exists", false)
	if err != nil {
		return err
	}
	var in applicationIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	ai, err := in.toInput()
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	tenantID := principal(c).TenantID
	a, err := s.store.CreateApplication(ctx, tenantID, ai)
	if errors.Is(err, tenants.ErrConflict) && getIfExists && ai.UID != nil {
		existing, ferr := s.store.FindApplication(ctx, tenantID, *ai.UID)
		if ferr != nil {
			return ferr
		}
		c.JSON(http.StatusOK, toApplicationOut(existing))
		return nil
	}
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, toApplicationOut(a))
	return nil
}

func (s *Server) getApplication(c *gin.Context) error {
	a, err := s.loadApp(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toApplicationOut(a))
	return nil
}

func (s *Server) updateApplication(c *gin.Context) error {
	if err := checkPathRef("app_id", c.Param("app_id"), tenants.PrefixApplication); err != nil {
		return err
	}
	var in applicationIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	ai, err := in.toInput()
	if err != nil {
		return err
	}
	a, created, err := s.store.UpsertApplication(c.Request.Context(), principal(c).TenantID, c.Param("app_id"), ai)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, toApplicationOut(a))
	s.appChangedEverywhere(c.Request.Context(), principal(c).TenantID, a.ID)
	return nil
}

func (s *Server) patchApplication(c *gin.Context) error {
	var in applicationPatchIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Name != nil && *in.Name == "" {
		return tenants.Invalid("name", "must not be empty")
	}
	if err := checkLength("name", in.Name, maxAppNameChars); err != nil {
		return err
	}
	if in.UID.Set && !in.UID.Null {
		if err := checkUID("uid", &in.UID.Value, tenants.PrefixApplication); err != nil {
			return err
		}
	}
	rate := in.ThrottleRate
	if !rate.Set {
		rate = in.RateLimit
	}
	if rate.Set && !rate.Null {
		if err := checkRate("throttleRate", &rate.Value); err != nil {
			return err
		}
	}
	if err := checkMetadata(in.Metadata); err != nil {
		return err
	}
	patch := tenants.ApplicationPatch{Name: in.Name, UID: in.UID, ThrottleRate: rate}
	if in.Metadata != nil {
		patch.Metadata = &in.Metadata
	}
	a, err := s.store.PatchApplication(c.Request.Context(), principal(c).TenantID, c.Param("app_id"), patch)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toApplicationOut(a))
	s.appChangedEverywhere(c.Request.Context(), principal(c).TenantID, a.ID)
	return nil
}

func (s *Server) deleteApplication(c *gin.Context) error {
	if err := s.store.DeleteApplication(c.Request.Context(), principal(c).TenantID, c.Param("app_id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	s.appChangedEverywhere(c.Request.Context(), principal(c).TenantID, c.Param("app_id"))
	return nil
}
