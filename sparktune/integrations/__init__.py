"""Optional integrations with other tools; each module needs its own extra.

- :mod:`sparktune.integrations.mlflow` (``pip install "sparktune[mlflow]"``): log a search and its
  trials to MLflow.
- :mod:`sparktune.integrations.sklearn` (``pip install "sparktune[sklearn]"``): a scikit-learn
  search estimator that can run across a Spark cluster.
"""

from __future__ import annotations

__all__: list[str] = []
