"""Clinical decision support: the prediction service and the clinicians' web page.

``vbhc serve`` loads the ``champion`` version of every registered model and serves

- ``POST /v1/predictions``: every outcome of one patient beside a typical patient,
  with intervals, the factors that move the prediction, imputed fields and cautions;
- ``GET /v1/models``, ``GET /health``, API docs at ``/docs``;
- ``GET /``: the page a surgeon and a patient look at together (Danish and English).

The service depends on models only through :class:`ServedModel` (see
:mod:`vbhc.serve._model`); :func:`load_champions` adapts the models trained by
:mod:`vbhc.train`.

>>> from vbhc.serve import required_model_names
>>> required_model_names()[0]
'vbhc-hip-oxford_12m'
"""

from vbhc.serve._app import create_app
from vbhc.serve._model import ModelInfo, ServedModel
from vbhc.serve._outcomes import OUTCOMES, required_model_names
from vbhc.serve._request import PredictionRequest
from vbhc.serve._response import PredictionResponse
from vbhc.serve._service import ModelsMissingError, PredictionService
from vbhc.serve._settings import ServeSettings, resolve_token

__all__ = [
    "OUTCOMES",
    "ModelInfo",
    "ModelsMissingError",
    "PredictionRequest",
    "PredictionResponse",
    "PredictionService",
    "ServeSettings",
    "ServedModel",
    "create_app",
    "required_model_names",
    "resolve_token",
]
