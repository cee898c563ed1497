package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Propagator carries trace context across HTTP and the task queue as W3C
// traceparent/tracestate.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// NewTracerProvider returns an OTLP/HTTP exporting provider when endpoint
// is set (the standard OTEL_EXPORTER_OTLP_* variables refine it), or a
// no-op one. shutdown flushes pending spans.
func NewTracerProvider(ctx context.Context, endpoint, version string) (tp trace.TracerProvider, shutdown func(context.Context) error, err error) {
	if endpoint == "" {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("otlp exporter: %w", err)
	}
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName("hookline"), semconv.ServiceVersion(version))
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return sdk, sdk.Shutdown, nil
}

// Inject writes ctx's trace context into a map (task headers).
func Inject(ctx context.Context, into map[string]string) {
	Propagator.Inject(ctx, propagation.MapCarrier(into))
}

// Extract reads a trace context from a map (task headers) into ctx.
func Extract(ctx context.Context, from map[string]string) context.Context {
	if len(from) == 0 {
		return ctx
	}
	return Propagator.Extract(ctx, propagation.MapCarrier(from))
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the API request it serves,
// so that work queued on its behalf logs the same id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
