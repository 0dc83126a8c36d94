"""`strata lock` output: a requirements file that pins every layer by version ARN and sha256.

It is plain requirements syntax, so `strata install -r layers.lock --require-hashes` reads it
with the same parser as any other file.
"""

from __future__ import annotations

from registry.client.resolve import ResolvedLayer


def render_lock(layers: list[ResolvedLayer], command: str) -> str:
    lines = [
        f"# Written by `{command}`.",
        "# Install exactly these layers, in this order, with:",
        "#   strata install -r THIS_FILE --require-hashes -t DIR",
    ]
    for layer in layers:
        lines += [
            f"# {layer.requirement.describe()}",
            f"{layer.version_arn} \\",
            f"    --hash=sha256:{layer.sha256}",
        ]
    return "\n".join(lines) + "\n"
