"""The data access layer's own error, apart from boto3 so that code which only handles it (the API's
error handlers) does not import the SDK."""


class StoreUnavailable(Exception):
    """DynamoDB or SQS could not be reached or refused the request: a fault of ours, not of the input."""
