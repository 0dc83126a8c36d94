"""Layer requirements and pip-style requirements files.

Accepted forms of one requirement:
    NAME                    newest version the caller can read
    NAME==3   NAME>=2,<5    integer versions, pip's specifier syntax
    ACCOUNT/NAME==3         another account's layer (12-digit account id)
    arn:aws:lambda:REGION:ACCOUNT:layer:NAME:3     a layer version ARN (pinned)
    arn:aws:lambda:REGION:ACCOUNT:layer:NAME>=2    a layer ARN with a specifier

A requirements file holds one per line, with `#` comments, `\\` continuations, per-line
`--hash=sha256:HEX` options (several allowed), `-r OTHER` includes and a `--require-hashes` line.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from registry.client.errors import RequirementError
from registry.client.specifiers import ANY_VERSION, SpecifierSet

_NAME = r"[a-zA-Z0-9_-]+"
_ARN = re.compile(
    rf"arn:(?P<partition>[a-zA-Z0-9-]+):lambda:(?P<region>[a-zA-Z0-9-]+):(?P<account>\d{{12}})"
    rf":layer:(?P<name>{_NAME})(?::(?P<version>[0-9]+))?(?P<spec>[=!<>].*)?"
)
_SHORT = re.compile(rf"(?:(?P<account>\d{{12}})/)?(?P<name>{_NAME})(?P<spec>\s*[=!<>].*)?")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Requirement:
    name: str
    specifier: SpecifierSet = ANY_VERSION
    account: str | None = None
    # Set only when the requirement was written as an ARN: it fixes partition and region.
    layer_arn: str | None = None
    hashes: tuple[str, ...] = ()  # lowercase hex sha256 values, any of which is accepted
    text: str = ""  # as written, for messages
    origin: str = ""  # "layers.txt:3" when read from a file

    @property
    def pinned_version(self) -> int | None:
        return self.specifier.pinned

    def describe(self) -> str:
        where = f" ({self.origin})" if self.origin else ""
        return f"{self.text or self.name}{where}"


def parse_requirement(text: str, *, hashes: tuple[str, ...] = (), origin: str = "") -> Requirement:
    """Parse one requirement; raise RequirementError naming it and the accepted forms."""
    raw = text.strip()

    def fail(why: str) -> RequirementError:
        where = f"{origin}: " if origin else ""
        return RequirementError(f"{where}invalid requirement {raw!r}: {why}")

    if raw.startswith("arn:"):
        match = _ARN.fullmatch(raw)
        if not match:
            raise fail(
                "a layer ARN looks like arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION "
                "or arn:aws:lambda:REGION:ACCOUNT:layer:NAME>=VERSION"
            )
        if match["version"] and match["spec"]:
            raise fail("give either a version after the last ':' or a specifier, not both")
        spec_text = f"=={match['version']}" if match["version"] else (match["spec"] or "")
        layer_arn = raw[: match.end("name")]
        account = match["account"]
    else:
        match = _SHORT.fullmatch(raw)
        if not match:
            raise fail(
                "expected NAME, NAME==N, NAME>=N,<M, ACCOUNT/NAME==N or a layer (version) ARN; "
                "names use letters, digits, '-' and '_'"
            )
        spec_text = match["spec"] or ""
        layer_arn = None
        account = match["account"]
    try:
        specifier = SpecifierSet.parse(spec_text)
    except ValueError as exc:
        raise fail(str(exc)) from None
    return Requirement(
        name=match["name"],
        specifier=specifier,
        account=account,
        layer_arn=layer_arn,
        hashes=tuple(parse_hash(h, raw, origin) for h in hashes),
        text=raw,
        origin=origin,
    )


def parse_hash(value: str, requirement: str = "", origin: str = "") -> str:
    """`sha256:HEX` -> lowercase HEX."""
    algo, sep, digest = value.partition(":")
    digest = digest.lower()
    if not sep or algo.lower() != "sha256" or not _HEX64.fullmatch(digest):
        where = f"{origin}: " if origin else ""
        subject = f" for {requirement!r}" if requirement else ""
        raise RequirementError(
            f"{where}bad --hash {value!r}{subject}: write --hash=sha256:<64 hex digits>"
        )
    return digest


@dataclass
class RequirementSet:
    requirements: list[Requirement] = field(default_factory=list)
    require_hashes: bool = False  # a file said --require-hashes, or any line carried a --hash


def parse_requirements_file(path: Path, _seen: frozenset[Path] = frozenset()) -> RequirementSet:
    path = Path(path)
    resolved = path.resolve()
    if resolved in _seen:
        raise RequirementError(f"{path}: requirements files include each other in a loop")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RequirementError(f"cannot read requirements file {path}: {exc.strerror}") from None
    result = RequirementSet()
    for lineno, line in _logical_lines(text):
        origin = f"{path}:{lineno}"
        try:
            tokens = shlex.split(line, posix=True)
        except ValueError as exc:
            raise RequirementError(f"{origin}: {exc}") from None
        requirement_text, hashes, i = None, [], 0
        while i < len(tokens):
            token = tokens[i]
            value = None
            if "=" in token and token.startswith("--"):
                token, value = token.split("=", 1)
            if token in ("--hash", "-r", "--requirement") and value is None:
                if i + 1 >= len(tokens):
                    raise RequirementError(f"{origin}: {token} needs a value")
                i += 1
                value = tokens[i]
            if token == "--hash":
                hashes.append(value)
            elif token in ("-r", "--requirement"):
                included = parse_requirements_file(path.parent / value, _seen | {resolved})
                result.requirements.extend(included.requirements)
                result.require_hashes |= included.require_hashes
            elif token == "--require-hashes":
                result.require_hashes = True
            elif token.startswith("-"):
                raise RequirementError(
                    f"{origin}: unknown option {token!r}; a line may carry --hash=sha256:HEX, "
                    "and a file may say -r FILE or --require-hashes"
                )
            elif requirement_text is None:
                requirement_text = token
            else:
                # pip-style specifiers may be written with spaces: "numpy >= 2, < 5"
                requirement_text += token
            i += 1
        if requirement_text is None:
            if hashes:
                raise RequirementError(f"{origin}: --hash without a requirement on the line")
            continue
        req = parse_requirement(requirement_text, hashes=tuple(hashes), origin=origin)
        result.requirements.append(req)
        result.require_hashes |= bool(hashes)
    return result


def _logical_lines(text: str):
    """Yield (first line number, line) after joining `\\` continuations and dropping comments."""
    buffer, start = "", None
    for number, line in enumerate(text.splitlines(), start=1):
        line = _strip_comment(line)
        if start is None:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            yield start, buffer.strip()
        buffer, start = "", None
    if buffer.strip():
        yield start, buffer.strip()


def _strip_comment(line: str) -> str:
    # As in pip: '#' starts a comment at the line start or after whitespace.
    match = re.search(r"(^|\s)#", line)
    return (line[: match.start()] if match else line).rstrip()
