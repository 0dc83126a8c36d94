"""Layers on functions: sharing at attach time, order and override at run time, and the limits."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests.support.functions import create, handler_zip, invoke, wait_updated
from tests.support.server import STRATA
from tests.support.zips import layer_zip, make_zip


def publish(lam, name: str, data: bytes, **kwargs) -> str:
    return lam.publish_layer_version(LayerName=name, Content={"ZipFile": data}, **kwargs)[
        "LayerVersionArn"
    ]


def big_layer(megabytes: int) -> bytes:
    """About `megabytes` MB unzipped at a plausible 36:1, so the archive checks accept it."""
    block = b"".join(os.urandom(1000) + bytes(39000) for _ in range(26))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(megabytes):
            archive.writestr(f"python/big/part{index}.bin", block)
    return buffer.getvalue()


def test_walkthrough__a_layer_shared_by_grant_runs_in_another_accounts_function(strata_server):
    publisher_account, user_account = strata_server.new_account(), strata_server.new_account()
    publisher, user = strata_server.client(publisher_account), strata_server.client(user_account)
    arn = publish(
        publisher,
        "greetings",
        layer_zip("greetings", "def greet(name):\n    return f'hello {name}'\n"),
        CompatibleRuntimes=["python3.11"],
    )
    handler = handler_zip(
        "import greetings\n\n"
        "def handler(event, context):\n    return greetings.greet(event['name'])\n"
    )
    with pytest.raises(ClientError) as denied:
        create(user, "greeter", handler, Layers=[arn])
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"

    publisher.add_layer_version_permission(
        LayerName="greetings",
        VersionNumber=1,
        StatementId="user",
        Action="lambda:GetLayerVersion",
        Principal=user_account.account_id,
    )
    created = create(user, "greeter", handler, Layers=[arn])
    assert created["Layers"] == [
        {
            "Arn": arn,
            "CodeSize": len(
                layer_zip("greetings", "def greet(name):\n    return f'hello {name}'\n")
            ),
        }
    ]
    response, payload = invoke(user, "greeter", {"name": "strata"})
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert payload == "hello strata"


def test_layers__a_later_layer_overrides_a_module_of_an_earlier_one(lam):
    first = publish(
        lam,
        "base",
        make_zip({"python/shared.py": "WHO = 'base'\n", "python/only_base.py": "X = 1\n"}),
    )
    second = publish(lam, "middle", make_zip({"python/other.py": "WHO = 'middle'\n"}))
    third = publish(lam, "override", make_zip({"python/shared.py": "WHO = 'override'\n"}))
    handler = handler_zip(
        """
        import only_base, other, shared

        def handler(event, context):
            return {
                "who": shared.WHO,
                "file": shared.__file__,
                "base": only_base.X,
                "other": other.WHO,
            }
        """
    )
    create(lam, "layered", handler, Layers=[first, second, third])
    _, payload = invoke(lam, "layered")
    assert payload == {
        "who": "override",
        "file": "/opt/python/shared.py",
        "base": 1,
        "other": "middle",
    }
    lam.update_function_configuration(FunctionName="layered", Layers=[third, second, first])
    wait_updated(lam, "layered")  # until then, invocations run the previous order, as on Lambda
    _, payload = invoke(lam, "layered")
    assert payload["who"] == "base"


def test_layers__function_code_wins_over_layers(lam):
    layer = publish(lam, "shadowed", make_zip({"python/shared.py": "WHO = 'layer'\n"}))
    code = handler_zip(
        "import shared\n\ndef handler(event, context):\n    return shared.WHO\n",
        extra={"shared.py": "WHO = 'function'\n"},
    )
    create(lam, "task-first", code, Layers=[layer])
    assert invoke(lam, "task-first")[1] == "function"


def test_layers__at_most_five(lam):
    arns = [publish(lam, f"five{i}", layer_zip(f"m{i}")) for i in range(6)]
    create(lam, "five", Layers=arns[:5])
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as refused:
        create(lam, "six", Layers=arns)
    assert "more than 5 layers" in refused.value.response["Error"]["Message"]
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_configuration(FunctionName="five", Layers=arns)


def test_layers__code_and_layers_over_250_mb_unzipped_are_refused(lam):
    arns = [publish(lam, f"heavy{i}", big_layer(90)) for i in range(3)]
    create(lam, "heavy-two", Layers=arns[:2])
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as refused:
        create(lam, "heavy-three", Layers=arns)
    message = refused.value.response["Error"]["Message"]
    assert "exceeds the maximum allowed size of 262144000 bytes" in message
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_configuration(FunctionName="heavy-two", Layers=arns)


def test_layers__incompatible_runtime_or_architecture_names_the_layer(lam):
    py312 = publish(lam, "py312-only", layer_zip(), CompatibleRuntimes=["python3.12"])
    arm = publish(lam, "arm-only", layer_zip(), CompatibleArchitectures=["arm64"])
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as runtime:
        create(lam, "mismatch", Layers=[py312])
    assert py312 in runtime.value.response["Error"]["Message"]
    assert "runtime python3.11" in runtime.value.response["Error"]["Message"]
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as architecture:
        create(lam, "mismatch", Layers=[arm])
    assert "architecture x86_64" in architecture.value.response["Error"]["Message"]
    assert create(lam, "matched", Layers=[arm], Architectures=["arm64"])["Layers"][0]["Arn"] == arm


def test_layers__two_versions_of_one_layer_are_refused(lam):
    first, second = publish(lam, "dup", layer_zip()), publish(lam, "dup", layer_zip(body="V = 2\n"))
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        create(lam, "dup-user", Layers=[first, second])


def test_layers__a_deleted_layer_version_keeps_working_and_gc_keeps_the_blobs(lam, strata_server):
    data = layer_zip("kept", "VALUE = 'still here'\n")
    arn = publish(lam, "kept", data)
    code = handler_zip("import kept\n\ndef handler(e, c):\n    return kept.VALUE\n")
    create(lam, "keeper", code, Layers=[arn], Publish=True)
    lam.delete_layer_version(LayerName="kept", VersionNumber=1)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="does not exist"):
        create(lam, "latecomer", Layers=[arn])

    env = {**os.environ, **strata_server.env}
    subprocess.run([STRATA, "gc", "--grace-minutes", "0"], env=env, capture_output=True, check=True)
    store = strata_server.store()
    assert store.exists(hashlib.sha256(data).hexdigest()) and store.exists(
        hashlib.sha256(code).hexdigest()
    )
    lam.update_function_code(
        FunctionName="keeper",
        ZipFile=handler_zip("import kept\n\ndef handler(e, c):\n    return 'v2 ' + kept.VALUE\n"),
    )
    wait_updated(lam, "keeper")
    assert invoke(lam, "keeper")[1] == "v2 still here"  # a new bundle, built after the delete
    assert invoke(lam, "keeper", Qualifier="1")[1] == "still here"
    # Unrelated changes keep the attached (deleted) layer version.
    lam.update_function_configuration(FunctionName="keeper", MemorySize=256)
    assert lam.get_function_configuration(FunctionName="keeper")["Layers"][0]["Arn"] == arn
