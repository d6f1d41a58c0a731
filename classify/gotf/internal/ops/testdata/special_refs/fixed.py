# Prints the chosen rows of special_ref_test.go: python3 fixed.py 150 (mpmath digits).
import mpmath as mp
from scipy import special as sp
import sys
mp.mp.dps = int(sys.argv[1])
def f(v):
    v = mp.mpf(v)
    if mp.isinf(v): return "math.Inf(1)" if v > 0 else "math.Inf(-1)"
    return repr(float(v))
rows = []
import numpy as np
def r32(a):
    a = float(a)
    if a != 0 and (abs(a) > 3e38 or abs(a) < 1e-37):
        return a
    return float(np.float32(a))
def add(op, args, val):
    rows.append('\t{"%s", []float64{%s}, %s},' % (op, ", ".join(repr(float(a)) for a in args), f(val)))
for x in [r32(v) for v in [0.5, 1, 1.5, 2, 3, 0.001, 1e-10, 10.5, 100.25, 171.5, 1e5, 1e300, -0.5, -1.5, -2.5, -10.3, -100.7, 2.0000001, 0.9999]]:
    add("Lgamma", [x], mp.log(abs(mp.gamma(x))))
for x in [r32(v) for v in [0.1, 1, 1.4616321449683623, 2.5, 10, 100.5, 1e10, -0.5, -1.3, -2.7, -10.001, 1e-8, -1e-8, 9.99, 3e5]]:
    add("Digamma", [x], mp.digamma(x))
for x in [r32(v) for v in [0, 0.1, -0.5, 0.9, 0.95, -0.999, 0.999999, 1-1e-12, 1e-10, 0.3, 0.89, -0.91]]:
    add("Erfinv", [x], mp.erfinv(x))
for p in [r32(v) for v in [0.5, 0.025, 0.975, 1e-5, 1e-20, 1e-100, 1e-300, 0.3, 0.9999, 0.1, 0.75, 1e-10, 0.2]]:
    r = mp.findroot(lambda x: mp.ncdf(x) - mp.mpf(p), mp.mpf(float(sp.ndtri(p))))
    add("Ndtri", [p], r)
for a, x in [(0.5, 0.1), (0.5, 2), (1, 1), (2, 3), (5, 1), (5, 10), (10.5, 10), (30, 25), (100, 90), (100, 120), (0.01, 0.5), (3, 0.001), (1e-3, 1e-3), (20, 60), (1.5, 1.5), (7, 0.5)]:
    a, x = r32(a), r32(x)
    add("Igamma", [a, x], mp.gammainc(a, 0, x, regularized=True))
    add("Igammac", [a, x], mp.gammainc(a, x, mp.inf, regularized=True))
for x, q in [(2, 1), (3, 1), (2, 0.5), (4.5, 2.25), (1.5, 1), (10, 0.3), (2, 100), (50, 1.5), (1.0001, 1), (3, -1.5), (4, -2.3), (2, 1e-5), (6, -20.25), (2, -1000.5), (30, 2), (1.1, 0.01)]:
    x, q = r32(x), r32(q)
    if q < 0:
        N = int(-mp.floor(q))
        v = mp.fsum((mp.mpf(q) + k) ** (-x) for k in range(N)) + mp.zeta(x, mp.mpf(q) + N)
    else:
        v = mp.zeta(x, q)
    add("Zeta", [x, q], v)
for n, x in [(1, 1), (1, 0.5), (2, 3.5), (3, 0.25), (1, -1.5), (4, 10), (2, -0.7), (0, 2.5), (5, 1.5), (10, 3), (1, 1e-4)]:
    n, x = r32(n), r32(x)
    add("Polygamma", [n, x], mp.re(mp.polygamma(n, x)))
for a, b, x in [(1, 1, 0.3), (2, 3, 0.4), (0.5, 0.5, 0.2), (10, 20, 0.3), (10, 20, 0.6), (0.1, 5, 0.01), (5, 0.1, 0.99), (100, 100, 0.48), (3.5, 1.5, 0.95), (1, 200, 0.001), (50, 3, 0.999), (0.3, 0.7, 0.5), (2, 2, 0.9999)]:
    a, b, x = r32(a), r32(b), r32(x)
    add("Betainc", [a, b, x], mp.betainc(a, b, 0, x, regularized=True))
xs = [r32(v) for v in [1e-10, 0.01, 0.5, 1, 2, 2.5, 5, 8, 10, 19.9, 20.1, 30, 50, 100, 700, 1e4]]
neg = [-0.5, -3, -25]
for x in xs + neg:
    ax = abs(x)
    add("BesselI0e", [x], mp.besseli(0, x) * mp.exp(-ax))
    add("BesselI1e", [x], mp.besseli(1, x) * mp.exp(-ax))
    if ax < 700:
        add("BesselI0", [x], mp.besseli(0, x))
        add("BesselI1", [x], mp.besseli(1, x))
    if ax < 1e4 or True:
        add("BesselJ0", [x], mp.besselj(0, x))
        add("BesselJ1", [x], mp.besselj(1, x))
for x in xs:
    add("BesselK0", [x], mp.besselk(0, x))
    add("BesselK1", [x], mp.besselk(1, x))
    add("BesselK0e", [x], mp.besselk(0, x) * mp.exp(x))
    add("BesselK1e", [x], mp.besselk(1, x) * mp.exp(x))
    add("BesselY0", [x], mp.bessely(0, x))
    add("BesselY1", [x], mp.bessely(1, x))
print("\n".join(rows))
