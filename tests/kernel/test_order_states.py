"""move() and accept(): every status change of the kernel's mutable orders follows the table."""

from __future__ import annotations

import pytest

from trading_strategy.core.enums import OrderStatus, OrderType, Side, TimeInForce
from trading_strategy.core.fsm import IllegalTransition
from trading_strategy.core.orders import Order
from trading_strategy.kernel.order_states import ORDER_TRANSITIONS, accept, move

S = OrderStatus


def new(status: OrderStatus = S.CREATED) -> Order:
    return Order(id="o-1", strategy="s", symbol="X", side=Side.BUY, lots=1,
                 order_type=OrderType.MARKET, limit_ticks=None, stop_ticks=None,
                 tif=TimeInForce.GTC, reduce_only=False, bracket=None, created_index=0,
                 eligible_index=1, ts_init=0, status=status)


@pytest.mark.parametrize("start", list(OrderStatus))
@pytest.mark.parametrize("target", list(OrderStatus))
def test_move_follows_the_table_exactly(start: OrderStatus, target: OrderStatus) -> None:
    order = new(start)
    if ORDER_TRANSITIONS.allowed(start, target):
        move(order, target, "why")
        assert (order.status, order.reason) == (target, "why")
    else:
        with pytest.raises(IllegalTransition, match="o-1"):
            move(order, target, "why")
        assert (order.status, order.reason) == (start, "")


def test_accept_takes_a_new_order_only() -> None:
    order = new()
    accept(order)
    assert order.status is S.ACCEPTED
    with pytest.raises(IllegalTransition):
        accept(order)
    denied = new()
    move(denied, S.DENIED, "max_position: too big")
    with pytest.raises(IllegalTransition):
        accept(denied)
