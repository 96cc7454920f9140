"""The one base class of mistakes a user can fix: the command line prints its message, one
line, no traceback. Anything else is a bug and keeps its traceback."""


class UserError(Exception):
    """Missing data, an unknown item, a locked index, a bad flag: the message names the fix."""
