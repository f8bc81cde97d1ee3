// Everything Dropoff runs on, in one resource group. main.bicep calls this
// module; each concern has a module of its own under modules/.
//
// Who may do what (tests/deploy checks this table against the templates):
//
//   identity     Service Bus queue           SQL (dbinit grants)                  registry
//   command-api  Data Sender                 none                                 AcrPull
//   worker       Data Receiver, Data Sender  write database: read, insert, update AcrPull
//                (resubmitting a dead letter sends)
//   projector    none                        write: read the feed; projection: r/w AcrPull
//   query-api    none                        projection database: read;           AcrPull
//                                            write: the feed's position and
//                                            commit time (the projection's lag)
//   scaler       read the queue's length     none                                 none
//   dbinit       none                        Entra administrator of the server    AcrPull
//
// The dbinit identity is the SQL server's Entra administrator and is attached
// only to the dbinit job, which azd's postdeploy hook starts: it applies the
// migrations and creates the other identities' database users by SID. No
// running app holds an administrator's or a data owner's right.
targetScope = 'resourceGroup'

param location string
param tags object

@description('For each service, whether its app (or job) exists already, so that its deployed image is kept.')
param exists object

param databaseSku object
param workerMinReplicas int
param workerMaxReplicas int
param apiMinReplicas int

@description('OTLP endpoint of the apps\' traces; empty: none (modules/app.bicep).')
param otlpEndpoint string

@description('Token checking for the APIs: tenantId, clientId (the API app registration; empty: none), allowAnonymous, and roles {send, read, admin}.')
param auth object

var abbrs = loadJsonContent('./abbreviations.json')
var token = toLower(uniqueString(subscription().id, resourceGroup().id, location))

module monitoring './modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    workspaceName: '${abbrs.operationalInsightsWorkspaces}${token}'
    insightsName: '${abbrs.insightsComponents}${token}'
  }
}

module identities './modules/identities.bicep' = {
  name: 'identities'
  params: {
    location: location
    tags: tags
    prefix: abbrs.managedIdentityUserAssignedIdentities
    token: token
  }
}

module registry './modules/registry.bicep' = {
  name: 'registry'
  params: {
    location: location
    tags: tags
    name: '${abbrs.containerRegistryRegistries}${token}'
    pullers: [
      identities.outputs.commandApiPrincipalId
      identities.outputs.workerPrincipalId
      identities.outputs.projectorPrincipalId
      identities.outputs.queryApiPrincipalId
      identities.outputs.dbinitPrincipalId
    ]
  }
}

module bus './modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    location: location
    tags: tags
    namespaceName: '${abbrs.serviceBusNamespaces}${token}'
    senders: [
      identities.outputs.commandApiPrincipalId
      identities.outputs.workerPrincipalId
    ]
    receivers: [
      identities.outputs.workerPrincipalId
    ]
    lengthReaders: [
      identities.outputs.scalerPrincipalId
    ]
  }
}

module sql './modules/sql.bicep' = {
  name: 'sql'
  params: {
    location: location
    tags: tags
    serverName: '${abbrs.sqlServers}${token}'
    writeDatabaseName: '${abbrs.sqlServersDatabases}write'
    projectionDatabaseName: '${abbrs.sqlServersDatabases}projection'
    databaseSku: databaseSku
    adminName: identities.outputs.dbinitName
    adminPrincipalId: identities.outputs.dbinitPrincipalId
  }
}

module environment './modules/environment.bicep' = {
  name: 'environment'
  params: {
    location: location
    tags: tags
    name: '${abbrs.appManagedEnvironments}${token}'
    workspaceId: monitoring.outputs.workspaceId
  }
}

