"""``PaperVenue``: a simulated exchange that fills against the live stream like the backtester.

It implements the ``Venue`` contract in-process (``paper_server`` exposes it over HTTP).
Matching is the kernel's matcher (``kernel.matching.Matcher``), the one the backtest engine
calls, so a paper session and a backtest of the same bars fill at the same prices and sizes;
this module keeps only the venue's own business (exact Decimal cash per currency, its store,
its report streams, latency on bar timestamps):

* **Matching** is ``kernel.fills.match`` on the bar's open/high/low in integer ticks
  (prices ``round(price / tick)``, half-even, as the backtest engine does): market orders fill
  at the eligible bar's open; limits at the open when it gapped through, else at the limit;
  stops trigger at the open or the stop; stop-limits as documented there. Within one bar
  what executes at the open goes first, then stops before limits (``fills.PRIORITY``),
  then oldest first.
* **Latency** runs on the market's clock (bar timestamps), never the wall clock, so a
  replay at any speed fills as the backtest does. An order accepted after bar *t* (decided
  at *t*'s close) reaches the venue ``latency_ms`` later and matches the first bar opening
  at or after that, never before bar *t+1*: the backtester's ``latency_ms`` rule (0 ms is
  its ``latency_bars=1``). *t*'s close is ``ts(t)`` plus the bar length, taken as the
  shortest spacing of the symbol's bars seen so far; until two bars are seen (or when a
  gap follows *t*) the venue counts from ``ts(t+1)``, which is never earlier. Stale bars are
  ignored.
* **Attached exits** (``OrderRequest.parent_id``: an entry's stop-loss / take-profit, or the
  order replacing one) sit at the venue with their entry, as an exchange's OTOCO legs: no
  latency delays them. Placed after their entry filled at the open of the symbol's current
  bar, they are live for the rest of that bar, like the backtest engine's exits: the bar fed
  again (the same timestamp) matches them, and only them; otherwise they are live from the
  next bar. Any other repeated bar is ignored.
* **Slippage** (``kernel.costs``) applies to market and stop fills, rounded away from
  the price to a whole tick; limit fills get none. Every model works live: ``NoSlippage``,
  ``FixedBpsSlippage``, ``RangeSlippage`` (the fill bar's range) and ``AtrSlippage`` (the
  ATR of the bars seen so far, kept incrementally: ``kernel.live_slippage``; after a
  restart it is rebuilt from the bars that follow). **Commission** models are bound per
  instrument.
* **Volume cap**: with ``volume_participation`` at most that fraction of a bar's volume
  fills (``fills.participation_cap``); the rest waits for the next bar.
* **Cash** is checked at fill time, as in the backtester: covering a short is always
  allowed; the lots of a buy that open a long must be paid (commission included) from the
  cash of the instrument's currency left after covering, else the order is rejected (a
  ``StatusReport``). An all-in order (``OrderRequest.size_at_fill``) buys what that cash
  pays at the fill price (its final quantity is the size), never more than its quantity
  when that is a cap (``quantity_is_cap``, a risk limit), as the backtest engine does.
  Sells are not limited (shorting allowed). ``reduce_only`` orders fill at most the
  opposite position and are cancelled when there is none.
* **TIF**: DAY orders expire on the first bar of a later UTC day than their first eligible
  bar; IOC orders are cancelled if not (fully) filled on their first eligible bar.
* **Idempotent submit**: the same ``client_order_id`` answers the existing order's ack (a
  rejected one raises ``VenueRejected`` again) and never creates a second order.
* **Accounting** is exact ``Decimal``: cash per currency, a signed position per symbol. Each
  change is written to the venue's own store (if any) in one transaction before memory
  changes; ``reports()`` gives each consumer its own unbounded ``asyncio.Queue``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

import numpy as np

from trading_strategy.core.bars import Bar, BarSeries
from trading_strategy.core.clock import Clock, LiveClock
from trading_strategy.core.enums import OrderStatus, OrderType
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Instrument
from trading_strategy.core.orders import Order
from trading_strategy.core.timeframe import Timeframe
from trading_strategy.kernel.costs import (
    AtrSlippage,
    CommissionFn,
    CommissionModel,
    NoSlippage,
    PercentCommission,
    RangeSlippage,
    SlippageFn,
    SlippageModel,
)
from trading_strategy.kernel.live_slippage import IncrementalAtrSlippage
from trading_strategy.kernel.matching import Matcher
from trading_strategy.kernel.order_states import ORDER_TRANSITIONS, move
from trading_strategy.orders.venues.base import (
    FillReport,
    OrderAck,
    OrderRequest,
    OrderState,
    QueuedReportStream,
    StatusReport,
    VenueRejected,
    VenueReport,
)
from trading_strategy.orders.venues.paper_store import (
    Change,
    FillRecord,
    OrderEvent,
    OrderRecord,
    PaperStore,
)

_ANY_TIMEFRAME = Timeframe(1, "m")


@dataclass(frozen=True, slots=True)
class PaperVenueConfig:
    """How the paper venue fills (the backtester's models) and what cash it starts with."""

    initial_cash: Mapping[str, Decimal] = field(default_factory=lambda: {"USD": Decimal(10**5)})
    commission: CommissionModel = field(default_factory=lambda: PercentCommission(Decimal(0)))
    slippage: SlippageModel = field(default_factory=NoSlippage)
    latency_ms: int = 0
    volume_participation: Decimal | None = None

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ConfigError(f"latency in ms must be >= 0, got {self.latency_ms}")
        vp = self.volume_participation
        if vp is not None and not 0 < vp <= 1:
            raise ConfigError(f"volume participation must be in (0, 1], got {vp}")
        for currency, amount in self.initial_cash.items():
            if not Decimal(amount).is_finite():
                raise ConfigError(f"initial cash in {currency} must be a number, got {amount}")


class ReportStream(QueuedReportStream):
    """One consumer's view of the venue's reports (an async iterator over a queue)."""

    def __init__(self, venue: PaperVenue) -> None:
        super().__init__(venue._streams)


class PaperVenue:
    """The in-process paper venue (see the module docstring for every rule)."""

    def __init__(self, instruments: Iterable[Instrument], *,
                 config: PaperVenueConfig | None = None, store: PaperStore | None = None,
                 clock: Clock | None = None, name: str = "paper") -> None:
        self.name = name
        self.config = cfg = config or PaperVenueConfig()
        self.instruments: dict[str, Instrument] = {i.symbol: i for i in instruments}
        if not self.instruments:
            raise ConfigError("the paper venue needs at least one instrument")
        self._clock: Clock = clock or LiveClock()
        self._store = store
        self._latency_ns = cfg.latency_ms * 1_000_000
        self._commission: dict[str, CommissionFn] = {
            s: cfg.commission.bind(i) for s, i in self.instruments.items()}
        self._matchers: dict[str, Matcher] = {}
        #: ATR slippage keeps its bar history per symbol, fed after each bar is matched
        self._atr_slippage: dict[str, IncrementalAtrSlippage] = {}
        for s, i in self.instruments.items():
            slippage: SlippageFn
            if isinstance(cfg.slippage, AtrSlippage):
                slippage = self._atr_slippage[s] = IncrementalAtrSlippage(cfg.slippage, i)
            else:
                # range slippage is re-bound to each bar (it needs only that bar's range)
                slippage = cfg.slippage.bind(i, _one_bar_series(i, None))
            self._matchers[s] = Matcher(
                i, _CashAccount(self, i), commission=self._commission[s],
                slippage=slippage,
                volume_participation=cfg.volume_participation,
                on_fill=self._on_fill, on_close=self._on_close)
        self._recs: dict[str, OrderRecord] = {}
        self._reports: list[VenueReport] = []
        self._orders: dict[str, OrderRecord] = {}
        self._open: dict[str, dict[str, OrderRecord]] = {s: {} for s in self.instruments}
        self._fills: list[FillRecord] = []
        self._balances: dict[str, Decimal] = {}
        self._positions: dict[str, Decimal] = {}
        self._last_ts: dict[str, int] = {}
        self._streams: set[ReportStream] = set()
        self._order_seq = 0
        self._fill_seq = 0
        #: per symbol: (bar ts, orders with a fill at that bar's open) — attached exits of
        #: those entries are live for the rest of the bar
        self._opened_at_open: dict[str, tuple[int, set[str]]] = {}
        #: per symbol: attached exits live for the rest of its current bar, not matched yet
        self._fresh: dict[str, list[str]] = {}
        #: per symbol: the shortest spacing of its bars seen (the bar length, for latency)
        self._bar_ns: dict[str, int] = {}
        self._restore()

    # --- start-up ----------------------------------------------------------------------
    def _restore(self) -> None:
        initial = {c: Decimal(a) for c, a in self.config.initial_cash.items()}
        if self._store is None:
            self._balances = initial
            return
        state = self._store.load()
        for rec in state.orders:
            self._orders[rec.client_order_id] = rec
            if rec.status.is_open and rec.symbol in self._open:
                self._open[rec.symbol][rec.client_order_id] = rec
            self._order_seq = max(self._order_seq, rec.seq)
            self._bump_last_ts(rec.symbol, rec.after_ts)
            if rec.active_from is not None:
                self._bump_last_ts(rec.symbol, rec.active_from - self._latency_ns)
        for fill in state.fills:
            self._fills.append(fill)
            self._fill_seq = max(self._fill_seq, fill.seq)
            self._bump_last_ts(fill.symbol, fill.ts_event)
        for fill in state.fills:
            # entries filled at the open of the last bar seen: their exits, placed after the
            # restart, are still live for the rest of that bar
            if fill.at_open and fill.ts_event == self._last_ts.get(fill.symbol):
                self._opened_at_open.setdefault(fill.symbol, (fill.ts_event, set()))[1].add(
                    fill.client_order_id)
        self._positions = dict(state.positions)
        self._balances = dict(state.balances) or initial
        if not state.balances:  # a new store: seed it with the starting cash
            self._store.write(Change(balances=dict(initial)))

    def _bump_last_ts(self, symbol: str, ts: int) -> None:
        if ts > self._last_ts.get(symbol, -1):
            self._last_ts[symbol] = ts

    # --- the Venue contract ------------------------------------------------------------
    async def submit(self, request: OrderRequest) -> OrderAck:
        return self.submit_now(request)

    def submit_now(self, request: OrderRequest) -> OrderAck:
        """``submit`` without the coroutine (the hot path of an in-process session)."""
        existing = self._orders.get(request.client_order_id)
        if existing is not None:
            if existing.status is OrderStatus.REJECTED:
                raise VenueRejected(existing.client_order_id, existing.reason)
            return existing.ack(existing.ts_updated)
        now = self._clock.now_ns()
        reason = self._invalid(request)
        self._order_seq += 1
        seq = self._order_seq
        last_ts = self._last_ts.get(request.symbol, -1)
        rec = OrderRecord.from_request(
            request, seq, OrderStatus.REJECTED if reason else OrderStatus.ACCEPTED, reason,
            now, last_ts)
        fresh = False
        if request.parent_id is not None and not reason:
            at_open_ts, at_open = self._opened_at_open.get(request.symbol, (-2, set()))
            fresh = at_open_ts == last_ts and request.parent_id in at_open
            # no latency: live on this bar (fresh) or from the next one
            rec = dataclasses.replace(rec, active_from=last_ts if fresh else last_ts + 1)
        event = OrderEvent(rec.client_order_id, now, None, rec.status, "submit", reason)
        try:
            self._write(Change(new_orders=[rec], events=[event]))
        except BaseException:
            self._order_seq -= 1
            raise
        self._orders[rec.client_order_id] = rec
        if reason:
            raise VenueRejected(rec.client_order_id, reason)
        self._open[rec.symbol][rec.client_order_id] = rec
        if fresh:
            self._fresh.setdefault(rec.symbol, []).append(rec.client_order_id)
        return rec.ack(now)

    async def cancel(self, client_order_id: str) -> OrderAck:
        rec = self._orders.get(client_order_id)
        if rec is None:
            raise VenueRejected(client_order_id, "unknown order")
        now = self._clock.now_ns()
        if not rec.status.is_open:
            return OrderAck(rec.client_order_id, rec.venue_order_id, rec.status,
                            f"order already {rec.status.value}", now)
        new = self._close(rec, OrderStatus.CANCELLED, "cancelled on request", now, "cancel")
        return new.ack(now)

    async def fetch_order(self, client_order_id: str) -> OrderState | None:
        rec = self._orders.get(client_order_id)
        return None if rec is None else rec.state(self._tick(rec.symbol))

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderState]:
        books = [self._open.get(symbol, {})] if symbol is not None else self._open.values()
        recs = sorted((r for book in books for r in book.values()), key=lambda r: r.seq)
        return [r.state(self._tick(r.symbol)) for r in recs]

    async def fetch_fills(self, since_ts: int = 0) -> list[FillReport]:
        """Fills with ``ts_event >= since_ts`` (market time), oldest first."""
        return [f.report() for f in self._fills if f.ts_event >= since_ts]

    @property
    def balances(self) -> dict[str, Decimal]:
        """Cash per currency now (a copy)."""
        return dict(self._balances)

    @property
    def fill_seq(self) -> int:
        """Sequence number of the newest fill (0: none); trade ids are ``T%08d`` of it."""
        return self._fill_seq

    def fills_after(self, seq: int) -> list[tuple[int, FillReport]]:
        """``(seq, fill)`` of every fill newer than ``seq`` (to replay a missed stream)."""
        return [(f.seq, f.report()) for f in self._fills if f.seq > seq]

    async def fetch_balances(self) -> dict[str, Decimal]:
        return dict(self._balances)

    async def fetch_positions(self) -> dict[str, Decimal]:
        return {s: q for s, q in self._positions.items() if q != 0}

    def reports(self) -> ReportStream:
        stream = ReportStream(self)
        self._streams.add(stream)
        return stream

    async def close(self) -> None:
        for stream in list(self._streams):
            stream.queue.put_nowait(None)
        self._streams.clear()
        if self._store is not None:
            self._store.close()

    # --- market data -------------------------------------------------------------------
    def on_bar(self, symbol: str, bar: Bar) -> list[VenueReport]:
        """Match the symbol's resting orders against ``bar``; returns the reports made."""
        inst = self.instruments.get(symbol)
        if inst is None:
            raise ConfigError(f"unknown symbol {symbol!r}; this venue trades "
                              f"{', '.join(sorted(self.instruments))}")
        last = self._last_ts.get(symbol, -1)
        if bar.ts_event <= last:
            fresh = self._fresh.pop(symbol, None)
            if bar.ts_event < last or not fresh:
                return []
            # the rest of the bar, for the exits attached to entries filled at its open
            atr = self._atr_slippage.get(symbol)
            if atr is None:
                return self._match(inst, bar, only=set(fresh))
            atr.repeat_last_bar(True)
            try:
                return self._match(inst, bar, only=set(fresh))
            finally:
                atr.repeat_last_bar(False)
        if last >= 0:
            spacing = bar.ts_event - last
            if spacing < self._bar_ns.get(symbol, spacing + 1):
                self._bar_ns[symbol] = spacing
        self._last_ts[symbol] = bar.ts_event
        self._fresh.pop(symbol, None)
        try:
            return self._match(inst, bar)
        finally:
            atr = self._atr_slippage.get(symbol)
            if atr is not None:
                atr.update(bar.high, bar.low, bar.close)

    def _match(self, inst: Instrument, bar: Bar,
               only: set[str] | None = None) -> list[VenueReport]:
        symbol, ts = inst.symbol, bar.ts_event
        book = self._open[symbol]
        if not book:
            return []
        # the records as this bar leaves them until a fill or a close writes them
        recs: dict[str, OrderRecord] = {}
        live: list[Order] = []
        for rec in sorted(book.values(), key=lambda r: r.seq):
            if only is not None and rec.client_order_id not in only:
                continue
            if rec.active_from is None and rec.after_ts < ts:
                rec = dataclasses.replace(rec, active_from=self._arrival(symbol, rec.after_ts,
                                                                         ts))
            recs[rec.client_order_id] = rec
            if rec.active_from is not None and ts >= rec.active_from:
                live.append(_kernel_order(inst, rec))
        matcher = self._matchers[symbol]
        if isinstance(self.config.slippage, RangeSlippage):
            matcher.slippage = self.config.slippage.bind(inst, _one_bar_series(inst, bar))
        tick = float(inst.tick_size)
        self._recs, self._reports = recs, []
        try:
            matcher.match(live, 0, ts, round(bar.open / tick), round(bar.high / tick),
                          round(bar.low / tick), bar.volume)
            reports = self._reports
        finally:
            self._recs, self._reports = {}, []
        # mechanics of the orders that rest on (activation, trigger, first day) are stored
        pending: list[OrderRecord] = []
        by_id = {o.id: o for o in live}
        for oid, rec in recs.items():
            order = by_id.get(oid)
            if order is not None:
                rec = dataclasses.replace(rec, triggered=order.triggered,
                                          first_day=order.first_day)
            if rec != book.get(oid):
                pending.append(rec)
        if pending:
            self._write(Change(orders=pending))
            for rec in pending:
                self._orders[rec.client_order_id] = rec
                if rec.client_order_id in book:
                    book[rec.client_order_id] = rec
        return reports

    def _arrival(self, symbol: str, after_ts: int, ts: int) -> int:
        """When an order accepted after the bar at ``after_ts`` reaches the venue, ``ts``
        being the first newer bar (see the module docstring: latency)."""
        late = ts + self._latency_ns
        bar_ns = self._bar_ns.get(symbol)
        if bar_ns is None or after_ts < 0:
            return late
        # from the decision bar's close; an over-estimated bar length never makes it later
        return min(late, max(ts, after_ts + bar_ns + self._latency_ns))

    def _matched(self, order: Order) -> OrderRecord:
        """The record of ``order`` as matching left it (it leaves the bar's pending set)."""
        rec = self._recs.pop(order.id, None) or self._orders[order.id]
        return dataclasses.replace(rec, triggered=order.triggered, first_day=order.first_day)

    def _on_fill(self, order: Order, i: int, ts: int, lots: int, fill_t: int, commission: int,
                 slippage: int, taker: bool, at_open: bool) -> None:
        rec = self._matched(order)
        if at_open:
            at_ts, ids = self._opened_at_open.get(order.symbol, (-1, set()))
            if at_ts != ts:
                ids = set()
                self._opened_at_open[order.symbol] = (ts, ids)
            ids.add(order.id)
        inst = self.instruments[rec.symbol]
        if rec.size_at_fill:  # the first fill sized the all-in order from the cash
            rec.quantity = inst.quantity(order.lots)
        self._reports += self._execute(inst, rec, lots, fill_t, commission, ts,
                                       "taker" if taker else "maker", at_open)
        order.filled_lots += lots
        move(order, rec.status)

    def _on_close(self, order: Order, status: OrderStatus, reason: str) -> None:
        ts = self._last_ts[order.symbol]
        self._reports += self._close_reports(self._matched(order), status, reason, ts)
        move(order, status, reason)

    def _execute(self, inst: Instrument, rec: OrderRecord, lots: int, fill_t: int,
                 commission_units: int, ts: int, liquidity: str,
                 at_open: bool = False) -> list[VenueReport]:
        qty, price = inst.quantity(lots), inst.price(fill_t)
        fee = inst.money(commission_units)
        sign = rec.side.sign
        cash = self._balances.get(inst.currency, Decimal(0)) - sign * qty * price - fee
        position = self._positions.get(rec.symbol, Decimal(0)) + sign * qty
        before = rec.status
        rec.filled_quantity += qty
        rec.notional += qty * price
        rec.commission_charged = True
        rec.status = ORDER_TRANSITIONS.check(
            before, OrderStatus.FILLED if rec.filled_quantity >= rec.quantity
            else OrderStatus.PARTIALLY_FILLED)
        rec.ts_updated = ts
        seq = self._fill_seq + 1
        fill = FillRecord(f"T{seq:08d}", seq, rec.client_order_id, rec.venue_order_id,
                          rec.symbol, rec.side, qty, price, fee, ts, liquidity,
                          rec.quantity if rec.size_at_fill else None, at_open)
        events = [OrderEvent(rec.client_order_id, ts, before, rec.status, "fill",
                             f"{fill.trade_id} {qty} @ {price}")]
        self._write(Change(orders=[rec], fills=[fill], balances={inst.currency: cash},
                           positions={rec.symbol: position}, events=events))
        self._fill_seq = seq
        self._fills.append(fill)
        self._balances[inst.currency] = cash
        self._positions[rec.symbol] = position
        self._remember(rec)
        reports: list[VenueReport] = [fill.report()]
        self._publish(reports)
        return reports

    # --- state changes -----------------------------------------------------------------
    def _close_reports(self, rec: OrderRecord, status: OrderStatus, reason: str,
                       ts: int) -> list[VenueReport]:
        new = self._close(rec, status, reason, ts, status.value)
        return [StatusReport(new.client_order_id, new.venue_order_id, status, reason, ts)]

    def _close(self, rec: OrderRecord, status: OrderStatus, reason: str, ts: int,
               cause: str) -> OrderRecord:
        new = dataclasses.replace(rec, status=ORDER_TRANSITIONS.check(rec.status, status),
                                  reason=reason, ts_updated=ts)
        event = OrderEvent(rec.client_order_id, ts, rec.status, status, cause, reason)
        self._write(Change(orders=[new], events=[event]))
        self._remember(new)
        self._publish([StatusReport(new.client_order_id, new.venue_order_id, status,
                                    reason, ts)])
        return new

    def _remember(self, rec: OrderRecord) -> None:
        self._orders[rec.client_order_id] = rec
        book = self._open[rec.symbol]
        if rec.status.is_open:
            book[rec.client_order_id] = rec
        else:
            book.pop(rec.client_order_id, None)

    def _write(self, change: Change) -> None:
        if self._store is not None:
            self._store.write(change)

    def _publish(self, reports: list[VenueReport]) -> None:
        for stream in self._streams:
            for report in reports:
                stream.queue.put_nowait(report)

    # --- helpers -----------------------------------------------------------------------
    def _tick(self, symbol: str) -> Decimal | None:
        inst = self.instruments.get(symbol)
        return None if inst is None else inst.tick_size

    def _invalid(self, r: OrderRequest) -> str:
        """Why the venue refuses ``r`` ("" when it accepts it)."""
        inst = self.instruments.get(r.symbol)
        if inst is None:
            return f"unknown symbol {r.symbol!r}"
        if not r.client_order_id:
            return "client_order_id must not be empty"
        if not r.quantity.is_finite() or r.quantity <= 0:
            return f"quantity must be > 0, got {r.quantity}"
        if r.quantity % inst.lot_size != 0:
            return f"quantity {r.quantity} is not a multiple of the lot size {inst.lot_size}"
        needs: list[tuple[str, Decimal | None]] = []
        if r.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            needs.append(("limit price", r.limit_price))
        if r.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            needs.append(("stop price", r.stop_price))
        for what, value in needs:
            if value is None:
                return f"a {r.order_type.value} order needs a {what}"
            if not value.is_finite() or value <= 0:
                return f"{what} must be > 0, got {value}"
            if value % inst.tick_size != 0:
                return f"{what} {value} is not a multiple of the tick size {inst.tick_size}"
        return ""


