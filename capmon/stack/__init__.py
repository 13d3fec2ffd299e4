"""The local stack without Docker: a real Kafka broker and a real PostgreSQL.

``capmon stack up | down | status`` is the command line (``cli``); ``Stack`` is the
same for Python (test fixtures, the demo). Exceptions: every failure the user can fix
is a ``StackError`` with a message that says what to do.
"""

from capmon.stack.errors import StackError
from capmon.stack.postgres_config import local_database_url
from capmon.stack.stack import Stack, StackInfo
from capmon.stack.status import ServiceStatus, State

__all__ = ["ServiceStatus", "Stack", "StackError", "StackInfo", "State", "local_database_url"]
