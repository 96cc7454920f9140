"""``lookalike api``: the HTTP query service, routers over the served alias."""
