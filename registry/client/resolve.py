"""Turn requirements into exact layer versions through the Lambda API.

Pins go straight to GetLayerVersion; everything else lists versions (with the runtime and
architecture filters, re-applied here because not every server honours them) and takes the newest
match. Errors say which requirement failed and what to change.
"""

from __future__ import annotations

import base64
import binascii
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from botocore.exceptions import (
    BotoCoreError,
    EndpointConnectionError,
    NoCredentialsError,
)
from botocore.exceptions import (
    ClientError as BotoClientError,
)

from registry.client.errors import (
    AccessDenied,
    ClientError,
    HashMismatch,
    LayerNotFound,
    NetworkError,
)
from registry.client.requirements import Requirement
from registry.client.specifiers import SpecifierSet


@dataclass(frozen=True)
class Filters:
    runtime: str | None = None
    arch: str | None = None

    def accepts(self, item: dict) -> bool:
        runtime_ok = not self.runtime or self.runtime in (item.get("CompatibleRuntimes") or [])
        arch_ok = not self.arch or self.arch in (item.get("CompatibleArchitectures") or [])
        return runtime_ok and arch_ok

    def describe(self) -> str:
        parts = []
        if self.runtime:
            parts.append(f"runtime {self.runtime}")
        if self.arch:
            parts.append(f"architecture {self.arch}")
        return " and ".join(parts)


NO_FILTERS = Filters()


@dataclass(frozen=True)
class ResolvedLayer:
    requirement: Requirement
    name: str
    version: int
    version_arn: str
    sha256: str  # lowercase hex
    size: int
    location: str
    # The GetLayerVersion answer, for callers that show more than the fields above.
    response: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"


