"""Thin servicers: parse the request, call the domain, build the response."""
