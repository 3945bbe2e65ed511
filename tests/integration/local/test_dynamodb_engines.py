"""The engine comparison (bench.dynamodb_engines) runs the code's own requests and asks for real features:
checked here on an in-process moto, which serves all of them."""

import os

import boto3
from moto import mock_aws

from bench.dynamodb_engines import create_tables, per_punch, what_it_serves


def test_the_comparison_stores_and_delivers_punches_and_asks_for_each_feature():
    with mock_aws():
        # Given an engine with the template's punches and dedup tables
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client)
        # When three punches are stored and delivered by the code, and the features are asked for
        figures = per_punch(client, os.getpid(), 3)
        served = what_it_serves(client)
        # Then each punch was stored and delivered (a refused lease would have stopped it)
        stored = client.scan(TableName="PunchesTable")["Items"]
        assert sorted(item["syncStatus"]["S"] for item in stored) == ["synced"] * 3
        assert set(figures) == {"ingest: read, claim, store", "worker: lease, outcome"}
        assert all(wall > 0 for wall, _ in figures.values())
        # And moto serves every feature the stack needs
        assert set(served.values()) == {"yes"}
