"""The services one app instance wires together, reachable from request handlers."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from registry.accounts import KeyDirectory
from registry.config import Settings
from registry.db import Database
from registry.functions.service import FunctionService
from registry.invocations.events import EventQueue
from registry.invocations.invoke import Invoker
from registry.invocations.preparation import BundlePreparer
from registry.invocations.provisioned import ProvisionedConcurrencyService
from registry.layers.service import LayerService
from registry.usage.recorder import UsageRecorder
from storage.base import BlobStore


@dataclass
class Services:
    settings: Settings
    db: Database
    store: BlobStore
    keys: KeyDirectory
    layers: LayerService
    functions: FunctionService
    invoker: Invoker
    events: EventQueue
    provisioned: ProvisionedConcurrencyService
    preparer: BundlePreparer
    usage: UsageRecorder


def services() -> Services:
    return current_app.extensions["strata"]
