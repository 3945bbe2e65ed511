"""Template parameter values checked against the template's own rules, and zones as the functions read them."""

import pytest

from local_stack.parameters import parameter_problems
from local_stack.template import load_template

DECLARED = {
    "Attempts": {"Type": "Number", "Default": 3, "MinValue": 1, "MaxValue": 10},
    "Retention": {"Type": "Number", "Default": 30, "AllowedValues": [1, 7, 30]},
    "Target": {"Type": "String", "Default": "generic", "AllowedValues": ["generic", "frappe"]},
    "Url": {"Type": "String", "AllowedPattern": r"^https?://\S+$"},
    "Code": {"Type": "String", "Default": "ab", "MinLength": 2, "MaxLength": 4, "AllowedPattern": "[a-z]+"},
    "Level": {"Type": "String", "AllowedPattern": "[A-Z]+", "ConstraintDescription": "must be upper case"},
    "HomeTimeZone": {"Type": "String", "Default": "UTC"},
    "SiteTimeZone": {"Type": "String", "Default": "", "AllowedPattern": r"^[A-Za-z0-9_+\-/:]*$"},
    "Label": {"Type": "String", "Default": ""},
}


def problems(**given: str) -> list[str]:
    return parameter_problems(DECLARED, given)


def test_values_within_every_rule_are_no_problem():
    assert (
        problems(
            Attempts="10", Retention="7", Target="frappe", Url="https://hr.test/x", Code="abcd", Level="INFO"
        )
        == []
    )


def test_a_name_the_template_lacks_is_named_with_the_closest_it_has():
    assert problems(Atempts="3") == [
        "Atempts='3': template.yaml has no such parameter (did you mean Attempts?)"
    ]
    assert problems(attempts="3") == [
        "attempts='3': template.yaml has no such parameter (did you mean Attempts?)"
    ]
    assert problems(Colour="red") == ["Colour='red': template.yaml has no such parameter"]


@pytest.mark.parametrize("value", ["three", "", "1e3", "NaN", "Infinity", " 3"])
def test_a_number_parameter_takes_only_a_number(value):
    assert problems(Attempts=value) == [f"Attempts={value!r}: not a number (Type: Number)"]


def test_a_number_is_within_min_value_and_max_value_both_included():
    assert problems(Attempts="1") == problems(Attempts="10") == problems(Attempts="2.5") == []
    assert problems(Attempts="0") == ["Attempts='0': below MinValue 1"]
    assert problems(Attempts="11") == ["Attempts='11': above MaxValue 10"]
    assert problems(Attempts="-3") == ["Attempts='-3': below MinValue 1"]


def test_a_number_with_allowed_values_is_one_of_them_by_value():
    assert problems(Retention="30") == problems(Retention="30.0") == []
    assert problems(Retention="14") == ["Retention='14': not one of AllowedValues 1, 7, 30"]


def test_a_string_with_allowed_values_is_one_of_them_exactly():
    assert problems(Target="Frappe") == ["Target='Frappe': not one of AllowedValues generic, frappe"]


def test_a_string_matches_its_allowed_pattern_whole_anchored_or_not():
    assert problems(Url="ftp://hr.test") == [
        r"Url='ftp://hr.test': does not match AllowedPattern ^https?://\S+$"
    ]
    assert problems(Code="ab1") == ["Code='ab1': does not match AllowedPattern [a-z]+"]


def test_a_string_is_within_min_length_and_max_length():
    assert problems(Code="a") == ["Code='a': shorter than MinLength 2"]
    assert problems(Code="abcde") == ["Code='abcde': longer than MaxLength 4"]


def test_a_constraint_description_follows_the_rule_broken_as_cloudformation_shows_it():
    assert problems(Level="info") == [
        "Level='info': does not match AllowedPattern [A-Z]+; must be upper case"
    ]


def test_each_parameter_is_one_line_however_many_rules_its_value_breaks():
    # Given a value too long, and not of the pattern, for one parameter, and a second parameter wrong too
    assert problems(Code="ABCDEF", Attempts="0") == [
        "Code='ABCDEF': longer than MaxLength 4",
        "Attempts='0': below MinValue 1",
    ]


@pytest.mark.parametrize("zone", ["Europe/Berln", "Mars/Olympus", "+15:00", "+05:60", "Europe/../UTC"])
def test_a_zone_parameter_holds_a_zone_the_functions_know(zone):
    assert problems(HomeTimeZone=zone) == [f"HomeTimeZone={zone!r}: not a time zone the functions know"]


def test_a_zone_parameter_takes_every_iana_name_and_offset_the_functions_take():
    for zone in ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT-14", "+05:30", "-12:00"]:
        assert problems(HomeTimeZone=zone, SiteTimeZone=zone) == [], zone


def test_an_empty_zone_is_for_the_pattern_to_allow_and_other_parameters_are_no_zones():
    assert problems(SiteTimeZone="") == []
    assert problems(SiteTimeZone="Mars/Olympus") == [
        "SiteTimeZone='Mars/Olympus': not a time zone the functions know"
    ]
    assert problems(Label="Mars/Olympus") == []


def test_the_mistakes_the_audit_found_are_each_named_against_the_template():
    declared = load_template()["Parameters"]
    given = {
        "DefaultTimeZone": "Europe/Berln",
        "CrmTimeZone": "Mars/Olympus",
        "MaxRecieveCount": "1",
        "PunchVisibilityTimeout": "5",
        "WorkerBatchSize": "50",
    }
    found = parameter_problems(declared, given)
    assert [line.split(":", 1)[0] for line in found] == [f"{name}={value!r}" for name, value in given.items()]
    assert found[0].startswith("DefaultTimeZone='Europe/Berln': not a time zone the functions know")
    assert found[1].startswith("CrmTimeZone='Mars/Olympus': not a time zone the functions know")
    assert found[2:] == [
        "MaxRecieveCount='1': template.yaml has no such parameter (did you mean MaxReceiveCount?)",
        "PunchVisibilityTimeout='5': below MinValue 10",
        "WorkerBatchSize='50': above MaxValue 10",
    ]


def test_every_default_of_the_template_keeps_its_own_rules():
    declared = load_template()["Parameters"]
    defaults = {name: str(spec["Default"]) for name, spec in declared.items() if "Default" in spec}
    assert parameter_problems(declared, defaults) == []
