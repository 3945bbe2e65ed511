"""The cost model charges each POST the access-log line the HTTP API writes for it, in the template's format."""

import json

from bench.cost_model import access_log_line
from local_stack.events import http_api_event
from local_stack.template import load_template


def test_the_access_log_line_is_the_templates_format_filled_in():
    # Given a request and its reply
    event = http_api_event("POST", "/punches", "{}", {"user-agent": "ZKTeco/ADMS"}, source_ip="203.0.113.7")
    reply = {"statusCode": 201, "body": '{"logId": "abc"}'}
    # When its access-log line is rendered with the deployed template's format
    line = access_log_line(load_template(), event, reply, 0.0123)
    # Then it is one JSON line holding what the API would log, empty values as "-"
    assert line.endswith("\n")
    assert line.count("\n") == 1
    logged = json.loads(line)
    assert logged["requestId"] == event["requestContext"]["requestId"]
    assert (logged["route"], logged["status"], logged["ip"]) == ("POST /punches", "201", "203.0.113.7")
    assert (logged["userAgent"], logged["latencyMs"], logged["bytes"]) == ("ZKTeco/ADMS", "12", "16")
    assert logged["error"] == "-"
    assert "$context" not in line
