"""Run blocking engine calls off the event loop, within a time budget, on a bounded pool.

A query runs on one of ``workers`` threads (numba kernels release the GIL, so they truly run in
parallel and the event loop stays free). The request waits at most ``time_budget`` seconds and
then answers HTTP 503. Python cannot stop a running thread: a query that overruns keeps its
thread until it finishes. Two bounds keep such queries from wedging the server:

* at most ``max_pending`` queries are admitted at once (running or queued, overrunning ones
  included); beyond that a request is refused at once with 503, so memory and the queue stay bounded;
* when every worker thread is held by a query that already overran its budget, new requests
  are refused at once with 503 instead of queueing behind them; queued queries whose budget
  runs out are cancelled before they start.

Endpoints that do not query an index (the page, ``/api/v1/indexes``, docs) never touch the
pool and keep answering.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from .exceptions import ServerBusyError, TimeBudgetExceededError

T = TypeVar("T")


class QueryRunner:
    """A bounded thread pool with a per-call time budget; owned by one app."""

    def __init__(self, workers: int, max_pending: int, time_budget: float) -> None:
        self.workers = workers
        self.max_pending = max_pending
        self.time_budget = time_budget
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="anygram-http")
        self._lock = threading.Lock()
        self._pending = 0  # admitted and not finished (queued, running, or overrunning)
        self._overrunning = 0  # still running after their request gave up
        self._closed = False

    @property
    def pending(self) -> int:
        return self._pending

    @property
    def overrunning(self) -> int:
        return self._overrunning

    def _admit(self) -> None:
        with self._lock:
            if self._closed:
                raise ServerBusyError("the server is shutting down")
            if self._overrunning >= self.workers:
                raise ServerBusyError(
                    f"all {self.workers} query workers are busy with queries that exceeded the time budget; retry later"
                )
            if self._pending >= self.max_pending:
                raise ServerBusyError(f"too many queries in progress ({self.max_pending}); retry later")
            self._pending += 1

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a worker thread; raises TimeBudgetExceededError after ``time_budget`` s."""
        self._admit()
        overran = threading.Event()
        try:
            cf: Future[T] = self._pool.submit(fn, *args)
        except RuntimeError:  # the pool was shut down
            with self._lock:
                self._pending -= 1
            raise ServerBusyError("the server is shutting down") from None

        def finished(_: Future[T]) -> None:
            with self._lock:
                self._pending -= 1
                if overran.is_set():
                    self._overrunning -= 1

        try:
            return await asyncio.wait_for(asyncio.wrap_future(cf), self.time_budget)
        except TimeoutError:
            # wait_for cancelled the wrapper, which cancels cf if it had not started yet
            with self._lock:
                if not cf.done():
                    overran.set()
                    self._overrunning += 1
            raise TimeBudgetExceededError(
                f"the query exceeded the time budget of {self.time_budget:g} s (ask for less, e.g. a smaller "
                "max_support or maxnum, or retry later)"
            ) from None
        finally:
            # registered last: runs now if cf is already done, else when it finishes
            cf.add_done_callback(finished)

    def close(self) -> None:
        """Stop accepting queries; queued ones are cancelled, running ones finish on their own."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
