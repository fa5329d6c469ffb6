"""Cash, position and round-trip trades of one instrument, from fills only (pure, exact).

Everything is integer: prices in ticks, quantities in lots, money in units of tick × lot,
so cash and P&L never drift. A *trade* runs from flat to flat; adding to a position extends
it, a fill that reverses the position closes it and opens the next one (its commission is
split in proportion to the lots on each side, remainder to the new trade).

A trade's P&L is ``direction × (exit value − entry value) − commission``; an open trade is
marked at a given price for its remaining lots.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TradeRecord:
    direction: int  # +1 long, -1 short
    entry_ts: int
    entry_bar: int
    entry_lots: int = 0
    entry_value: int = 0  # sum of lots × ticks on entry fills
    exit_lots: int = 0
    exit_value: int = 0
    commission: int = 0
    exit_ts: int | None = None
    exit_bar: int | None = None

    @property
    def is_open(self) -> bool:
        return self.exit_ts is None

    @property
    def open_lots(self) -> int:
        return self.entry_lots - self.exit_lots

    def pnl(self, mark_ticks: int | None = None) -> int:
        """Net P&L in money units; open lots marked at ``mark_ticks``."""
        exit_value = self.exit_value
        if self.open_lots:
            if mark_ticks is None:
                raise ValueError("an open trade needs a mark price")
            exit_value += self.open_lots * mark_ticks
        return self.direction * (exit_value - self.entry_value) - self.commission


class Ledger:
    __slots__ = (
        "cash",
        "commission",
        "open_trade",
        "position",
        "slippage",
        "traded_value",
        "trades",
    )

    def __init__(self, cash: int) -> None:
        self.cash = cash
        self.position = 0
        self.commission = 0
        self.slippage = 0
        self.traded_value = 0
        self.trades: list[TradeRecord] = []
        self.open_trade: TradeRecord | None = None

    def equity(self, mark_ticks: int) -> int:
        return self.cash + self.position * mark_ticks

    def apply_fill(
        self,
        sign: int,
        lots: int,
        ticks: int,
        commission: int,
        slippage: int,
        ts: int,
        bar: int,
    ) -> None:
        value = lots * ticks
        self.cash -= sign * value + commission
        self.commission += commission
        self.slippage += slippage
        self.traded_value += value
        position = self.position
        trade = self.open_trade
        if position == 0 or (position > 0) == (sign > 0):
            if trade is None:
                trade = self._open(sign, ts, bar)
            trade.entry_lots += lots
            trade.entry_value += value
            trade.commission += commission
        else:
            assert trade is not None
            closing = min(lots, abs(position))
            opening = lots - closing
            close_commission = commission * closing // lots
            trade.exit_lots += closing
            trade.exit_value += closing * ticks
            trade.commission += close_commission
            if trade.open_lots == 0:
                trade.exit_ts = ts
                trade.exit_bar = bar
                self.open_trade = None
            if opening:
                new = self._open(sign, ts, bar)
                new.entry_lots = opening
                new.entry_value = opening * ticks
                new.commission = commission - close_commission
        self.position = position + sign * lots

    def closed_returns(self, into: list[float]) -> list[float]:
        """``into`` extended with the return (P&L / entry value) of every trade closed since
        it was last extended, oldest first: what a Kelly sizer learns its win rate and payoff
        ratio from. Incremental, since only the last trade can still be open."""
        trades = self.trades
        while len(into) < len(trades) and not trades[len(into)].is_open:
            trade = trades[len(into)]
            into.append(trade.pnl() / trade.entry_value if trade.entry_value else 0.0)
        return into

    def _open(self, sign: int, ts: int, bar: int) -> TradeRecord:
        trade = TradeRecord(direction=sign, entry_ts=ts, entry_bar=bar)
        self.trades.append(trade)
        self.open_trade = trade
        return trade
