"""`strata merge`: build a bundle, explain where a path came from, or diff two bundles."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command(
    "merge",
    epilog="""Examples:

\b
  strata merge --function code.zip --layer a.zip --layer b.zip -o bundle
  strata merge --explain opt/python/six.py bundle
  strata merge --diff old/bundle.json new/bundle.json
""",
)
@click.option(
    "--function",
    "function_zip",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Function code zip, extracted to BUNDLE_DIR/task.",
)
@click.option(
    "--layer",
    "layer_zips",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Layer zip, repeatable; applied in order to BUNDLE_DIR/opt, later wins.",
)
@click.option(
    "-o",
    "--output",
    metavar="BUNDLE_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Bundle directory to create (built aside, renamed into place at the end).",
)
@click.option("--runtime", help="Runtime recorded in bundle.json (e.g. python3.12).")
@click.option(
    "--max-unzipped-mb",
    type=click.IntRange(min=1),
    default=250,
    show_default=True,
    help="Cap on function plus layers, unzipped.",
)
@click.option("--allow-overwrite", is_flag=True, help="Replace BUNDLE if it exists.")
@click.option(
    "--copy", is_flag=True, help="Copy files instead of hard-linking them from the cache."
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Extraction cache [default: $STRATA_DATA_DIR/cache].",
)
@click.option(
    "--explain",
    "explain_path",
    metavar="PATH",
    help="Say which input provided PATH in the bundle given as argument, and what it shadowed.",
)
@click.option(
    "--diff",
    "diff_paths",
    nargs=2,
    type=click.Path(exists=True, path_type=Path),
    metavar="A B",
    help="List files added (+), removed (-) and changed (~) from bundle A to B "
    "(bundle dirs or bundle.json files); exit 1 if any.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the resulting bundle.json.")
@click.argument("bundle", required=False, type=click.Path(exists=True, path_type=Path))
def merge(
    function_zip,
    layer_zips,
    output,
    runtime,
    max_unzipped_mb,
    allow_overwrite,
    copy,
    cache_dir,
    explain_path,
    diff_paths,
    as_json,
    bundle,
):
    """Merge a function's code and its layers into one tree, as AWS Lambda does.

    Writes BUNDLE_DIR/task (function code, /var/task), BUNDLE_DIR/opt (layers, /opt) and
    BUNDLE_DIR/bundle.json (every file's source, every shadowed file, a tree digest).
    With --explain, BUNDLE is the bundle directory to look in.
    """
    from registry.archive.limits import MiB, ZipLimits
    from registry.merge import MergeInput
    from registry.merge import merge as run_merge

    if explain_path is not None:
        _explain(explain_path, bundle)
        return
    if diff_paths:
        _diff(*diff_paths)
    if output is None:
        raise click.UsageError("give -o BUNDLE_DIR (or --explain / --diff)")
    if not layer_zips and function_zip is None:
        raise click.UsageError("give --function and/or at least one --layer")
    document = run_merge(
        [MergeInput(path) for path in layer_zips],
        output,
        function=MergeInput(function_zip) if function_zip else None,
        cache_dir=cache_dir,
        limits=ZipLimits(max_unzipped_bytes=max_unzipped_mb * MiB),
        copy=copy,
        allow_overwrite=allow_overwrite,
        runtime=runtime,
    )
    if as_json:
        click.echo(json.dumps(document, indent=1))
        return
    totals = document["totals"]
    click.echo(
        f"{output}: {totals['files']} files, {totals['symlinks']} symlinks, "
        f"{totals['bytes']} bytes, {len(document['shadowed'])} shadowed; "
        f"tree sha256 {document['tree_sha256']}"
    )


def _explain(path: str, bundle: Path | None) -> None:
    from registry.merge.explain import explain
    from registry.merge.manifest import load

    if bundle is None:
        raise click.UsageError("--explain PATH needs the bundle directory as argument")
    click.echo("\n".join(explain(load(bundle), path)))


def _diff(a: Path, b: Path) -> None:
    """Print the differences and exit: 1 if there are any, like diff(1)."""
    from registry.merge.explain import diff
    from registry.merge.manifest import load

    lines = diff(load(a), load(b))
    click.echo("\n".join(lines) if lines else "no differences")
    sys.exit(1 if lines else 0)
