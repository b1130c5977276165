"""roleext installs like a Python tool: `roleext` and `python -m roleext` work from any folder."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from roleext.sample import SAMPLE_TRAIN

ROOT = Path(__file__).resolve().parents[1]


def requirement_lines(name: str) -> list[str]:
    """The package lines of a requirements file: no comments, `-r` includes or `-e` installs."""
    lines = (line.split("#")[0].strip() for line in (ROOT / name).read_text("utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def test_requirements_files_mirror_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert requirement_lines("requirements.txt") == project["dependencies"]
    assert requirement_lines("requirements-dev.txt") == project["optional-dependencies"]["dev"]
    assert "-e ." in (ROOT / "requirements-dev.txt").read_text("utf-8").splitlines()


@pytest.fixture
def installed() -> None:
    """Skip where roleext is not installed in this interpreter, unless ROLEEXT_REQUIRE_INSTALLED=1."""
    # An editable install leaves roleext.egg-info in the project root, which is on sys.path
    # here (pytest puts it there): that alone is no installation, so the root is not searched.
    site = [p for p in sys.path if p and Path(p).resolve() != ROOT]
    if not list(importlib.metadata.distributions(name="roleext", path=site)):
        if os.environ.get("ROLEEXT_REQUIRE_INSTALLED") == "1":
            pytest.fail("roleext is not installed in this interpreter, and ROLEEXT_REQUIRE_INSTALLED=1")
        pytest.skip("roleext is not installed here (pip install -e .)")


def run_elsewhere(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run with nothing but the installation to find roleext: another folder, no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.usefixtures("installed")
def test_python_dash_m_roleext_works_from_any_folder(tmp_path: Path) -> None:
    result = run_elsewhere([sys.executable, "-m", "roleext", "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage: roleext" in result.stdout and "summarize" in result.stdout


@pytest.mark.usefixtures("installed")
def test_the_roleext_script_works_from_any_folder(tmp_path: Path) -> None:
    script = Path(sysconfig.get_path("scripts")) / ("roleext.exe" if os.name == "nt" else "roleext")
    assert script.exists(), f"no console script at {script}"
    assert run_elsewhere([str(script), "--help"], tmp_path).returncode == 0
    result = run_elsewhere([str(script), "--db", "here.db", "validate", str(SAMPLE_TRAIN)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("train file: 10 records")
