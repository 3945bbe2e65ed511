"""The reports bucket: the exported CSV files, one object per day or month."""

from typing import Any

from attendance.data.aws import unavailable_on_aws_errors


class ReportFiles:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    def put_csv(self, key: str, text: str) -> None:
        """Write (or overwrite: the bucket keeps the version before) one CSV file."""
        with unavailable_on_aws_errors("writing the export"):
            self._client.put_object(
                Bucket=self.bucket, Key=key, Body=text.encode(), ContentType="text/csv; charset=utf-8"
            )
