"""Function logs, stored as CloudWatch Logs stores them: log groups (`/aws/lambda/<function>`),
a log stream per execution environment, and events, one per line an invocation logged.

The package knows nothing of HTTP: registry/api/logs.py serves it as the CloudWatch Logs API.
"""
