"""Durable tasks: the queue, the worker, and what each task type does."""
