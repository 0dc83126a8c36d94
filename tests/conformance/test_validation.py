"""Values that break a constraint of Lambda's model: AWS answers 400 ValidationException, naming
every failing value, where it is (`memorySize`, `environment.variables`, a query parameter, a
header, a path label) and the constraint, before the operation itself runs.

botocore checks a few constraints (minimums, required members) before sending; these cases send
through a client with that checking off, as raw HTTP clients and SDKs without client-side checks
do, so the server's own answer is what is compared.
"""

from __future__ import annotations

import botocore.session
import pytest

from tests.conformance.expect import assert_error
from tests.support.functions import ECHO, ROLE, RUNTIME, create
from tests.support.zips import layer_zip

FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
LAYER_VERSION_ARN_PATTERN = (
    r"((arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}"
    r":layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+))"
)
LAYER_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}"
    r":layer:[a-zA-Z0-9-_]{1,140}|[a-zA-Z0-9-_]{1,140})"
)
# The runtimes AWS lists are those of the model the client was built from.
RUNTIMES = ", ".join(
    botocore.session.get_session().get_service_model("lambda").shape_for("Runtime").enum
)


@pytest.fixture
def raw(strata_server, account):
    """A client of the same account that sends what it is given, unchecked."""
    return strata_server.client(account, parameter_validation=False)


def _function(**overrides) -> dict:
    return {
        "FunctionName": "checked",
        "Runtime": RUNTIME,
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": ECHO},
        **overrides,
    }


def test_create_function__memory_above_the_model_maximum(raw):
    assert_error(
        lambda: raw.create_function(**_function(MemorySize=99999)),
        code="ValidationException",
        status=400,
        message="1 validation error detected: Value '99999' at 'memorySize' failed to satisfy "
        "constraint: Member must have value less than or equal to 32768",
    )


def test_create_function__every_failing_value_is_named_in_one_answer(raw, lam):
    description = "d" * 257
    assert_error(
        lambda: raw.create_function(
            **_function(Runtime="cobol", Description=description, Timeout=0, MemorySize=64)
        ),
        code="ValidationException",
        status=400,
        message="4 validation errors detected: "
        f"Value 'cobol' at 'runtime' failed to satisfy constraint: Member must satisfy enum "
        f"value set: [{RUNTIMES}]; "
        f"Value '{description}' at 'description' failed to satisfy constraint: Member must have "
        "length less than or equal to 256; "
        "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater "
        "than or equal to 1; "
        "Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater "
        "than or equal to 128",
    )
    assert lam.list_functions()["Functions"] == []


def test_create_function__an_environment_variable_name_is_checked_without_showing_values(raw):
    assert_error(
        lambda: raw.create_function(
            **_function(Environment={"Variables": {"GOOD": "x", "1BAD": "secret"}})
        ),
        code="ValidationException",
        status=400,
        message="1 validation error detected: Value at 'environment.variables' failed to "
        "satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular "
        "expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
    )


def test_create_function__a_list_fails_once_naming_its_members_constraints(raw):
    arn = "arn:aws:lambda:us-east-1:123456789012:layer:shared"
    assert_error(
        lambda: raw.create_function(**_function(Layers=[arn], Architectures=["sparc"])),
        code="ValidationException",
        status=400,
        message="2 validation errors detected: "
        f"Value '[{arn}]' at 'layers' failed to satisfy constraint: Member must satisfy "
        "constraint: [Member must have length less than or equal to 2048, Member must have "
        "length greater than or equal to 1, Member must satisfy regular expression pattern: "
        f"{LAYER_VERSION_ARN_PATTERN}, Member must not be null]; "
        "Value '[sparc]' at 'architectures' failed to satisfy constraint: Member must satisfy "
        "constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be "
        "null]",
    )


def test_create_function__too_many_architectures(raw):
    assert_error(
        lambda: raw.create_function(**_function(Architectures=["x86_64", "arm64"])),
        code="ValidationException",
        status=400,
        message="1 validation error detected: Value '[x86_64, arm64]' at 'architectures' "
        "failed to satisfy constraint: Member must have length less than or equal to 1",
    )


def test_get_function__a_path_label_breaking_the_pattern(raw):
    assert_error(
        lambda: raw.get_function(FunctionName="bad name!"),
        code="ValidationException",
        status=400,
        message="1 validation error detected: Value 'bad name!' at 'functionName' failed to "
        f"satisfy constraint: Member must satisfy regular expression pattern: "
        f"{FUNCTION_NAME_PATTERN}",
    )


def test_get_function__a_valid_name_goes_on_to_the_operation(lam):
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="absent")


def test_list_functions__query_parameters_are_checked(raw):
    assert_error(
        lambda: raw.list_functions(MaxItems=0, FunctionVersion="SOME"),
        code="ValidationException",
        status=400,
        message="2 validation errors detected: "
        "Value 'SOME' at 'functionVersion' failed to satisfy constraint: Member must satisfy "
        "enum value set: [ALL]; "
        "Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater "
        "than or equal to 1",
    )


def test_invoke__headers_are_checked(raw, lam):
    create(lam, "headers")
    assert_error(
        lambda: raw.invoke(FunctionName="headers", InvocationType="Later", LogType="All"),
        code="ValidationException",
        status=400,
        message="2 validation errors detected: "
        "Value 'Later' at 'invocationType' failed to satisfy constraint: Member must satisfy "
        "enum value set: [Event, RequestResponse, DryRun]; "
        "Value 'All' at 'logType' failed to satisfy constraint: Member must satisfy enum value "
        "set: [None, Tail]",
    )


def test_publish_layer_version__a_name_too_long_and_off_pattern_fails_twice(raw, lam):
    name = "n" * 2049
    assert_error(
        lambda: raw.publish_layer_version(LayerName=name, Content={"ZipFile": layer_zip()}),
        code="ValidationException",
        status=400,
        message="2 validation errors detected: "
        f"Value '{name}' at 'layerName' failed to satisfy constraint: Member must have length "
        "less than or equal to 2048; "
        f"Value '{name}' at 'layerName' failed to satisfy constraint: Member must satisfy "
        f"regular expression pattern: {LAYER_NAME_PATTERN}",
    )
    assert lam.list_layers()["Layers"] == []


def test_list_layers__an_unknown_runtime_is_a_validation_error(raw):
    assert_error(
        lambda: raw.list_layers(CompatibleRuntime="cobol", MaxItems=51),
        code="ValidationException",
        status=400,
        message="2 validation errors detected: "
        f"Value 'cobol' at 'compatibleRuntime' failed to satisfy constraint: Member must "
        f"satisfy enum value set: [{RUNTIMES}]; "
        "Value '51' at 'maxItems' failed to satisfy constraint: Member must have value less "
        "than or equal to 50",
    )


def test_publish_layer_version__two_sources_of_content_is_invalid_parameter_value(raw):
    """Not a constraint of the model but the operation's own check, which AWS answers with
    InvalidParameterValueException."""
    with pytest.raises(raw.exceptions.InvalidParameterValueException):
        raw.publish_layer_version(
            LayerName="sources",
            Content={"ZipFile": layer_zip(), "S3Bucket": "bucket", "S3Key": "k"},
        )
