"""Cold starts: each function's init as Lambda runs it, against `import boto3` and the same clients.

A function's init is its handler module's import followed by the creation of the boto3 clients its code
creates (through `attendance.data.aws.client`, as its first request does), from the code as `sam build`
ships it: the layer built by layer/build_layer.py (for this machine's architecture, whose wheels load
here) and the function's sources without bytecode, which Lambda's read-only file system cannot cache.
The baseline, measured in the same run and interleaved with it, is a fresh interpreter doing
`import boto3` and creating those same clients: what any Python function that talks to these services
pays. `python -m bench.cold_start` prints
the table alone; `make bench` prints it with the rest.
"""

import ast
import atexit
import functools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from local_stack.template import (
    TEMPLATE_PATH,
    Resolver,
    function_environment,
    load_template,
    resources_of_type,
)

ROOT = TEMPLATE_PATH.parent
LAYER_REQUIREMENTS = ROOT / "layer" / "requirements.txt"
PROJECT = canonicalize_name(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"])
RUNTIME_PROVIDED = ("boto3",)  # the Lambda Python runtime brings boto3 and its dependencies
COLD_RUNS = 7
TARGET_RATIO = 1.5
BREAKDOWN_FUNCTION = "IngestFunction"

# A script's start that makes its interpreter's path Lambda's. argv: function code, layer (both put first
# on the path), handler module, modules Lambda would not have (JSON; importing them fails), then the
# script's own.
ON_LAMBDA_PATH = (
    "import importlib.abc, json, sys, time\n"
    "class Absent(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path, target=None):\n"
    "        if name.split('.')[0] in BLOCKED: raise ModuleNotFoundError(name)\n"
    "BLOCKED = set(json.loads(sys.argv[4])); sys.meta_path.insert(0, Absent())\n"
    "sys.path[:0] = sys.argv[1:3]\n"
)
# argv[5]: services (JSON), whose clients are made as the handler's code makes them, by the layer's `client`.
INIT_AS_ON_LAMBDA = ON_LAMBDA_PATH + (
    "t = time.perf_counter(); __import__(sys.argv[3])\n"
    "for service in json.loads(sys.argv[5]):\n"
    "    from attendance.data.aws import client; client(service)\n"
    "print(time.perf_counter() - t)"
)
BOTO3_AND_CLIENTS = (
    "import json, sys, time\n"
    "t = time.perf_counter(); import boto3\n"
    "for service in json.loads(sys.argv[1]): boto3.client(service)\n"
    "print(time.perf_counter() - t)"
)
OTHERS = "Python's standard library and the rest"
PACKAGE_GROUPS = {  # top-level module -> the group a cold start's breakdown shows it in
    "aws_xray_sdk": "X-Ray SDK",
    "wrapt": "X-Ray SDK",
    "botocore": "boto3 and botocore",
    "boto3": "boto3 and botocore",
    "s3transfer": "boto3 and botocore",
    "urllib3": "boto3 and botocore",
    "jmespath": "boto3 and botocore",
    "dateutil": "boto3 and botocore",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "pydantic_settings": "pydantic",
    "annotated_types": "pydantic",
    "typing_extensions": "pydantic",
    "typing_inspection": "pydantic",
    "aws_lambda_powertools": "Powertools",
    "httpx": "httpx",
    "httpcore": "httpx",
    "h11": "httpx",
    "anyio": "httpx",
}


def measure() -> dict[str, dict[str, Any]]:
    """Per function: its init and the baseline (seconds, each the median of runs taken in turn, so that a
    busy moment of the machine weighs on both alike), the clients, and whether tracing is on."""
    figures = {}
    for function in deployed_functions():
        runs: dict[str, list[float]] = {"init": [], "baseline": []}
        for _ in range(COLD_RUNS):
            runs["init"].append(
                _timed(["-c", INIT_AS_ON_LAMBDA, *_init_arguments(function)], function["env"])
            )
            runs["baseline"].append(_timed(["-c", BOTO3_AND_CLIENTS, json.dumps(function["clients"])]))
        figures[function["id"]] = {
            "init": statistics.median(runs["init"]),
            "baseline": statistics.median(runs["baseline"]),
            "clients": function["clients"],
            "tracing": function["tracing"],
        }
    return figures


def import_breakdown(logical_id: str = BREAKDOWN_FUNCTION) -> dict[str, float]:
    """Seconds of one function's init by package group (python -X importtime), as deployed: the imports
    the init makes (not the interpreter's own start), and the rest of it (creating the clients, running
    module code: the init's median without importtime, less the imports); each group the median of
    its share in runs taken in turn."""
    function = next(function for function in deployed_functions() if function["id"] == logical_id)
    started = _imports(_init_arguments(function | {"module": "json", "clients": []}), function["env"])
    ours = {path.stem for path in Path(function["code"]).glob("*.py")} | {"attendance"}
    runs: list[Counter] = []
    inits = []
    for _ in range(COLD_RUNS):
        inits.append(_timed(["-c", INIT_AS_ON_LAMBDA, *_init_arguments(function)], function["env"]))
        run = _fresh_interpreter(
            ["-X", "importtime", "-c", INIT_AS_ON_LAMBDA, *_init_arguments(function)], function["env"]
        )
        groups: Counter = Counter()
        for name, self_seconds in _import_times(run.stderr):
            if name not in started:
                top = name.split(".")[0]
                groups["our code" if top in ours else PACKAGE_GROUPS.get(top, OTHERS)] += self_seconds
        runs.append(groups)
    medians = Counter({group: statistics.median(run[group] for run in runs) for group in runs[0]})
    medians["creating the clients, module code"] = max(0.0, statistics.median(inits) - sum(medians.values()))
    return dict(medians.most_common())


def _imports(arguments: list[str], environment: dict[str, str]) -> set[str]:
    run = _fresh_interpreter(["-X", "importtime", "-c", INIT_AS_ON_LAMBDA, *arguments], environment)
    return {name for name, _ in _import_times(run.stderr)}


def _import_times(report: str) -> list[tuple[str, float]]:
    """(module, seconds of its own import) from python -X importtime's report."""
    times = []
    for line in report.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            times.append((name, int(self_us) / 1e6))
    return times


def rows(figures: dict[str, dict[str, Any]], breakdown: dict[str, float]) -> list[tuple[str, str, str]]:
    """The table's rows: per function its init, the baseline, the ratio and the verdict; the breakdown."""
    table = [
        (
            f"Cold start, as deployed (median of {COLD_RUNS})",
            "",
            f"init: import + clients; baseline: import boto3 + same clients; target {TARGET_RATIO}x",
        )
    ]
    for name, figure in figures.items():
        ratio = figure["init"] / figure["baseline"]
        table.append(
            (
                f"  {name}",
                f"{figure['init'] * 1000:.0f} ms",
                f"{ratio:.2f}x baseline {figure['baseline'] * 1000:.0f} ms, "
                f"{'meets' if ratio <= TARGET_RATIO else 'OVER'}; tracing {'on' if figure['tracing'] else 'off'}; "
                f"clients: {', '.join(figure['clients']) or 'none'}",
            )
        )
    total = sum(breakdown.values())
    table.append(
        (f"{BREAKDOWN_FUNCTION}'s init by package", "", f"python -X importtime, medians of {COLD_RUNS}")
    )
    table += [
        (f"  {group}", f"{seconds * 1000:.0f} ms", f"{seconds / total:.0%}")
        for group, seconds in breakdown.items()
    ]
    return table


@functools.cache
def functions() -> list[dict[str, Any]]:
    """Every function of the template as Lambda starts it: its code and the layer on the path, its
    environment (tracing as the template sets it), and the clients its handler module creates."""
    template = load_template()
    blocked = json.dumps(modules_outside_lambda())
    resolver = Resolver(template, refs=_Placeholders(), attributes=_Placeholders())
    found = []
    for logical_id, resource in sorted(resources_of_type(template, "AWS::Serverless::Function").items()):
        properties = resource["Properties"]
        module = properties["Handler"].rsplit(".", 1)[0]
        code = ROOT / properties["CodeUri"]
        tracing = _tracing(template, properties, resolver)
        found.append(
            {
                "id": logical_id,
                "code": str(code),
                "module": module,
                "blocked": blocked,
                "clients": clients_created(code / f"{module.replace('.', '/')}.py"),
                "tracing": tracing,
                "env": function_environment(template, logical_id, resolver)
                | _lambda_runtime(logical_id, code, tracing),
            }
        )
    return found


def deployed_functions() -> list[dict[str, Any]]:
    """functions(), each from the code as deployed (deployed_code) instead of the sources."""
    root = deployed_code()
    deployed = []
    for function in functions():
        code = str(root / Path(function["code"]).relative_to(ROOT))
        environment = function["env"] | {"LAMBDA_TASK_ROOT": code}
        deployed.append(function | {"code": code, "layer": str(root / "layer"), "env": environment})
    return deployed


@functools.cache
def deployed_code() -> Path:
    """A folder holding the layer as layer/build_layer.py builds it, for this machine's architecture, and
    each function's code as SAM copies it: the sources, no bytecode. Removed when the benchmark exits."""
    root = Path(tempfile.mkdtemp(prefix="cold-start-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    architecture = {"aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), "x86_64")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "layer" / "build_layer.py"),
            str(root / "layer"),
            "--architecture",
            architecture,
        ],
        check=True,
    )
    for code in {Path(function["code"]) for function in functions()}:
        shutil.copytree(code, root / code.relative_to(ROOT), ignore=shutil.ignore_patterns("__pycache__"))
    return root


