#!/usr/bin/env python3
"""Shows that moto's S3 server does not make conditional PUTs atomic, without this project's code.

Usage: scripts/moto-conditional-race.py PORT [TRIALS] [WRITERS]
against `python3 -m moto.server -H 127.0.0.1 -p PORT` with a bucket `video-dataset-test`.

Each trial: WRITERS threads append their number to one key with a read-modify-write (GET, then
PUT with `If-Match: <etag read>`, or `If-None-Match: *` when there was no object; on 412 begin
again), as `ObjectStoreSink::update_dataset_file` does. Every winning PUT notes the content it
was conditioned on. On a store whose conditional writes are atomic no two PUTs win on the same
version and the key ends with every number. moto 5.2.1 checks the condition
(`S3Response.put_object`: `get_object`, compare the ETag) and stores the object
(`S3Backend.put_object`) later in the same request thread with no lock between them, so two
requests can both pass the check. Under CPU load (e.g. `yes > /dev/null` on every core) a few
trials in a hundred show two winners on one version and a lost number.

Exits 1 when some trial lost a writer.
"""
import sys
import threading
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

port = int(sys.argv[1])
trials = int(sys.argv[2]) if len(sys.argv) > 2 else 50
writers = int(sys.argv[3]) if len(sys.argv) > 3 else 16
bucket = "video-dataset-test"
run = uuid.uuid4().hex[:8]
s3 = boto3.client(
    "s3",
    endpoint_url=f"http://127.0.0.1:{port}",
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
    config=Config(max_pool_connections=writers * 2, retries={"max_attempts": 1}),
)


def append(key, i, bases):
    while True:
        try:
            got = s3.get_object(Bucket=bucket, Key=key)
            current, cond = got["Body"].read(), {"IfMatch": got["ETag"]}
        except ClientError as e:
            if e.response["Error"]["Code"] != "NoSuchKey":
                raise
            current, cond = None, {"IfNoneMatch": "*"}
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=(current or b"") + bytes([i]), **cond)
        except ClientError as e:
            if e.response["Error"]["Code"] in ("PreconditionFailed", "ConditionalRequestConflict"):
                continue
            raise
        bases[i] = current
        return


bad = 0
for trial in range(trials):
    key = f"moto-race-{run}/{trial}"
    bases = [None] * writers
    threads = [threading.Thread(target=append, args=(key, i, bases)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = sorted(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    shared = len(bases) - len(set(bases))
    if final != list(range(writers)):
        bad += 1
        lost = sorted(set(range(writers)) - set(final))
        print(f"trial {trial}: lost {lost}; {shared} winning PUT(s) conditioned on a version "
              f"another winning PUT was conditioned on too")
print(f"{bad} of {trials} trials lost a writer (moto {__import__('moto').__version__})")
sys.exit(1 if bad else 0)
