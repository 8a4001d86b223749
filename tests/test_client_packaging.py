"""The client installs alone: its package metadata names only its own small dependencies (in ranges that hold
the repo's pins), its modules import nothing else, and its copy of COCO's class table matches the server's."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from detection_client.coco import ALIASES, COCO_IDS, COCO_NAMES
from inference.labels import CLASS_ALIASES, coco_class_names

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "detection_client"
# Third-party imports allowed, and the one module allowed each (Pillow and tqdm are imported when used).
ALLOWED = {"requests": None, "tqdm": "progress.py", "PIL": "annotate.py"}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pins() -> dict[str, str]:
    """name -> exact version pinned in requirements.txt."""
    pinned = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pinned[name.strip().lower()] = version.strip()
    return pinned


def test_the_package_is_the_client_with_only_its_own_dependencies():
    metadata = project()
    assert metadata["project"]["name"] == "detection-client"
    assert metadata["project"]["scripts"] == {"detect": "detection_client.cli:main"}
    assert metadata["tool"]["setuptools"]["packages"]["find"]["include"] == ["detection_client*"]
    required = [Requirement(text) for text in metadata["project"]["dependencies"]]
    extras = {
        name: [Requirement(text) for text in texts]
        for name, texts in metadata["project"]["optional-dependencies"].items()
    }
    assert sorted(r.name for r in required) == ["requests", "tqdm"]
    assert [r.name for r in extras["annotate"]] == ["pillow"]
    for requirement in required + extras["annotate"]:
        operators = {spec.operator for spec in requirement.specifier}
        assert operators == {">=", "<"}, f"{requirement}: a range with a floor and a ceiling"
        assert requirement.specifier.contains(pins()[requirement.name]), (
            f"requirements.txt pins {requirement.name} outside {requirement}"
        )


def imports_of(path: Path) -> set[str]:
    """Top-level names of the absolute imports in a module."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.partition(".")[0])
    return names


def test_the_client_imports_only_the_standard_library_and_its_dependencies():
    modules = sorted(CLIENT.glob("*.py"))
    assert len(modules) > 5
    for module in modules:
        others = imports_of(module) - set(sys.stdlib_module_names) - {"__future__"}
        assert others <= set(ALLOWED), f"{module.name} imports {others - set(ALLOWED)}"
        for name in others:
            assert ALLOWED[name] in (None, module.name), f"{module.name} imports {name}, kept to {ALLOWED[name]}"


def test_the_clients_coco_table_matches_the_servers():
    assert COCO_NAMES == coco_class_names()
    assert len(COCO_IDS) == 80 and COCO_IDS[0] == 1 and COCO_IDS[-1] == 90
    assert ALIASES == {alias: official for official, aliases in CLASS_ALIASES.items() for alias in aliases}


WITHOUT_PILLOW = """
import importlib.abc, sys
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"PIL", "numpy", "inference", "webapp"}:
            raise ImportError(f"{name} is blocked")
sys.meta_path.insert(0, Blocker())
from detection_client.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_without_pillow_only_annotate_dir_is_refused(tmp_path):
    photo = ROOT / "tests" / "data" / "photos" / "astronaut.jpg"
    nowhere = "http://127.0.0.1:9"  # discard port: nothing listens

    def detect(*argv: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-c", WITHOUT_PILLOW, nowhere, str(photo), "--retries", "0", *argv]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)

    refused = detect("--annotate-dir", str(tmp_path))
    assert refused.returncode == 2 and 'needs Pillow: pip install "detection-client[annotate]"' in refused.stderr
    unreachable = detect("--json-dir", str(tmp_path))  # everything else runs: here, up to the missing server
    assert unreachable.returncode == 3 and "cannot reach the server" in unreachable.stderr
