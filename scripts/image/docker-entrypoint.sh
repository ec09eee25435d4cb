#!/bin/sh
# The base image's entrypoint, behaving like the official node image's: arguments that are not a command
# (an option such as --version, a script file, or nothing runnable) are given to node; a command runs as it is.
set -e
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ] || ! command -v "$1" >/dev/null 2>&1 || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
