"""anygram's HTTP server: a JSON API over opened indexes, infini-gram's API protocol, a web page.

    from anygram.server import create_app, ServerLimits
    app = create_app({"wiki": anygram.open("wiki_idx")}, ServerLimits(time_budget=5))

``create_app`` needs the ``server`` extra (FastAPI); it is imported on first use so that
``ServerLimits`` is available without it. ``anygram serve`` runs the app with uvicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .exceptions import (
    ServerBusyError,
    ServerConfigError,
    TimeBudgetExceededError,
    UnknownIndexError,
)
from .limits import ServerLimits

__all__ = [
    "ServerBusyError", "ServerConfigError", "ServerLimits", "TimeBudgetExceededError",
    "UnknownIndexError", "create_app",
]

if TYPE_CHECKING:  # pragma: no cover
    from .app import create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'anygram.server' has no attribute {name!r}")
