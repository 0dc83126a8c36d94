"""Sealing access keys' secrets: what opens, what does not, and where the key comes from."""

from __future__ import annotations

import os

import pytest

from registry.config import Settings
from registry.errors import SecretsUnreadable
from registry.secret_box import SECRET_KEY_FILE, SecretBox, is_sealed

KEY = "k" * 32


def test_seal__opens_to_the_secret_and_never_contains_it():
    box = SecretBox(KEY)
    sealed = box.seal("AKIAEXAMPLE", "the-secret-value")
    assert is_sealed(sealed) and "the-secret-value" not in sealed
    assert sealed.split(":")[1] == box.key_id
    assert box.open("AKIAEXAMPLE", sealed) == "the-secret-value"
    assert box.seal("AKIAEXAMPLE", "the-secret-value") != sealed  # a fresh nonce every time


def test_open__refuses_another_key_another_row_a_tampered_value_and_plaintext():
    box = SecretBox(KEY)
    sealed = box.seal("AKIAEXAMPLE", "the-secret-value")
    with pytest.raises(SecretsUnreadable, match="sealed with key"):
        SecretBox("z" * 32).open("AKIAEXAMPLE", sealed)
    with pytest.raises(SecretsUnreadable, match="does not decrypt"):
        box.open("AKIAOTHERROW", sealed)  # moved to another access key's row
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SecretsUnreadable, match="does not decrypt"):
        box.open("AKIAEXAMPLE", flipped)
    with pytest.raises(SecretsUnreadable, match="not sealed"):
        box.open("AKIAEXAMPLE", "the-secret-value")


def test_key__shorter_than_32_characters_is_refused():
    with pytest.raises(ValueError, match="at least 32"):
        SecretBox("k" * 31)


def test_from_settings__generates_a_private_key_file_once_and_reuses_it(tmp_path):
    data_dir = tmp_path / "data"
    first = SecretBox.from_settings(Settings(data_dir=data_dir))
    path = data_dir / SECRET_KEY_FILE
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(data_dir).st_mode & 0o777 == 0o700
    again = SecretBox.from_settings(Settings(data_dir=data_dir))
    assert again.key_id == first.key_id
    assert again.open("AKIA1", first.seal("AKIA1", "s")) == "s"


def test_from_settings__the_configured_key_wins_and_no_file_is_written(tmp_path):
    box = SecretBox.from_settings(Settings(data_dir=tmp_path / "data", secret_key=KEY))
    assert box.key_id == SecretBox(KEY).key_id
    assert not (tmp_path / "data" / SECRET_KEY_FILE).exists()
