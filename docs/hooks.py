"""MkDocs hooks (``hooks:`` in mkdocs.yml): page content that the code itself holds.

``<!-- risk-keys -->`` on a page becomes the table of every ``[risk]`` key, read from the
``RiskSettings`` model at build time, so the reference cannot miss a key or show a stale
default. (The CLI page is generated ahead of time instead, by docs/gen_cli.py, so that it
also reads well on GitHub.) Sphinx roles in docstrings (``:meth:`run```) read as code.
"""

from __future__ import annotations

import re
import types
import typing
from decimal import Decimal
from typing import Any

from trading_strategy.risk.settings import LOSS_KEYS, RiskSettings, StrategyRiskFields

MARKER = "<!-- risk-keys -->"
# Sphinx roles some docstrings use (:meth:`run`): the code span is kept, the role dropped
_ROLE = re.compile(r":(?:meth|class|func|mod|attr|exc|data|obj):(?=<code>)")


def _kind(annotation: Any) -> str:
    """The value a key takes, in the words of a TOML file."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _kind(args[0])
    if origin is typing.Annotated:
        return _kind(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' for a in args)
    if origin is list:
        return "list of symbols"
    if origin is dict:
        return "tables"
    names = {bool: "true/false", int: "whole number", float: "number", Decimal: "money",
             str: "text"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def _scope(key: str) -> str:
    if key not in StrategyRiskFields.model_fields:
        return "portfolio"
    if key in LOSS_KEYS:
        return "portfolio; a strategy's own (not inherited)"
    return "portfolio default, per strategy"


def risk_keys_table() -> str:
    rows = ["| key | value | default | scope | meaning |", "|---|---|---|---|---|"]
    for key, field in RiskSettings.model_fields.items():
        default = {} if field.default_factory is not None else field.default
        meaning = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_kind(field.annotation)} | "
                    f"{'none' if default == {} else _default(default)} | {_scope(key)} | "
                    f"{meaning} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, risk_keys_table())
    return markdown


def on_page_content(html: str, **_: Any) -> str:
    return _ROLE.sub("", html)
