"""The catalog's rules: records, ids and values, catalogs and their versions, batches and ingestions,
bulk updates. No gRPC, no HTTP, no dialect: servicers, task handlers and the gateway call into it."""
