"""How a value that breaks the model is reported: where it is, how it is shown, and which
constraint it names, as AWS words them."""

from __future__ import annotations

import botocore.session

from registry.api.model.constraints import member_path, violations

MODEL = botocore.session.get_session().get_service_model("lambda")
CREATE = MODEL.operation_model("CreateFunction").input_shape


def _check(name: str, value) -> list[str]:
    return list(violations(CREATE.members[name], value, member_path("", name)))


def test_a_value_within_every_constraint_is_no_failure():
    assert _check("MemorySize", 128) == []
    assert _check("Architectures", ["arm64"]) == []
    assert _check("Environment", {"Variables": {"GOOD_NAME": "any value"}}) == []


def test_member_paths_lower_the_first_letter_only():
    assert member_path("", "KMSKeyArn") == "kMSKeyArn"
    assert member_path("environment", "Variables") == "environment.variables"


def test_a_structure_in_a_list_is_reported_by_its_position():
    arn = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0"
    failures = _check("FileSystemConfigs", [{"Arn": arn, "LocalMountPath": "/data"}])
    assert failures == [
        "Value '/data' at 'fileSystemConfigs.1.member.localMountPath' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: /mnt/[a-zA-Z0-9-_.]+"
    ]


def test_a_sensitive_value_is_not_shown():
    (failure,) = _check("Environment", {"Variables": {"_SECRET": "hunter2"}})
    assert failure.startswith("Value at 'environment.variables' failed to satisfy constraint")
    assert "hunter2" not in failure and "_SECRET" not in failure


def test_a_list_is_shown_as_aws_shows_it():
    (failure,) = _check("Layers", ["a", None])
    assert failure.startswith("Value '[a, null]' at 'layers' failed to satisfy constraint: ")


def test_values_of_the_wrong_type_are_left_to_the_operation():
    assert _check("MemorySize", "large") == []
    assert _check("MemorySize", True) == []
    assert _check("Layers", "not a list") == []
    assert _check("Environment", ["not", "a", "structure"]) == []


def test_the_models_unicode_classes_are_read():
    tags = CREATE.members["Tags"]
    assert list(violations(tags, {"équipe Ω 7": "x"}, "tags")) == []
    (failure,) = violations(tags, {"bad\x00key": "x"}, "tags")
    assert "Map keys must satisfy constraint" in failure
