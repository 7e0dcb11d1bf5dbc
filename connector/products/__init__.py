"""Stock and prices, from a read export to Alephee's acknowledgement.

A product is brand + SKU, as Alephee identifies it. Owns: the catalog copy and the match of export
rows to its products (``catalog``), the accepted state (``snapshot``), the pure ``diff``, the
durable change queue holding the latest intent (``pending``), an export into the queue
(``ingest``), sending in batches (``sync``, ``outcomes``), recording each batch's answers
set-wise (``recording``), how far a send got (``sendlog``), one inbox file through all of it
(``files``), the tables and their migrations (``state``), and the two reports of this path
(``rejects`` for bad rows, ``refusals`` for what Alephee refused).

May import: the shared ground (``connector.config``, ``errors``, ``db``, ``slots`` ...),
``connector.readers``, ``connector.alephee``, ``connector.outbox`` and ``connector.intake``'s
crash points. Never ``connector.orders``, the runner, the operator's commands or the CLI.
"""
