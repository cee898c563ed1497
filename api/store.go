package api

import (
	"context"
	"time"

	"github.com/hookline/hookline/tenants"
)

// Store is what the API reads and writes in PostgreSQL (package store
// implements it). Each method's contract is the store's: it scopes by
// the tenant first, and a row of another tenant is tenants.ErrNotFound.
// Implementations are safe for concurrent use.
type Store interface {
	// Tenants, their API keys and their credentials (auth).
	CreateTenant(ctx context.Context, name string) (tenants.Tenant, error)
	FindTenantByID(ctx context.Context, id string) (tenants.Tenant, error)
	FindTenants(ctx context.Context, p tenants.ListParams) (tenants.Page[tenants.Tenant], error)
	SetTenantStatus(ctx context.Context, id, status string) (tenants.Tenant, error)
	RevokeTenantTokens(ctx context.Context, id string, at time.Time) (tenants.Tenant, error)
	FindTenantRetention(ctx context.Context, tenantID string) (tenants.TenantRetention, error)
	SetTenantRetention(ctx context.Context, tenantID string, days *int) (tenants.TenantRetention, error)
	CreateAPIKey(ctx context.Context, tenantID, name string) (tenants.APIKey, string, error)
	FindAPIKeys(ctx context.Context, tenantID string) ([]tenants.APIKey, error)
	RevokeAPIKey(ctx context.Context, tenantID, keyID string) (tenants.APIKey, error)
	FindCredentialByHash(ctx context.Context, hash []byte) (tenants.Credential, error)
	TouchAPIKeys(ctx context.Context, lastUsed map[string]time.Time) error

	// Applications.
	CreateApplication(ctx context.Context, tenantID string, in tenants.ApplicationInput) (tenants.Application, error)
	FindApplication(ctx context.Context, tenantID, ref string) (tenants.Application, error)
	FindApplicationsFiltered(ctx context.Context, tenantID string, f tenants.ApplicationFilter) (tenants.Page[tenants.Application], error)
	UpsertApplication(ctx context.Context, tenantID, ref string, in tenants.ApplicationInput) (a tenants.Application, created bool, err error)
	PatchApplication(ctx context.Context, tenantID, ref string, p tenants.ApplicationPatch) (tenants.Application, error)
	DeleteApplication(ctx context.Context, tenantID, ref string) error
	SystemApplication(ctx context.Context, tenantID string) (tenants.Application, error)
	EnsureSystemApplication(ctx context.Context, tenantID string) (tenants.Application, error)

	// Endpoints, their secrets and headers.
	CreateEndpoint(ctx context.Context, tenantID, appID string, in tenants.EndpointInput) (tenants.Endpoint, error)
	FindEndpoint(ctx context.Context, tenantID, appID, ref string) (tenants.Endpoint, error)
	FindEndpoints(ctx context.Context, tenantID, appID string, p tenants.ListParams) (tenants.Page[tenants.Endpoint], error)
	UpsertEndpoint(ctx context.Context, tenantID, appID, ref string, in tenants.EndpointInput) (e tenants.Endpoint, created bool, err error)
	PatchEndpoint(ctx context.Context, tenantID, appID, ref string, p tenants.EndpointPatch) (tenants.Endpoint, error)
	DeleteEndpoint(ctx context.Context, tenantID, appID, ref string) error
	EndpointSecret(ctx context.Context, tenantID, appID, ref string) (string, error)
	RotateEndpointSecret(ctx context.Context, tenantID, appID, ref, secret string, grace time.Duration) error
	EndpointHeaders(ctx context.Context, tenantID, appID, ref string) (map[string]string, error)
	SetEndpointHeaders(ctx context.Context, tenantID, appID, ref string, h map[string]*string, replace bool) error
	FindEndpointStats(ctx context.Context, tenantID, endpointID string, since, until time.Time) (tenants.EndpointStats, error)
	EndpointSuccessRates(ctx context.Context, tenantID, appID string, since time.Time) (map[string]float64, error)
	FindTransformation(ctx context.Context, tenantID, appID, ref string) (tenants.Transformation, error)
	PatchTransformation(ctx context.Context, tenantID, appID, ref string, p tenants.TransformationPatch) (tenants.Transformation, error)

	// The event catalog.
	CreateEventType(ctx context.Context, tenantID string, in tenants.EventTypeInput) (tenants.EventType, error)
	FindEventType(ctx context.Context, tenantID, name string) (tenants.EventType, error)
	FindEventTypes(ctx context.Context, tenantID string, p tenants.ListParams, includeArchived bool) (tenants.Page[tenants.EventType], error)
	UpsertEventType(ctx context.Context, tenantID, name string, in tenants.EventTypeInput) (et tenants.EventType, created bool, err error)
	PatchEventType(ctx context.Context, tenantID, name string, p tenants.EventTypePatch) (tenants.EventType, error)
	DeleteEventType(ctx context.Context, tenantID, name string, expunge bool) error
	ImportEventTypes(ctx context.Context, tenantID string, imp tenants.EventTypeImport) error

	// Messages (creation goes through package outbox).
	FindMessage(ctx context.Context, tenantID, appID, ref string) (tenants.Message, error)
	FindMessages(ctx context.Context, tenantID, appID string, f tenants.MessageFilter) (tenants.Page[tenants.Message], error)
	FindMessagesByID(ctx context.Context, tenantID, appID string, ids []string) (map[string]tenants.Message, error)
	FindTenantMessages(ctx context.Context, tenantID string, f tenants.TenantMessageFilter) (tenants.Page[tenants.Message], error)
	ExpungeMessageContent(ctx context.Context, tenantID, appID, ref string) error
	ExpungeAllContents(ctx context.Context, tenantID, appID string) (int64, error)
	HasActiveEndpoint(ctx context.Context, tenantID, appID, eventType string, channels []string) (bool, error)

	// Deliveries and attempts: resends, recoveries and the views of where messages stand.
	ResendMessage(ctx context.Context, tenantID, appID, msgRef, epRef string) (tenants.DueDelivery, error)
	RecoverEndpoint(ctx context.Context, tenantID, appID, epRef string, since, until time.Time) ([]int64, error)
	ReplayMissing(ctx context.Context, tenantID, appID, epRef string, since, until time.Time) ([]int64, error)
	BulkReplay(ctx context.Context, tenantID, appID, epRef string, f tenants.BulkReplayFilter) ([]int64, error)
	FindDeliveryStates(ctx context.Context, tenantID, appID string, msgIDs []string) ([]tenants.DeliveryState, error)
	FindMessageDestinations(ctx context.Context, tenantID, appID, msgID string, p tenants.ListParams) (tenants.Page[tenants.MessageDestination], error)
	FindEndpointMessages(ctx context.Context, tenantID, appID, endpointID string, f tenants.MessageFilter, status *tenants.Status) (tenants.Page[tenants.EndpointMessage], error)
	FindAttempt(ctx context.Context, tenantID, appID, msgID, attemptID string) (tenants.Attempt, error)
	FindAttemptsByEndpoint(ctx context.Context, tenantID, appID, endpointID string, f tenants.AttemptFilter) (tenants.Page[tenants.Attempt], error)
	FindAttemptsByMessage(ctx context.Context, tenantID, appID, msgID string, f tenants.AttemptFilter) (tenants.Page[tenants.Attempt], error)
	ExpungeAttemptContent(ctx context.Context, tenantID, appID, msgID, attemptID string) error

	// Idempotency of the POST routes other than message creation.
	ClaimIdempotencyKey(ctx context.Context, tenantID string, key, fingerprint []byte, lock, ttl time.Duration) (claimed bool, stored *tenants.StoredResponse, err error)
	CompleteIdempotencyKey(ctx context.Context, key []byte, r tenants.StoredResponse) error
	ReleaseIdempotencyKey(ctx context.Context, key []byte) error

	// Background tasks and statistics.
	RecordTask(ctx context.Context, tenantID, task, status string, data any) (tenants.BackgroundTask, error)
	FindTask(ctx context.Context, tenantID, id string) (tenants.BackgroundTask, error)
	FindTasks(ctx context.Context, tenantID string, f tenants.TaskFilter) (tenants.Page[tenants.BackgroundTask], error)
	AppUsageStats(ctx context.Context, tenantID string, refs []string, since, until time.Time) ([]tenants.AppUsage, []string, error)
	AggregateEventTypes(ctx context.Context, tenantID string, since time.Time) ([]tenants.EventTypeUsage, error)

	// Portal settings, the database's health, and the store's clock
	// (windows and timestamps the API computes agree with the rows').
	FindPortalSettings(ctx context.Context, tenantID string) (tenants.PortalSettings, error)
	PatchPortalSettings(ctx context.Context, tenantID string, p tenants.PortalSettingsPatch) (tenants.PortalSettings, error)
	Ping(ctx context.Context) error
	Now() time.Time

	// An endpoint's mTLS identity, server CA and OAuth2 client.
	SecurityStore
}
