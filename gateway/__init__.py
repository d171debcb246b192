"""REST gateway: serves the documented HTTP paths by calling the gRPC services over a real channel."""

from gateway.app import create_app

__all__ = ["create_app"]
