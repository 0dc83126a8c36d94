"""`strata layers`: browse layers and their versions through the Lambda API."""

from __future__ import annotations

import json

import click

from registry.client.cli_options import (
    ARCHITECTURES,
    client_for,
    connection_options,
    interrupt_leaves_target,
)
from registry.client.requirements import parse_requirement


@click.group()
def layers():
    """Browse layers through the Lambda API."""


@layers.command("list")
@click.option("--runtime")
@click.option("--arch", type=click.Choice(ARCHITECTURES))
@click.option("--json", "as_json", is_flag=True)
@connection_options
@interrupt_leaves_target
def layers_list(runtime, arch, as_json, endpoint_url, region, profile):
    """Layers you can see, each with its newest matching version."""
    from registry.client.browse import list_layers

    items = list_layers(client_for(endpoint_url, region, profile), runtime=runtime, arch=arch)
    if as_json:
        click.echo(json.dumps(items, indent=2, default=str))
        return
    rows = []
    for item in items:
        latest = item.get("LatestMatchingVersion") or {}
        rows.append(
            (
                item["LayerName"],
                str(latest.get("Version", "-")),
                _traits(latest),
                latest.get("Description", ""),
            )
        )
    _table(("NAME", "LATEST", "COMPATIBLE", "DESCRIPTION"), rows)


@layers.command("versions")
@click.argument("name")
@click.option("--runtime")
@click.option("--arch", type=click.Choice(ARCHITECTURES))
@click.option("--json", "as_json", is_flag=True)
@connection_options
@interrupt_leaves_target
def layers_versions(name, runtime, arch, as_json, endpoint_url, region, profile):
    """Versions of one layer (a name, ACCOUNT/NAME or a layer ARN), newest first."""
    from registry.client.browse import list_versions

    client = client_for(endpoint_url, region, profile)
    items = list_versions(client, parse_requirement(name), runtime=runtime, arch=arch)
    if as_json:
        click.echo(json.dumps(items, indent=2, default=str))
        return
    rows = [
        (str(i["Version"]), i.get("CreatedDate", ""), _traits(i), i.get("Description", ""))
        for i in items
    ]
    _table(("VERSION", "CREATED", "COMPATIBLE", "DESCRIPTION"), rows)


@layers.command("show")
@click.argument("requirement")
@click.option("--json", "as_json", is_flag=True)
@connection_options
@interrupt_leaves_target
def layers_show(requirement, as_json, endpoint_url, region, profile):
    """One layer version (NAME==N, NAME for the newest, or a version ARN)."""
    from registry.client.browse import show_version

    info = show_version(client_for(endpoint_url, region, profile), parse_requirement(requirement))
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    for key, value in info.items():
        if isinstance(value, list):
            value = ", ".join(value)
        click.echo(f"{key + ':':<26}{value}")


@layers.command("sbom")
@click.argument("requirement")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write to this file, not stdout."
)
@connection_options
@interrupt_leaves_target
def layers_sbom(requirement, output, endpoint_url, region, profile):
    """A layer version's software bill of materials (CycloneDX 1.5 JSON): the Python
    distributions and Node.js packages its zip installs, read from the zip downloaded here."""
    from registry.client.sbom import layer_sbom

    document = layer_sbom(client_for(endpoint_url, region, profile), parse_requirement(requirement))
    text = json.dumps(document, indent=2) + "\n"
    if output:
        with open(output, "w") as out:
            out.write(text)
    else:
        click.echo(text, nl=False)


def _traits(item: dict) -> str:
    return (
        ",".join(
            (item.get("CompatibleRuntimes") or []) + (item.get("CompatibleArchitectures") or [])
        )
        or "-"
    )


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
