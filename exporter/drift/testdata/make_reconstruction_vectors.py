#!/usr/bin/python3
"""Writes reconstruction-vectors.json: NannyML-style data-reconstruction errors computed with
scikit-learn 1.2 (Debian's python3-sklearn): StandardScaler, PCA(n_components=0.65), and per row
the Euclidean distance between the standardised row and its inverse transform. Rows with a
missing value are imputed with the column mean first (SimpleImputer), as NannyML does.
Run with Debian's /usr/bin/python3 after `apt-get install python3-sklearn`."""
import json

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(20261207)
cases = []


def case(name, ref, cur):
    imp = SimpleImputer(strategy="mean").fit(ref)
    sc = StandardScaler().fit(imp.transform(ref))
    zr = sc.transform(imp.transform(ref))
    pca = PCA(n_components=0.65, svd_solver="full").fit(zr)
    def errors(x):
        z = sc.transform(imp.transform(x))
        return np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1)
    er, ec = errors(ref), errors(cur)
    cases.append({"name": name,
                  "reference": [[None if np.isnan(v) else float(v) for v in row] for row in ref],
                  "current": [[None if np.isnan(v) else float(v) for v in row] for row in cur],
                  "k": int(pca.n_components_), "explained": float(np.sum(pca.explained_variance_ratio_)),
                  "reference_error_mean": float(er.mean()), "reference_error_std": float(er.std()),
                  "current_error_mean": float(ec.mean()), "current_errors": [float(v) for v in ec[:20]]})


cov = [[1, 0.7, 0.2, 0], [0.7, 1, 0.1, 0], [0.2, 0.1, 1, 0.5], [0, 0, 0.5, 1]]
sd = np.array([2, 1, 0.5, 3])
ref = rng.multivariate_normal([10, -3, 0, 100], np.array(cov) * np.outer(sd, sd), 400)
cur = rng.multivariate_normal([10, -3, 0, 100], np.diag([4, 1, 0.25, 9]), 200)
case("four-correlated", ref, cur)
ref = rng.normal(0, 1, (300, 6)) @ rng.normal(0, 1, (6, 6))
cur = rng.normal(0, 1, (150, 6)) @ rng.normal(0, 1, (6, 6))
mask = rng.uniform(0, 1, ref.shape) < 0.05
ref[mask] = np.nan
case("six-mixed-with-missing", ref, cur)
json.dump({"generator": "scikit-learn " + sklearn.__version__ + ", numpy " + np.__version__, "cases": cases},
          open("reconstruction-vectors.json", "w"))
print([(c["name"], c["k"], round(c["explained"], 3), round(c["reference_error_mean"], 4)) for c in cases])
