"""capmon: a streaming monitor of staffed hospital bed capacity in Sweden.

This package is deliberately thin: settings, the ``capmon`` command line and the
local stack. The contract lives in ``schemas``, the computation in ``streams``,
the history store in ``store``, the service in ``api``.
"""

__version__ = "0.1.0"
