"""PublishVersion and ListVersionsByFunction as AWS Lambda answers them: a new version whenever the
code, a setting, the layers or the description differ from the newest version, the newest
version itself otherwise; versions listed after $LATEST, without their state members."""

from __future__ import annotations

from tests.conformance.configurations import configuration, listed
from tests.conformance.expect import assert_answer
from tests.support.functions import FAST_WAIT, create, handler_zip, wait_updated


def publish(lam, name: str, **params) -> dict:
    answer = lam.publish_version(FunctionName=name, **params)
    lam.get_waiter("published_version_active").wait(
        FunctionName=name, Qualifier=answer["Version"], WaiterConfig=FAST_WAIT
    )
    return answer


def test_publish_version__answers_the_new_version_pending_with_every_member(lam, account):
    create(lam, "first-version")
    assert_answer(
        lam.publish_version(FunctionName="first-version"),
        configuration(
            account.account_id,
            "first-version",
            arn_suffix=":1",
            Version="1",
            State="Pending",
            StateReason="The function is being created.",
            StateReasonCode="Creating",
            LastUpdateStatus=None,
        ),
        status=201,
    )


def test_publish_version__nothing_changed_answers_the_newest_version(lam):
    create(lam, "unchanged")
    first = publish(lam, "unchanged")
    again = lam.publish_version(FunctionName="unchanged")
    assert again["Version"] == "1"
    assert again["CodeSha256"] == first["CodeSha256"]
    assert again["State"] == "Active"


def test_publish_version__a_changed_description_on_latest_publishes_anew(lam):
    create(lam, "described")
    publish(lam, "described")
    lam.update_function_configuration(FunctionName="described", Description="second release")
    wait_updated(lam, "described")
    answer = publish(lam, "described")
    assert (answer["Version"], answer["Description"]) == ("2", "second release")


def test_publish_version__a_description_given_to_publish_version_publishes_anew(lam):
    create(lam, "noted")
    publish(lam, "noted")
    assert publish(lam, "noted", Description="release notes")["Version"] == "2"
    # The same description again is no change.
    assert lam.publish_version(FunctionName="noted", Description="release notes")["Version"] == "2"


def test_publish_version__changed_code_settings_or_layers_publish_anew(lam):
    create(lam, "evolving")
    publish(lam, "evolving")
    lam.update_function_code(FunctionName="evolving", ZipFile=handler_zip("x = 2"))
    wait_updated(lam, "evolving")
    assert publish(lam, "evolving")["Version"] == "2"
    lam.update_function_configuration(FunctionName="evolving", Timeout=9)
    wait_updated(lam, "evolving")
    assert publish(lam, "evolving")["Version"] == "3"
    lam.update_function_configuration(FunctionName="evolving", Environment={"Variables": {}})
    wait_updated(lam, "evolving")
    assert publish(lam, "evolving")["Version"] == "4"


def test_list_versions_by_function__latest_then_every_version_without_state(lam, account):
    create(lam, "history")
    publish(lam, "history", Description="one")
    lam.update_function_configuration(FunctionName="history", MemorySize=256)
    wait_updated(lam, "history")
    publish(lam, "history")
    item = listed(configuration(account.account_id, "history"))
    assert_answer(
        lam.list_versions_by_function(FunctionName="history"),
        {
            "Versions": [
                {**item, "FunctionArn": item["FunctionArn"] + ":$LATEST", "MemorySize": 256},
                {
                    **item,
                    "FunctionArn": item["FunctionArn"] + ":1",
                    "Version": "1",
                    "Description": "one",
                },
                {
                    **item,
                    "FunctionArn": item["FunctionArn"] + ":2",
                    "Version": "2",
                    "MemorySize": 256,
                },
            ]
        },
        status=200,
    )
