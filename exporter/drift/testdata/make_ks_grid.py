#!/usr/bin/python3
"""Writes ks-grid.json: SciPy's one-sample Kolmogorov survival function (kstwo.sf) and the exact
two-sample KS p-value over a grid of sizes and statistics that reaches every method SciPy switches
between. Run with Debian's /usr/bin/python3 after `apt-get install python3-scipy`."""
import json
import numpy as np
import scipy
from scipy import stats
from scipy.stats._stats_py import _attempt_exact_2kssamp

kolm = []
for n in [1, 2, 5, 10, 26, 60, 140, 141, 373, 667, 1000, 5000, 20000, 100000, 250000]:
    for x in [0.001, 0.004, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5, 0.6, 0.8, 0.95]:
        kolm.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})

exact = []
for n1, n2 in [(5, 5), (10, 7), (60, 45), (100, 100), (300, 250), (1000, 700), (37, 1000), (2000, 1500)]:
    lcm = np.lcm(n1, n2)
    for h in sorted(set([1, 2, 3, max(1, lcm // 50), max(1, lcm // 20), max(1, lcm // 10), max(1, lcm // 5), lcm // 2])):
        d = h / lcm
        ok, d2, p = _attempt_exact_2kssamp(n1, n2, np.gcd(n1, n2), d, "two-sided")
        if ok:
            exact.append({"n1": n1, "n2": n2, "d": float(d), "p": float(p)})

json.dump({"generator": "scipy " + scipy.__version__, "kolmogorov_sf": kolm, "ks_exact": exact},
          open("ks-grid.json", "w"), indent=1)
print(len(kolm), len(exact))
