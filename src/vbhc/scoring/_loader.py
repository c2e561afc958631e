"""Load registered outcome models from the MLflow registry.

A model reference is ``NAME`` (the ``champion``), ``NAME@ALIAS`` or ``NAME/VERSION``;
``NAME`` may be the registered name (``vbhc-hip-oxford_12m``) or the short name
(``hip-oxford_12m``).  :func:`load_champions` loads the champion of every registered
vbhc model of a table (``episodes`` by default), keyed by (outcome, joint): the entry
point of batch scoring and of the decision-support service.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from vbhc.core.errors import VbhcError
from vbhc.train._model import OutcomeModel

CHAMPION = "champion"
_PREFIX = "vbhc-"
_REF = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+?)(?:@(?P<alias>[A-Za-z0-9_-]+)|/(?P<version>\d+))?$")


class ModelNotFoundError(VbhcError):
    """A requested model, alias or version is not in the registry."""


@dataclass(frozen=True)
class RegisteredModel:
    """One registered model version and the fitted :class:`~vbhc.train.OutcomeModel`.

    ``model`` does the work: ``predict``, ``predict_interval``, ``predict_frame``,
    ``contributions``, ``outside_training``, ``typical_patient``, ``training_period``,
    ``test_metrics``, ``feature_summary``.
    """

    name: str
    version: str
    alias: str | None
    run_id: str
    model: OutcomeModel

    @property
    def outcome(self) -> str:
        return self.model.outcome

    @property
    def joint(self) -> str:
        return self.model.joint

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def metadata(self) -> dict[str, object]:
        """What a predictions file records about the model (Parquet metadata ``vbhc.models``)."""
        m = self.model
        return {
            "name": self.name,
            "version": self.version,
            "alias": self.alias,
            "run_id": self.run_id,
            "outcome": m.outcome,
            "joint": m.joint,
            "kind": m.kind,
            "table": m.table,
            "training_period": list(m.training_period),
            "test_year": m.test_year,
            "columns": m.prediction_columns,
            "spec_hash": m.spec_hash,
        }


def parse_reference(ref: str) -> tuple[str, str | None, str | None]:
    """``NAME[@ALIAS]`` or ``NAME/VERSION`` → (registered name, alias, version); default alias champion."""
    match = _REF.match(ref.strip())
    if not match:
        raise ModelNotFoundError(f"not a model reference: {ref!r} (use NAME, NAME@ALIAS or NAME/VERSION)")
    name = match["name"]
    if not name.startswith(_PREFIX):
        name = _PREFIX + name
    alias, version = match["alias"], match["version"]
    if alias is None and version is None:
        alias = CHAMPION
    return name, alias, version


def load_model(ref: str, *, tracking_uri: str | None = None) -> RegisteredModel:
    """Load one registered model version (see :func:`parse_reference`)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from vbhc.core.tracking import configure_mlflow

    configure_mlflow(tracking_uri)
    name, alias, version = parse_reference(ref)
    client = MlflowClient()
    try:
        mv = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)
    except MlflowException:
        what = f"alias {alias!r}" if alias else f"version {version}"
        raise ModelNotFoundError(f"model {name!r} has no {what} in the registry") from None
    return _load_version(name, mv, alias)


def _load_version(name: str, mv, alias: str | None) -> RegisteredModel:
    import mlflow.sklearn
    from mlflow.exceptions import MlflowException

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = mlflow.sklearn.load_model(f"models:/{name}/{mv.version}")
    except (MlflowException, OSError) as exc:
        raise ModelNotFoundError(f"model {name!r} version {mv.version} cannot be loaded ({exc})") from None
    if not isinstance(model, OutcomeModel):
        raise ModelNotFoundError(f"model {name!r} version {mv.version} is not a vbhc outcome model")
    return RegisteredModel(name=name, version=str(mv.version), alias=alias, run_id=mv.run_id, model=model)


def load_champions(
    *,
    tracking_uri: str | None = None,
    table: str = "episodes",
    alias: str = CHAMPION,
    required: Iterable[str] | None = None,
) -> dict[tuple[str, str], RegisteredModel]:
    """The ``alias`` version of every registered vbhc model of ``table``, keyed by (outcome, joint).

    ``required`` names models that must be present (registered or short names, e.g.
    from :func:`expected_models`); if any lacks the alias, :class:`ModelNotFoundError`
    lists them all.  Pooled models have joint ``"all"``.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from vbhc.core.tracking import configure_mlflow

    configure_mlflow(tracking_uri)
    client = MlflowClient()
    try:
        registered = list(_all_registered(client))
    except MlflowException as exc:
        raise ModelNotFoundError(f"cannot read the model registry: {exc.message}") from None
    out: dict[tuple[str, str], RegisteredModel] = {}
    found: set[str] = set()
    for rm in registered:
        if rm.tags.get("vbhc.table", "episodes") != table or alias not in (rm.aliases or {}):
            continue
        mv = client.get_model_version(rm.name, rm.aliases[alias])
        loaded = _load_version(rm.name, mv, alias)
        key = (loaded.outcome, loaded.joint)
        if key in out:
            raise ModelNotFoundError(f"two registered models predict {key}: {out[key].name} and {rm.name}")
        out[key] = loaded
        found.add(rm.name)
    missing = sorted({parse_reference(r)[0] for r in (required or [])} - found)
    if missing:
        raise ModelNotFoundError(f"no {alias!r} version of required model(s): {', '.join(missing)} (run vbhc train)")
    return out


def _all_registered(client):
    token = None
    while True:
        page = client.search_registered_models(filter_string=f"name LIKE '{_PREFIX}%'", page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def expected_models(folder=None) -> list[str]:
    """Registered names of the specifications in ``folder`` (default ``models/``): what a full run registers."""
    from vbhc.train._spec import load_specs

    return [s.registered_name for s in load_specs(folder)]
