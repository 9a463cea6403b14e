#!/usr/bin/env bash
# The official image's dispatch: shells and Python run as given, everything else is an airflow command.
set -euo pipefail
# A uid chosen with AIRFLOW_UID has no passwd entry; getpass and some libraries need a HOME.
export HOME="${HOME:-/home/airflow}"
case "${1:-}" in
  bash | python | python3) exec "$@" ;;
  *) exec airflow "$@" ;;
esac
