"""ListLayers and ListLayerVersions: one page of rows read in one statement.

A page costs what its rows cost: the statements are built once per shape (which filters, whether
a marker continues the listing, the dialect), since building one and computing its cache key cost
more than running it on SQLite; they select only the columns an item shows, through Core; and the
rows become slotted summaries that share the page's ARN prefix.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from functools import cache, lru_cache

from sqlalchemy import Select, Text, bindparam, cast, select, true

from registry.accounts import Caller
from registry.db import Database
from registry.layers import policy
from registry.layers.arns import LayerRef, layer_arn
from registry.layers.rows import compatible, filter_params, shared_with
from registry.layers.views import LayerVersionSummary
from registry.models import Layer, LayerVersion, LayerVersionGrant
from registry.paging import MAX_ITEMS, Page, decode_marker, decode_version_marker, first_page

_LAYERS, _VERSIONS, _GRANTS = Layer.__table__, LayerVersion.__table__, LayerVersionGrant.__table__
# The versions a layer's newest matching version is looked for among, apart from the listed ones.
_NEWEST = _VERSIONS.alias("newest")
# What an item shows of a version, in LayerVersionSummary's order after the layer's ARN and name.
_SHOWN = (
    _VERSIONS.c.version,
    _VERSIONS.c.description,
    _VERSIONS.c.license_info,
    # As text: _summary decodes them.
    cast(_VERSIONS.c.compatible_runtimes, Text).label("compatible_runtimes"),
    cast(_VERSIONS.c.compatible_architectures, Text).label("compatible_architectures"),
    _VERSIONS.c.created_at,
)


@cache
def _layers_page(runtime: bool, architecture: bool, after: bool, sqlite: bool) -> Select:
    """The account's layers by name (walking the (account, name) key), each joined to its newest
    live version that matches the filters (walking the (layer, version) key backwards)."""
    if not sqlite:
        return _layers_page_lateral(runtime, architecture, after)
    filters = compatible(_NEWEST, runtime=runtime, architecture=architecture, sqlite=sqlite)
    newest = (
        select(_NEWEST.c.id)
        .where(_NEWEST.c.layer_id == _LAYERS.c.id, _NEWEST.c.deleted_at.is_(None), *filters)
        .order_by(_NEWEST.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    layers = select(_LAYERS.c.name, newest.label("version_id")).where(
        _LAYERS.c.account_id == bindparam("account")
    )
    if after:
        layers = layers.where(_LAYERS.c.name > bindparam("after"))
    listed = layers.subquery()
    return (
        select(listed.c.name, *_SHOWN)
        .join(_VERSIONS, _VERSIONS.c.id == listed.c.version_id)
        .order_by(listed.c.name)
        .limit(bindparam("limit"))
    )


def _layers_page_lateral(runtime: bool, architecture: bool, after: bool) -> Select:
    """PostgreSQL's form: a LATERAL join stops at the page's last layer. Joined on the id a
    correlated subquery finds, the planner takes the filters for rare and hashes every version
    of every layer instead."""
    newest = (
        select(*_SHOWN)
        .where(
            _VERSIONS.c.layer_id == _LAYERS.c.id,
            _VERSIONS.c.deleted_at.is_(None),
            *compatible(_VERSIONS, runtime=runtime, architecture=architecture, sqlite=False),
        )
        .order_by(_VERSIONS.c.version.desc())
        .limit(1)
        .lateral("newest")
    )
    query = (
        select(_LAYERS.c.name, *newest.c)
        .select_from(_LAYERS.join(newest, true()))
        .where(_LAYERS.c.account_id == bindparam("account"))
        .order_by(_LAYERS.c.name)
        .limit(bindparam("limit"))
    )
    if after:
        query = query.where(_LAYERS.c.name > bindparam("after"))
    return query


@cache
def _versions_page(runtime: bool, architecture: bool, before: bool, sqlite: bool) -> Select:
    """A layer's live versions matching the filters, newest first (walking the (layer, version)
    key). The id comes last, for the grants of a shared layer's versions."""
    query = (
        select(*_SHOWN, _VERSIONS.c.id)
        .join(_LAYERS, _LAYERS.c.id == _VERSIONS.c.layer_id)
        .where(
            _LAYERS.c.account_id == bindparam("owner"),
            _LAYERS.c.name == bindparam("name"),
            _VERSIONS.c.deleted_at.is_(None),
            *compatible(_VERSIONS, runtime=runtime, architecture=architecture, sqlite=sqlite),
        )
        .order_by(_VERSIONS.c.version.desc())
        .limit(bindparam("limit"))
    )
    if before:
        query = query.where(_VERSIONS.c.version < bindparam("before"))
    return query


