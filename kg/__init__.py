"""kg: a knowledge-graph builder and SPARQL service for Chinese tech and business news."""

__version__ = "0.1.0"
