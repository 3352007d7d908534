"""Hide numba from Python, as if it were not installed (``.ci/run``'s second test run).

With ``PYTHONPATH=.ci/without-numba`` (an absolute path, so that the processes the tests
start see it too), ``import numba`` fails and ``importlib.util.find_spec("numba")`` is None:
pcrs takes its documented fallbacks (qhull, numpy, lxml) and the tests of the compiled
kernels are skipped with the reason.
"""

import sys

sys.modules["numba"] = None
