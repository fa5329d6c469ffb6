"""The kernel's integer codes and array layouts, importable without numba (the plan and
the declaration use them before deciding whether the compiled path can run at all)."""

LONG_ENTRY, LONG_EXIT, SHORT_ENTRY, SHORT_EXIT = 1, 2, 4, 8

OK, UNSUPPORTED, OVERFLOW = 0, 1, 2

#: trade columns (``portfolio.ledger.TradeRecord``'s fields)
T_DIR, T_ENTRY_BAR, T_ENTRY_LOTS, T_ENTRY_VALUE, T_EXIT_LOTS, T_EXIT_VALUE, T_COMM, \
    T_EXIT_BAR = range(8)
TRADE_COLUMNS = 8
#: fill columns: bar, side sign, lots, price ticks, commission units, slippage units,
#: 1 for a stop exit (0: a market order)
FILL_COLUMNS = 7

#: cfg indices
C_CASH, C_SIZE_KIND, C_FIXED_LOTS, C_RISK, C_CHECK_CASH, C_MARGIN_PPM, C_RESIZE = range(7)
SIZE_FIXED, SIZE_ALL_IN = 0, 1
#: costs indices
K_COMM, K_NUM, K_DEN, K_MIN, K_SLIP, K_SNUM, K_SDEN = range(7)
COMM_PERCENT, COMM_PER_UNIT, COMM_FIXED = 0, 1, 2
SLIP_NONE, SLIP_BPS, SLIP_PER_BAR = 0, 1, 2

PPM = 1_000_000
#: money amounts beyond this (units) leave the compiled path: products stay in int64
LIMIT = 1 << 43
