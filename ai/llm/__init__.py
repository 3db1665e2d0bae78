"""The LLM service (port 8091): the upstream llama.cpp server, built from source here
and started by a thin launcher; the fleet's code is its client."""
