"""One module per `carepolicy` command; each imports only click at module level."""
