"""Bearer tokens for OAuth-protected DICOMweb servers: providers, scheduling, the refreshing manager."""
