"""JSON logs, one object a line, carrying the trace and span ids of the active trace, so a
request, the events it caused and their consumers can be followed across services."""

from __future__ import annotations

import logging
import sys

import structlog
from club_platform.tracing import current_ids


def _add_trace(_logger, _method, event_dict):
    ids = current_ids()
    if ids:
        event_dict["trace_id"], event_dict["span_id"] = ids
    return event_dict


def configure_logging(service: str, level: str = "INFO") -> None:
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace,
        lambda _l, _m, d: {**d, "service": service},
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Chatty libraries: their warnings matter, their info lines do not.
    for name in ("aiokafka", "faststream", "uvicorn.access", "kafka"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
