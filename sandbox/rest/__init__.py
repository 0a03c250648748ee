"""REST routes of the sandbox, one module per area, each with a route table.

:mod:`sandbox.rest.base` holds the shared types, :mod:`sandbox.rest.table` the full list.
"""
