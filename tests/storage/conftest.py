"""The S3 server fixtures (tests/s3_fixtures.py) for the storage tests."""
from s3_fixtures import s3_bucket, s3_server  # noqa: F401