class _CashAccount:
    """One instrument's view of the venue's account for the matcher: the position in lots
    and the cash of its currency in money units (rounded down to a unit)."""

    __slots__ = ("_inst", "_venue")

    def __init__(self, venue: PaperVenue, inst: Instrument) -> None:
        self._venue, self._inst = venue, inst

    @property
    def position(self) -> int:
        return self._inst.to_lots(self._venue._positions.get(self._inst.symbol, Decimal(0)))

    @property
    def cash(self) -> int:
        cash = self._venue._balances.get(self._inst.currency, Decimal(0))
        return int((cash / self._inst.money_unit).to_integral_value(rounding=ROUND_FLOOR))


def _kernel_order(inst: Instrument, rec: OrderRecord) -> Order:
    """The matcher's (integer) view of an open record; built per bar, never stored."""
    lots = inst.to_lots(rec.quantity)
    return Order(
        id=rec.client_order_id, strategy=rec.strategy, symbol=rec.symbol, side=rec.side,
        lots=lots, order_type=rec.order_type,
        limit_ticks=None if rec.limit_price is None else inst.to_ticks(rec.limit_price),
        stop_ticks=None if rec.stop_price is None else inst.to_ticks(rec.stop_price),
        tif=rec.tif, reduce_only=rec.reduce_only, bracket=None, created_index=rec.seq,
        eligible_index=0, ts_init=rec.ts_accepted, status=rec.status,
        filled_lots=inst.to_lots(rec.filled_quantity), triggered=rec.triggered,
        first_day=rec.first_day, size_at_fill=rec.size_at_fill,
        max_lots=lots if rec.size_at_fill and rec.quantity_is_cap else None)


def _one_bar_series(inst: Instrument, bar: Bar | None) -> BarSeries:
    """A one-bar (or empty) series so the backtester's slippage models can be bound live."""
    values = [] if bar is None else [bar.open, bar.high, bar.low, bar.close, bar.volume]
    cols = [np.array(values[k:k + 1], dtype=np.float64) for k in range(5)]
    ts = np.array([] if bar is None else [bar.ts_event], dtype=np.int64)
    return BarSeries(inst, _ANY_TIMEFRAME, ts, *cols)

