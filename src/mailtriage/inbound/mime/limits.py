"""Bounds on what one message can make us hold or return.

They sit together because they are one policy — whatever reached security@ must not make the
parser hold, walk or return an unbounded amount — and are best reviewed as a set.
"""

MAX_TEXT_CHARS = 1_000_000
MAX_SUBJECT_CHARS = 1_000
MAX_HEADER_CHARS = 8_000
MAX_HEADERS = 500
MAX_NAME_CHARS = 200
MAX_FILENAME_CHARS = 200
MAX_IDS = 100
MAX_PARTS = 2_000
MAX_DEPTH = 100
RAW_HEADER_CHARS = 64_000  # read of a header value before decoding; the rest is noise
INDICATOR_SCAN_CHARS = 300_000  # what a report points at is near its top
