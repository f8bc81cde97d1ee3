// The logical SQL server and Dropoff's two databases: the write database
// (shipments, operations, the change feed) and the projection the query API
// reads. Microsoft Entra ID authentication only, so no SQL login or password
// exists; the administrator is the dbinit identity, which only the dbinit job
// carries. The firewall admits Azure services (the Container Apps), not the
// internet: nobody needs a developer's address opened, since dbinit runs in Azure.
param location string
param tags object
param serverName string
param writeDatabaseName string
param projectionDatabaseName string
param databaseSku object

@description('Name of the identity that is the server\'s Entra administrator.')
param adminName string

@description('Principal (object) id of that identity.')
param adminPrincipalId string

resource server 'Microsoft.Sql/servers@2023-08-01' = {
  name: serverName
  location: location
  tags: tags
  properties: {
    minimalTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    administrators: {
      administratorType: 'ActiveDirectory'
      azureADOnlyAuthentication: true
      login: adminName
      sid: adminPrincipalId
      principalType: 'Application'
      tenantId: subscription().tenantId
    }
  }
}

// 0.0.0.0 to 0.0.0.0 is Azure's rule for "other Azure services".
resource azureServices 'Microsoft.Sql/servers/firewallRules@2023-08-01' = {
  parent: server
  name: 'AllowAllWindowsAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource writeDatabase 'Microsoft.Sql/servers/databases@2023-08-01' = {
  parent: server
  name: writeDatabaseName
  location: location
  tags: tags
  sku: databaseSku
}

resource projectionDatabase 'Microsoft.Sql/servers/databases@2023-08-01' = {
  parent: server
  name: projectionDatabaseName
  location: location
  tags: tags
  sku: databaseSku
}

// The roles' database URLs: no user, no password, no fedauth. Dropoff signs
// in with the managed identity AZURE_CLIENT_ID names (DROPOFF_AZURE_AUTH=managed-identity).
var host = server.properties.fullyQualifiedDomainName
output serverHost string = host
output writeDSN string = 'sqlserver://${host}?database=${writeDatabase.name}&encrypt=true'
output projectionDSN string = 'sqlserver://${host}?database=${projectionDatabase.name}&encrypt=true'
