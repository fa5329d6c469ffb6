"""Venue reports applied while a session runs: an exchange's fills, cancels and expiries.

A paper venue fed in-process answers each bar with the reports it caused, and the execution
component applies them in the bar's order of work. An exchange (``CcxtVenue``) has no such
feed: its fills and status changes arrive on ``Venue.reports()`` (polled), whenever they
happen. ``VenueReports``, a supervised session component (``name``, ``run``, ``on_stop``),
iterates that stream and applies each report through ``Execution.on_report`` — journaled,
booked in the ledger and the risk account, counted in the metrics (fill rate, slippage),
published to the strategy (``on_fill`` / ``on_order_event`` before its next bar, as in paper
mode), and a fill's protective exits placed at once.

Rules:

* **Subscribed before the first order.** ``open()`` calls ``reports()``; the session calls it
  before reconciling on start (which may already send orders), so every fill of an order
  sent by this process is on the stream (the venue's poll covers fills since the stream's
  start, and any fill of an order it placed).
* **One at a time with everything else.** ``open()`` also makes the execution component
  ``serialise()`` its entry points: a report waits for the bar, the strategy request or the
  reconciliation step in progress, then is applied before anything else starts (the
  ``runtime.execution`` docstring says why a report may not interleave with them).
* **Idempotent.** A fill whose trade id its order already counts changes nothing (the order
  manager's rule), so the poll's re-deliveries and the fills reconciliation applied first
  (on start, after a reconnect) are harmless; a report of an order we never created is
  recorded (``unknown_report``) and left to reconciliation, which halts entries for it.
* **A crash loses nothing.** When ``run()`` fails (or the venue ends the stream) the
  supervisor restarts it: the report it
  was applying is applied again first (idempotent), the reports already queued in the old
  subscription are kept, a new subscription is opened (the venue's poller restarts with it
  if it died), and the fills since the last one applied (less ``catch_up_slack_ns`` for clock
  skew) are fetched and applied, so a fill that fell between two subscriptions is not lost.
  Status changes in such a gap are settled by the next reconciliation.
* **Shutdown.** ``on_stop`` lets a report being applied finish (its exits must reach the
  venue), then ends ``run()`` and closes the subscription. Reports still queued are applied
  by the next start's reconciliation.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog

from trading_strategy.orders.venues.base import FillReport, QueuedReportStream, VenueReport
from trading_strategy.runtime.execution import Execution

__all__ = ["VenueReports", "needs_report_stream"]

log = structlog.get_logger("trading_strategy.venue_reports")

#: a re-subscription fetches fills from this long before the last one applied
CATCH_UP_SLACK_NS = 60 * 1_000_000_000


def needs_report_stream(venue: object, *, fed_in_process: bool) -> bool:
    """Whether a session must apply ``venue``'s reports itself: it has a report stream and
    no bar feed hands its reports back (an exchange, not a paper venue)."""
    return not fed_in_process and callable(getattr(venue, "reports", None))


class VenueReports:
    """Applies the venue's reports as they come (the module docstring). ``applied``: how
    many changed an order; ``restarts``: re-subscriptions after a failure."""

    name = "venue-reports"

    def __init__(self, execution: Execution, *,
                 catch_up_slack_ns: int = CATCH_UP_SLACK_NS,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.execution = execution
        self._slack = catch_up_slack_ns
        self._clock_ns = clock_ns
        self._stream: AsyncIterator[VenueReport] | None = None
        #: reports taken from a subscription but not applied yet (oldest first)
        self._backlog: list[VenueReport] = []
        #: fills are fetched from here on a re-subscription (the last fill applied, or the
        #: first subscription's time)
        self._since_ns = 0
        self._runs = 0
        self._task: asyncio.Task[Any] | None = None
        self._applying = False
        self._stopping = False
        self.applied = 0
        self.restarts = 0
        self._changed = asyncio.Condition()

    def open(self) -> None:
        """Subscribe now, if not yet (call it before the first order is sent)."""
        self.execution.serialise()
        if self._stream is None:
            self._since_ns = self._clock_ns()
            self._stream = self.execution.venue.reports()

    async def run(self) -> None:
        self._task = asyncio.current_task()
        self._runs += 1
        try:
            if self._runs > 1:  # restarted: after a failure, or the venue ended the stream
                await self._resubscribe()
            elif self._stream is None:
                self.open()
            while self._backlog and not self._stopping:
                await self._apply(self._backlog[0])
            if self._stopping:
                return
            stream = self._stream
            assert stream is not None
            async for report in stream:
                self._backlog.append(report)
                await self._apply(report)
                if self._stopping:
                    break
            else:
                # the venue ended the stream (closed): the supervisor's restart subscribes
                # again unless the session is stopping
                self._stream = None
        finally:
            if self._stopping:
                await self._close()

    async def on_stop(self) -> None:
        self._stopping = True
        task = self._task
        if task is not None and not task.done() and not self._applying \
                and task is not asyncio.current_task():
            task.cancel()  # waiting for the next report: nothing is half done

    async def wait_applied(self, count: int, timeout: float = 10.0) -> int:
        """Until ``count`` reports changed an order (tests, status pages)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.applied >= count)
        return self.applied

    # --- internals -------------------------------------------------------------------------
    async def _apply(self, report: VenueReport) -> None:
        self._applying = True
        try:
            changed = await self.execution.on_report(report)
        finally:
            self._applying = False
        # applied (or known already): a failure above keeps it first in the backlog
        self._backlog.pop(0)
        if isinstance(report, FillReport):
            self._since_ns = max(self._since_ns, report.ts_event)
        if changed:
            self.applied += 1
            async with self._changed:
                self._changed.notify_all()

    async def _resubscribe(self) -> None:
        """After a failure: keep what the old subscription holds, subscribe again, then
        fetch the fills since the last one applied (a fill made between the two
        subscriptions is in neither)."""
        self.restarts += 1
        old = self._stream
        if isinstance(old, QueuedReportStream):
            while not old.queue.empty():
                item = old.queue.get_nowait()
                if item is not None:
                    self._backlog.append(item)
        if old is not None:
            await _aclose(old)
        since = max(0, self._since_ns - self._slack)
        self._stream = self.execution.venue.reports()
        manager = self.execution.manager
        missed = [f for f in await self.execution.venue.fetch_fills(since)
                  if (order := manager.find(f.client_order_id)) is not None
                  and f.trade_id not in order.trade_ids]
        log.warning("venue_reports_resubscribed", restarts=self.restarts,
                    backlog=len(self._backlog), fills_since_ns=since, missed=len(missed))
        self._backlog.extend(missed)

    async def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await _aclose(stream)


async def _aclose(stream: AsyncIterator[VenueReport]) -> None:
    close = getattr(stream, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()
