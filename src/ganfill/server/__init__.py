"""`ganfill serve`: the HTTP API and the web page, thin over Completer."""
