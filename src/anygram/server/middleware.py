"""ASGI middleware that refuses request bodies larger than a limit with HTTP 413.

A declared ``Content-Length`` above the limit is refused before the body is read; a body sent
without one (chunked) is counted while the application reads it and refused as soon as it
exceeds the limit. Paths listed in ``error_key_paths`` get infini-gram's error shape
(``{"error": message}``), the others the native one (``{"error": status phrase, "detail": message}``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLargeError(HTTPException):
    """Raised inside ``receive`` when the body grows past the limit (an HTTPException, so that
    FastAPI's body parsing re-raises it as it is and the app's handler renders the 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_message(limit))


def too_large_message(limit: int) -> str:
    return f"the request body exceeds the limit of {limit} bytes"


def error_body(status: int, message: str, compat: bool) -> dict[str, Any]:
    """The JSON error of an HTTP-level failure: infini-gram's shape on its endpoint, else ours."""
    if compat:
        return {"error": message}
    return {"error": HTTPStatus(status).phrase, "detail": message}


class BodySizeLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` bytes with HTTP 413 and a JSON error."""

    def __init__(self, app: ASGIApp, max_bytes: int, compat_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.compat_paths = compat_paths

    async def _reply(self, scope: Scope, send: Send, status: int, message: str) -> None:
        data = json.dumps(error_body(status, message, scope.get("path") in self.compat_paths)).encode()
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        })
        await send({"type": "http.response.body", "body": data})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        too_large = too_large_message(limit)
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._reply(scope, send, 400, "invalid Content-Length header")
                    return
                if declared > limit:
                    await self._reply(scope, send, 413, too_large)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            if started:
                raise
            await self._reply(scope, send, 413, too_large)
