"""Lint: ``ruff check .`` (pyflakes, import order, numpy docstrings) over the whole repository is clean."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean() -> None:
    # The rule set and the per-directory exceptions live in [tool.ruff] of pyproject.toml.
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"ruff reported problems:\n{proc.stdout}{proc.stderr}"
