"""The client's commands: install, download, lock, publish and cache (`layers` is in cli_layers).

Exit codes (also in the README): 0 ok, 1 other error, 2 bad usage or requirement, 3 layer or
version not found, 4 access denied or bad credentials, 5 hash mismatch, 6 network failure,
7 target or cache not writable, or the layers cannot be merged.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from registry.client.cli_options import (
    ARCHITECTURES,
    EXIT_CODES,
    client_for,
    connection_options,
    interrupt_leaves_target,
)
from registry.client.errors import ClientError, RequirementError
from registry.client.requirements import RequirementSet, parse_requirement, parse_requirements_file


def _resolution_options(fn):
    fn = click.option(
        "--arch",
        type=click.Choice(ARCHITECTURES),
        help="Only versions compatible with this architecture.",
    )(fn)
    fn = click.option(
        "--runtime", help="Only versions compatible with this runtime (e.g. python3.12)."
    )(fn)
    fn = click.option(
        "-r",
        "--requirement",
        "requirement_files",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Read requirements from FILE (repeatable).",
    )(fn)
    return fn


def _fetch_options(fn):
    fn = click.option("-q", "--quiet", is_flag=True, help="No progress output.")(fn)
    fn = click.option(
        "-j",
        "--jobs",
        default=4,
        show_default=True,
        type=click.IntRange(1, 32),
        help="Parallel downloads.",
    )(fn)
    fn = click.option("--no-cache", is_flag=True, help="Neither read nor fill the local cache.")(fn)
    fn = click.option(
        "--require-hashes", is_flag=True, help="Every requirement must be pinned and carry --hash."
    )(fn)
    return fn


def _gather(args: tuple[str, ...], files: tuple[Path, ...]) -> RequirementSet:
    gathered = RequirementSet()
    for text in args:
        gathered.requirements.append(parse_requirement(text))
    for path in files:
        part = parse_requirements_file(path)
        gathered.requirements.extend(part.requirements)
        gathered.require_hashes |= part.require_hashes
    if not gathered.requirements:
        raise RequirementError("no requirements given: name layers (NAME==N, ARNs) or pass -r FILE")
    return gathered


def _resolver(endpoint_url, region, profile, runtime, arch, jobs=4):
    from registry.client.connection import Connection, resolver_for
    from registry.client.resolve import Filters

    conn = Connection(endpoint_url=endpoint_url, region=region, profile=profile, max_pool=jobs)
    return resolver_for(conn, Filters(runtime=runtime, arch=arch))


def _cache(no_cache: bool):
    from registry.client.cache import BlobCache, default_cache_root

    return None if no_cache else BlobCache(default_cache_root())


@click.command(epilog=EXIT_CODES)
@click.argument("requirements", nargs=-1)
@_resolution_options
@click.option(
    "-t",
    "--target",
    required=True,
    type=click.Path(path_type=Path),
    help="Directory to lay the merged layers out in.",
)
@click.option(
    "--copy",
    is_flag=True,
    help="Copy files instead of hard-linking them from the cache (to edit them).",
)
@_fetch_options
@connection_options
@interrupt_leaves_target
def install(
    requirements,
    requirement_files,
    runtime,
    arch,
    target,
    copy,
    require_hashes,
    no_cache,
    jobs,
    quiet,
    endpoint_url,
    region,
    profile,
):
    """Install layers, merged in the order given, into a directory (what Lambda puts in /opt)."""
    from registry.client.install import install as run_install
    from registry.client.progress import progress_for

    wanted = _gather(requirements, requirement_files)
    result = run_install(
        wanted.requirements,
        target,
        resolver=_resolver(endpoint_url, region, profile, runtime, arch, jobs),
        cache=_cache(no_cache),
        jobs=jobs,
        progress=progress_for(quiet=quiet),
        require_hashes=require_hashes or wanted.require_hashes,
        copy=copy,
    )
    names = ", ".join(layer.label for layer in result.layers)
    if not result.changed:
        click.echo(f"Already installed in {target}: {names}; nothing to do.")
        return
    click.echo(
        f"Installed {len(result.layers)} layer(s) into {target}: {names} "
        f"({result.downloaded} downloaded, {result.from_cache} from cache)"
    )
    if result.tree_digest:
        click.echo(f"Tree digest: {result.tree_digest}")


@click.command(epilog=EXIT_CODES)
@click.argument("requirements", nargs=-1)
@_resolution_options
@click.option(
    "-d",
    "--dest",
    required=True,
    type=click.Path(path_type=Path),
    help="Directory for the zips and layers.json.",
)
@_fetch_options
@connection_options
@interrupt_leaves_target
def download(
    requirements,
    requirement_files,
    runtime,
    arch,
    dest,
    require_hashes,
    no_cache,
    jobs,
    quiet,
    endpoint_url,
    region,
    profile,
):
    """Download verified layer zips and a layers.json index into a directory."""
    from registry.client.fetch_to_dir import INDEX_FILE, download_to
    from registry.client.install import check_require_hashes
    from registry.client.progress import progress_for

    wanted = _gather(requirements, requirement_files)
    if require_hashes or wanted.require_hashes:
        check_require_hashes(wanted.requirements)
    resolver = _resolver(endpoint_url, region, profile, runtime, arch, jobs)
    layers = resolver.resolve_all(wanted.requirements, jobs=jobs)
    got = download_to(
        layers,
        dest,
        cache=_cache(no_cache),
        jobs=jobs,
        progress=progress_for(quiet=quiet),
        refresh=resolver.refresh,
    )
    click.echo(
        f"Saved {len(layers)} layer zip(s) and {INDEX_FILE} in {dest} "
        f"({got.downloaded} downloaded, {got.from_cache} from cache)"
    )


@click.command(epilog=EXIT_CODES)
@click.argument("requirements", nargs=-1)
@_resolution_options
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Lock file to write (default: standard output).",
)
@connection_options
@interrupt_leaves_target
def lock(requirements, requirement_files, runtime, arch, output, endpoint_url, region, profile):
    """Pin every requirement to a layer version ARN and its sha256."""
    from registry.client.lockfile import render_lock

    wanted = _gather(requirements, requirement_files)
    layers = _resolver(endpoint_url, region, profile, runtime, arch).resolve_all(
        wanted.requirements
    )
    text = render_lock(layers, _lock_command(requirements, requirement_files, runtime, arch))
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise ClientError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"Locked {len(layers)} layer(s) in {output}", err=True)


@click.command(epilog=EXIT_CODES)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="Layer name.")
@click.option("--runtime", "runtimes", multiple=True, help="Compatible runtime (repeatable).")
@click.option(
    "--arch",
    "architectures",
    multiple=True,
    type=click.Choice(ARCHITECTURES),
    help="Compatible architecture (repeatable).",
)
@click.option("--description")
@click.option("--license", "license_info", help="License text or SPDX identifier.")
@click.option(
    "--s3-bucket",
    help="Bucket to upload through when the zip is over the 50 MB direct-upload limit "
    "(staged under uploads/ACCOUNT-ID/, removed after the publish).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the PublishLayerVersion response as JSON."
)
@connection_options
@interrupt_leaves_target
def publish(
    path,
    name,
    runtimes,
    architectures,
    description,
    license_info,
    s3_bucket,
    as_json,
    endpoint_url,
    region,
    profile,
):
    """Publish a zip, or a directory zipped deterministically, as a new layer version."""
    from registry.client.connection import Connection, s3_client
    from registry.client.publish import LayerSpec
    from registry.client.publish import publish as run_publish

    response = run_publish(
        path,
        LayerSpec(name, description, license_info, tuple(runtimes), tuple(architectures)),
        client=client_for(endpoint_url, region, profile),
        s3_client_factory=lambda: s3_client(Connection(region=region, profile=profile)),
        s3_bucket=s3_bucket,
    )
    if as_json:
        click.echo(json.dumps(response, indent=2, default=str))
        return
    click.echo(f"Published {response['LayerVersionArn']}")
    content = response["Content"]
    click.echo(f"CodeSha256: {content['CodeSha256']}  CodeSize: {content['CodeSize']}")


@click.group()
def cache():
    """Inspect or empty the local layer cache."""


@cache.command("dir")
def cache_dir():
    """Print the cache directory."""
    from registry.client.cache import default_cache_root

    click.echo(str(default_cache_root()))


@cache.command("info")
def cache_info():
    """Where the cache is and how much it holds."""
    from registry.client.cache import BlobCache, default_cache_root

    info = BlobCache(default_cache_root()).info()
    click.echo(f"Location: {info.root}")
    click.echo(f"Layer zips: {info.blobs} ({info.blob_bytes / 2**20:.1f} MB)")
    click.echo(f"Extracted layers: {info.extracted_bytes / 2**20:.1f} MB")


@cache.command("purge")
def cache_purge():
    """Delete everything in the cache."""
    from registry.client.cache import BlobCache, default_cache_root

    freed = BlobCache(default_cache_root()).purge()
    click.echo(f"Removed the cache ({freed / 2**20:.1f} MB freed)")


def _lock_command(requirements, requirement_files, runtime, arch) -> str:
    """The command that re-creates the lock, for its header (without machine-specific options)."""
    argv = ["strata", "lock", *requirements]
    for path in requirement_files:
        argv += ["-r", str(path)]
    if runtime:
        argv += ["--runtime", runtime]
    if arch:
        argv += ["--arch", arch]
    return shlex.join(argv)
