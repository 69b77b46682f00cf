"""Static typing: ``mypy`` over the packages configured in ``[tool.mypy]`` of pyproject.toml."""
from __future__ import annotations

from pathlib import Path

import mypy.api as mypy_api
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # mypy reads pyproject.toml (config, files) from the working directory
    out, err, status = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"), "--no-incremental"])
    assert status == 0, f"mypy reported errors:\n{out}{err}"
