#!/usr/bin/python3
"""Writes roc-vectors.json: ROC AUC computed by scikit-learn 1.2 (Debian's python3-sklearn) as
independent reference values for exporter/internal/performance's ROC accumulator.

- realised AUC: roc_auc_score(labels, scores);
- CBPE's estimated AUC: each unlabelled prediction is a positive with weight p (its calibrated
  probability) and a negative with weight 1 - p, so the expected ROC curve is the weighted one:
  roc_auc_score([1]*n + [0]*n, scores + scores, sample_weight=p + (1 - p)).

Run with Debian's /usr/bin/python3 after `apt-get install python3-sklearn`."""
import json

import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score

rng = np.random.default_rng(20261207)
cases = []


def quantize(s, bins):
    # bin centres of equal-width bins on [0, 1]: binning them loses nothing
    return (np.minimum(np.floor(s * bins), bins - 1) + 0.5) / bins


def realised(name, scores, labels):
    cases.append({"name": name, "kind": "realised", "scores": [float(x) for x in scores],
                  "labels": [bool(y) for y in labels], "auc": float(roc_auc_score(labels, scores))})


def estimated(name, scores, p):
    n = len(scores)
    y = np.concatenate([np.ones(n), np.zeros(n)])
    s = np.concatenate([scores, scores])
    w = np.concatenate([p, 1 - p])
    cases.append({"name": name, "kind": "estimated", "scores": [float(x) for x in scores],
                  "probabilities": [float(x) for x in p], "auc": float(roc_auc_score(y, s, sample_weight=w))})


s = quantize(rng.uniform(0, 1, 3000), 200)
realised("quantized-200-calibrated", s, rng.uniform(0, 1, 3000) < s)
s = quantize(rng.beta(2, 5, 2000), 200)
realised("quantized-200-skewed", s, rng.uniform(0, 1, 2000) < s ** 0.5)
s = quantize(rng.uniform(0, 1, 1000), 20)
realised("quantized-20", s, rng.uniform(0, 1, 1000) < s * s)
s = rng.uniform(0, 1, 5000)
realised("continuous", s, rng.uniform(0, 1, 5000) < s)
s = rng.beta(5, 2, 4000)
realised("continuous-skewed", s, rng.uniform(0, 1, 4000) < s ** 3)
s = quantize(rng.uniform(0, 1, 2500), 200)
estimated("cbpe-quantized-s2", s, s * s)
s = quantize(rng.beta(2, 1, 2500), 200)
estimated("cbpe-quantized-shifted", s, np.clip(0.1 + 0.8 * s, 0, 1))
s = rng.uniform(0, 1, 3000)
estimated("cbpe-continuous", s, s ** 1.5)

json.dump({"generator": "scikit-learn " + sklearn.__version__ + ", numpy " + np.__version__, "cases": cases},
          open("roc-vectors.json", "w"))
print(len(cases), "cases", [(c["name"], round(c["auc"], 4)) for c in cases])
