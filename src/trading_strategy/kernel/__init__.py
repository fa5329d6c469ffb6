"""The trading kernel: synchronous, deterministic, I/O-free rules that decide orders.

Every driver (the backtest engine over numpy columns, the asyncio session runtime, the paper
venue) calls these modules rather than keeping its own copy:

* ``order_states`` — the order life: the one transition table and ``move``;
* ``gate`` — the pre-trade decision (projected position, ATR warm-up, sizing method, the
  risk engine's verdict);
* ``protections`` — an entry's exits (strategy bracket, fixed % or ATR stop and target),
  trailing moves, time exits, what a trading-state change cancels or flattens, the O(1) ATR;
* ``exits`` — which protective exits exist, their one-cancels-other pairing and what to
  cancel when a fill or a flat position ends them;
* ``matching`` — the simulated venue's matcher for one instrument and bar (ordering within
  the bar, triggering, TIF, slippage, volume cap, reduce-only, cash at the fill, all-in
  sizing at the fill), used by the backtest and the paper venue alike;
* ``fills``, ``costs``, ``live_slippage`` — fill-price rules and cost models;
* ``intents``, ``sizing`` — exact order prices and sizes, the run's default size.

The kernel imports only ``core``, ``strategies`` (indicator maths), ``risk`` and
``portfolio``; nothing here touches a socket, file or database (an import contract checks it).
"""
