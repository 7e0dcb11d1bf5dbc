"""Stock and prices, from a read export to Alephee's acknowledgement.

Owns: the catalog copy, the accepted state (``snapshot``), the pure ``diff``, the durable change
queue (``pending``), sending in batches (``sync``), one inbox file through all of it (``files``),
and the two reports of this path (``rejects`` for bad rows, ``refusals`` for what Alephee refused).

May import: the shared ground (``connector.config``, ``errors``, ``db``, ``slots`` ...),
``connector.readers``, ``connector.alephee``, ``connector.outbox`` and ``connector.intake``'s
crash points. Never ``connector.orders``, the runner, the operator's commands or the CLI.
"""
