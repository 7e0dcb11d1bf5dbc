"""The dry run: the same pass as a real run, with its effects recorded instead of done.

Owns: the plan of what a dry run found (``preview``) and how it is told (``report``).

May import: the shared ground, ``connector.intake``, ``connector.readers``, ``connector.outbox``,
``connector.products`` and ``connector.orders``. Never the runner (it imports this package), the
operator's commands or the CLI.
"""