def clients_created(source: Path) -> list[str]:
    """The services a handler module creates clients for: each `client("...")` or `boto3.client("...")`
    call in it, in the order written."""
    services: list[str] = []
    for node in ast.walk(ast.parse(source.read_text())):
        if (
            isinstance(node, ast.Call)
            and (getattr(node.func, "id", None) == "client" or getattr(node.func, "attr", None) == "client")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value not in services
        ):
            services.append(node.args[0].value)
    return services


def _tracing(template: dict[str, Any], properties: dict[str, Any], resolver: Resolver) -> bool:
    """Tracing as deployed: the function's own Tracing, else the Globals', resolved (a Ref to a parameter
    takes its default)."""
    mode = properties.get(
        "Tracing", template.get("Globals", {}).get("Function", {}).get("Tracing", "PassThrough")
    )
    return resolver.resolve(mode) == "Active"


def _lambda_runtime(logical_id: str, code: Path, tracing: bool) -> dict[str, str]:
    """What the Lambda runtime sets that libraries read at import: the X-Ray SDK, for one, samples locally
    in Lambda and would otherwise create an X-Ray client for centralised sampling."""
    variables = {
        "LAMBDA_TASK_ROOT": str(code),
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_REGION": "us-east-1",
    }
    if tracing:
        variables |= {"AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR", "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}
    return variables


class _Placeholders(dict):
    """Physical names for the template's Refs and GetAtts: the values do not matter at import."""

    def __missing__(self, key: Any) -> str:
        return "-".join(key) if isinstance(key, tuple) else str(key)


def _init_arguments(function: dict[str, Any]) -> list[str]:
    return [
        function["code"],
        function.get("layer", str(ROOT / "layer")),
        function["module"],
        function["blocked"],
        json.dumps(function["clients"]),
    ]


def modules_outside_lambda() -> list[str]:
    """Top-level modules of the distributions installed here that a function on Lambda would not have:
    it gets the layer's requirements and the runtime's boto3, with their dependencies, and nothing else
    (httpx, for one, imports its command line's rich and click when they happen to be installed)."""
    lines = LAYER_REQUIREMENTS.read_text().splitlines()
    wanted = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    shipped = requirement_closure(wanted + [Requirement(name) for name in RUNTIME_PROVIDED])
    return sorted(
        module
        for module, distributions in metadata.packages_distributions().items()
        if not (shipped | {PROJECT}) & {canonicalize_name(d) for d in distributions}
    )


def requirement_closure(wanted: list[Requirement]) -> set[str]:
    """The normalised names of these distributions and of everything they depend on, as installed here
    (with the extras asked for)."""
    found: set[str] = set()
    wanted = list(wanted)
    while wanted:
        requirement = wanted.pop()
        found.add(canonicalize_name(requirement.name))
        for line in metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            extras = {""} | requirement.extras
            applies = dependency.marker is None or any(
                dependency.marker.evaluate({"extra": e}) for e in extras
            )
            if applies and canonicalize_name(dependency.name) not in found:
                wanted.append(dependency)
    return found


def _timed(arguments: list[str], environment: dict[str, str] | None = None) -> float:
    """Seconds a fresh interpreter reports for its work (the script prints them)."""
    return float(_fresh_interpreter(arguments, environment or {}).stdout)


def _fresh_interpreter(arguments: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # -B: Lambda's file system is read-only, so no run leaves bytecode for the next
        [sys.executable, "-I", "-B", *arguments],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
        env=_clean(os.environ) | {"AWS_DEFAULT_REGION": "us-east-1"} | environment,
    )


def _clean(environment: Mapping[str, str]) -> dict[str, str]:
    """This shell's variables without the AWS and Powertools ones a developer may have set."""
    return {
        name: value
        for name, value in environment.items()
        if not name.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "TRACING_", "_X_AMZN"))
    }


def main() -> None:
    figures = measure()
    table = rows(figures, import_breakdown())
    width = max(len(label) for label, _, _ in table) + 2
    print("\n".join(f"{label:{width}}{value:>8}  {note}".rstrip() for label, value, note in table))


if __name__ == "__main__":
    main()
