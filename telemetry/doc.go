// Package telemetry holds what an operator watches: the Prometheus metrics
// of a Hookline process, its OpenTelemetry tracing setup and the
// trace-context plumbing between the API, the queue and the workers, and
// the request id that ties log lines together.
//
// It depends on no other Hookline package. The API and the workers report
// to it through small interfaces they declare themselves (api's
// RequestObserver, worker's Observer), which *Metrics satisfies.
package telemetry
