"""The pre-trade gate and the trading state of every strategy and of the portfolio.

``RiskEngine.check`` answers one ``OrderIntent`` with a ``Verdict``. Rules run in this order;
the first refusal wins, size caps keep the smallest size:

1. the symbol is a configured instrument, tradable for the strategy (``tradable_symbols``,
   ``blocked_symbols``), and the order is for at least one lot;
2. the market is open (``enforce_market_hours``; see ``check``'s ``session_open``);
3. a limit price lies within the price collar of the last price;
4. trading state: when the portfolio or the strategy is HALTED or REDUCING, when the
   symbol's data is stale (``set_data_stale``), and for ``reduce_only`` orders, only orders
   that shrink the strategy's position pass; one that would reverse it is cut to the size
   that closes it (RESIZED), one that would open or grow it is refused;
5. orders that only shrink the strategy's position are accepted now: no cap, rate or count
   limit may stand in the way of reducing risk;
6. entries (orders that open, grow or reverse a position): max open orders, max orders per
   minute, then the size caps of ``limits`` (order notional, position % per strategy and per
   symbol, strategy exposure, gross exposure, leverage, buying power). An entry above a cap is
   cut to the largest size that fits (RESIZED; REJECTED when that is 0 or ``resize_to_fit`` is
   off).

Accepted and resized orders count as sent at ``ts_ns`` for the orders-per-minute limit (the
rate is folded into ``check``: call it only for orders you then send).

Orders are valued at the last price, else the intent's decision price, else its limit or stop
price; an entry with none of them is refused (``no_price``).

``on_equity`` feeds the loss limits (``trading_state``) and returns the state changes;
``rearm`` is the operator's way out of HALTED; ``set_data_stale`` is how the runtime passes on
the feed's verdict on an instrument's data (the engine never watches a feed itself). A
REDUCING scope whose day ended while only ``check`` was called is switched back to ACTIVE
inside ``check``; that event is returned by the next ``on_equity`` or ``drain_events``. The
engine is pure: no I/O, no clock, no logging.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from trading_strategy.core.bars import format_ts
from trading_strategy.core.enums import Side
from trading_strategy.core.errors import ConfigError
from trading_strategy.core.instrument import Calendar, Instrument
from trading_strategy.core.orders import OrderIntent
from trading_strategy.risk._units import PPM
from trading_strategy.risk.account import Account, AccountView
from trading_strategy.risk.limits import (
    PortfolioLimits,
    StrategyLimits,
    exposure_cap_lots,
    max_order_lots,
    outside_collar,
    position_cap_lots,
    rate_exceeded,
)
from trading_strategy.risk.position_sizing import SizeResult, SizingRules, size_order
from trading_strategy.risk.sessions import session_status
from trading_strategy.risk.settings import EffectiveRisk, RiskSettings
from trading_strategy.risk.stop_loss import StopRules, bracket_for_entry
from trading_strategy.risk.trading_state import LossLimits, ScopeState
from trading_strategy.risk.verdicts import (
    ReasonCode,
    TradingState,
    TradingStateChange,
    Verdict,
    accepted,
    rejected,
    resized,
)

_HALTED, _REDUCING = TradingState.HALTED, TradingState.REDUCING
_BUY = Side.BUY
_R = ReasonCode


def common_money_unit(instruments: Iterable[Instrument]) -> Decimal:
    """The largest amount of which every instrument's ``tick × lot`` is a whole multiple
    (their greatest common divisor): e.g. 0.01 and 0.000001 → 0.000001."""
    units = [inst.money_unit for inst in instruments]
    if not units:
        return Decimal("0.01")
    places = max(-int(u.normalize().as_tuple().exponent) for u in units)
    places = max(places, 0)
    scale = Decimal(10) ** places
    gcd = 0
    for unit in units:
        gcd = math.gcd(gcd, int(unit * scale))
    return (Decimal(gcd) / scale).normalize()


def _day_calendar(choice: str, instruments: Iterable[Instrument]) -> Calendar:
    if choice != "auto":
        return Calendar(choice)
    calendars = {inst.calendar for inst in instruments}
    if len(calendars) > 1:
        names = ", ".join(sorted(c.value for c in calendars))
        raise ConfigError(
            f"risk.day_calendar: the instruments follow several calendars ({names}); set "
            "risk.day_calendar to XNYS, FX or 24/7 to choose the daily-loss day boundary"
        )
    return calendars.pop() if calendars else Calendar.ALWAYS


class _Instrument:
    """An instrument's value factor and its cached market-session answer."""

    __slots__ = ("calendar", "factor", "open_from", "open_until", "session_open", "symbol")

    def __init__(self, instrument: Instrument, money_unit: Decimal) -> None:
        factor = instrument.money_unit / money_unit
        if factor != factor.to_integral_value() or factor < 1:
            raise ConfigError(
                f"instrument {instrument.symbol}: tick × lot {instrument.money_unit} is not a "
                f"whole multiple of the risk engine's money unit {money_unit}"
            )
        self.symbol = instrument.symbol
        self.calendar = instrument.calendar
        self.factor = int(factor)
        self.session_open = False
        self.open_from = 1  # empty cache: from > until
        self.open_until = 0

    def is_open(self, ts_ns: int) -> bool:
        if not self.open_from <= ts_ns < self.open_until:
            self.session_open, self.open_until = session_status(self.calendar, ts_ns)
            self.open_from = ts_ns
        return self.session_open


