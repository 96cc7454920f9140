"""The base of mistakes a user can fix that the model code finds: an unreadable image, a missing
data set, an unknown backbone. ``model/`` imports nothing of the rest of the project, so this is
not ``infra.errors.UserError``; the command line and the API treat both alike
(``app/errors.py``)."""


class InputError(ValueError):
    """Input the model code cannot take: the message names the fix."""
