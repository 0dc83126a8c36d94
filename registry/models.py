"""Database tables. The schema is built only by the Alembic migrations in migrations/versions;
tests/test_migrations.py checks that these models and the migrations agree."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(String(34))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccessKey(Base):
    __tablename__ = "access_keys"

    access_key_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    secret_access_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Layer(Base):
    """A named layer of one account. `latest_version` is the counter versions are drawn from:
    it only goes up, so numbers are never reused, even after deletes."""

    __tablename__ = "layers"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    name: Mapped[str] = mapped_column(String(140))
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    versions: Mapped[list["LayerVersion"]] = relationship(back_populates="layer")


class LayerVersion(Base):
    """An immutable published version. A deleted version keeps its row (deleted_at set) so that
    functions that reference it keep working and its blob stays referenced."""

    __tablename__ = "layer_versions"
    __table_args__ = (UniqueConstraint("layer_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id"))
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(256), default="")
    license_info: Mapped[str | None] = mapped_column(String(512))
    compatible_runtimes: Mapped[list] = mapped_column(JSON, default=list)
    compatible_architectures: Mapped[list] = mapped_column(JSON, default=list)
    blob_digest: Mapped[str] = mapped_column(String(64), index=True)
    code_size: Mapped[int] = mapped_column(BigInteger)
    unzipped_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    policy_revision: Mapped[str] = mapped_column(String(36))

    layer: Mapped[Layer] = relationship(back_populates="versions")
    grants: Mapped[list["LayerVersionGrant"]] = relationship(
        back_populates="layer_version", order_by="LayerVersionGrant.id"
    )


class LayerVersionGrant(Base):
    """One statement of a layer version's resource policy (AddLayerVersionPermission)."""

    __tablename__ = "layer_version_grants"
    __table_args__ = (UniqueConstraint("layer_version_id", "statement_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_version_id: Mapped[int] = mapped_column(ForeignKey("layer_versions.id"))
    statement_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(22))
    principal: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[str | None] = mapped_column(String(34))

    layer_version: Mapped[LayerVersion] = relationship(back_populates="grants")

