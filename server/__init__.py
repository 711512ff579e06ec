"""kg web server (SPARQL endpoint and graph browser)."""
