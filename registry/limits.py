"""Lambda's limits, written once: what the API refuses, what the executor runs within, what the
client checks before it asks. No imports, so the client and the merge engine can use it without
the server's packages.
"""

MiB = 1024 * 1024

# Layers a function may use, merged into /opt.
MAX_LAYERS = 5
# A function's code and all its layers together, unzipped.
MAX_UNZIPPED_BYTES = 250 * MiB
# A zip sent in the request itself (ZipFile); larger ones go through S3.
MAX_DIRECT_UPLOAD_BYTES = 50 * MiB

# Invocation payloads: synchronous (RequestResponse) and asynchronous (Event).
SYNC_PAYLOAD_BYTES = 6 * MiB
ASYNC_PAYLOAD_BYTES = 256 * 1024

# AWS documents 10,240 MB of memory (the API model allows 32,768, which AWS itself refuses).
MEMORY_MB = (128, 10240)
DEFAULT_MEMORY_MB = 128
TIMEOUT_S = (1, 900)
DEFAULT_TIMEOUT_S = 3
EPHEMERAL_MB = (512, 10240)  # /tmp
DEFAULT_EPHEMERAL_MB = 512

# An account's code storage: all its layer versions' zips together.
CODE_STORAGE_QUOTA_BYTES = 75 * 1024**3

# Executions of an account's concurrency limit that its reservations (and the provisioned
# concurrency of functions without one) must leave to the functions that reserve none.
MIN_UNRESERVED_CONCURRENCY = 100

# How far apart the executor keeps environments unless configured otherwise (see the executor's
# isolation levels).
DEFAULT_ISOLATION = "best-effort"
