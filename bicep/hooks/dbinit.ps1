# azd's postdeploy hook on Windows (azure.yaml): the same as dbinit.sh. Runs
# `dropoff dbinit` as the dbinit Container Apps job and waits for it. It uses
# the Azure CLI, signed in to the same subscription as azd (az login).
# To run it again by hand: azd hooks run postdeploy
$ErrorActionPreference = 'Stop'

foreach ($name in 'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'DROPOFF_DBINIT_JOB') {
    if (-not [Environment]::GetEnvironmentVariable($name)) {
        throw "dbinit: $name is not set: run this through azd (azd hooks run postdeploy)"
    }
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    throw 'dbinit: the Azure CLI (az) starts the dbinit job: install it, run az login, then azd hooks run postdeploy'
}
$job = @('--name', $env:DROPOFF_DBINIT_JOB, '--resource-group', $env:AZURE_RESOURCE_GROUP, '--subscription', $env:AZURE_SUBSCRIPTION_ID)

$execution = az containerapp job start @job --query name --output tsv
if ($LASTEXITCODE -ne 0) { throw 'dbinit: could not start the job (is az signed in? az login)' }
Write-Host "dbinit: started $execution of $env:DROPOFF_DBINIT_JOB; waiting for it (a paused database takes about a minute to wake)"

$deadline = (Get-Date).AddMinutes(15)
while ($true) {
    $status = az containerapp job execution show @job --job-execution-name $execution --query properties.status --output tsv
    switch ($status) {
        'Succeeded' { Write-Host 'dbinit: schema and database users in place; the roles become ready within 30s'; exit 0 }
        { $_ -in 'Failed', 'Stopped', 'Degraded' } {
            throw "dbinit: $execution ended $status. Its log: az containerapp job logs show --name $env:DROPOFF_DBINIT_JOB --resource-group $env:AZURE_RESOURCE_GROUP --execution $execution --container dbinit"
        }
    }
    if ((Get-Date) -gt $deadline) { throw "dbinit: $execution still $status after 15 minutes; see the job's log in the portal" }
    Start-Sleep -Seconds 10
}
