"""Delivery: the CI/CD pipeline rendered from the spec (GitHub Actions workflows) and digest promotion."""
