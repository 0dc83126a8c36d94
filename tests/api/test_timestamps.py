"""Lambda's timestamp format, whatever the database hands back."""

from datetime import datetime, timedelta, timezone

from registry.api.serialize import aws_timestamp


def test_aws_timestamp__naive_values_are_utc_and_milliseconds_are_truncated():
    assert (
        aws_timestamp(datetime(2018, 11, 27, 15, 10, 45, 123999)) == "2018-11-27T15:10:45.123+0000"
    )


def test_aws_timestamp__whole_seconds_keep_their_milliseconds():
    moment = datetime(2018, 11, 27, 15, 10, 45, tzinfo=timezone.utc)
    assert aws_timestamp(moment) == "2018-11-27T15:10:45.000+0000"


def test_aws_timestamp__another_offset_is_converted_to_utc():
    moment = datetime(2018, 11, 28, 1, 10, 45, 5000, tzinfo=timezone(timedelta(hours=10)))
    assert aws_timestamp(moment) == "2018-11-27T15:10:45.005+0000"
