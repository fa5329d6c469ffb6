"""What the feed says about the health of an instrument's data (plain, immutable records).

The feed emits them through its sink; the runtime passes them on — ``DataStale`` and
``DataRestored`` to the strategies (``on_data_stale`` / ``on_data_restored``) and to the risk
engine (``set_data_stale``), every one of them to the logs, the metrics and the audit journal
(``to_dict``), so a backtest can replay them later.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DataStale:
    """No trusted update for ``symbol`` from any provider for too long (or all are down)."""

    symbol: str
    #: the provider the feed was reading when it gave up
    provider: str
    reason: str
    #: when the last update arrived (``ts_init``; the feed's start if none ever did)
    last_update_ns: int
    ts_ns: int

    def to_dict(self) -> dict[str, object]:
        return {"event": "data_stale", "symbol": self.symbol, "provider": self.provider,
                "reason": self.reason, "last_update_ns": self.last_update_ns,
                "ts_ns": self.ts_ns}


@dataclass(frozen=True, slots=True)
class DataRestored:
    """Updates for ``symbol`` flow again from ``provider``; ``stale_ns``: how long it was
    stale."""

    symbol: str
    provider: str
    stale_ns: int
    ts_ns: int

    def to_dict(self) -> dict[str, object]:
        return {"event": "data_restored", "symbol": self.symbol, "provider": self.provider,
                "stale_ns": self.stale_ns, "ts_ns": self.ts_ns}


@dataclass(frozen=True, slots=True)
class ProviderSwitch:
    """The feed now reads ``symbol`` from ``to_provider`` (failover, or back to a recovered
    provider of higher priority)."""

    symbol: str
    from_provider: str
    to_provider: str
    reason: str
    ts_ns: int

    def to_dict(self) -> dict[str, object]:
        return {"event": "provider_switch", "symbol": self.symbol,
                "from": self.from_provider, "to": self.to_provider, "reason": self.reason,
                "ts_ns": self.ts_ns}


FeedHealthEvent = DataStale | DataRestored | ProviderSwitch


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    """Bars of ``symbol`` opening in ``[start_ns, end_ns)`` are missing: ask ``providers``
    (in that order) for them, then hand the answer to ``FeedCore.complete_backfill``. The
    feed holds the bars after the gap until then."""

    symbol: str
    timeframe: str
    start_ns: int
    end_ns: int
    providers: tuple[str, ...]
