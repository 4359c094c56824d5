"""The lab cluster's API: a Kubernetes API server on the standard library (store, patch, discovery, HTTP)."""
