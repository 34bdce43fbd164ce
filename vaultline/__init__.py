"""vaultline: layered configuration and secrets for every environment."""
