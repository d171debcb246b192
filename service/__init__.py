"""catalog-ingest: the gRPC server, storage and workers."""
