// Dropoff on Azure Container Apps: `azd up` deploys this file. It creates the
// resource group rg-<environment> and everything in it (resources.bicep):
// Service Bus, Azure SQL, a registry, monitoring, and four container apps and
// a job, each with a user-assigned identity holding only what its role needs.
// No secret, key or connection string exists anywhere: every connection signs
// in with Microsoft Entra ID. docs/deploy.md explains it all.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('The azd environment name; it names the resource group and tags every resource.')
param environmentName string

@minLength(1)
@description('The Azure region of every resource.')
param location string

// Whether each service's app already exists (azd sets SERVICE_<NAME>_RESOURCE_EXISTS):
// if it does, provisioning keeps the image azd deployed instead of the placeholder.
param commandApiExists bool = false
param workerExists bool = false
param projectorExists bool = false
param queryApiExists bool = false
param dbinitExists bool = false

@description('SKU of the write and projection databases. Basic (5 DTU, 30 concurrent workers) is enough at rest; see docs/deploy.md for 100 commands/s.')
param databaseSku object = {
  name: 'Basic'
  tier: 'Basic'
  capacity: 5
}

@minValue(1)
@maxValue(30)
@description('Most worker replicas KEDA may run. Replicas beyond the shipments being worked on at once sit idle: a session is held by one replica.')
param workerMaxReplicas int = 10

@minValue(0)
@maxValue(1)
@description('Fewest worker replicas: 1 starts work at once, 0 costs nothing at rest but waits up to the 30s scaler poll plus a start for the first command.')
param workerMinReplicas int = 1

@minValue(0)
@maxValue(1)
@description('Fewest replicas of each API: 0 costs nothing at rest, at the price of a cold start for the first request.')
param apiMinReplicas int = 1

@description('OTLP endpoint every app sends its traces to (OTEL_EXPORTER_OTLP_ENDPOINT), e.g. an OpenTelemetry Collector\'s http://<app>:4318; empty: no traces exported (docs/observability.md).')
param otlpEndpoint string = ''

// Who may call the APIs (docs/deploy.md, Authentication): bearer tokens that
// Microsoft Entra ID issues for the Dropoff API's app registration, carrying
// its app roles. Bicep cannot create an app registration; create it once and
// give its client id here (azd env set AUTH_CLIENT_ID <id>).
@description('Microsoft Entra tenant whose v2.0 access tokens the APIs accept. Default: this deployment\'s tenant.')
param authTenantId string = tenant().tenantId

@description('Application (client) id of the Dropoff API app registration: the audience every token must carry. Empty: no token check, and the command and query APIs then refuse to start unless allowAnonymous is true.')
param authClientId string = ''

@description('Let the command and query APIs run with no authentication, open to anyone who finds their URL. For a throwaway demo only; the admin API stays closed.')
param allowAnonymous bool = false

@description('The app roles (their values in the app registration) a token needs: send commands, read, manage dead letters.')
param authRoles object = {
  send: 'Commands.Send'
  read: 'Data.Read'
  admin: 'DeadLetters.Manage'
}

var abbrs = loadJsonContent('./abbreviations.json')
var tags = { 'azd-env-name': environmentName }

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module resources './resources.bicep' = {
  name: 'dropoff-resources'
  scope: rg
  params: {
    location: location
    tags: tags
    exists: {
      commandApi: commandApiExists
      worker: workerExists
      projector: projectorExists
      queryApi: queryApiExists
      dbinit: dbinitExists
    }
    databaseSku: databaseSku
    workerMinReplicas: workerMinReplicas
    workerMaxReplicas: workerMaxReplicas
    apiMinReplicas: apiMinReplicas
    otlpEndpoint: otlpEndpoint
    auth: {
      tenantId: authTenantId
      clientId: authClientId
      allowAnonymous: allowAnonymous
      roles: authRoles
    }
  }
}

// azd pushes images to this registry, and reads the rest into the environment
// (azd env get-values); the postdeploy hook uses them to run dbinit.
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = resources.outputs.registryEndpoint
output AZURE_CONTAINER_ENVIRONMENT_NAME string = resources.outputs.environmentName
output DROPOFF_COMMAND_API_URL string = resources.outputs.commandApiUrl
output DROPOFF_QUERY_API_URL string = resources.outputs.queryApiUrl
output DROPOFF_DBINIT_JOB string = resources.outputs.dbinitJobName
output DROPOFF_SERVICEBUS_NAMESPACE string = resources.outputs.serviceBusNamespace
output DROPOFF_SQL_SERVER string = resources.outputs.sqlServer
