"""A wheel (`pip install .`, not editable) carries the bundled dataset: `geoplan demo` runs from any directory.

The wheel is built from a copy of the project's files (so the checkout stays clean) and installed into
a fresh virtual environment. That environment sees the third-party dependencies through a ``.pth``
line pointing at this interpreter's site-packages — a plain path entry, so the editable install of
geoplan there (a ``.pth`` *file* with an import hook) is not activated: the only geoplan it can
import is the wheel's.
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_PROJECT_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "geoplan", "api", "data/yancheng.gpkg",
                  "data/README.md")


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=False, **kw)  # type: ignore[call-overload]
    assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in _PROJECT_FILES:
        s, d = ROOT / name, src / name
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_data"))
        else:
            shutil.copy2(s, d)
    dist = tmp_path_factory.mktemp("dist")
    # No build isolation: the build backend (setuptools + wheel, dev dependencies) is already here.
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-w", str(dist), "-q"])
    (whl,) = dist.glob("geoplan-*.whl")
    return whl


def test_wheel_contains_the_bundled_dataset(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "geoplan/_data/yancheng.gpkg" in names
    assert "geoplan/sources/city/build.py" in names and "geoplan/py.typed" in names
    assert not any(n.startswith("data/") for n in names)  # nothing dropped into site-packages/data
    info = zipfile.ZipFile(wheel).getinfo("geoplan/_data/yancheng.gpkg")
    assert info.file_size == (ROOT / "data" / "yancheng.gpkg").stat().st_size


@pytest.mark.slow
def test_installed_wheel_runs_demo_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    purelib = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (purelib / "_geoplan_test_deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(wheel)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = "import geoplan, geoplan.settings as s; print(geoplan.__file__); print(s.BUNDLED_DATASET)"
    where = _run([str(py), "-c", probe], cwd=elsewhere).stdout.split()
    assert all(Path(p).is_relative_to(purelib) for p in where), where  # the wheel's code and data, not the checkout's
    res = _run([str(venv / "bin" / "geoplan"), "demo", "--out", "out"], cwd=elsewhere)
    assert "City total" in res.stdout
    for name in ("network.html", "plan.html", "plan.gpkg", "summary.csv"):
        assert (elsewhere / "out" / name).exists(), name
