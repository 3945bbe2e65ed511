"""make check-params: samconfig.toml's parameter_overrides, checked before `sam deploy` takes them."""

import subprocess
import sys
from pathlib import Path

import pytest

from local_stack.check_params import ConfigUnreadable, main, overrides_from, saved_overrides

ROOT = Path(__file__).resolve().parents[2]


def samconfig(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "samconfig.toml"
    path.write_text('version = 0.1\n[default.deploy.parameters]\ncapabilities = "CAPABILITY_IAM"\n' + text)
    return path


def test_overrides_are_read_in_each_shape_sam_saves_and_reads():
    # as `sam deploy --guided` saves them: one string, each value quoted
    saved = 'DefaultTimeZone="Europe/Berlin" CrmUrl="https://hr.test/punch" AlarmEmail=""'
    assert overrides_from(saved) == (
        {"DefaultTimeZone": "Europe/Berlin", "CrmUrl": "https://hr.test/punch", "AlarmEmail": ""},
        [],
    )
    # a list of strings, and CloudFormation's long form
    saved_list = ["LogLevel=DEBUG", "ParameterKey=CrmTarget,ParameterValue=frappe MaxReceiveCount=5"]
    assert overrides_from(saved_list) == (
        {"LogLevel": "DEBUG", "CrmTarget": "frappe", "MaxReceiveCount": "5"},
        [],
    )


def test_an_entry_that_is_no_name_and_value_is_a_problem_and_a_quote_not_closed_unreadable():
    assert overrides_from("LogLevel=DEBUG CrmTimeZone =5") == (
        {"LogLevel": "DEBUG"},
        [
            "parameter_overrides entry 'CrmTimeZone' is not Name=value",
            "parameter_overrides entry '=5' is not Name=value",
        ],
    )
    with pytest.raises(ConfigUnreadable, match="cannot be split into entries: No closing quotation"):
        overrides_from('CrmUrl="https://hr.test')


def test_the_deploy_section_is_read_before_the_global_one(tmp_path):
    path = samconfig(
        tmp_path,
        'parameter_overrides = "LogLevel=DEBUG"\n[default.global.parameters]\nparameter_overrides = "LogLevel=ERROR"\n',
    )
    assert saved_overrides(path, "default") == ({"LogLevel": "DEBUG"}, [])
    global_only = samconfig(tmp_path, '[default.global.parameters]\nparameter_overrides = "LogLevel=ERROR"\n')
    assert saved_overrides(global_only, "default") == ({"LogLevel": "ERROR"}, [])


def test_a_deployment_whose_overrides_keep_every_rule_passes(tmp_path, capsys):
    path = samconfig(
        tmp_path, 'parameter_overrides = "DefaultTimeZone=\\"Asia/Kolkata\\" CrmTimeZone=\\"+05:30\\""\n'
    )
    assert main(["--config-file", str(path)]) == 0
    assert (
        capsys.readouterr().out
        == "samconfig.toml [default]: 2 parameter overrides, each within template.yaml's rules\n"
    )


def test_a_deployment_without_overrides_has_nothing_to_check(tmp_path, capsys):
    assert main(["--config-file", str(samconfig(tmp_path, ""))]) == 0
    assert "no parameter_overrides" in capsys.readouterr().out


def test_a_missing_environment_or_file_is_exit_code_2(tmp_path, capsys):
    assert main(["--config-file", str(samconfig(tmp_path, "")), "--config-env", "prod"]) == 2
    assert capsys.readouterr().out == "samconfig.toml has no [prod] environment\n"
    assert main(["--config-file", str(tmp_path / "absent.toml")]) == 2
    assert capsys.readouterr().out.startswith(f"cannot read {tmp_path / 'absent.toml'}: ")


def test_each_problem_is_a_line_naming_the_parameter_its_value_and_the_rule_exit_code_2(tmp_path):
    # Given a deployment whose overrides hold a zone that does not exist, a misspelt name and a value below
    # the template's MinValue
    path = samconfig(
        tmp_path,
        "[prod.deploy.parameters]\n"
        'parameter_overrides = "ReportTimeZone=Mars/Olympus MaxRecieveCount=1 PunchVisibilityTimeout=5"\n',
    )
    # When DevOps check them, as make check-params does
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "local_stack.check_params",
            "--config-file",
            str(path),
            "--config-env",
            "prod",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Then each is a line, and the check fails
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert checked.stdout.splitlines() == [
        "samconfig.toml [prod]: ReportTimeZone='Mars/Olympus': not a time zone the functions know; must be an IANA "
        "time zone name such as Europe/Berlin (EventBridge Scheduler takes no offset such as +05:30)",
        "samconfig.toml [prod]: MaxRecieveCount='1': template.yaml has no such parameter (did you mean MaxReceiveCount?)",
        "samconfig.toml [prod]: PunchVisibilityTimeout='5': below MinValue 10",
    ]
