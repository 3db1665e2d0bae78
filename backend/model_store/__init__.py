"""The model store as the operator manages it: what is on disk, downloads, deletion."""
