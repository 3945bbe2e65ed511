"""The shared layer as Lambda loads it. `sam build` runs this for SharedLayer (layer/Makefile); the cold
start benchmark builds the same layer for the machine it runs on.

    python3.12 layer/build_layer.py <directory> [--architecture arm64|x86_64]

- The layer's requirements, as wheels for the function's architecture.
- Without the AWS SDK that the Python runtime brings (boto3 and its dependencies). A layer comes before
  the runtime on Lambda's import path, so a copy here would replace the runtime's: pip pulls botocore in
  for the X-Ray SDK, and every cold start then imported 30 MB of it from source, at a version the
  runtime's boto3 was never released with.
- With our `attendance` package.
- Compiled to bytecode. Lambda's file system is read-only: a module shipped without its .pyc is compiled
  again in memory at every cold start. The .pyc files are checked by nothing (unchecked-hash), since the
  timestamps a zip keeps cannot be trusted to match.
"""

import argparse
import compileall
import py_compile
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = (3, 12)  # the template's runtime: bytecode is only valid for the version that compiled it
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
# The Lambda Python runtime's AWS SDK: boto3 and everything it depends on.
RUNTIME_SDK = frozenset({"boto3", "botocore", "jmespath", "python-dateutil", "s3transfer", "six", "urllib3"})


def build(target: Path, architecture: str = "arm64") -> None:
    if sys.version_info[:2] != PYTHON:
        sys.exit(
            f"the layer must be built with Python {'.'.join(map(str, PYTHON))}, not {sys.version.split()[0]}"
        )
    if target.exists() and any(target.iterdir()):
        sys.exit(f"{target} is not empty: the layer is built into a new folder")
    install_requirements(target, PLATFORMS[architecture])
    remove_distributions(target, RUNTIME_SDK)
    shutil.rmtree(target / "bin", ignore_errors=True)  # the packages' command-line scripts: nothing runs them
    shutil.copytree(HERE / "attendance", target / "attendance", ignore=shutil.ignore_patterns("__pycache__"))
    compiled = compileall.compile_dir(
        target, quiet=1, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    if not compiled:
        sys.exit(f"some modules in {target} did not compile")


def install_requirements(target: Path, platform: str) -> None:
    major, minor = PYTHON
    subprocess.run(  # noqa: S603 - this interpreter's pip, fixed arguments
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check",
            "--requirement", str(HERE / "requirements.txt"), "--target", str(target),
            "--platform", platform, "--implementation", "cp", "--python-version", f"{major}.{minor}",
            "--only-binary", ":all:",
        ],
        check=True,
    )  # fmt: skip


def remove_distributions(target: Path, names: frozenset[str]) -> list[str]:
    """Deletes the files these distributions installed in `target` (their RECORD), and the folders that
    leaves empty; returns the names of those it found."""
    removed = []
    for distribution in metadata.distributions(path=[str(target)]):
        name = canonical(distribution.metadata["Name"])
        if name not in names:
            continue
        files = [(target / str(file)).resolve() for file in distribution.files or []]
        for path in files:
            if path.is_relative_to(target.resolve()):
                path.unlink(missing_ok=True)
        for folder in sorted({path.parent for path in files}, key=lambda path: len(path.parts), reverse=True):
            _remove_empty(folder, target.resolve())
        removed.append(name)
    return sorted(removed)


def _remove_empty(folder: Path, root: Path) -> None:
    while folder != root and folder.is_relative_to(root) and folder.is_dir():
        if any(folder.iterdir()):
            return
        folder.rmdir()
        folder = folder.parent


def canonical(name: str) -> str:
    """A distribution's name as packaging normalises it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path, help="the layer's python/ folder")
    parser.add_argument("--architecture", choices=sorted(PLATFORMS), default="arm64")
    arguments = parser.parse_args()
    build(arguments.target, arguments.architecture)


if __name__ == "__main__":
    main()
