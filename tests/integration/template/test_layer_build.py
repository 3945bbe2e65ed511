"""The shared layer as `sam build` ships it (layer/build_layer.py): without the AWS SDK the runtime brings,
every module compiled to bytecode, and enough for a handler to import. Built here for this machine's
architecture, as the cold-start benchmark builds it."""

import importlib.util
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.cold_start import (
    ON_LAMBDA_PATH,
    ROOT,
    deployed_code,
    deployed_functions,
    functions,
    requirement_closure,
)

spec = importlib.util.spec_from_file_location("build_layer", ROOT / "layer" / "build_layer.py")
build_layer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_layer)

WHERE_FROM = ON_LAMBDA_PATH + (
    "__import__(sys.argv[3])\n"
    "print(json.dumps({name: sys.modules[name].__file__ for name in ('attendance', 'pydantic', 'botocore')\n"
    "                  if name in sys.modules}))"
)


@pytest.fixture(scope="module")
def layer() -> Path:
    return deployed_code() / "layer"


def test_the_layer_leaves_the_aws_sdk_to_the_runtime(layer):
    # Given the layer as built
    shipped = {
        canonicalize_name(found.metadata["Name"]) for found in metadata.distributions(path=[str(layer)])
    }
    # Then it holds the functions' requirements but no part of boto3, whose copy would shadow the runtime's
    assert {"aws-lambda-powertools", "pydantic", "httpx", "aws-xray-sdk", "pyjwt"} <= shipped
    assert shipped & build_layer.RUNTIME_SDK == set()
    assert not (layer / "botocore").exists()
    assert (layer / "attendance" / "__init__.py").is_file()


def test_every_module_of_the_layer_ships_its_bytecode(layer):
    sources = list(layer.rglob("*.py"))
    uncompiled = [
        source for source in sources if not Path(importlib.util.cache_from_source(str(source))).is_file()
    ]
    assert len(sources) > 100
    assert uncompiled == []


@pytest.mark.parametrize("logical_id", [function["id"] for function in functions()])
def test_every_handler_imports_from_the_layer_and_the_runtime_sdk(layer, logical_id):
    # Given a function's code as deployed, with the built layer
    function = next(function for function in deployed_functions() if function["id"] == logical_id)
    arguments = [function["code"], function["layer"], function["module"], function["blocked"]]
    # When a fresh interpreter that may write no bytecode imports its handler
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", WHERE_FROM, *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
        env=function["env"],
    )
    assert result.returncode == 0, result.stderr
    origin = {name: Path(file) for name, file in json.loads(result.stdout).items()}
    # Then our code and pydantic come from the layer, botocore (where used) from the runtime's SDK
    assert origin["attendance"].is_relative_to(layer)
    assert "pydantic" not in origin or origin["pydantic"].is_relative_to(layer)
    assert "botocore" not in origin or not origin["botocore"].is_relative_to(layer)


def test_the_runtime_sdk_is_boto3_and_its_dependencies():
    # Given boto3 as installed here, which the Lambda runtime brings with the same dependencies
    # Then the layer leaves out exactly those
    assert requirement_closure([Requirement("boto3")]) == build_layer.RUNTIME_SDK


def test_removing_a_distribution_deletes_its_files_and_nothing_else(tmp_path):
    # Given a target folder with two installed distributions, as pip lays them out
    for name, package in (("Six-Ish", "sixish"), ("kept", "kept")):
        (tmp_path / package / "sub").mkdir(parents=True)
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "sub" / "mod.py").write_text("")
        info = tmp_path / f"{package}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        files = [
            f"{package}/__init__.py",
            f"{package}/sub/mod.py",
            f"{info.name}/METADATA",
            f"{info.name}/RECORD",
        ]
        (info / "RECORD").write_text("".join(f"{file},,\n" for file in files))
    # When one of them is removed by its normalised name
    removed = build_layer.remove_distributions(tmp_path, frozenset({"six-ish"}))
    # Then its files and the folders they leave empty are gone, and the other distribution is whole
    assert removed == ["six-ish"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kept", "kept-1.0.dist-info"]
    assert (tmp_path / "kept" / "sub" / "mod.py").is_file()
