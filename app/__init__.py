"""Composition roots: the command line, the query service and terminal output.

They wire flows, model and infra together; nothing imports them.
"""
