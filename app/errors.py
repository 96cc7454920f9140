"""What the composition roots treat as a user's mistake: one line naming the fix, never a
traceback (a bug keeps its traceback)."""

from __future__ import annotations

from infra.errors import UserError
from model.errors import InputError

# The layers below each have a base of their own: infra (and all above it) UserError, model/
# (which imports nothing of the project) InputError.
USER_ERRORS: tuple[type[Exception], ...] = (UserError, InputError)


def user_error_names() -> set[str]:
    """``Name:`` of every user-error class, as Prefect's log lines print them."""
    names: set[str] = set()
    todo: list[type[Exception]] = list(USER_ERRORS)
    while todo:
        cls = todo.pop()
        names.add(f"{cls.__name__}:")
        todo += cls.__subclasses__()
    return names
