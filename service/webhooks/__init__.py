"""Webhooks: a signed POST of a task's JSON when it finishes, delivered at least once from a durable queue.

- `outbox`: the delivery row, inserted in the transaction that finishes the task;
- `store`: the deliveries queue (claim, outcome, listing) and tenants' default webhooks;
- `signing`: the signature header and how a receiver verifies it;
- `sender`: the workers' loop that posts due deliveries and retries them with backoff.
"""
