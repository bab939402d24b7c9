#!/bin/sh
echo "bazel coverage is unavailable offline (stub @remote_coverage_tools)" >&2
exit 1
