"""The one exception of the local stack.

``StackError`` carries a message a person can act on (install Java, free a port, read
a log file). ``capmon stack`` prints it and exits 1; it never shows a traceback for a
failure the user can fix.
"""

from __future__ import annotations


class StackError(Exception):
    """The local stack cannot do what was asked; the message says why and what to do."""
