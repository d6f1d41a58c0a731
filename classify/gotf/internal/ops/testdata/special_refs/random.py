# Prints the random rows of special_ref_test.go: python3 random.py 12 5 150 (rows per function, seed, mpmath digits).
import mpmath as mp, random, sys
import numpy as np
mp.mp.dps = int(sys.argv[3])
random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
N = int(sys.argv[1])
def r32(a): return float(np.float32(a))
def lu(lo, hi): return r32(10 ** random.uniform(lo, hi))
rows = []
def add(op, args, val):
    v = mp.re(val)
    if mp.isinf(v) or mp.isnan(v): return
    if abs(v) > 1e308 or (v != 0 and abs(v) < 1e-300): return
    rows.append('\t{"%s", []float64{%s}, %r},' % (op, ", ".join(repr(a) for a in args), float(v)))
for _ in range(N):
    x = r32(random.choice([lu(-8, 6), -lu(-8, 5)]))
    add("Lgamma", [x], mp.log(abs(mp.gamma(x))))
    x = r32(random.choice([lu(-3, 3), -lu(-3, 2)]))
    add("Digamma", [x], mp.digamma(x))
    x = r32(random.uniform(-1, 1))
    add("Erfinv", [x], mp.erfinv(x))
    p = r32(random.choice([random.uniform(0, 1), lu(-30, -1)]))
    if 0 < p < 1:
        add("Ndtri", [p], mp.findroot(lambda t: mp.ncdf(t) - mp.mpf(p), mp.sqrt(2) * mp.erfinv(2 * mp.mpf(p) - 1) if p > 1e-15 else -mp.sqrt(-2 * mp.log(p))))
    a, x = lu(-3, 3.5), lu(-3, 3.7)
    add("Igamma", [a, x], mp.gammainc(a, 0, x, regularized=True))
    add("Igammac", [a, x], mp.gammainc(a, x, mp.inf, regularized=True))
    s, q = r32(1 + lu(-6, 2)), lu(-2, 2)
    add("Zeta", [s, q], mp.zeta(s, q))
    n, x = float(random.randint(0, 8)), random.choice([lu(-2, 2), r32(-random.uniform(0, 5))])
    if x != int(x): add("Polygamma", [n, x], mp.polygamma(n, x))
    a, b, x = lu(-3, 3.5), lu(-3, 3.5), r32(random.uniform(0, 1))
    add("Betainc", [a, b, x], mp.betainc(a, b, 0, x, regularized=True))
    x = r32(random.choice([lu(-6, 4.5), -lu(-6, 4.5)]))
    ax = abs(x)
    add("BesselI0e", [x], mp.besseli(0, x) * mp.exp(-ax))
    add("BesselI1e", [x], mp.besseli(1, x) * mp.exp(-ax))
    add("BesselI0", [x], mp.besseli(0, x))
    add("BesselI1", [x], mp.besseli(1, x))
    add("BesselJ0", [x], mp.besselj(0, x))
    add("BesselJ1", [x], mp.besselj(1, x))
    x = lu(-8, 4)
    add("BesselK0", [x], mp.besselk(0, x))
    add("BesselK1", [x], mp.besselk(1, x))
    add("BesselK0e", [x], mp.besselk(0, x) * mp.exp(x))
    add("BesselK1e", [x], mp.besselk(1, x) * mp.exp(x))
    add("BesselY0", [x], mp.bessely(0, x))
    add("BesselY1", [x], mp.bessely(1, x))
print("\n".join(rows))
