"""What a platform and a fresh clone read: the Python pin, the ignored install leftovers, what `make test` installs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib

import pytest

from tools.servers import ROOT

VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def pinned_version() -> str:
    return (ROOT / ".python-version").read_text().strip()


def test_python_version_is_the_major_minor_the_tests_run_on():
    pin = pinned_version()
    assert re.fullmatch(r"3\.\d+", pin), f".python-version holds {pin!r}: a major.minor (what buildpacks read)"
    assert pin == f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.mark.skipif(not VENV_PYTHON.exists(), reason="no .venv (tests run from another interpreter)")
def test_python_version_is_the_venvs_interpreter():
    done = subprocess.run([str(VENV_PYTHON), "--version"], capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.split()[1].startswith(pinned_version() + "."), done.stdout


def test_python_version_meets_the_packages_floor():
    floor = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert floor == f">={pinned_version()}"


@pytest.mark.parametrize(
    "leftover",
    [
        "build/lib/detection_client/cli.py",
        "dist/detection_client-0.2.0-py3-none-any.whl",
        "detection_client.egg-info/PKG-INFO",
        ".eggs/README.txt",
        "tools/newman/node_modules/newman/package.json",
    ],
)
def test_install_leftovers_are_ignored(leftover):
    done = subprocess.run(["git", "check-ignore", "--no-index", "-q", leftover], cwd=ROOT, timeout=30, check=False)
    assert done.returncode == 0, f"{leftover} is not in .gitignore"


def test_newman_is_pinned_exactly_and_locked():
    package = json.loads((ROOT / "tools" / "newman" / "package.json").read_text())
    lock = json.loads((ROOT / "tools" / "newman" / "package-lock.json").read_text())
    version = package["dependencies"]["newman"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "an exact version, not a range"
    assert lock["packages"]["node_modules/newman"]["version"] == version


def apt_packages_in_makefile() -> list[str]:
    (packages,) = re.findall(r"apt-get install -y -qq ([\w .-]+);", (ROOT / "Makefile").read_text())
    return packages.split()


def test_the_readme_says_exactly_what_make_test_installs():
    readme = (ROOT / "README.md").read_text()
    paragraph = readme[readme.index("Run every test") : readme.index("```sh\nmake test")]
    assert f"`{' '.join(apt_packages_in_makefile())}`" in paragraph
    assert "apt-get" in paragraph and "sudo" in paragraph and "npm ci" in paragraph
    makefile = (ROOT / "Makefile").read_text()
    assert "npm ci" in makefile and "SUDO" in makefile
