"""What an invocation runs while an update of $LATEST is applied, as on AWS Lambda: the previous
code and configuration until the update is Successful (then the new ones), and still the previous
ones after an update that Failed. GetFunction meanwhile shows the change as made.

An update is held InProgress by making its preparation wait: the merge engine's cache entry for
the update's new archive is a named pipe, which the server's preparing thread blocks reading
until the test writes to it (what it writes is unreadable as a cache entry, so the archive is
then extracted afresh and the update is applied as any other).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import os
import subprocess
import time
from pathlib import Path

from registry.merge.cache import extracted_path
from tests.support.functions import create, handler_zip, invoke, wait_updated
from tests.support.server import STRATA
from tests.support.zips import layer_zip

GREETER = """
import os


def handler(event, context):
    return {
        "code": "CODE",
        "greeting": os.environ.get("GREETING"),
        "memory": str(context.memory_limit_in_mb),
    }
"""


def greeter(code: str) -> bytes:
    return handler_zip(GREETER.replace("CODE", code))


@contextlib.contextmanager
def preparation_held(strata_server, digest: str):
    """While inside, preparing a bundle that needs the archive `digest` waits."""
    entry = extracted_path(strata_server.data_dir / "cache", digest).parent
    entry.mkdir(parents=True)
    pipe = entry / "manifest.json"
    os.mkfifo(pipe)
    try:
        yield
    finally:
        _release(pipe)


def _release(pipe: Path, timeout: float = 10.0) -> None:
    """Let the reader of `pipe` go on: it reads an unreadable entry, which the cache discards."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            writer = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            return  # read and discarded already
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: nobody reads it (yet)
                raise
            if time.monotonic() > deadline:
                pipe.unlink(missing_ok=True)  # never read: nothing waits on it
                return
            time.sleep(0.02)
            continue
        os.write(writer, b"{")
        os.close(writer)
        return


def settled(lam, name: str, timeout: float = 30.0) -> dict:
    """GetFunctionConfiguration once the last update is no longer InProgress (boto3's waiter
    stops at Failed with an error)."""
    deadline = time.monotonic() + timeout
    while True:
        shown = lam.get_function_configuration(FunctionName=name)
        if shown["LastUpdateStatus"] != "InProgress" or time.monotonic() > deadline:
            return shown
        time.sleep(0.05)


def in_progress(lam, name: str) -> dict:
    shown = lam.get_function_configuration(FunctionName=name)
    assert shown["LastUpdateStatus"] == "InProgress", shown["LastUpdateStatus"]
    return shown


def test_invoke__runs_the_previous_code_until_an_update_of_the_code_is_successful(
    lam, strata_server
):
    create(lam, "recoding", greeter("old"))
    lam.create_alias(FunctionName="recoding", Name="edge", FunctionVersion="$LATEST")
    assert invoke(lam, "recoding")[1]["code"] == "old"
    new = greeter("new")
    with preparation_held(strata_server, hashlib.sha256(new).hexdigest()):
        answer = lam.update_function_code(FunctionName="recoding", ZipFile=new)
        assert answer["LastUpdateStatus"] == "InProgress"
        response, result = invoke(lam, "recoding")
        assert (result["code"], response["ExecutedVersion"]) == ("old", "$LATEST")
        assert invoke(lam, "recoding", Qualifier="edge")[1]["code"] == "old"  # an alias of it too
        # GetFunction shows the change as made, and it is still being applied.
        shown = in_progress(lam, "recoding")
        assert (
            shown["CodeSha256"]
            == answer["CodeSha256"]
            == base64.b64encode(hashlib.sha256(new).digest()).decode()
        )
    wait_updated(lam, "recoding")
    assert invoke(lam, "recoding")[1]["code"] == "new"
    assert invoke(lam, "recoding", Qualifier="edge")[1]["code"] == "new"


def test_invoke__runs_the_previous_configuration_until_an_update_of_it_is_successful(
    lam, strata_server
):
    create(lam, "reconfiguring", greeter("same"), Environment={"Variables": {"GREETING": "hi"}})
    assert invoke(lam, "reconfiguring")[1] == {"code": "same", "greeting": "hi", "memory": "128"}
    # A layer nobody has used yet, so that applying the change prepares a new bundle.
    content = layer_zip("fresh", "X = 'only in this test'\n")
    layer = lam.publish_layer_version(LayerName="fresh", Content={"ZipFile": content})
    with preparation_held(strata_server, hashlib.sha256(content).hexdigest()):
        lam.update_function_configuration(
            FunctionName="reconfiguring",
            MemorySize=256,
            Environment={"Variables": {"GREETING": "hello"}},
            Layers=[layer["LayerVersionArn"]],
        )
        shown = in_progress(lam, "reconfiguring")
        assert (shown["MemorySize"], shown["Environment"]) == (
            256,
            {"Variables": {"GREETING": "hello"}},
        )
        assert invoke(lam, "reconfiguring")[1] == {
            "code": "same",
            "greeting": "hi",
            "memory": "128",
        }
        in_progress(lam, "reconfiguring")  # the invocation above ran while it was
    wait_updated(lam, "reconfiguring")
    assert invoke(lam, "reconfiguring")[1] == {"code": "same", "greeting": "hello", "memory": "256"}


def test_invoke__runs_the_previous_code_and_configuration_after_an_update_failed(
    lam, strata_server
):
    create(lam, "unlucky", greeter("good"), Environment={"Variables": {"GREETING": "hi"}})
    # A layer whose blob goes missing from the store: the update that attaches it cannot be
    # applied.
    layer = lam.publish_layer_version(
        LayerName="vanishing-later", Content={"ZipFile": layer_zip("gone", "X = 'unique'\n")}
    )
    strata_server.store().delete(base64.b64decode(layer["Content"]["CodeSha256"]).hex())
    lam.update_function_configuration(
        FunctionName="unlucky",
        Environment={"Variables": {"GREETING": "broken"}},
        Layers=[layer["LayerVersionArn"]],
    )
    shown = settled(lam, "unlucky")
    assert (shown["State"], shown["LastUpdateStatus"]) == ("Active", "Failed")
    assert shown["Environment"] == {"Variables": {"GREETING": "broken"}}
    assert invoke(lam, "unlucky")[1]["greeting"] == "hi"
    # New code on top of the failed update fails too (the layer is still missing); the code
    # that runs is now referenced by nothing else, and garbage collection keeps it.
    first = greeter("good")
    lam.update_function_code(FunctionName="unlucky", ZipFile=greeter("newer"))
    assert settled(lam, "unlucky")["LastUpdateStatus"] == "Failed"
    env = {**os.environ, **strata_server.env}
    subprocess.run([STRATA, "gc", "--grace-minutes", "0"], env=env, capture_output=True, check=True)
    assert strata_server.store().exists(hashlib.sha256(first).hexdigest())
    assert invoke(lam, "unlucky")[1] == {"code": "good", "greeting": "hi", "memory": "128"}
    # Another update, applied, runs; it starts from the change as shown, as on Lambda.
    lam.update_function_configuration(FunctionName="unlucky", Layers=[])
    wait_updated(lam, "unlucky")
    assert invoke(lam, "unlucky")[1] == {"code": "newer", "greeting": "broken", "memory": "128"}
