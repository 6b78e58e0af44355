"""Tracking and team services: MLflow runs of every stage, and the team's PostgreSQL, S3 and MLflow server."""
