"""What can stop the local stack from starting that its user can cause and fix.

`devstack.supervisor` (`make dev`) prints a `StackError`'s message and exits non-zero, never a
traceback: the message says what is wrong and what to do.
"""

from __future__ import annotations


class StackError(Exception):
    """The stack cannot start, for a reason its message explains to the user."""
