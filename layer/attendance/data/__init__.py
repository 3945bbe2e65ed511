"""The one data access layer: every DynamoDB and SQS call of the cloud functions lives here."""
