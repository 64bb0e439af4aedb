#!/usr/bin/python3
"""Writes evidently-vectors.json: PSI, KL and JS on raw samples binned as Evidently's
get_binned_data does (np.histogram_bin_edges(concat, "sturges") when the reference has more than
20 distinct values, else one bin per value), with Evidently's empty-bin fill (KL is scipy.stats.entropy of the filled shares), computed with NumPy
and SciPy. Run with Debian's /usr/bin/python3 after `apt-get install python3-scipy`."""
import json
import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

rng = np.random.default_rng(7)
def fill(p):
    nz = p[p > 0]; m = nz.min() if nz.size else 1.0
    eps = m / 1e6 if m <= 1e-4 else 1e-4
    return np.where(p == 0, eps, p)
def binned(ref, cur):
    if len(np.unique(ref)) > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        r = np.histogram(ref, edges)[0]; c = np.histogram(cur, edges)[0]
    else:
        keys = np.unique(np.concatenate([ref, cur]))
        r = np.array([(ref == k).sum() for k in keys]); c = np.array([(cur == k).sum() for k in keys])
    return r.astype(float), c.astype(float)
cases = []
for name, ref, cur in [
    ("normal-shift", rng.normal(0, 1, 3000), rng.normal(0.3, 1.2, 2000)),
    ("exponential-tail", rng.exponential(2, 5000), rng.exponential(2.5, 700)),
    ("few-values", rng.integers(0, 6, 1000).astype(float), rng.integers(1, 8, 800).astype(float)),
]:
    r, c = binned(ref, cur)
    rp, cp = r / r.sum(), c / c.sum()
    rf, cf = fill(rp.copy()), fill(cp.copy())
    cases.append({"name": name, "reference": ref.tolist(), "current": cur.tolist(),
                  "reference_counts": r.tolist(), "current_counts": c.tolist(),
                  "psi": float(np.sum((rf - cf) * np.log(rf / cf))), "kl": float(stats.entropy(rf, cf)),  # Evidently's KL call: renormalises
                  "js": float(distance.jensenshannon(rp, cp))})
json.dump({"generator": "numpy " + np.__version__ + ", scipy " + scipy.__version__, "cases": cases},
          open("evidently-vectors.json", "w"))
print([(c["name"], len(c["reference_counts"]), c["psi"]) for c in cases])
