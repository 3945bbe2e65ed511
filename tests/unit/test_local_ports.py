"""The local stack's port variables, read alike by the stack and the admin CLI."""

import pytest

from attendance.local_ports import InvalidPort, port_from_environment


@pytest.mark.parametrize(
    ("value", "port"), [(None, 4566), ("", 4566), ("1", 1), ("8080", 8080), ("65535", 65535)]
)
def test_a_port_is_its_variable_or_else_the_default(value, port):
    environment = {} if value is None else {"AWS_PORT": value}
    assert port_from_environment("AWS_PORT", 4566, environment=environment) == port


def test_any_free_port_is_0_only_for_a_server_that_listens():
    assert port_from_environment("API_PORT", 3000, any_free=True, environment={"API_PORT": "0"}) == 0
    with pytest.raises(InvalidPort, match=r"^API_PORT='0' is not a port: give a number from 1 to 65535$"):
        port_from_environment("API_PORT", 3000, environment={"API_PORT": "0"})


@pytest.mark.parametrize("value", ["abc", "-1", "65536", "3000.0", " 3000", "+3000", "٣٠٠٠", "1e3"])
def test_a_variable_that_holds_no_port_is_named_with_its_value(value):
    with pytest.raises(InvalidPort) as refused:
        port_from_environment("API_PORT", 3000, any_free=True, environment={"API_PORT": value})
    assert str(refused.value) == (
        f"API_PORT={value!r} is not a port: give a number from 1 to 65535, or 0 for any free one"
    )
