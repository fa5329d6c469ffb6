"""The compiled simulation: the event-driven engine's rules for market orders, in numba.

One call runs one parameter point over every bar, in integers as the engine does (prices in
ticks, sizes in lots, money in tick × lot units). Per bar *i*, exactly as
``BacktestEngine.run`` with ``Matcher`` and ``Ledger``:

1. **matching**: the market orders decided at *i - 1* fill at bar *i*'s open, in the order
   they were placed (slippage away from the open, never to zero; a reduce-only order fills
   at most the opposite position; an all-in order is sized again from the cash at the fill
   price, never above the size the gate allowed; a buy the cash does not pay is rejected),
   then the protective stop of the open trade (a resting sell stop: the open when it gapped
   through, else the stop when the low reaches it); a stop created by a fill at this open
   is live for the rest of the bar. A fill that leaves the position flat, or ends the trade,
   cancels the stop and, flat, any reduce-only order still waiting;
2. **equity**: cash plus position at the close;
3. **decision** on the close (the strategy's signals, ``declaration``): close the position
   when its exit signal is on, then enter when the entry signal is on and the position is
   not already on that side, each order through the gate (the open gate, or the risk gate
   with the default rules the plan allows: buying power at the decision price, the margin
   cap, market hours).

Anything these rules do not cover (a partial fill, amounts near the int64 range) returns a
status other than ``OK``: the caller runs that point through the engine instead.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trading_strategy.research.fastpath.codes import (
    C_CASH,
    C_CHECK_CASH,
    C_FIXED_LOTS,
    C_MARGIN_PPM,
    C_RESIZE,
    C_RISK,
    C_SIZE_KIND,
    COMM_PER_UNIT,
    COMM_PERCENT,
    K_COMM,
    K_DEN,
    K_MIN,
    K_NUM,
    K_SDEN,
    K_SLIP,
    K_SNUM,
    LIMIT,
    LONG_ENTRY,
    LONG_EXIT,
    OK,
    OVERFLOW,
    PPM,
    SHORT_ENTRY,
    SHORT_EXIT,
    SIZE_ALL_IN,
    SLIP_BPS,
    SLIP_PER_BAR,
    T_COMM,
    T_DIR,
    T_ENTRY_BAR,
    T_ENTRY_LOTS,
    T_ENTRY_VALUE,
    T_EXIT_BAR,
    T_EXIT_LOTS,
    T_EXIT_VALUE,
    UNSUPPORTED,
)

# state indices
_CASH, _POS, _TI, _NT, _NF, _COMM, _SLIP, _TRADED = range(8)


@njit(cache=True, nogil=True)
def commission(costs: np.ndarray, lots: int, ticks: int, first: bool) -> int:
    """``kernel.costs``' bound commission functions, the same integer formulas."""
    kind: int = costs[K_COMM]
    num: int = costs[K_NUM]
    den: int = costs[K_DEN]
    minimum: int = costs[K_MIN]
    if kind == COMM_PERCENT:
        return (lots * ticks * num * 2 + den) // (2 * den)
    if kind == COMM_PER_UNIT:
        fee = (lots * num * 2 + den) // (2 * den)
        return fee if fee > minimum else minimum
    return minimum if first else 0


