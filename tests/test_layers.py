"""The engine's import structure: no cycles, and no phase importing a later one.

Imports are read from the source (`ast`), not by importing: module-level imports and those inside
`if TYPE_CHECKING:` blocks count for cycles (a type-only cycle is still two modules that cannot be
understood apart); every import, including one inside a function, counts for the layer rule.

The layers, lowest first (docs/explanation/architecture.md). A module may import its own
sub-package and any lower layer, never a later one, nor a sibling of its own layer:

- base: `source`, `money`, `diagnostics`, `printable`, and `decision.model` with `decision.trace_nodes`. The
  decision *model* (Reason, Denial, Decision) and the trace's nodes (TraceNode, Read, Trace) are
  the vocabulary that compile and evaluation build results in, plain data that imports nothing of
  the engine, so a low layer; the *renderers* (`decision.explain`, and `decision.json_form`, the
  decision's JSON) are at the top. Base modules may import one another (diagnostics reads source's Span). The
  decision's `citations` (cite texts without authoring notes, source titles) and `context` (what
  every decision of a policy set shares) are base too: plain data that compile builds.
- `language` (syntax, clauses, expressions, parse, to_ast, value types, registry)
- `facts` and `check` (siblings: both read the language's types, neither reads the other)
- `compile`
- `evaluation`
- `decision` (the renderers)
- the top-level modules (`api`, `expectations`, `policy_cases`, `codes_table`, `engine/__init__`)
"""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"

LAYERS: tuple[tuple[str, ...], ...] = (
    (
        "engine.source",
        "engine.money",
        "engine.diagnostics",
        "engine.decision.model",
        "engine.decision.trace_nodes",  # the trace's nodes and their JSON form; below the model, which imports it
        "engine.decision.citations",
        "engine.decision.context",
        "engine.decision.json_pieces",  # kept canonical pieces of the decision line (orjson); base like the model
        "engine.jsontext",  # the canonical JSON text of decisions (orjson); imports nothing of the engine
        "engine.printable",  # outside text made safe for a terminal; imports nothing
        "engine.frozen_init",  # dict_init for the per-record dataclasses; imports nothing of the engine
    ),
    ("engine.language",),
    ("engine.facts", "engine.check"),
    ("engine.compile",),
    ("engine.evaluation",),
    ("engine.decision",),
    ("engine",),
)


def module_name(path: Path) -> str:
    parts = path.with_suffix("").relative_to(ENGINE.parent).parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ENGINE.rglob("*.py"))}


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The engine modules an import statement loads (a `from package import module` loads the module)."""
    if isinstance(node, ast.Import):
        names = [alias.name.removeprefix("carepolicy.") for alias in node.names]
        return [n for n in names if n in MODULES]
    if node.level == 0:
        base = (node.module or "").removeprefix("carepolicy.")
    else:
        package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([node.module] if node.module else [])])
    found = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
    if len(found) < len(node.names) and base in MODULES:
        found.append(base)
    return found


def imports(module: str) -> tuple[set[str], set[str]]:
    """(imports at module level or under TYPE_CHECKING, every import anywhere in the module)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top: set[str] = set()
    anywhere: set[str] = set()

    def visit(statements: list[ast.stmt], at_top: bool) -> None:
        for node in statements:
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets = _targets(module, node)
                anywhere.update(targets)
                if at_top:
                    top.update(targets)
            elif isinstance(node, ast.If):
                visit(node.body, at_top)  # `if TYPE_CHECKING:` (or any module-level `if`) still counts
                visit(node.orelse, at_top)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                    visit(block, at_top)
            else:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child], False)

    visit(tree.body, True)
    return top, anywhere


GRAPH = {module: imports(module) for module in MODULES}


def layer_of(module: str) -> tuple[int, str]:
    """(rank, the layer entry it belongs to), by the longest matching prefix."""
    best: tuple[int, str] | None = None
    for rank, entries in enumerate(LAYERS):
        for entry in entries:
            if (module == entry or module.startswith(entry + ".")) and (best is None or len(entry) > len(best[1])):
                best = (rank, entry)
    assert best is not None, module
    return best


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)) is not None:
            return cycle
    return None


def test_every_engine_module_is_in_a_layer() -> None:
    assert len(MODULES) > 30
    for module in MODULES:
        layer_of(module)


