#!/bin/sh
# azd's postdeploy hook (azure.yaml): run `dropoff dbinit` in Azure, as the
# dbinit Container Apps job, and wait for it to finish. It applies the
# migrations and creates each role's database user; it is idempotent, so
# every `azd up` and `azd deploy` runs it again and a re-run changes nothing
# that is already in place. azd exports the Bicep outputs this reads.
#
# It uses the Azure CLI, signed in to the same subscription as azd (az login).
# To run it again by hand: azd hooks run postdeploy
set -eu

: "${AZURE_SUBSCRIPTION_ID:?run this through azd: azd hooks run postdeploy}"
: "${AZURE_RESOURCE_GROUP:?run this through azd: azd hooks run postdeploy}"
: "${DROPOFF_DBINIT_JOB:?no DROPOFF_DBINIT_JOB output: run azd provision first}"

if ! command -v az >/dev/null 2>&1; then
  echo "dbinit: the Azure CLI (az) starts the dbinit job: install it, run az login, then azd hooks run postdeploy" >&2
  exit 1
fi
if ! az account show --subscription "$AZURE_SUBSCRIPTION_ID" >/dev/null 2>&1; then
  echo "dbinit: the Azure CLI is not signed in to subscription $AZURE_SUBSCRIPTION_ID: run az login, then azd hooks run postdeploy" >&2
  exit 1
fi

job() { az containerapp job "$@" --name "$DROPOFF_DBINIT_JOB" --resource-group "$AZURE_RESOURCE_GROUP" --subscription "$AZURE_SUBSCRIPTION_ID"; }

execution=$(job start --query name --output tsv)
echo "dbinit: started $execution of $DROPOFF_DBINIT_JOB; waiting for it (a paused database takes about a minute to wake)"

deadline=$(($(date +%s) + 900))
while :; do
  status=$(job execution show --job-execution-name "$execution" --query properties.status --output tsv)
  case "$status" in
  Succeeded)
    echo "dbinit: schema and database users in place; the roles become ready within 30s"
    exit 0
    ;;
  Failed | Stopped | Degraded)
    echo "dbinit: $execution ended $status. Its log:" >&2
    echo "  az containerapp job logs show --name $DROPOFF_DBINIT_JOB --resource-group $AZURE_RESOURCE_GROUP --execution $execution --container dbinit" >&2
    exit 1
    ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "dbinit: $execution still $status after 15 minutes; see the job's log in the portal" >&2
    exit 1
  fi
  sleep 10
done
