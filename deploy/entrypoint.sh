#!/usr/bin/env sh
# One image, four roles:
#   code-server   gRPC server for the code location (docker-compose; Helm runs `dagster api grpc` itself)
#   webserver     the Dagster UI on :3000, reading deploy/workspace.yaml
#   daemon        schedules, sensors and the run queue
#   check         validate the prod settings and load the definitions, then exit (a smoke test)
# Anything else is executed as given (e.g. `dagster api grpc ...` from the Helm chart, or a shell).
# Before a role starts, $DAGSTER_HOME/dagster.yaml is seeded from deploy/dagster.yaml when absent.
# DRY_RUN=1 prints the command instead of running it (used by the tests).
set -eu
DEPLOY_DIR=${DEPLOY_DIR:-$(cd "$(dirname "$0")" && pwd)}
: "${DAGSTER_HOME:?DAGSTER_HOME must be set}"
CODE_PORT=${CODE_SERVER_PORT:-4000}
WEB_PORT=${WEBSERVER_PORT:-3000}

mkdir -p "$DAGSTER_HOME"
if [ ! -f "$DAGSTER_HOME/dagster.yaml" ]; then
    cp "$DEPLOY_DIR/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
fi
if [ -n "${CSM_DATA_DIR:-}" ]; then
    mkdir -p "$CSM_DATA_DIR"
fi

role=${1:-code-server}
[ $# -gt 0 ] && shift
case "$role" in
    code-server) set -- dagster code-server start -h 0.0.0.0 -p "$CODE_PORT" -m csm_analytics.definitions "$@" ;;
    webserver)   set -- dagster-webserver -h 0.0.0.0 -p "$WEB_PORT" -w "$DEPLOY_DIR/workspace.yaml" "$@" ;;
    daemon)      set -- dagster-daemon run -w "$DEPLOY_DIR/workspace.yaml" "$@" ;;
    check)       set -- python -c "from csm_analytics.resources import resources_for; resources_for('prod'); \
import dagster, csm_analytics.definitions as d; dagster.Definitions.validate_loadable(d.defs); print('csm_analytics: prod definitions load')" ;;
    *)           set -- "$role" "$@" ;;
esac
if [ "${DRY_RUN:-0}" = "1" ]; then
    echo "$@"
    exit 0
fi
exec "$@"
