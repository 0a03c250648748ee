#!/usr/bin/env bash
# Prints the path of a Python 3.12+ interpreter: python3.12/python3.13/python3 on the PATH,
# then pyenv's; otherwise one line saying what to install, and exit 1.
set -u

is_ok() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

for candidate in python3.12 python3.13 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && is_ok "$candidate"; then
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done

if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])(\.[0-9]+)?$' | sort -V); do
    prefix=$(pyenv prefix "$version" 2>/dev/null) || continue
    for exe in "$prefix/bin/python3" "$prefix/bin/python"; do
      if [ -x "$exe" ] && is_ok "$exe"; then
        echo "$exe"
        exit 0
      fi
    done
  done
fi

echo "FoundryCord needs Python 3.12 or newer: install python3.12 (or 3.13) and run this again." >&2
exit 1
