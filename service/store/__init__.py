"""Set-based record storage: staging, upsert, merge, delete."""
