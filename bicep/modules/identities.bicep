// One user-assigned managed identity per role, plus the KEDA scaler's and the
// one that runs dbinit as the SQL server's administrator. Each output is named
// <role><What>, which the deployment tests rely on.
param location string
param tags object
param prefix string
param token string

resource commandApi 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}command-api-${token}'
  location: location
  tags: tags
}

resource worker 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}worker-${token}'
  location: location
  tags: tags
}

resource projector 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}projector-${token}'
  location: location
  tags: tags
}

resource queryApi 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}query-api-${token}'
  location: location
  tags: tags
}

resource scaler 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}scaler-${token}'
  location: location
  tags: tags
}

resource dbinit 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}dbinit-${token}'
  location: location
  tags: tags
}

output commandApiId string = commandApi.id
output commandApiClientId string = commandApi.properties.clientId
output commandApiPrincipalId string = commandApi.properties.principalId
output commandApiName string = commandApi.name

output workerId string = worker.id
output workerClientId string = worker.properties.clientId
output workerPrincipalId string = worker.properties.principalId
output workerName string = worker.name

output projectorId string = projector.id
output projectorClientId string = projector.properties.clientId
output projectorPrincipalId string = projector.properties.principalId
output projectorName string = projector.name

output queryApiId string = queryApi.id
output queryApiClientId string = queryApi.properties.clientId
output queryApiPrincipalId string = queryApi.properties.principalId
output queryApiName string = queryApi.name

output scalerId string = scaler.id
output scalerPrincipalId string = scaler.properties.principalId

output dbinitId string = dbinit.id
output dbinitClientId string = dbinit.properties.clientId
output dbinitPrincipalId string = dbinit.properties.principalId
output dbinitName string = dbinit.name
