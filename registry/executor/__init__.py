"""The executor: runs a bundle (task/ + opt/) like AWS Lambda, under Lambda's limits.

from registry.executor import EnvironmentPool, FunctionSpec
with EnvironmentPool() as pool:
    result = pool.invoke(FunctionSpec(bundle_dir, "app.handler", "python3.11"), b'{"x": 1}')
"""

from registry.executor.errors import InterpreterNotFound, IsolationUnavailable, SandboxError
from registry.executor.host import HostCapabilities
from registry.executor.pool import EnvironmentPool
from registry.executor.report import InvocationResult, Report
from registry.executor.spec import FunctionSpec

__all__ = [
    "EnvironmentPool",
    "FunctionSpec",
    "HostCapabilities",
    "InterpreterNotFound",
    "InvocationResult",
    "IsolationUnavailable",
    "Report",
    "SandboxError",
]