def test_the_engine_has_no_import_cycle() -> None:
    cycle = find_cycle({module: top for module, (top, _) in GRAPH.items()})
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_imports_a_later_phase_or_a_sibling_phase() -> None:
    wrong = []
    for module, (_, anywhere) in GRAPH.items():
        rank, entry = layer_of(module)
        for target in anywhere:
            target_rank, target_entry = layer_of(target)
            sibling = target_rank == rank and target_entry != entry and rank != 0  # base modules may share
            if target_rank > rank or sibling:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_the_checks_see_type_checking_imports_and_would_catch_a_cycle() -> None:
    """The walker itself: a TYPE_CHECKING import counts, and a planted cycle is found."""
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .policy_set import CompiledCode\n"
    MODULES["engine.compile.planted"] = ENGINE / "compile" / "planted.py"
    try:
        planted = ast.parse(source)
        statement = planted.body[1].body[0]  # type: ignore[attr-defined]
        assert _targets("engine.compile.planted", statement) == ["engine.compile.policy_set"]
    finally:
        del MODULES["engine.compile.planted"]
    graph = {module: set(top) for module, (top, _) in GRAPH.items()}
    graph["engine.compile.outcomes"].add("engine.compile.policy_set")  # the cycle this test's history had
    cycle = find_cycle(graph)
    assert cycle is not None
    assert "engine.compile.outcomes" in cycle
    assert "engine.compile.policy_set" in cycle
    assert (
        layer_of("engine.decision.model")[0]
        < layer_of("engine.compile.outcomes")[0]
        < layer_of("engine.decision.explain")[0]
    )


# --------------------------------------------------------------------------------------------- cli

CLI = ENGINE.parent / "cli"


def cli_graph() -> dict[str, set[str]]:
    """The cli's modules and the cli modules each imports, counting every import, even one inside a
    function: a command module may import lazily for `--help` speed, but never to dodge a cycle."""
    names = {}
    for path in sorted(CLI.rglob("*.py")):
        parts = path.with_suffix("").relative_to(ENGINE.parent).parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for module, path in names.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level == 0:
                base = (node.module or "").removeprefix("carepolicy.")
            else:
                package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([node.module] if node.module else [])])
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in names)
            if base in names:
                found.add(base)
        graph[module] = found
    return graph


def test_the_cli_has_no_import_cycle_not_even_inside_a_function() -> None:
    graph = cli_graph()
    assert {"cli.common", "cli.output", "cli.reporting"} <= set(graph)
    assert graph["cli.output"] >= {"cli.reporting"}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in cli/: " + " -> ".join(cycle or [])
    graph["cli.output"].add("cli.common")  # the circle this test's history had (output's cannot_write)
    assert find_cycle(graph) is not None


# --------------------------------------------------------------------- the engine, the pipeline API, cli

PIPELINE = ENGINE.parent / "carepolicy"
# the documentation's generators read the command line's own help: above cli, not part of the pipeline API
DOCS_TOOLING = {"reference_cli.py", "mkdocs_hooks.py"}
# what the pipeline API still takes from cli/, and why (each a debt, none to be added to):
# parquet.py's ParquetLineWriter is `batch`'s Parquet output (cli/batch_output.py, cli/batch_notes.py)
PIPELINE_USES_OF_CLI = {"cli.batch_output", "cli.batch_notes"}


def outside_imports(folder: Path, prefixes: tuple[str, ...]) -> dict[str, set[str]]:
    """Each module of `folder` (by its path in the repo) and the `carepolicy.X...` modules it imports whose
    name (without `carepolicy.`) starts with one of `prefixes`, counting every import, even one inside a function."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        package = ["carepolicy", *path.relative_to(folder).parts[:-1]]  # (carepolicy/ is the package `carepolicy`)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = ".".join([*package[: len(package) - node.level + 1], *([node.module] if node.module else [])])
                base = base if node.level else (node.module or "")
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        wanted = {n.removeprefix("carepolicy.") for n in names if n.startswith("carepolicy.")}
        found[str(path.relative_to(ENGINE.parent))] = {
            n for n in wanted if any(n == p or n.startswith(p + ".") for p in prefixes)
        }
    return found


def test_the_engine_imports_nothing_above_it() -> None:
    """engine/ is the bottom of everything: it never imports the command line, the LSP server or the
    pipeline API (carepolicy/'s own modules)."""
    upward = {"cli", "lsp", "carepolicy"}
    wrong = {}
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] in upward - {"carepolicy"} or (parts[0] == "carepolicy" and len(parts) > 1
                                                           and parts[1] != "engine"):
                    wrong.setdefault(module, []).append(name)
    assert wrong == {}


def test_the_pipeline_api_does_not_reach_into_the_command_line() -> None:
    """carepolicy/ (the Python API, Arrow, Parquet, Spark, the HTTP service) is below cli/: the commands
    and it share an input record's outcome through carepolicy/record_outcomes.py, not through
    cli/common.py. Only the listed modules of cli/ are still imported from it."""
    found = outside_imports(PIPELINE, ("cli",))
    used = {
        target
        for module, targets in found.items()
        if Path(module).name not in DOCS_TOOLING
        for target in targets
        if target.count(".") == 1  # the module, not `cli.module.name`
    }
    assert used <= PIPELINE_USES_OF_CLI, f"the pipeline API imports {sorted(used - PIPELINE_USES_OF_CLI)} of cli/"
    assert "cli.main" in found["carepolicy/reference_cli.py"]  # the walker sees a use that is allowed
