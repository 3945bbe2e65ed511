"""The alarm topic (SNS): notifications for people, e.g. a device that fell silent."""

from typing import Any

from attendance.data.aws import unavailable_on_aws_errors

MAX_SUBJECT = 100  # SNS refuses longer subjects


class AlarmTopic:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish(self, subject: str, message: str) -> None:
        with unavailable_on_aws_errors("publishing a notification"):
            self._client.publish(TopicArn=self._topic_arn, Subject=subject[:MAX_SUBJECT], Message=message)
