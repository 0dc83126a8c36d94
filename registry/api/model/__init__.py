"""Lambda's API model (botocore's service-2 for Lambda) as the server reads it: which operation a
request is, and which of its values break the model's constraints."""
