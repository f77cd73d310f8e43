"""W3C trace context (docs/events.md): a `traceparent` follows a request into the outbox, onto
the bus and into the consumer that handles it, so one trace id links the whole chain in logs.

OpenTelemetry's SDK makes the spans; exporting them is a deployment choice (set the
standard OTEL_* variables and add an exporter); without one, ids still propagate."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
_configured = False


def configure_tracing() -> None:
    global _configured
    if not _configured:
        trace.set_tracer_provider(TracerProvider())
        _configured = True


_tracers: dict[str, trace.Tracer] = {}


def tracer(name: str) -> trace.Tracer:
    if name not in _tracers:
        configure_tracing()
        _tracers[name] = trace.get_tracer(name)
    return _tracers[name]


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the active span, as hex, for log lines."""
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return None
    return f"{span.trace_id:032x}", f"{span.span_id:016x}"


@contextmanager
def span(name: str, tracer_name: str, parent: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run a block in a new span, continuing the trace in `parent` (headers) when given."""
    ctx = _propagator.extract(dict(parent)) if parent else None
    token = otel_context.attach(ctx) if ctx is not None else None
    try:
        with tracer(tracer_name).start_as_current_span(name):
            yield
    finally:
        if token is not None:
            otel_context.detach(token)
