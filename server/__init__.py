"""kg web server: the SPARQL endpoint, the query page and the graph browser (``create_app``)."""

from server.app import create_app

__all__ = ["create_app"]
