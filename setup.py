"""Build hook: the wheel carries the bundled dataset as ``geoplan/_data/yancheng.gpkg``.

The project keeps its data in the top-level ``data/`` folder; everything else is configured in
``pyproject.toml``. ``geoplan.settings.BUNDLED_DATASET`` finds the packaged copy when installed and
``data/yancheng.gpkg`` in a checkout.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATASET = Path("data") / "yancheng.gpkg"


class BuildPyWithDataset(build_py):
    """``build_py`` that also copies ``data/yancheng.gpkg`` into the built package."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode:  # an editable install reads data/ in place
            target = Path(self.build_lib) / "geoplan" / "_data"
            self.mkpath(str(target))
            self.copy_file(str(DATASET), str(target / DATASET.name))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if not self.editable_mode:
            outputs.append(str(Path(self.build_lib) / "geoplan" / "_data" / DATASET.name))
        return outputs


setup(cmdclass={"build_py": BuildPyWithDataset})
