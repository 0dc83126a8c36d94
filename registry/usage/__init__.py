"""What accounts use and how their functions behave: invocations counted per function and minute
(CloudWatch's AWS/Lambda metrics) and per account and day (billing figures), written by every
server process as increments to shared rows, and read back by the CloudWatch API, `strata usage`
and the console."""
