package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hookline/hookline/operational"
	"github.com/hookline/hookline/tenants"
)

// Operational-webhook endpoints (issue 13, part 4) are ordinary endpoints
// of the tenant's hidden system application (see package operational).
// The routes below find that application and put it in the request's
// context, so that loadApp returns it; the secret, header and delete
// handlers of ordinary endpoints then serve operational endpoints as they
// are. Create, get, list and update have their own handlers because the
// wire shape differs (OperationalWebhookEndpointIn/Out: no channels, no
// eventTypes, filterTypes limited to the operational event types).

// systemAppKey holds the system application of an operational route.
const systemAppKey = "hookline.system_app"

func (s *Server) operationalRoutes() []route {
	const r, w = false, true
	base := "/api/v1/operational-webhook/endpoint"
	ep := base + "/:endpoint_id"
	return []route{
		{"GET", base, scopeOrg, r, s.onSystemApp(false, s.listOperationalEndpoints)},
		{"POST", base, scopeOrg, w, s.onSystemApp(true, s.createOperationalEndpoint)},
		{"GET", ep, scopeOrg, r, s.onSystemApp(false, s.getOperationalEndpoint)},
		{"PUT", ep, scopeOrg, w, s.onSystemApp(false, s.updateOperationalEndpoint)},
		{"DELETE", ep, scopeOrg, w, s.onSystemApp(false, s.deleteEndpoint)},
		{"GET", ep + "/secret", scopeOrg, r, s.onSystemApp(false, s.getEndpointSecret)},
		{"POST", ep + "/secret/rotate", scopeOrg, w, s.onSystemApp(false, s.rotateEndpointSecret)},
		{"GET", ep + "/headers", scopeOrg, r, s.onSystemApp(false, s.getEndpointHeaders)},
		{"PUT", ep + "/headers", scopeOrg, w, s.onSystemApp(false, s.updateEndpointHeaders)},
		{"PATCH", ep + "/headers", scopeOrg, w, s.onSystemApp(false, s.patchEndpointHeaders)},
	}
}

// onSystemApp runs h with the tenant's system application as the route's
// application, creating it first when create is set. Without one, a list
// is empty and every other route is 404 (the endpoint does not exist).
func (s *Server) onSystemApp(create bool, h func(*gin.Context) error) func(*gin.Context) error {
	return func(c *gin.Context) error {
		ctx, tenantID := c.Request.Context(), principal(c).TenantID
		var a tenants.Application
		var err error
		if create {
			a, err = s.store.EnsureSystemApplication(ctx, tenantID)
		} else {
			a, err = s.store.SystemApplication(ctx, tenantID)
		}
		if errors.Is(err, tenants.ErrNotFound) && c.Request.Method == http.MethodGet && c.Param("endpoint_id") == "" {
			c.JSON(http.StatusOK, listOut[operationalEndpointOut]{Data: []operationalEndpointOut{}, Done: true})
			return nil
		}
		if err != nil {
			return err
		}
		c.Set(systemAppKey, a)
		return h(c)
	}
}

// systemApp returns the system application onSystemApp stored, if any.
func systemApp(c *gin.Context) (tenants.Application, bool) {
	v, ok := c.Get(systemAppKey)
	if !ok {
		return tenants.Application{}, false
	}
	a, ok := v.(tenants.Application)
	return a, ok
}

type operationalEndpointIn struct {
	URL          *string           `json:"url"`
	Description  *string           `json:"description"`
	UID          *string           `json:"uid"`
	Disabled     *bool             `json:"disabled"`
	FilterTypes  []string          `json:"filterTypes"`
	Metadata     map[string]string `json:"metadata"`
	Secret       *string           `json:"secret"`
	ThrottleRate *int              `json:"throttleRate"`
	RateLimit    *int              `json:"rateLimit"`
}

func (in operationalEndpointIn) toInput(allowPrivate bool) (tenants.EndpointInput, error) {
	for i, t := range in.FilterTypes {
		if !operational.IsEventType(t) {
			return tenants.EndpointInput{}, tenants.InvalidAt([]string{"body", "filterTypes", fmt.Sprint(i)},
				fmt.Sprintf("%q is not an operational event type (one of %v)", t, operational.EventTypes))
		}
	}
	if len(in.FilterTypes) == 0 {
		in.FilterTypes = nil // none listed: every event
	}
	ei, err := endpointIn{
		URL: in.URL, Description: in.Description, UID: in.UID, Disabled: in.Disabled, FilterTypes: in.FilterTypes,
		Metadata: in.Metadata, Secret: in.Secret, ThrottleRate: in.ThrottleRate, RateLimit: in.RateLimit,
	}.toInput(allowPrivate)
	ei.EventTypesChecked = true
	return ei, err
}

type operationalEndpointOut struct {
	ID           string            `json:"id"`
	UID          *string           `json:"uid,omitempty"`
	URL          string            `json:"url"`
	Description  string            `json:"description"`
	Disabled     bool              `json:"disabled"`
	FilterTypes  []string          `json:"filterTypes,omitempty"`
	ThrottleRate *int              `json:"throttleRate,omitempty"`
	RateLimit    *int              `json:"rateLimit,omitempty"`
	Metadata     map[string]string `json:"metadata"`
	CreatedAt    time.Time         `json:"createdAt"`
	UpdatedAt    time.Time         `json:"updatedAt"`
}

func toOperationalEndpointOut(e tenants.Endpoint) operationalEndpointOut {
	md := e.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return operationalEndpointOut{
		ID: e.ID, UID: e.UID, URL: e.URL, Description: e.Description, Disabled: e.Disabled,
		FilterTypes: e.EventTypes, ThrottleRate: e.ThrottleRate, RateLimit: e.ThrottleRate, Metadata: md,
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(),
	}
}

func (s *Server) listOperationalEndpoints(c *gin.Context) error {
	p, err := listParams(c, true)
	if err != nil {
		return err
	}
	a, _ := systemApp(c)
	pg, err := s.store.FindEndpoints(c.Request.Context(), a.TenantID, a.ID, p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toList(pg, toOperationalEndpointOut))
	return nil
}

func (s *Server) createOperationalEndpoint(c *gin.Context) error {
	a, _ := systemApp(c)
	var in operationalEndpointIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	ei, err := in.toInput(s.opts.AllowPrivateTargets)
	if err != nil {
		return err
	}
	e, err := s.store.CreateEndpoint(c.Request.Context(), a.TenantID, a.ID, ei)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, toOperationalEndpointOut(e))
	return nil
}

func (s *Server) getOperationalEndpoint(c *gin.Context) error {
	a, _ := systemApp(c)
	e, err := s.store.FindEndpoint(c.Request.Context(), a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toOperationalEndpointOut(e))
	return nil
}

// updateOperationalEndpoint replaces an existing operational endpoint
// (unlike the ordinary endpoint PUT, it never creates one: Svix's
// operational update is an update). The secret and headers are kept.
func (s *Server) updateOperationalEndpoint(c *gin.Context) error {
	a, _ := systemApp(c)
	ctx := c.Request.Context()
	var in operationalEndpointIn
	if err := s.decodeJSON(c, &in); err != nil {
		return err
	}
	in.Secret = nil
	ei, err := in.toInput(s.opts.AllowPrivateTargets)
	if err != nil {
		return err
	}
	cur, err := s.store.FindEndpoint(ctx, a.TenantID, a.ID, c.Param("endpoint_id"))
	if err != nil {
		return err
	}
	e, _, err := s.store.UpsertEndpoint(ctx, a.TenantID, a.ID, cur.ID, ei)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, toOperationalEndpointOut(e))
	return nil
}
