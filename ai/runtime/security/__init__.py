"""Who may call a service, from where, how often, and from which web pages: API keys
with scopes, an IP allowlist, per-key rate limits and cross-site protection. Torch-free,
so the backend shares it."""