class RiskEngine:
    """The gate between strategies and venues (see the module docstring for the rules)."""

    def __init__(
        self,
        settings: RiskSettings,
        instruments: Mapping[str, Instrument],
        *,
        money_unit: Decimal | None = None,
    ) -> None:
        self.settings = settings
        self.money_unit = money_unit if money_unit is not None else common_money_unit(
            instruments.values())
        self._instruments = {sym: _Instrument(inst, self.money_unit)
                             for sym, inst in instruments.items()}
        self._specs = dict(instruments)
        self.day_calendar = _day_calendar(settings.day_calendar, instruments.values())
        self._portfolio_limits = PortfolioLimits.compile(settings, self.money_unit)
        top = settings.for_strategy(None)
        self._effective: dict[str | None, EffectiveRisk] = {None: top}
        self._default_limits = StrategyLimits.compile(top, self.money_unit)
        self._limits = {name: StrategyLimits.compile(self.settings_for(name), self.money_unit)
                        for name in settings.strategies}
        _refuse_unsizable([self.settings_for(None)] + [
            self.settings_for(name) for name in settings.strategies], instruments)
        self._portfolio = ScopeState(None, LossLimits.compile(top, self.money_unit),
                                     self.day_calendar, self.money_unit)
        self._scopes: dict[str, ScopeState] = {}
        self._sent: dict[str, deque[int]] = {}
        self._pending: list[TradingStateChange] = []
        self._stale: set[str] = set()

    # --- configuration views --------------------------------------------------------------
    def settings_for(self, strategy: str | None) -> EffectiveRisk:
        """The resolved settings of a strategy (``None``: the portfolio's top level)."""
        eff = self._effective.get(strategy)
        if eff is None:
            eff = self._effective[strategy] = self.settings.for_strategy(strategy)
        return eff

    def stop_rules(self, strategy: str) -> StopRules:
        return StopRules.from_settings(self.settings_for(strategy))

    def sizing_rules(self, strategy: str) -> SizingRules:
        return SizingRules.from_settings(self.settings_for(strategy))

    def size_entry(self, intent: OrderIntent, equity_units: int, price_ticks: int, *,
                   atr_ticks: float | None = None,
                   trade_returns: Sequence[float] = ()) -> SizeResult:
        """The size of an entry under its strategy's ``sizing_method`` (``strategy``: the
        intent's own lots). Every driver calls this before ``check`` for orders that open or
        grow a position, so a backtest and a session size alike.

        ``price_ticks`` and ``equity_units``: the decision price and the equity marked at it;
        the stop distance comes from the intent's bracket, else from the configured stop rules
        (ATR rules need ``atr_ticks``); ``trade_returns``: the strategy's closed trades'
        returns, oldest first, for Kelly (see ``position_sizing.size_order``)."""
        rules = self.sizing_rules(intent.strategy)
        if rules.method == "strategy":
            return size_order(rules, instrument=self._specs[intent.symbol],
                              equity_units=equity_units, price_ticks=price_ticks,
                              requested_lots=intent.lots)
        stop_distance = None
        if intent.bracket is not None and intent.bracket.stop_loss is not None:
            stop_distance = abs(price_ticks - intent.bracket.stop_loss)
        else:
            stops = self.stop_rules(intent.strategy)
            if stops.stop_loss_pct is not None or stops.stop_loss_atr_multiple:
                try:
                    planned = bracket_for_entry(stops, intent.side, price_ticks, atr_ticks)
                except ValueError:  # the ATR is not known yet
                    planned = None
                if planned is not None and planned.stop_loss is not None:
                    stop_distance = abs(price_ticks - planned.stop_loss)
        return size_order(rules, instrument=self._specs[intent.symbol],
                          equity_units=equity_units, price_ticks=price_ticks,
                          requested_lots=intent.lots, stop_distance_ticks=stop_distance,
                          trade_returns=trade_returns,
                          value_factor=self._instruments[intent.symbol].factor)

    def value_factor(self, symbol: str) -> int:
        """Money units per lot × tick of ``symbol`` (1 when it defines the money unit)."""
        return self._instruments[symbol].factor

    def new_account(self, *, equity: int = 0) -> Account:
        """An empty ``Account`` valuing positions with this engine's value factors."""
        return Account(equity=equity, value_factors={s: i.factor
                                                      for s, i in self._instruments.items()})

    # --- trading state --------------------------------------------------------------------
    def _scope(self, strategy: str | None) -> ScopeState:
        if strategy is None:
            return self._portfolio
        scope = self._scopes.get(strategy)
        if scope is None:
            limits = LossLimits.compile(self.settings_for(strategy), self.money_unit)
            scope = self._scopes[strategy] = ScopeState(strategy, limits, self.day_calendar,
                                                        self.money_unit)
        return scope

    def state(self, strategy: str | None) -> TradingState:
        """The scope's own state as of the last update (``None``: the portfolio)."""
        scope = self._portfolio if strategy is None else self._scopes.get(strategy)
        return TradingState.ACTIVE if scope is None else scope.state

    def effective_state(self, strategy: str) -> TradingState:
        """What the strategy may do: the stricter of its own and the portfolio's state."""
        states = (self.state(None), self.state(strategy))
        if _HALTED in states:
            return _HALTED
        return _REDUCING if _REDUCING in states else TradingState.ACTIVE

    def on_equity(self, ts_ns: int, strategy: str | None,
                  equity_units: int) -> list[TradingStateChange]:
        """Feed an equity figure (the portfolio's when ``strategy`` is None, else that
        strategy's own equity) and get the state changes it causes, oldest first."""
        events = self.drain_events()
        events.extend(self._scope(strategy).on_equity(ts_ns, equity_units))
        return events

    def halt(self, strategy: str | None, *, actor: str, ts_ns: int,
             note: str = "") -> TradingStateChange | None:
        """An operator halts a strategy (or the portfolio); ``None`` when already halted."""
        return self._scope(strategy).halt(actor, note, ts_ns)

    def rearm(self, strategy: str | None, *, actor: str,
              ts_ns: int) -> TradingStateChange | None:
        """An operator lifts a HALT; ``None`` when the scope is not halted."""
        scope = self._portfolio if strategy is None else self._scopes.get(strategy)
        return None if scope is None else scope.rearm(actor, ts_ns)

    def snapshot(self) -> dict[str, dict[str, object]]:
        """The loss-limit state of the portfolio and every strategy seen (plain data)."""
        data = {"": self._portfolio.snapshot()}
        data.update({name: scope.snapshot() for name, scope in self._scopes.items()})
        return data

    def restore(self, snapshot: dict[str, dict[str, object]]) -> None:
        """Continue from a ``snapshot`` taken before a restart (key "" is the portfolio)."""
        for name, data in snapshot.items():
            self._scope(None if name == "" else name).restore(data)

    def restore_halt(self, strategy: str | None, *, ts_ns: int,
                     message: str) -> TradingStateChange | None:
        """Re-impose a HALT recorded before a restart (``None`` if already halted)."""
        return self._scope(strategy).restore_halt(message, ts_ns)

    def drain_events(self) -> list[TradingStateChange]:
        """State changes made inside ``check`` (day rollovers) not yet returned."""
        events, self._pending = self._pending, []
        return events

    def _blocking(self, strategy: str, ts_ns: int) -> ScopeState | None:
        """The scope that restricts the strategy to reducing orders, HALTED first."""
        found: ScopeState | None = None
        for scope in (self._portfolio, self._scopes.get(strategy)):
            if scope is None:
                continue
            state = scope.state
            if state is _REDUCING and ts_ns >= scope.reducing_until:
                rolled = scope.expire(ts_ns)
                if rolled is not None:
                    self._pending.append(rolled)
                state = scope.state
            if state is _HALTED:
                return scope
            if state is _REDUCING and found is None:
                found = scope
        return found

    # --- data health ----------------------------------------------------------------------
    def set_data_stale(self, symbol: str, stale: bool) -> None:
        """Mark ``symbol``'s market data stale (the feed's STALE event) or trusted again
        (RESTORED). While stale, orders that would open, grow or reverse a position on it are
        refused (``data_stale``): they would be decided on prices nobody can vouch for.
        Orders that shrink a position still pass: getting out must never wait for data."""
        if stale:
            self._stale.add(symbol)
        else:
            self._stale.discard(symbol)

    def is_data_stale(self, symbol: str) -> bool:
        return symbol in self._stale

    @property
    def stale_symbols(self) -> frozenset[str]:
        """Symbols whose data is marked stale now (status pages, metrics)."""
        return frozenset(self._stale)

    # --- the gate -------------------------------------------------------------------------
    def check(self, intent: OrderIntent, account: AccountView, ts_ns: int, *,
              session_open: bool | None = None) -> Verdict:
        """The verdict on ``intent`` at ``ts_ns`` (UTC ns).

        ``session_open``: ``None`` decides market hours from the instrument's calendar at
        ``ts_ns``. Drivers on daily (or slower) bars pass ``True``: their timestamps are session
        dates at UTC midnight, when no market is open, and their orders fill at the next bar's
        open, which the data shows was a session.
        """
        symbol = intent.symbol
        inst = self._instruments.get(symbol)
        if inst is None:
            return rejected(_R.UNKNOWN_INSTRUMENT, f"{symbol} is not a configured instrument")
        strategy = intent.strategy
        lim = self._limits.get(strategy, self._default_limits)
        if symbol in lim.blocked or (lim.tradable is not None and symbol not in lim.tradable):
            return rejected(_R.NOT_TRADABLE, f"{symbol} is not tradable for strategy "
                            f"{strategy} (tradable_symbols / blocked_symbols)")
        lots = intent.lots
        if lots <= 0:
            return rejected(_R.ZERO_SIZE, f"order size is {lots} lots: nothing to trade")
        pl = self._portfolio_limits
        if pl.market_hours and not (inst.is_open(ts_ns) if session_open is None
                                    else session_open):
            return rejected(_R.MARKET_CLOSED, f"{symbol} market ({inst.calendar.value}) is "
                            f"closed at {format_ts(ts_ns)}")
        last = account.last_price(symbol)
        limit_ticks = intent.limit_ticks
        if lim.collar_ppm is not None and limit_ticks is not None:
            if last is None:
                return rejected(_R.NO_PRICE, f"no last price for {symbol} to check the "
                                "limit price against the price collar")
            if outside_collar(limit_ticks, last, lim.collar_ppm):
                pct = self.settings_for(strategy).price_collar_pct
                return rejected(_R.PRICE_COLLAR, f"limit price {limit_ticks} ticks is more "
                                f"than {pct:g}% from the last price {last} ticks")
        sign = 1 if intent.side is _BUY else -1
        pos = account.position(strategy, symbol)
        held = pos if pos >= 0 else -pos
        against = pos * sign < 0
        cut: ReasonCode | None = None
        why = ""
        if not against or lots > held:  # opens, grows or reverses the position
            blocking = self._blocking(strategy, ts_ns)
            stale = symbol in self._stale
            if blocking is not None or stale or intent.reduce_only:
                cut, why = _restriction(blocking, symbol if stale else None)
                if not against:
                    return rejected(cut, f"{why}: {intent.side.value} {lots} {symbol} would "
                                    f"open or grow the position ({pos} lots)")
                lots = held  # a reversal is cut to the size that closes the position
        if against and lots <= held:  # only shrinks the position (now)
            self._record(strategy, lim, ts_ns)
            if cut is None:
                return accepted(lots)
            return resized(lots, cut, f"{why}: cut from {intent.lots} to {lots} lots to close "
                           f"the {symbol} position without reversing it")
        return self._check_entry(intent, account, ts_ns, inst, lim, last, sign, pos)

    def _check_entry(self, intent: OrderIntent, account: AccountView, ts_ns: int,
                     inst: _Instrument, lim: StrategyLimits, last: int | None, sign: int,
                     pos: int) -> Verdict:
        """Rule 6: an order that opens, grows or reverses the strategy's position."""
        strategy = intent.strategy
        lots = intent.lots
        if lim.max_open_orders is not None:
            count = account.open_orders(strategy)
            if count >= lim.max_open_orders:
                return rejected(_R.MAX_OPEN_ORDERS, f"strategy {strategy} has {count} open "
                                f"orders (max_open_orders {lim.max_open_orders})")
        if lim.orders_per_minute is not None:
            sent = self._sent.get(strategy)
            if sent is not None and rate_exceeded(sent, ts_ns):
                return rejected(_R.ORDER_RATE, f"strategy {strategy} already sent "
                                f"{lim.orders_per_minute} orders in the last minute "
                                "(max_orders_per_minute)")
        price = last
        if price is None:
            price = intent.decision_ticks or intent.limit_ticks or intent.stop_ticks
        if price is None or price <= 0:
            return rejected(_R.NO_PRICE, f"no price to value {intent.symbol}: no last price, "
                            "decision, limit or stop price")
        cap, code, portfolio_wide = self._size_cap(strategy, intent.symbol, inst, lim, sign,
                                                   pos, price, account)
        allowed = lots
        if cap is not None and cap < lots:
            allowed = cap
        else:
            code = None
        pl = self._portfolio_limits
        if code is None:
            self._record(strategy, lim, ts_ns)
            return accepted(lots)
        message = self._cap_message(intent, code, allowed, portfolio_wide)
        if allowed <= 0 or not pl.resize_to_fit:
            return rejected(code, message)
        self._record(strategy, lim, ts_ns)
        return resized(allowed, code, message)

    def _size_cap(self, strategy: str, symbol: str, inst: _Instrument, lim: StrategyLimits,
                  sign: int, pos: int, price: int,
                  account: AccountView) -> tuple[int | None, ReasonCode | None, bool]:
        """The largest order (lots) the size caps allow at ``price``, the cap that binds and
        whether it is portfolio-wide; ``(None, None, False)`` when no size cap is set. The
        smallest cap wins; on a tie the first in rule order."""
        per_lot = price * inst.factor  # money units per lot
        equity = account.equity
        # (lots, reason, portfolio-wide) of each cap set, in rule order: the first smallest
        # wins (a list rather than a closure per call: this runs on every entry)
        caps: list[tuple[int, ReasonCode, bool]] = []
        if lim.order_notional_units is not None:
            caps.append((lim.order_notional_units // per_lot, _R.MAX_ORDER_NOTIONAL, False))
        if lim.position_ppm is not None:
            caps.append((max_order_lots(pos, sign, position_cap_lots(
                equity, lim.position_ppm, per_lot)), _R.MAX_POSITION, False))
        held = pos if pos >= 0 else -pos
        if lim.exposure_ppm is not None:
            other = account.strategy_exposure(strategy) - held * per_lot
            cap = equity * lim.exposure_ppm // PPM if equity > 0 else 0
            caps.append((max_order_lots(pos, sign, exposure_cap_lots(cap, other, per_lot)),
                         _R.MAX_STRATEGY_EXPOSURE, False))
        pl = self._portfolio_limits
        # portfolio caps see every strategy's |position|; only this strategy's term moves, so
        # each cap becomes a cap on |pos + order| after the other strategies' share
        if pl.symbol_position_ppm is not None:
            others = account.gross_position(symbol) - held
            cap_lots = position_cap_lots(equity, pl.symbol_position_ppm, per_lot) - others
            caps.append((max_order_lots(pos, sign, cap_lots), _R.MAX_POSITION, True))
        if pl.has_gross_caps:
            other = account.gross_exposure() - held * per_lot
            e = equity if equity > 0 else 0
            if pl.gross_units is not None:
                caps.append((max_order_lots(pos, sign, exposure_cap_lots(
                    pl.gross_units, other, per_lot)), _R.MAX_GROSS_EXPOSURE, False))
            if pl.leverage_ppm is not None:
                cap = e * pl.leverage_ppm // PPM
                caps.append((max_order_lots(pos, sign, exposure_cap_lots(cap, other, per_lot)),
                             _R.MAX_LEVERAGE, False))
            if pl.margin_ppm is not None:
                cap = e * PPM // pl.margin_ppm
                caps.append((max_order_lots(pos, sign, exposure_cap_lots(cap, other, per_lot)),
                             _R.INSUFFICIENT_MARGIN, False))
        if not caps:
            return None, None, False
        best = caps[0]
        for candidate in caps[1:]:
            if candidate[0] < best[0]:
                best = candidate
        return best

    def fill_cap(self, strategy: str, symbol: str, side: Side, account: AccountView,
                 price_ticks: int) -> tuple[int | None, ReasonCode | None]:
        """The size caps again, at the price a fill is about to happen at: the largest number
        of lots the fill may have (``None``: no size cap is set) and the cap that binds.

        ``check`` values an order at the last price when it is decided; a market order fills
        later, at a price that may have gapped, so a driver that knows the fill price before
        booking the fill (the backtest's simulated venue) cuts it here. ``account`` must hold
        the position *before* the fill and the equity marked at ``price_ticks``. An order that
        only shrinks the position is never capped (reducing risk is always allowed)."""
        inst = self._instruments.get(symbol)
        if inst is None or price_ticks <= 0:
            return None, None
        lim = self._limits.get(strategy, self._default_limits)
        sign = 1 if side is _BUY else -1
        pos = account.position(strategy, symbol)
        cap, code, _ = self._size_cap(strategy, symbol, inst, lim, sign, pos, price_ticks,
                                      account)
        return cap, code

    def _cap_message(self, intent: OrderIntent, code: ReasonCode, allowed: int,
                     portfolio_wide: bool) -> str:
        eff = self.settings_for(intent.strategy)
        top = self.settings
        position_pct = top.max_position_pct if portfolio_wide else eff.max_position_pct
        where = "portfolio-wide " if portfolio_wide else ""
        limit = {
            _R.MAX_ORDER_NOTIONAL: f"max_order_notional {eff.max_order_notional}",
            _R.MAX_POSITION: f"{where}max_position_pct {position_pct or 0:g}% of equity",
            _R.MAX_STRATEGY_EXPOSURE: f"max_strategy_exposure_pct "
                                      f"{eff.max_strategy_exposure_pct or 0:g}% of equity",
            _R.MAX_GROSS_EXPOSURE: f"max_gross_exposure {top.max_gross_exposure}",
            _R.MAX_LEVERAGE: f"max_leverage {top.max_leverage or 0:g}",
            _R.INSUFFICIENT_MARGIN: f"buying power at initial_margin_pct "
                                    f"{top.initial_margin_pct:g}%",
        }[code]
        head = f"{intent.side.value} {intent.lots} {intent.symbol} exceeds {limit}"
        if allowed <= 0:
            return f"{head}; no {intent.side.value} is allowed now"
        return f"{head}; at most {allowed} lots allowed"

    def _record(self, strategy: str, lim: StrategyLimits, ts_ns: int) -> None:
        if lim.orders_per_minute is not None:
            sent = self._sent.get(strategy)
            if sent is None:
                sent = self._sent[strategy] = deque(maxlen=lim.orders_per_minute)
            sent.append(ts_ns)


def _refuse_unsizable(effective: list[EffectiveRisk],
                     instruments: Mapping[str, Instrument]) -> None:
    """Settings under which no entry could ever pass are refused at start-up: every order
    would be rejected while the run looks healthy (exit 0, no trades). Checks that need the
    instruments; the settings model checks the rest (e.g. a Kelly prior with no edge).

    ``blocked_symbols`` covering every instrument is allowed: blocking is a deliberate stop
    (an operator's), while a ``tradable_symbols`` list that names none of the instruments is
    a typo or the wrong file."""
    if not instruments:
        return
    problems = []
    for eff in effective:
        key = "risk." if eff.strategy is None else f"risk.strategies.{eff.strategy}."
        usable = [sym for sym in instruments if sym not in eff.blocked_symbols and (
            eff.tradable_symbols is None or sym in eff.tradable_symbols)]
        if eff.tradable_symbols is not None and not set(eff.tradable_symbols) & set(
                instruments):
            names = ", ".join(sorted(instruments))
            problems.append(f"{key}tradable_symbols: names none of the configured instruments "
                            f"({names}); every order would be refused")
        elif eff.sizing_method == "fixed_quantity" and eff.fixed_quantity is not None and all(
                instruments[sym].to_lots(eff.fixed_quantity) <= 0 for sym in usable):
            lots = ", ".join(f"{sym} {instruments[sym].lot_size}" for sym in sorted(usable))
            problems.append(f"{key}fixed_quantity: {eff.fixed_quantity} is less than one lot "
                            f"({lots}); every order would be 0 lots")
    if problems:
        raise ConfigError("\n".join(problems))


def _restriction(blocking: ScopeState | None,
                 stale_symbol: str | None = None) -> tuple[ReasonCode, str]:
    """Why only reducing orders pass: the blocking scope's state (a halt outranks stale
    data: it needs an operator), stale data on the symbol, or a reduce-only flag."""
    if blocking is None or (stale_symbol is not None and blocking.state is not _HALTED):
        if stale_symbol is not None:
            return _R.DATA_STALE, (f"{stale_symbol} market data is stale (no trusted update "
                                   "from any provider): no new entries until it is restored")
        return _R.REDUCE_ONLY, "reduce-only order"
    label = "portfolio" if blocking.scope is None else f"strategy {blocking.scope}"
    if blocking.state is _HALTED:
        return _R.HALTED, f"{label} is halted (max drawdown) until an operator re-arms it"
    return _R.REDUCING, f"{label} may only reduce positions today (daily loss limit)"
