"""Market data providers behind one contract (``base.MarketDataProvider``)."""