@njit(cache=True, nogil=True)
def slippage(costs: np.ndarray, slip_bar: np.ndarray, ref: int, i: int) -> int:
    kind: int = costs[K_SLIP]
    if kind == SLIP_BPS:
        num: int = costs[K_SNUM]
        den: int = costs[K_SDEN]
        return -((-ref * num) // den)
    if kind == SLIP_PER_BAR:
        per_bar: int = slip_bar[i]
        return per_bar
    return 0


@njit(cache=True, nogil=True)
def affordable_lots(costs: np.ndarray, budget: int, price: int) -> int:
    """``kernel.intents.affordable_lots``."""
    if budget <= 0 or price <= 0:
        return 0
    lots = budget // price
    for _ in range(4):
        if lots * price + commission(costs, lots, price, True) <= budget:
            break
        lots = max(0, (budget - commission(costs, lots, price, True)) // price)
    while lots > 0 and lots * price + commission(costs, lots, price, True) > budget:
        lots -= 1
    return lots


@njit(cache=True, nogil=True)
def all_in_lots(costs: np.ndarray, buy: bool, position: int, cash: int, price: int) -> int:
    """``kernel.intents.all_in_lots``."""
    if position != 0 and (position > 0) != buy:
        return abs(position)
    budget = cash if buy else cash + position * price
    return affordable_lots(costs, budget, price)


@njit(cache=True, nogil=True)
def _book(st: np.ndarray, trades: np.ndarray, fills: np.ndarray, sign: int, lots: int,
          ticks: int, fee: int, slip_units: int, i: int, stop: int) -> bool:
    """``Ledger.apply_fill`` plus the fill record; True when the open trade changed."""
    value = lots * ticks
    st[_CASH] -= sign * value + fee
    st[_COMM] += fee
    st[_SLIP] += slip_units
    st[_TRADED] += value
    nf = st[_NF]
    fills[nf, 0] = i
    fills[nf, 1] = sign
    fills[nf, 2] = lots
    fills[nf, 3] = ticks
    fills[nf, 4] = fee
    fills[nf, 5] = slip_units
    fills[nf, 6] = stop
    st[_NF] = nf + 1
    position = st[_POS]
    before: int = st[_TI]
    if position == 0 or (position > 0) == (sign > 0):
        ti = st[_TI]
        if ti < 0:
            ti = st[_NT]
            st[_NT] = ti + 1
            st[_TI] = ti
            trades[ti, T_DIR] = sign
            trades[ti, T_ENTRY_BAR] = i
            trades[ti, T_EXIT_BAR] = -1
        trades[ti, T_ENTRY_LOTS] += lots
        trades[ti, T_ENTRY_VALUE] += value
        trades[ti, T_COMM] += fee
    else:
        ti = st[_TI]
        held = position if position > 0 else -position
        closing = lots if lots < held else held
        opening = lots - closing
        close_fee = fee * closing // lots
        trades[ti, T_EXIT_LOTS] += closing
        trades[ti, T_EXIT_VALUE] += closing * ticks
        trades[ti, T_COMM] += close_fee
        if trades[ti, T_ENTRY_LOTS] - trades[ti, T_EXIT_LOTS] == 0:
            trades[ti, T_EXIT_BAR] = i
            st[_TI] = -1
        if opening:
            new = st[_NT]
            st[_NT] = new + 1
            st[_TI] = new
            trades[new, T_DIR] = sign
            trades[new, T_ENTRY_BAR] = i
            trades[new, T_EXIT_BAR] = -1
            trades[new, T_ENTRY_LOTS] = opening
            trades[new, T_ENTRY_VALUE] = opening * ticks
            trades[new, T_COMM] = fee - close_fee
    st[_POS] = position + sign * lots
    after: int = st[_TI]
    return after != before


@njit(cache=True, nogil=True)
def simulate(open_t: np.ndarray, high_t: np.ndarray, low_t: np.ndarray,
             close_t: np.ndarray, flags: np.ndarray, stop_t: np.ndarray,
             allowed: np.ndarray, slip_bar: np.ndarray, cfg: np.ndarray,
             costs: np.ndarray, equity_out: np.ndarray, pos_out: np.ndarray,
             trades: np.ndarray, fills: np.ndarray, st: np.ndarray) -> int:
    """Run one point; fills ``equity_out``/``pos_out`` per bar, ``trades``/``fills`` rows
    and ``st`` (cash, position, open trade, trade count, fill count, commission,
    slippage, traded value). Returns ``OK`` or why the engine must run this point."""
    n = close_t.shape[0]
    risk = cfg[C_RISK] == 1
    check_cash = cfg[C_CHECK_CASH] == 1
    margin_ppm = cfg[C_MARGIN_PPM]
    resize = cfg[C_RESIZE] == 1
    size_kind = cfg[C_SIZE_KIND]
    fixed_lots = cfg[C_FIXED_LOTS]
    st[:] = 0
    st[_CASH] = cfg[C_CASH]
    st[_TI] = -1
    # market orders waiting for the next open (at most a close and an entry per bar)
    p_sign = np.zeros(2, np.int64)
    p_lots = np.zeros(2, np.int64)
    p_reduce = np.zeros(2, np.bool_)
    p_allin = np.zeros(2, np.bool_)
    p_max = np.zeros(2, np.int64)
    p_stop = np.zeros(2, np.int64)
    p_open = np.zeros(2, np.bool_)
    n_pending = 0
    # the open trade's protective stop (reduce-only, GTC)
    x_on = False
    x_sign = 0
    x_lots = 0
    x_stop = 0
    for i in range(n):
        o = open_t[i]
        fresh = False
        for k in range(n_pending):
            if not p_open[k]:
                continue
            p_open[k] = False  # filled, cancelled or rejected at this bar
            sign = p_sign[k]
            slip = slippage(costs, slip_bar, o, i)
            fill = o + sign * slip
            if fill <= 0:
                fill = o
                slip = 0
            position = st[_POS]
            cash = st[_CASH]
            lots = p_lots[k]
            if p_reduce[k]:
                if position * sign < 0:
                    held = position if position > 0 else -position
                    lots = lots if lots < held else held
                else:
                    lots = 0
            else:
                if p_allin[k]:
                    lots = all_in_lots(costs, sign > 0, position, cash, fill)
                    if p_max[k] >= 0 and p_max[k] < lots:
                        lots = p_max[k]
                    p_lots[k] = lots
                if sign > 0:
                    fee = commission(costs, lots, fill, True)
                    covering = 0
                    if position < 0:
                        covering = lots if lots < -position else -position
                    opening = lots - covering
                    left = cash - covering * fill
                    if opening and opening * fill + fee > left:
                        if not p_allin[k]:
                            lots = 0
                        else:
                            lots = covering + affordable_lots(costs, left, fill)
            if lots <= 0:
                continue
            if lots < p_lots[k]:
                return UNSUPPORTED  # a partial fill: the rest would wait for the next bar
            fee = commission(costs, lots, fill, True)
            if lots * fill >= LIMIT:
                return OVERFLOW
            changed = _book(st, trades, fills, sign, lots, fill, fee, slip * lots, i, 0)
            position = st[_POS]
            if position == 0 or changed:
                x_on = False
                if position == 0:
                    for m in range(k + 1, n_pending):
                        if p_reduce[m]:
                            p_open[m] = False
            before = position - sign * lots
            reversed_ = before != 0 and (position > 0) != (before > 0) and position != 0
            now = position if position > 0 else -position
            was = before if before > 0 else -before
            opened = now if reversed_ else max(0, now - was)
            if opened and not p_reduce[k] and p_stop[k] > 0:
                if x_on:
                    return UNSUPPORTED
                x_on = True
                x_sign = -sign
                x_lots = opened
                x_stop = p_stop[k]
                fresh = True
        n_pending = 0
        # the stop: after the market orders (main pass), or once more for a fresh one
        for rounds in range(2):
            if not x_on or (rounds == 0 and fresh) or (rounds == 1 and not fresh):
                continue
            h = high_t[i]
            low = low_t[i]
            price = -1
            if x_sign > 0:
                if o >= x_stop:
                    price = o
                elif h >= x_stop:
                    price = x_stop
            else:
                if o <= x_stop:
                    price = o
                elif low <= x_stop:
                    price = x_stop
            if price < 0:
                continue
            slip = slippage(costs, slip_bar, price, i)
            fill = price + x_sign * slip
            if fill <= 0:
                fill = price
                slip = 0
            position = st[_POS]
            lots = 0
            if position * x_sign < 0:
                held = position if position > 0 else -position
                lots = x_lots if x_lots < held else held
            x_on = False
            if lots <= 0:
                continue  # nothing left to reduce: cancelled
            if lots < x_lots:
                return UNSUPPORTED
            fee = commission(costs, lots, fill, True)
            _book(st, trades, fills, x_sign, lots, fill, fee, slip * lots, i, 1)
        position = st[_POS]
        cash = st[_CASH]
        close = close_t[i]
        equity = cash + position * close
        equity_out[i] = equity
        pos_out[i] = position
        if cash >= LIMIT or cash <= -LIMIT or equity >= LIMIT or equity <= -LIMIT:
            return OVERFLOW
        if i == n - 1:
            break  # orders decided on the last bar never reach a bar to fill on
        f = flags[i]
        if f == 0:
            continue
        # the strategy's decisions, each through the gate, in the order it places them
        for step in range(2):
            sign = 0
            lots = 0
            reduce = False
            if step == 0:
                if position > 0 and f & LONG_EXIT:
                    sign, lots, reduce = -1, position, True
                elif position < 0 and f & SHORT_EXIT:
                    sign, lots, reduce = 1, -position, True
            else:
                if f & LONG_ENTRY and position <= 0:
                    sign = 1
                elif f & SHORT_ENTRY and position >= 0:
                    sign = -1
            if sign == 0:
                continue
            stop = 0
            if not reduce and sign > 0:
                stop = stop_t[i]
                if stop < 0:
                    return UNSUPPORTED  # a stop price under one tick: the engine raises
            allin = False
            if not reduce:
                if size_kind == SIZE_ALL_IN:
                    allin = True
                    lots = all_in_lots(costs, sign > 0, position, cash, close)
                else:
                    lots = fixed_lots
            max_lots = -1
            if lots <= 0:
                continue  # zero_size
            if risk:
                projected = position
                for m in range(n_pending):
                    if not p_open[m]:
                        continue
                    if p_reduce[m]:
                        held = projected if projected > 0 else -projected
                        if projected * p_sign[m] < 0:
                            projected += p_sign[m] * (p_lots[m] if p_lots[m] < held else held)
                    else:
                        projected += p_sign[m] * p_lots[m]
                if check_cash and sign > 0 and position >= 0 and not reduce and close != 0 \
                        and lots * close > cash:
                    continue  # insufficient_cash
                if not allowed[i]:
                    continue  # market_closed
                held = projected if projected > 0 else -projected
                against = projected * sign < 0
                if (not against or lots > held) and reduce:
                    if not against:
                        continue  # nothing to reduce
                    lots = held
                    max_lots = held
                if not (against and lots <= held) and margin_ppm > 0:
                    e = equity if equity > 0 else 0
                    cap_lots = (e * PPM // margin_ppm) // close
                    if projected * sign >= 0:
                        cap = cap_lots - held
                    else:
                        cap = held + (cap_lots if cap_lots > 0 else 0)
                    if cap < lots:
                        if cap <= 0 or not resize:
                            continue  # insufficient margin
                        lots = cap
                        max_lots = cap
            p_sign[n_pending] = sign
            p_lots[n_pending] = lots
            p_reduce[n_pending] = reduce
            p_allin[n_pending] = allin
            p_max[n_pending] = max_lots
            p_stop[n_pending] = stop
            p_open[n_pending] = True
            n_pending += 1
    return OK
