"""The package's import structure: no import cycles, and every import-linter contract kept.

``make test`` runs ``lint-imports`` itself; running it here too makes a plain pytest run fail
on a broken layer. Cycles are found over modules (not packages) with grimp, leaving out
imports under ``if TYPE_CHECKING:`` (grimp's ``exclude_type_checking_imports``): those never
run, so they cannot make an import fail half-way. Imports inside functions do count.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "trading_strategy"


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One shortest import chain ``[a, b, ..., a]`` per group of modules that import each
    other in a circle (a strongly connected component of two or more modules, or a module
    importing itself), sorted."""
    successors = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    cycles = []
    for component in _strongly_connected(successors):
        first = min(component)
        if len(component) == 1 and first not in successors[first]:
            continue
        chains = [[first, *(graph.find_shortest_chain(importer=after, imported=first) or ())]
                  if after != first else [first, first]
                  for after in successors[first] if after in component]
        cycles.append(min(chains, key=lambda chain: (len(chain), chain)))
    return sorted(cycles)


def _strongly_connected(successors: dict[str, list[str]]) -> list[set[str]]:
    """Tarjan's algorithm without recursion (a long import chain must not hit the limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(successors):
        if root in index:
            continue
        work = [(root, iter(successors[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def _graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for importer, imported in imports:
        graph.add_import(importer=importer, imported=imported)
    return graph


def test_a_cycle_is_found_and_named_by_its_shortest_chain() -> None:
    graph = _graph(("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d"),
                   ("p.b", "p.a"), ("p.e", "p.e"), ("p.d", "p.f"))
    assert import_cycles(graph) == [["p.a", "p.b", "p.a"], ["p.e", "p.e"]]


def test_layered_imports_are_no_cycle() -> None:
    graph = _graph(("p.a", "p.b"), ("p.a", "p.c"), ("p.b", "p.c"), ("p.c", "p.d"))
    assert import_cycles(graph) == []


def test_the_package_has_no_import_cycle() -> None:
    graph = grimp.build_graph(PACKAGE, exclude_type_checking_imports=True, cache_dir=None)
    cycles = import_cycles(graph)
    assert not cycles, "import cycles (break each by moving what both need lower):\n" + \
        "\n".join(" -> ".join(chain) for chain in cycles)


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sysconfig.get_path("scripts")) / "lint-imports"
    if not lint_imports.exists():  # an environment without the dev tools
        pytest.fail(f"lint-imports is not installed beside {sys.executable}")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    report = result.stdout.partition("Broken contracts")[2] or result.stdout + result.stderr
    assert result.returncode == 0, report.strip().lstrip("-").strip()


def test_each_ignored_import_is_a_debt_named_in_the_architecture_notes() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    notes = (ROOT / "docs" / "architecture.md").read_text()
    ignored = [line for contract in config["contracts"]
               for line in contract.get("ignore_imports", ())]
    missing = [line for line in ignored if f"`{line}`" not in notes]
    assert not missing, f"name these in docs/architecture.md (Debts): {missing}"
