import pytest

from registry.client.errors import RequirementError
from registry.client.requirements import parse_requirement, parse_requirements_file

HEX_A = "a" * 64
HEX_B = "b" * 64
ARN = "arn:aws:lambda:us-east-1:123456789012:layer:numpy"


def test_parse_requirement__bare_name_has_no_specifier():
    req = parse_requirement("numpy")
    assert (req.name, str(req.specifier), req.account, req.layer_arn) == ("numpy", "", None, None)
    assert req.pinned_version is None


def test_parse_requirement__pinned_version():
    assert parse_requirement("numpy==3").pinned_version == 3


def test_parse_requirement__range_specifier_matches_integers():
    spec = parse_requirement("numpy>=2,<5").specifier
    assert [v for v in range(8) if spec.contains(v)] == [2, 3, 4]


def test_parse_requirement__exclusion():
    spec = parse_requirement("numpy>1, !=3,<=4").specifier
    assert [v for v in range(8) if spec.contains(v)] == [2, 4]


def test_parse_requirement__other_account_by_id():
    req = parse_requirement("210987654321/pandas==7")
    assert (req.account, req.name, req.pinned_version) == ("210987654321", "pandas", 7)


def test_parse_requirement__version_arn_is_pinned():
    req = parse_requirement(f"{ARN}:4")
    assert (req.layer_arn, req.account, req.name, req.pinned_version) == (
        ARN,
        "123456789012",
        "numpy",
        4,
    )


def test_parse_requirement__layer_arn_with_specifier():
    req = parse_requirement(f"{ARN}>=2,<4")
    assert req.layer_arn == ARN
    assert str(req.specifier) == ">=2,<4"


@pytest.mark.parametrize(
    "text",
    [
        "numpy==1.2",
        "numpy~=3",
        "num py",
        "numpy==",
        "arn:aws:lambda:us-east-1:123:layer:x:1",
        f"{ARN}:3==3",
        "1234/numpy",
    ],
)
def test_parse_requirement__malformed_names_the_requirement(text):
    with pytest.raises(RequirementError) as err:
        parse_requirement(text)
    assert repr(text.strip()) in err.value.message


def test_requirements_file__comments_continuations_and_hashes(tmp_path):
    path = tmp_path / "layers.txt"
    path.write_text(
        "# shared layers\n"
        "\n"
        "numpy==3 \\\n"
        f"    --hash=sha256:{HEX_A} \\\n"
        f"    --hash sha256:{HEX_B.upper()}   # either build is fine\n"
        "pandas >= 2, < 5\n"
        f"{ARN}:9\n"
    )
    parsed = parse_requirements_file(path)
    assert [r.text for r in parsed.requirements] == ["numpy==3", "pandas>=2,<5", f"{ARN}:9"]
    assert parsed.requirements[0].hashes == (HEX_A, HEX_B)
    assert parsed.requirements[0].origin == f"{path}:3"
    assert parsed.requirements[2].origin == f"{path}:7"
    assert parsed.require_hashes, "any --hash turns on hash-checking mode, as in pip"


def test_requirements_file__includes_and_require_hashes_option(tmp_path):
    (tmp_path / "base.txt").write_text("--require-hashes\nbase==1\n")
    (tmp_path / "app.txt").write_text("-r base.txt\napp==2\n")
    parsed = parse_requirements_file(tmp_path / "app.txt")
    assert [r.name for r in parsed.requirements] == ["base", "app"]
    assert parsed.require_hashes


def test_requirements_file__include_loop_is_refused(tmp_path):
    (tmp_path / "a.txt").write_text("-r b.txt\n")
    (tmp_path / "b.txt").write_text("-r a.txt\n")
    with pytest.raises(RequirementError, match="loop"):
        parse_requirements_file(tmp_path / "a.txt")


@pytest.mark.parametrize(
    "line, fragment",
    [
        ("numpy==1 --hash=md5:abc", "--hash=sha256:<64 hex digits>"),
        ("numpy==1 --hash=sha256:abc", "--hash=sha256:<64 hex digits>"),
        ("numpy==1 --index-url x", "unknown option '--index-url'"),
        (f"--hash=sha256:{HEX_A}", "without a requirement"),
    ],
)
def test_requirements_file__errors_name_file_and_line(tmp_path, line, fragment):
    path = tmp_path / "layers.txt"
    path.write_text("ok==1\n" + line + "\n")
    with pytest.raises(RequirementError) as err:
        parse_requirements_file(path)
    assert f"{path}:2" in err.value.message
    assert fragment in err.value.message


def test_requirements_file__missing_file_says_so(tmp_path):
    with pytest.raises(RequirementError, match="cannot read requirements file"):
        parse_requirements_file(tmp_path / "absent.txt")
