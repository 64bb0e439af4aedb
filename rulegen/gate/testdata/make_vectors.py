#!/usr/bin/python3
"""Writes scipy-vectors.json: reference values for the deployment gate's statistics, computed by
scipy 1.10 (Debian's python3-scipy) and numpy from the raw samples, not from the bucket counts the
Go code reads. Run with Debian's /usr/bin/python3 after `apt-get install python3-scipy`:

    /usr/bin/python3 rulegen/gate/testdata/make_vectors.py > rulegen/gate/testdata/scipy-vectors.json
"""
import json, sys
import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20261207)
out = {"generator": "rulegen/gate/testdata/make_vectors.py", "scipy": scipy.__version__, "numpy": np.__version__,
       "proportions": [], "mannwhitney": [], "exceedance": []}

# Proportions: Wilson intervals from scipy's binomtest; Newcombe's hybrid score interval (method 10)
# from them; the one-sided non-inferiority Wald z-test with the (x+0.5)/(n+1) variance the gate uses.
def proportion(name, xc, nc, xb, nb, margin, alpha):
    wc = stats.binomtest(xc, nc).proportion_ci(confidence_level=1 - alpha, method="wilson")
    wb = stats.binomtest(xb, nb).proportion_ci(confidence_level=1 - alpha, method="wilson")
    pc, pb = xc / nc, xb / nb
    d = pc - pb
    lo = d - np.sqrt((pc - wc.low) ** 2 + (wb.high - pb) ** 2)
    hi = d + np.sqrt((wc.high - pc) ** 2 + (pb - wb.low) ** 2)
    sc, sb = (xc + 0.5) / (nc + 1), (xb + 0.5) / (nb + 1)
    se = np.sqrt(sc * (1 - sc) / nc + sb * (1 - sb) / nb)
    z = (d + margin) / se
    out["proportions"].append({"name": name, "xc": xc, "nc": nc, "xb": xb, "nb": nb, "margin": margin, "alpha": alpha,
        "wilson_candidate": [wc.low, wc.high], "wilson_baseline": [wb.low, wb.high],
        "newcombe": [lo, hi], "ni_z": z, "ni_p": stats.norm.sf(z)})

proportion("equal-large", 900, 1000, 905, 1000, 0.02, 0.05)
proportion("worse-small", 170, 200, 185, 200, 0.01, 0.05)
proportion("unequal-arms", 4520, 5000, 1790, 2000, 0.02, 0.025)
proportion("near-one", 498, 500, 499, 500, 0.01, 0.05)
proportion("all-correct", 300, 300, 297, 300, 0.02, 0.01)

# Mann-Whitney on bucketed latencies: raw samples are bucketed, each observation replaced by its
# bucket index (ties within a bucket), and scipy.stats.mannwhitneyu (asymptotic, continuity
# correction, tie-corrected variance) run on those; DeLong's variance of U/(n1 n2) from the
# pairwise placements computed by broadcasting.
bounds = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, float("inf")]
def bucketise(x):
    idx = np.searchsorted(np.array(bounds), x, side="left")  # first bound >= x
    cum = [int(np.sum(idx <= i)) for i in range(len(bounds))]
    return idx, cum

def mannwhitney(name, cand, base):
    ic, cc = bucketise(cand)
    ib, cb = bucketise(base)
    r = stats.mannwhitneyu(ic, ib, alternative="two-sided", method="asymptotic", use_continuity=True)
    psi = (ic[:, None] > ib[None, :]).astype(float) + 0.5 * (ic[:, None] == ib[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    var = np.var(v10, ddof=1) / len(ic) + np.var(v01, ddof=1) / len(ib)
    out["mannwhitney"].append({"name": name, "bounds": ["+Inf" if np.isinf(b) else b for b in bounds],
        "candidate_cumulative": cc, "baseline_cumulative": cb, "u": float(r.statistic), "p": float(r.pvalue),
        "theta": float(r.statistic) / (len(ic) * len(ib)), "delong_var": float(var)})

mannwhitney("equal-lognormal", rng.lognormal(-1, 0.8, 400), rng.lognormal(-1, 0.8, 350))
mannwhitney("slower-candidate", rng.lognormal(-0.6, 0.8, 300), rng.lognormal(-1, 0.8, 500))
mannwhitney("faster-candidate-heavy-ties", rng.lognormal(-2.2, 0.3, 250), rng.lognormal(-2.0, 0.3, 260))
mannwhitney("small", rng.lognormal(0, 1, 12), rng.lognormal(0.3, 1, 9))

# Exceedance: share of raw samples above a limit, against the counts read from the buckets.
def exceedance(name, x, limit):
    _, cum = bucketise(x)
    out["exceedance"].append({"name": name, "bounds": ["+Inf" if np.isinf(b) else b for b in bounds],
        "cumulative": cum, "limit": limit, "raw_above": int(np.sum(x > limit)), "n": len(x)})

lat = rng.lognormal(-1, 0.9, 1000)
exceedance("limit-on-bound", lat, 1.0)
exceedance("limit-inside-bucket", lat, 0.7)
exceedance("limit-below-first", lat, 0.01)

json.dump(out, sys.stdout, indent=1, default=float)
sys.stdout.write("\n")
