"""The package's shape: no import cycles, short functions, a thin CLI."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "ganfill"
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text())
    return found


def imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The ganfill modules a module imports anywhere (functions included, TYPE_CHECKING not)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for n in ast.walk(node)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ganfill"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("ganfill")}
    return {m for m in out if m in known and m != name and m != "ganfill"}


def test_no_import_cycle() -> None:
    trees = modules()
    graph = {name: imports(name, tree, set(trees)) for name, tree in trees.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join([*path, node, nxt])
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [])
    users = {name for name, deps in graph.items() if "ganfill.cli" in deps}
    assert users <= {"ganfill.__main__"}  # nothing but `python -m ganfill` imports the CLI


def test_cycle_check_finds_a_planted_cycle() -> None:
    a = ast.parse("from ganfill.b import f")
    b = ast.parse("def g():\n    from ganfill.a import h")
    known = {"ganfill.a", "ganfill.b"}
    assert imports("ganfill.a", a, known) == {"ganfill.b"} and imports("ganfill.b", b, known) == {"ganfill.a"}


def test_functions_are_short_and_the_cli_thin() -> None:
    long = []
    for name, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert not long, long
    assert len((PACKAGE / "cli.py").read_text().splitlines()) < 300


def public_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """A module's public functions and the public methods of its public classes (not nested ones)."""
    found = []
    for node in tree.body:
        members = node.body if isinstance(node, ast.ClassDef) and not node.name.startswith("_") else [node]
        found += [
            f
            for f in members
            if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) and not f.name.startswith("_")
        ]
    return found


def untold(tree: ast.Module) -> list[str]:
    """The public functions of a module without types on every argument and the return, or without
    a docstring."""
    out = []
    for f in public_functions(tree):
        args = [a for a in f.args.args + f.args.kwonlyargs if a.arg not in ("self", "cls")]
        missing = [a.arg for a in args if a.annotation is None]
        if f.returns is None or missing or not ast.get_docstring(f):
            out.append(f"{f.name} (untyped: {missing}, return typed: {f.returns is not None})")
    return out


def test_public_functions_are_typed_and_say_what_they_do() -> None:
    found = [f"{name}.{what}" for name, tree in modules().items() for what in untold(tree)]
    assert not found, found
    planted = "def f(x):\n    return x\nclass C:\n    def g(self) -> int:\n        return 1\n"
    planted += "class _P:\n    def h(self):\n        pass\n"
    planted += 'def ok(x: int) -> int:\n    """Doc."""\n    return x\n'
    assert [w.split()[0] for w in untold(ast.parse(planted))] == ["f", "g"]
