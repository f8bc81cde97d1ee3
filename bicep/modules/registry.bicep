// The registry azd pushes the one Dropoff image to. No admin user and no
// anonymous pull: each app and the dbinit job pull as their own identity.
param location string
param tags object
param name string

@description('Principal ids of the identities that pull images.')
param pullers array

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
  }
}

// AcrPull.
resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in pullers: {
    scope: registry
    name: guid(registry.id, principalId, '7f951dda-4ed3-4680-a7ca-43fe172d538d')
    properties: {
      principalId: principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '7f951dda-4ed3-4680-a7ca-43fe172d538d')
    }
  }
]

output loginServer string = registry.properties.loginServer
