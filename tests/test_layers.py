"""The layers, drawn from the imports: inference/ below serving/ below webapp/, and no circle of imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("inference", "serving", "webapp")
# A package may import only the packages listed after it here (and libraries).
MAY_IMPORT = {"inference": set(), "serving": set(), "webapp": {"inference", "serving"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module this file imports, at any depth (function-level imports count too), resolved to our names."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in PACKAGES}


def graph() -> dict[str, set[str]]:
    """Our modules and the modules of ours each imports."""
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    modules = {module_name(p): p for p in files}
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def test_the_graph_sees_the_imports_it_should():
    edges = graph()
    assert "webapp.pipeline" in edges and "webapp.parsing" in edges["webapp.pipeline"]
    assert "serving.contract" in edges["serving.worker"]


@pytest.mark.parametrize("package", PACKAGES)
def test_a_lower_layer_never_imports_a_higher_one(package):
    wrong = {
        (name, target)
        for name, targets in graph().items()
        if name.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in MAY_IMPORT[package] | {package}
    }
    assert not wrong, f"{package} imports above its layer: {sorted(wrong)}"


def test_inference_and_serving_import_no_flask():
    for package in ("inference", "serving"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
            assert not {m for m in names if m.split(".")[0] in ("flask", "werkzeug")}, path


def test_no_circle_of_imports():
    edges = graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(edges[name]):
            # A package's __init__ importing its own modules is how packages work, not a circle.
            if name.startswith(target + "."):
                continue
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target] if target in path else [name, target]
                pytest.fail("circle of imports: " + " -> ".join(cycle))
            if state.get(target) is None:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
