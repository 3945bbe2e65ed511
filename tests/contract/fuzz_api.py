"""The API contract fuzz: schemathesis runs every check over every operation of docs/openapi.json against
a running local stack, with a real API key, a registered ZKTeco serial, a Hikvision push token and a
stored punch to void.

    python -m tests.contract.fuzz_api                    # starts its own stack (make fuzz-api)
    python -m tests.contract.fuzz_api --url URL --aws-url URL --api-key KEY   # against a running one

Prints schemathesis' report and how long the run took; exits with schemathesis' status (0: no failure).
"""

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from attendance.data.devices import DeviceStore
from attendance.domain.devices import Device, DeviceKind
from attendance.stack_names import STACK_PREFIX
from local_stack.openapi import OPENAPI_PATH
from local_stack.running import ROOT, RunningStack, running_local_stack
from local_stack.stack import local_client

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ADMS_SERIAL = "FUZZ0000000001"


@dataclass(frozen=True)
class FuzzResult:
    exit_code: int
    seconds: float
    output: str


def register_devices(aws_url: str) -> str:
    """A ZKTeco clock known by ADMS_SERIAL and a Hikvision terminal; returns the terminal's push token."""
    devices = DeviceStore(local_client("dynamodb", aws_url), f"{STACK_PREFIX}-DevicesTable")
    devices.put(Device(device_id="FUZZ-ZK", kind=DeviceKind.ZKTECO, serial=ADMS_SERIAL, time_zone="UTC"))
    token, _ = devices.register_hikvision(Device(device_id="FUZZ-HIK", time_zone="UTC"))
    return token


def fuzz(target: RunningStack, max_examples: int, seed: int | None = None, workers: int = 1) -> FuzzResult:
    """One schemathesis run with every check (configuration: schemathesis.toml)."""
    environment = os.environ | {
        "FUZZ_API_URL": target.api_url,
        "FUZZ_API_KEY": target.api_key,
        "FUZZ_ADMS_SERIAL": ADMS_SERIAL,
        "FUZZ_HIKVISION_TOKEN": register_devices(target.aws_url),
        # A punch of now, so that generated voids reach one (the first is voided, the rest refused: 409).
        "FUZZ_LOG_ID": target.post_punch("FUZZ-API", "FUZZ-VOID"),
    }
    command = [str(SCHEMATHESIS), "run", str(OPENAPI_PATH), "--checks", "all"]
    command += ["--max-examples", str(max_examples), "--workers", str(workers), "--no-color"]
    command += ["--seed", str(seed)] if seed is not None else []
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    return FuzzResult(done.returncode, time.monotonic() - started, done.stdout + done.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-examples", type=int, default=300, help="examples per operation and phase")
    parser.add_argument("--seed", type=int, help="repeat a run exactly")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--url", help="a running stack's HTTP API (default: start one)")
    parser.add_argument("--aws-url", default="http://127.0.0.1:4566", help="its AWS endpoint, with --url")
    parser.add_argument("--api-key", default="local-dev-key", help="its API key, with --url")
    options = parser.parse_args(argv)
    if options.url:
        target = RunningStack(options.url, options.aws_url, crm_url="", api_key=options.api_key)
        result = fuzz(target, options.max_examples, options.seed, options.workers)
    else:
        with running_local_stack("fuzz-key") as target:
            result = fuzz(target, options.max_examples, options.seed, options.workers)
    print(result.output)
    print(f"API contract fuzz: {options.max_examples} examples per operation, {result.seconds:.0f} s")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