class LayerListing:
    _db: Database
    _region: str

    def list_layers(
        self,
        caller: Caller,
        *,
        runtime: str | None = None,
        architecture: str | None = None,
        marker: str | None = None,
        max_items: int = MAX_ITEMS,
    ) -> Page:
        """The caller's layers that have a live version matching the filters, by name, each with
        its newest matching version."""
        after = decode_marker(marker)
        sqlite = self._db.is_sqlite
        query = _layers_page(bool(runtime), bool(architecture), after is not None, sqlite)
        params = filter_params(runtime=runtime, architecture=architecture, sqlite=sqlite)
        params.update(account=caller.account_id, after=after, limit=max_items + 1)
        with self._db.connect() as connection:
            rows = connection.execute(query, params).all()
        prefix = layer_arn(self._region, caller.account_id, "")
        found = first_page(rows, max_items, key=lambda row: row[0])
        return Page([_summary(prefix + row[0], *row) for row in found.items], found.next_marker)

    def list_versions(
        self,
        caller: Caller,
        ref: LayerRef,
        *,
        runtime: str | None = None,
        architecture: str | None = None,
        marker: str | None = None,
        max_items: int = MAX_ITEMS,
    ) -> Page:
        """Live versions the caller may read, newest first. An unknown layer lists nothing. A
        shared layer's page may take a few more reads, when a grant the SQL condition let through
        is refused by policy.can_read."""
        owner = ref.account_id or caller.account_id
        before = decode_version_marker(marker)
        sqlite = self._db.is_sqlite
        params = filter_params(runtime=runtime, architecture=architecture, sqlite=sqlite)
        params.update(owner=owner, name=ref.name, limit=max_items + 1)
        arn = layer_arn(self._region, owner, ref.name)
        if owner == caller.account_id:
            query = _versions_page(bool(runtime), bool(architecture), before is not None, sqlite)
            with self._db.connect() as connection:
                rows = connection.execute(query, dict(params, before=before)).all()
        else:
            rows = self._shared_versions(caller, owner, ref.name, before, params)
        found = first_page(rows[: max_items + 1], max_items, key=lambda row: str(row[0]))
        return Page([_summary(arn, ref.name, *row[:-1]) for row in found.items], found.next_marker)

    def list_shared_layers(
        self,
        caller: Caller,
        *,
        runtime: str | None = None,
        architecture: str | None = None,
        max_versions: int = 1000,
    ) -> list[LayerVersionSummary]:
        """Other accounts' layers with a live version matching the filters that their grants let
        the caller read, by owner and name, each with its newest such version. Reads at most
        `max_versions` shared versions (the console's view; the Lambda API lists only the
        caller's own layers)."""
        sqlite = self._db.is_sqlite
        query = (
            select(_LAYERS.c.account_id, _LAYERS.c.name, *_SHOWN, _VERSIONS.c.id)
            .join(_LAYERS, _LAYERS.c.id == _VERSIONS.c.layer_id)
            .where(
                _LAYERS.c.account_id != bindparam("account"),
                _VERSIONS.c.deleted_at.is_(None),
                shared_with(_VERSIONS, caller),
                *compatible(
                    _VERSIONS, runtime=bool(runtime), architecture=bool(architecture), sqlite=sqlite
                ),
            )
            .order_by(_LAYERS.c.account_id, _LAYERS.c.name, _VERSIONS.c.version.desc())
            .limit(max_versions)
        )
        params = filter_params(runtime=runtime, architecture=architecture, sqlite=sqlite)
        params.update(account=caller.account_id)
        grants = defaultdict(list)
        with self._db.connect() as connection:
            rows = connection.execute(query, params).all()
            if rows:
                for grant in connection.execute(
                    select(_GRANTS).where(_GRANTS.c.layer_version_id.in_([r.id for r in rows]))
                ):
                    grants[grant.layer_version_id].append(grant)
        found: dict[tuple[str, str], LayerVersionSummary] = {}
        for row in rows:
            key = (row.account_id, row.name)
            if key in found or not policy.can_read(caller, row.account_id, grants[row.id]):
                continue
            arn = layer_arn(self._region, row.account_id, row.name)
            found[key] = _summary(arn, *row[1:-1])
        return list(found.values())

    def _shared_versions(self, caller: Caller, owner: str, name: str, before, params) -> list:
        """Rows of another account's layer that its grants let the caller read, up to a page
        and one."""
        shape = ("runtime" in params, "architecture" in params)
        readable: list = []
        with self._db.connect() as connection:
            while len(readable) < params["limit"]:
                query = _versions_page(*shape, before is not None, self._db.is_sqlite)
                query = query.where(shared_with(_VERSIONS, caller))
                rows = connection.execute(query, dict(params, before=before)).all()
                grants = defaultdict(list)
                if rows:
                    for grant in connection.execute(
                        select(_GRANTS).where(_GRANTS.c.layer_version_id.in_([r.id for r in rows]))
                    ):
                        grants[grant.layer_version_id].append(grant)
                readable += [r for r in rows if policy.can_read(caller, owner, grants[r.id])]
                if len(rows) < params["limit"]:
                    break
                before = rows[-1].version
        return readable


def _summary(
    layer_arn: str,
    name: str,
    version: int,
    description: str,
    license_info: str | None,
    runtimes: str,
    architectures: str,
    created_at: datetime,
) -> LayerVersionSummary:
    return LayerVersionSummary(
        layer_arn,
        name,
        version,
        description,
        license_info,
        list(_json_list(runtimes)),
        list(_json_list(architectures)),
        created_at,
    )


@lru_cache(maxsize=1024)
def _json_list(text: str | None) -> tuple:
    """Runtimes and architectures come in few combinations, so each is decoded once."""
    return tuple(json.loads(text) or ()) if text else ()
