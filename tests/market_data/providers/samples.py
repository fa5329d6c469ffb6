"""The recorded wire messages of the provider tests (fixtures/), loaded by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def messages(exchange: str) -> dict[str, Any]:
    """The recorded messages of ``exchange`` by name (``_about`` left out)."""
    data = json.loads((FIXTURES / f"{exchange}.json").read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def texts(exchange: str) -> dict[str, str]:
    return {k: json.dumps(v) for k, v in messages(exchange).items()}
