"""Orders, from Alephee to the outbox and back: the normal and the late-cancellation cycles.

Owns: the order mapping (``mapping``, ``spec``, ``paths``, ``model``), turning orders into outbox
rows (``rows``), publishing them exactly once (``write``), the orders ledger (``ledger``) and the
cycles that read, write and mark orders (``cycles``).

May import: the shared ground, ``connector.alephee``, ``connector.outbox`` and
``connector.intake``'s crash points. Never ``connector.products``, the runner, the operator's
commands or the CLI.
"""
