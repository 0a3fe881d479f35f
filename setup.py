"""Build hook: ship the checkout's ``configs/`` and ``experiments/`` inside the package.

They are copied to ``oligosim/_shipped/`` in the build directory, so that an installed (not
editable) oligosim reaches its scenarios and experiments by name from any directory
(``oligosim run default``; :mod:`oligosim.shipped`). The folders keep their relative layout,
so ``scenario = "../configs/default.toml"`` and ``extends = "base.toml"`` still resolve.
Everything else is declared in ``pyproject.toml``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithShippedFiles(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "oligosim" / "_shipped"
        for folder in ("configs", "experiments"):
            src = HERE / folder
            if src.is_dir():
                dst = target / folder
                if dst.exists():
                    shutil.rmtree(dst)
                # TOML inputs and the lessons' README; nothing a run writes
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "out", "*.pyc"))


setup(cmdclass={"build_py": BuildWithShippedFiles})
