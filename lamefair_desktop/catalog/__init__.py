"""Talking to a catalog: the HTTP client, sign-in, TLS, the connection (remote or the embedded local
server), the catalog's identity, the offline cache and outbox (sync) and the Qt-free tree."""
