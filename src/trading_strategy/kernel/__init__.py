"""The trading kernel: synchronous, deterministic, I/O-free rules that decide orders.

Every driver (the backtest engine over numpy columns, the asyncio session runtime, the paper
venue) calls these modules rather than keeping its own copy: matching and fill rules
(``fills``), cost models (``costs``), exact order prices and sizes (``intents``) and the
default order size (``sizing``). The kernel imports only ``core``, ``strategies`` (indicator
maths), ``risk`` and ``portfolio``; nothing here touches a socket, file or database.
"""