def code_sha256_to_hex(value: str, subject: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ClientError(
            f"{subject}: the server sent CodeSha256 {value!r}, which is not a base64 sha256"
        )
    return raw.hex()


class Resolver:
    def __init__(
        self,
        client,
        filters: Filters = NO_FILTERS,
        *,
        direct_get=None,
        origin: tuple[str, str] | None = None,
    ):
        self.client = client
        self.filters = filters
        self.direct_get = direct_get  # (layer name, version) -> response or None; see direct_get.py
        self._origin = origin

    @property
    def origin(self) -> tuple[str, str]:
        """(endpoint URL, region) of the server asked."""
        if self._origin is None:
            self._origin = (self.client.meta.endpoint_url, self.client.meta.region_name)
        return self._origin

    def prefetch(self, requirements: list[Requirement]) -> dict[int, object]:
        """Send GetLayerVersion for every pinned requirement now, all at once, so the server
        answers them together; `resolve_all` reads them."""
        sent = {}
        if self.direct_get is not None:
            for index, req in enumerate(requirements):
                if req.pinned_version is not None:
                    request = self.direct_get.send(self.layer_name(req), req.pinned_version)
                    if request is not None:
                        sent[index] = request
        return sent

    def resolve_all(
        self,
        requirements: list[Requirement],
        jobs: int = 4,
        prefetched: dict[int, object] | None = None,
    ) -> list[ResolvedLayer]:
        """`prefetched`: what `prefetch` sent for these requirements; sent here when not given."""
        prefetched = self.prefetch(requirements) if prefetched is None else prefetched

        def one(index: int) -> ResolvedLayer:
            return self.resolve(requirements[index], prefetched.get(index))

        indices = range(len(requirements))
        if len(requirements) <= 1 or jobs <= 1 or len(prefetched) == len(requirements):
            return [one(index) for index in indices]
        with ThreadPoolExecutor(max_workers=min(jobs, len(requirements))) as pool:
            return list(pool.map(one, indices))

    def resolve(self, req: Requirement, prefetched=None) -> ResolvedLayer:
        """`prefetched`: this requirement's request from `prefetch`."""
        target = self.layer_name(req)
        version = req.pinned_version
        if version is None:
            version = self._newest_match(req, target)
        if prefetched is not None:
            response = prefetched.result()
        else:
            response = self.direct_get(target, version) if self.direct_get else None
        if response is None:
            response = self._call(req, "GetLayerVersion", LayerName=target, VersionNumber=version)
        content = response.get("Content") or {}
        resolved = ResolvedLayer(
            requirement=req,
            name=req.name,
            version=int(response.get("Version", version)),
            version_arn=response.get("LayerVersionArn") or f"{target}:{version}",
            sha256=code_sha256_to_hex(content.get("CodeSha256", ""), req.describe()),
            size=int(content.get("CodeSize", -1)),
            location=content.get("Location") or "",
            response=response,
        )
        if req.hashes and resolved.sha256 not in req.hashes:
            raise HashMismatch(
                f"{req.describe()}: hash mismatch for {resolved.version_arn}: the requirement "
                f"expects sha256 {_or_list(req.hashes)} but the server reports {resolved.sha256}; "
                "if the layer was legitimately republished, re-run `strata lock`, otherwise do not "
                "trust this source"
            )
        return resolved

    def refresh(self, layer: ResolvedLayer) -> ResolvedLayer:
        """Resolve the same version again, e.g. for a fresh Content.Location."""
        return self.resolve(
            replace(layer.requirement, specifier=SpecifierSet.parse(f"=={layer.version}"))
        )

    def layer_name(self, req: Requirement) -> str:
        if req.layer_arn:
            return req.layer_arn
        if req.account:
            meta = self.client.meta
            return f"arn:{meta.partition}:lambda:{meta.region_name}:{req.account}:layer:{req.name}"
        return req.name

    def versions(self, req: Requirement) -> list[dict]:
        """The layer's versions that pass the filters: asked of the server, and checked here
        too because not every implementation applies them (moto ignores both)."""
        kwargs = {"LayerName": self.layer_name(req)}
        if self.filters.runtime:
            kwargs["CompatibleRuntime"] = self.filters.runtime
        if self.filters.arch:
            kwargs["CompatibleArchitecture"] = self.filters.arch
        return [i for i in self.list_versions(req, **kwargs) if self.filters.accepts(i)]

    def _newest_match(self, req: Requirement, target: str) -> int:
        items = self.versions(req)
        matching = [int(i["Version"]) for i in items if req.specifier.contains(int(i["Version"]))]
        if matching:
            return max(matching)
        filtered = bool(self.filters.runtime or self.filters.arch)
        everything = self.list_versions(req, LayerName=target) if filtered else items
        if not everything:
            raise LayerNotFound(
                f"{req.describe()}: no layer {target!r} with versions you can read"
                f"{self._where()}; check the name (`strata layers list`), the region, and for "
                "another account's layer that its owner shared it with you"
            )
        wanted = [part for part in (str(req.specifier), self.filters.describe()) if part]
        raise LayerNotFound(
            f"{req.describe()}: no version of {req.name} matches {' with '.join(wanted)}; "
            f"nearest versions: {_nearest(everything, req)}; loosen the specifier or the "
            "--runtime/--arch filters"
        )

    def list_versions(self, req: Requirement, **kwargs) -> list[dict]:
        items, marker = [], None
        while True:
            page = self._call(
                req, "ListLayerVersions", **kwargs, **({"Marker": marker} if marker else {})
            )
            items.extend(page.get("LayerVersions") or [])
            marker = page.get("NextMarker")
            if not marker:
                return items

    def _where(self) -> str:
        endpoint, region = self.origin
        return f" at {endpoint} ({region})"

    def _call(self, req: Requirement, operation: str, **kwargs) -> dict:
        method = getattr(self.client, _snake(operation))
        try:
            return method(**kwargs)
        except (BotoClientError, BotoCoreError) as exc:
            raise translate_error(exc, req.describe(), self._where()) from None


_CREDENTIAL_ERRORS = (
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
)


def translate_error(exc: Exception, subject: str, where: str = "") -> ClientError:
    """Map a botocore failure to a client error that names the subject and the fix."""
    if isinstance(exc, BotoClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "") or code
        if code == "ResourceNotFoundException":
            return LayerNotFound(
                f"{subject}: not found{where}: {message}; check the name and version "
                "(`strata layers versions NAME`)"
            )
        if code in ("AccessDeniedException", "AccessDenied"):
            return AccessDenied(
                f"{subject}: access denied{where}: {message}; another account's layer must be "
                "shared with yours (its owner runs add-layer-version-permission with your account "
                "id)"
            )
        if code in _CREDENTIAL_ERRORS:
            return AccessDenied(
                f"{subject}: the server rejected your credentials ({message}); "
                "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile"
            )
        return ClientError(f"{subject}: {code}: {message}")
    if isinstance(exc, NoCredentialsError):
        return AccessDenied(
            f"{subject}: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY or use a profile (a local dev server accepts test/test)"
        )
    if isinstance(exc, EndpointConnectionError):
        return NetworkError(
            f"{subject}: cannot reach the Lambda endpoint{where}; is the server running? "
            "Set --endpoint-url or STRATA_ENDPOINT_URL"
        )
    return NetworkError(f"{subject}: {exc}")


def _nearest(items: list[dict], req: Requirement, limit: int = 5) -> str:
    anchors = [c.version for c in req.specifier.clauses] or [max(int(i["Version"]) for i in items)]
    ranked = sorted(
        items, key=lambda i: (min(abs(int(i["Version"]) - a) for a in anchors), -int(i["Version"]))
    )
    described = []
    for item in sorted(ranked[:limit], key=lambda i: int(i["Version"])):
        traits = ",".join(
            (item.get("CompatibleRuntimes") or []) + (item.get("CompatibleArchitectures") or [])
        )
        described.append(f"{item['Version']} ({traits or 'no runtime/architecture listed'})")
    return ", ".join(described)


def _or_list(values) -> str:
    return " or ".join(values)


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
