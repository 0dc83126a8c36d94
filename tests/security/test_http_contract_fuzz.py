"""Item 12: property-based fuzzing of the HTTP contract. schemathesis generates requests from
openapi.yaml (valid ones and ones that break the schema), each signed with SigV4 by a fresh
account's key, against a real `strata serve`; no answer may be a 5xx or fall outside the contract.

Bounded and reproducible: a fixed number of examples per operation, derandomized, no example
database, no network beyond 127.0.0.1.
"""

from __future__ import annotations

import os
from itertools import product
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import pytest
import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.functions import create
from tests.support.zips import layer_zip

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.yaml"
# Per operation and mode; raise it for a deeper run (e.g. STRATA_FUZZ_EXAMPLES=200).
EXAMPLES_PER_OPERATION = int(os.environ.get("STRATA_FUZZ_EXAMPLES") or 8)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class SigV4(requests.auth.AuthBase):
    """Signs each prepared request as botocore would, with the query in canonical form first (so
    the signature covers exactly what the server reads back)."""

    def __init__(self, access_key: str, secret_key: str, region: str):
        self._auth = SigV4Auth(Credentials(access_key, secret_key), "lambda", region)

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        parts = urlsplit(prepared.url)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
        prepared.url = urlunsplit(parts._replace(query=query))
        body = prepared.body or b""
        signed = AWSRequest(
            method=prepared.method,
            url=prepared.url,
            data=body,
            headers={k: v for k, v in prepared.headers.items() if k.lower() != "authorization"},
        )
        self._auth.add_auth(signed)
        for name in ("Authorization", "X-Amz-Date"):
            prepared.headers[name] = signed.headers[name]
        return prepared


def _operations():
    schema = schemathesis.openapi.from_path(str(OPENAPI))
    for result in schema.get_all_operations():
        yield result.ok()


@pytest.fixture
def fuzzed_account(strata_server):
    """An account with something in it, so generated names sometimes hit real resources."""
    account = strata_server.new_account()
    lam = strata_server.client(account)
    lam.publish_layer_version(LayerName="fuzz", Content={"ZipFile": layer_zip()})
    create(lam, "fuzz", Publish=True)
    return account


@pytest.mark.slow
# PostgreSQL is the stricter database (no NUL in text, 32-bit integers), so it finds more.
@pytest.mark.parametrize("strata_server", ["pg-s3"], indirect=True)
def test_http_contract__fuzzed_requests_never_get_a_5xx_or_an_answer_outside_openapi(
    strata_server, fuzzed_account
):
    auth = SigV4(
        fuzzed_account.access_key_id, fuzzed_account.secret_access_key, strata_server.region
    )
    session = requests.Session()
    session.trust_env = False  # loopback only, never a proxy from the environment
    failures: list[str] = []

    for operation, mode in product(
        _operations(), (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ):
        _fuzz_operation(operation, mode, strata_server.url, session, auth, failures)

    assert not failures, "\n\n".join(failures)


def _fuzz_operation(operation, mode, base_url, session, auth, failures: list[str]) -> None:
    """Runs the examples of one operation in one mode, each failure recorded in `failures`."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case):
        response = case.call(base_url=base_url, session=session, auth=auth, timeout=30)
        if response.status_code == 414:
            return  # a request line past the HTTP server's limit, refused before the app sees it
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as failure:
            failures.append(
                f"{operation.label} ({mode.value}): "
                f"{response.status_code} {response.text[:300]}\n{failure}"
            )
            raise

    try:
        exercise()
    except (AssertionError, FailureGroup):
        pass  # recorded above; go on to the other operations so one run reports them all
    except Unsatisfiable:
        pass  # nothing of this operation can be made invalid (no parameters, no body)
