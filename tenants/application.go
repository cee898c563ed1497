package tenants

import "time"

// Application is one of a tenant's customers: the unit that owns endpoints
// and receives messages.
type Application struct {
	ID           string
	TenantID     string
	UID          *string
	Name         string
	ThrottleRate *int
	Metadata     map[string]string
	// System marks the tenant's hidden application of operational-webhook
	// endpoints (see SystemApplication); the application methods never
	// return it.
	System    bool
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt *time.Time
}

// ApplicationInput holds the fields of a create or a full update.
type ApplicationInput struct {
	Name         string
	UID          *string
	ThrottleRate *int
	Metadata     map[string]string
}

// ApplicationPatch holds the fields of a partial update; absent fields keep
// their value.
type ApplicationPatch struct {
	Name         *string
	UID          Optional[string]
	ThrottleRate Optional[int]
	Metadata     *map[string]string
}

// Apply applies p to a.
func (p ApplicationPatch) Apply(a *Application) {
	if p.Name != nil {
		a.Name = *p.Name
	}
	a.UID = p.UID.Apply(a.UID)
	a.ThrottleRate = p.ThrottleRate.Apply(a.ThrottleRate)
	if p.Metadata != nil {
		a.Metadata = OrEmpty(*p.Metadata)
	}
}

// ApplicationFilter narrows an application listing. The zero value keeps
// every application.
type ApplicationFilter struct {
	ListParams
	// ExcludeNoEndpoints drops applications without a live endpoint.
	ExcludeNoEndpoints bool
	// ExcludeOnlyDisabledEndpoints drops applications that have endpoints,
	// all of them disabled (Svix's exclude_apps_with_disabled_endpoints).
	ExcludeOnlyDisabledEndpoints bool
}