// What every role is told, whatever it does: listen on all interfaces (the
// binary's default is loopback), log JSON, sign in only as its own managed
// identity, and take a little less time to shut down than the app is given.
var common = [
  { name: 'DROPOFF_ADDR', value: '0.0.0.0:8080' }
  { name: 'DROPOFF_LOG_FORMAT', value: 'json' }
  { name: 'DROPOFF_AZURE_AUTH', value: 'managed-identity' }
  { name: 'DROPOFF_SHUTDOWN_TIMEOUT', value: '25s' }
]
var queueSettings = [
  { name: 'DROPOFF_SERVICEBUS_NAMESPACE', value: bus.outputs.namespaceHost }
  { name: 'DROPOFF_SERVICEBUS_QUEUE', value: bus.outputs.queueName }
]
// With the app registration's client id, the APIs accept only Entra ID
// tokens for it (an empty value is no setting at all); without it they refuse
// to start on 0.0.0.0, unless allowAnonymous lets them run open.
var tokenCheck = [
  { name: 'DROPOFF_AUTH_TENANT_ID', value: empty(auth.clientId) ? '' : auth.tenantId }
  { name: 'DROPOFF_AUTH_AUDIENCE', value: auth.clientId }
]
var anonymous = { name: 'DROPOFF_ALLOW_ANONYMOUS', value: string(auth.allowAnonymous) }
var writeDB = { name: 'DROPOFF_WRITE_DB', value: sql.outputs.writeDSN }
var readDB = { name: 'DROPOFF_READ_DB', value: sql.outputs.projectionDSN }

module commandApi './modules/app.bicep' = {
  name: 'command-api'
  params: {
    location: location
    tags: tags
    name: '${abbrs.appContainerApps}command-api-${token}'
    serviceName: 'command-api'
    exists: exists.commandApi
    environmentId: environment.outputs.id
    registryServer: registry.outputs.loginServer
    identityId: identities.outputs.commandApiId
    args: ['command-api']
    env: concat(common, queueSettings, tokenCheck, [
      anonymous
      { name: 'DROPOFF_AUTH_ROLE_SEND', value: auth.roles.send }
      { name: 'AZURE_CLIENT_ID', value: identities.outputs.commandApiClientId }
      // Shipments hashed onto 640 sessions (10 worker replicas of 64), not a
      // session each: on Service Bus every session accept and release costs
      // round trips, and most shipments get a handful of commands
      // (docs/adr/0002-lanes.md, docs/capacity.md). Changing the number moves
      // shipments to other lanes: drain the queue first, or commands in
      // flight may apply out of order.
      { name: 'DROPOFF_SESSION_LANES', value: '640' }
    ])
    external: true
    minReplicas: apiMinReplicas
    maxReplicas: 10
    otlpEndpoint: otlpEndpoint
  }
}

module queryApi './modules/app.bicep' = {
  name: 'query-api'
  params: {
    location: location
    tags: tags
    name: '${abbrs.appContainerApps}query-api-${token}'
    serviceName: 'query-api'
    exists: exists.queryApi
    environmentId: environment.outputs.id
    registryServer: registry.outputs.loginServer
    identityId: identities.outputs.queryApiId
    args: ['query-api']
    env: concat(common, tokenCheck, [
      anonymous
      { name: 'DROPOFF_AUTH_ROLE_READ', value: auth.roles.read }
      readDB
      writeDB // only the feed's head and commit times, for the projection's true lag
      { name: 'DROPOFF_DB_CONNS', value: '20' } // under Basic's 30 concurrent workers
      { name: 'AZURE_CLIENT_ID', value: identities.outputs.queryApiClientId }
    ])
    external: true
    minReplicas: apiMinReplicas
    maxReplicas: 10
    otlpEndpoint: otlpEndpoint
  }
}

