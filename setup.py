"""Packages of the ivit-hls wheel (metadata: pyproject.toml).

``hw/``, ``templates/`` and ``sim/`` stay at the top of the checkout (where the kernels,
templates and benches are edited) and ship inside the wheel as ``ivit_hls/_share/{hw,
templates,sim}``, mapped with ``package_dir``; ``ivit_hls.resources`` finds them in either place.
Every folder below them is listed as a data package, so setuptools copies its files.
"""

from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent
SHARE = ("hw", "templates", "sim")
SKIP = {"__pycache__", "build", "sim_build"}


def _data_packages() -> list[str]:
    names = []
    for top in SHARE:
        for folder in sorted([ROOT / top, *(ROOT / top).rglob("*")]):
            rel = folder.relative_to(ROOT)
            if folder.is_dir() and not SKIP & set(rel.parts):
                names.append("ivit_hls._share." + ".".join(rel.parts))
    return names


DATA = _data_packages()

setup(
    packages=find_packages(include=["ivit_hls", "ivit_hls.*"]) + DATA,
    package_dir={f"ivit_hls._share.{top}": top for top in SHARE},
    package_data={name: ["*"] for name in DATA},
    exclude_package_data={name: ["*.pyc"] for name in DATA},
)
