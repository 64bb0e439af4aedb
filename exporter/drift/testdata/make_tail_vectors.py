#!/usr/bin/python3
"""Writes tail-vectors.json: p-values far in the tail (down to about 1e-300), where 1 - P(inside)
would round to 0, from SciPy 1.10 (Debian's python3-scipy) and, for the exact two-sample KS
p-value, also from exact rational path counting written here (Python integers), which SciPy's
floating-point recursion is checked against. Run with Debian's /usr/bin/python3."""
import json
from fractions import Fraction
from math import comb

import numpy as np
import scipy
from scipy import stats
from scipy.stats._stats_py import _attempt_exact_2kssamp


def paths_inside(m, n, h, g):
    """Number of monotone lattice paths (0,0)->(m,n) with |i*n - j*m| < h*g at every point."""
    bound = h * g
    row = [0] * (n + 1)
    for i in range(m + 1):
        new = [0] * (n + 1)
        for j in range(n + 1):
            if abs(i * n - j * m) >= bound:
                continue
            if i == 0 and j == 0:
                new[j] = 1
                continue
            new[j] = (row[j] if i > 0 else 0) + (new[j - 1] if j > 0 else 0)
        row = new
    return row[n]


exact = []
for m, n in [(12, 15), (40, 40), (60, 45), (100, 120), (150, 150), (200, 130), (300, 250)]:
    g = int(np.gcd(m, n))
    lcm = m // g * n
    total = comb(m + n, m)
    for frac in [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0]:
        h = max(1, int(round(frac * lcm)))
        d = h / lcm
        ok, _, p = _attempt_exact_2kssamp(m, n, g, d, "two-sided")
        outside = Fraction(total - paths_inside(m, n, h, g), total)
        exact.append({"n1": m, "n2": n, "d": d, "p_scipy": float(p) if ok else None, "p_exact": float(outside)})

kolm = []
for n in [50, 200, 1000, 5000, 20000, 100000]:
    for target in [1e-10, 1e-30, 1e-80, 1e-150, 1e-220, 1e-290]:
        # x where 2 exp(-2 n x^2) is about the target, kept below 1
        x = float(np.sqrt(-np.log(target / 2) / (2 * n)))
        if x >= 1:
            continue
        sf = float(stats.kstwo.sf(x, n))
        if sf > 0:
            kolm.append({"n": n, "x": x, "sf": sf})

ztests = []
for n1, k1, n2, k2 in [(1000, 500, 1000, 350), (10000, 5000, 10000, 3000), (8000, 4000, 8000, 2000)]:
    p1, p2 = k1 / n1, k2 / n2
    P = (k1 + k2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(P * (1 - P) * (1 / n1 + 1 / n2))
    ztests.append({"n1": n1, "k1": k1, "n2": n2, "k2": k2, "z": float(z), "p": float(2 * stats.norm.sf(abs(z)))})

chi2 = []
for ref, cur in [([500, 300, 200], [300, 300, 400]), ([500, 300, 200], [200, 300, 500]), ([1500, 900, 600, 300], [700, 650, 600, 450])]:
    r = np.asarray(ref, float)
    c = np.asarray(cur, float)
    res = stats.chisquare(c, r / r.sum() * c.sum())
    chi2.append({"reference": ref, "current": cur, "statistic": float(res.statistic), "p": float(res.pvalue)})

for group in (exact, kolm, ztests, chi2):
    for c in group:
        for k in ("p_exact", "sf", "p"):
            assert c.get(k, 1) > 0, c  # every reference value must be representable

json.dump({"generator": "scipy " + scipy.__version__ + ", numpy " + np.__version__,
           "ks_exact": exact, "kolmogorov_sf": kolm, "z": ztests, "chi2": chi2},
          open("tail-vectors.json", "w"), indent=1)
print(len(exact), len(kolm), len(ztests), len(chi2))