// The worker scales on the queue's active messages. KEDA counts messages,
// not sessions: one replica holds up to 64 sessions (lanes) at a time, so
// replicas beyond the lanes with work sit idle. The scaler signs in
// as its own identity, which may only read the queue's length.
module worker './modules/app.bicep' = {
  name: 'worker'
  params: {
    location: location
    tags: tags
    name: '${abbrs.appContainerApps}worker-${token}'
    serviceName: 'worker'
    exists: exists.worker
    environmentId: environment.outputs.id
    registryServer: registry.outputs.loginServer
    identityId: identities.outputs.workerId
    scalerIdentityId: identities.outputs.scalerId
    args: ['worker']
    env: concat(common, queueSettings, tokenCheck, [
      // The admin (dead-letter) API: the worker has no ingress, so it is
      // reached from inside the environment only, with the admin role.
      { name: 'DROPOFF_AUTH_ROLE_ADMIN', value: auth.roles.admin }
      writeDB
      // Basic allows 30 concurrent workers per database; the projector reads
      // the feed on a few more. Raise it with the database tier.
      { name: 'DROPOFF_DB_CONNS', value: '20' }
      { name: 'AZURE_CLIENT_ID', value: identities.outputs.workerClientId }
    ])
    external: false
    minReplicas: workerMinReplicas
    maxReplicas: workerMaxReplicas
    scaleRules: [
      {
        name: 'queue-length'
        custom: {
          type: 'azure-servicebus'
          identity: identities.outputs.scalerId
          metadata: {
            namespace: bus.outputs.namespaceName
            queueName: bus.outputs.queueName
            messageCount: '100'
            activationMessageCount: '0'
          }
        }
      }
    ]
    // A message's transaction and settlement may take up to 30s each; SIGTERM
    // stops the worker taking sessions and lets those finish.
    terminationGracePeriodSeconds: 60
    cpu: '0.5'
    memory: '1Gi'
    otlpEndpoint: otlpEndpoint
  }
}

// The projector follows the change feed in order from one checkpoint: one
// replica, always.
module projector './modules/app.bicep' = {
  name: 'projector'
  params: {
    location: location
    tags: tags
    name: '${abbrs.appContainerApps}projector-${token}'
    serviceName: 'projector'
    exists: exists.projector
    environmentId: environment.outputs.id
    registryServer: registry.outputs.loginServer
    identityId: identities.outputs.projectorId
    args: ['projector']
    env: concat(common, [
      writeDB
      readDB
      { name: 'AZURE_CLIENT_ID', value: identities.outputs.projectorClientId }
    ])
    external: false
    minReplicas: 1
    maxReplicas: 1
    otlpEndpoint: otlpEndpoint
  }
}

module dbinit './modules/dbinit.bicep' = {
  name: 'dbinit'
  params: {
    location: location
    tags: tags
    name: '${abbrs.appContainerAppsJobs}dbinit-${token}'
    exists: exists.dbinit
    environmentId: environment.outputs.id
    registryServer: registry.outputs.loginServer
    identityId: identities.outputs.dbinitId
    env: [
      { name: 'DROPOFF_AZURE_AUTH', value: 'managed-identity' }
      { name: 'AZURE_CLIENT_ID', value: identities.outputs.dbinitClientId }
      writeDB
      readDB
      { name: 'DROPOFF_WORKER_CLIENT_ID', value: identities.outputs.workerClientId }
      { name: 'DROPOFF_WORKER_IDENTITY_NAME', value: identities.outputs.workerName }
      { name: 'DROPOFF_PROJECTOR_CLIENT_ID', value: identities.outputs.projectorClientId }
      { name: 'DROPOFF_PROJECTOR_IDENTITY_NAME', value: identities.outputs.projectorName }
      { name: 'DROPOFF_QUERY_CLIENT_ID', value: identities.outputs.queryApiClientId }
      { name: 'DROPOFF_QUERY_IDENTITY_NAME', value: identities.outputs.queryApiName }
      { name: 'DROPOFF_COMMAND_CLIENT_ID', value: identities.outputs.commandApiClientId }
    ]
  }
}

output registryEndpoint string = registry.outputs.loginServer
output environmentName string = environment.outputs.name
output commandApiUrl string = commandApi.outputs.url
output queryApiUrl string = queryApi.outputs.url
output dbinitJobName string = dbinit.outputs.name
output serviceBusNamespace string = bus.outputs.namespaceHost
output sqlServer string = sql.outputs.serverHost
