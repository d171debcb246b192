"""`catalog-ingest bench`: the raw pipeline against the service end to end, on PostgreSQL."""
